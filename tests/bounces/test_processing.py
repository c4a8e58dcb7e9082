"""The rules: a hard bounce marks the address at once, soft bounces at the limit, a complaint
withdraws every consent and suppresses the address; an undeliverable address gets no mail
until it changes; what is about an address the person has left is ignored."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from alumni import mail
from alumni.bounces import processing
from alumni.bounces.processing import Action, FoundBy, Ignored
from alumni.bounces.reports import Report, ReportKind
from alumni.bounces.verp import Sent, Tagged, make_tag
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    AuditEntry,
    Bounce,
    BounceKind,
    BounceSource,
    ConsentEvidence,
    Delivery,
    DeliveryStatus,
    EvidenceChannel,
    SkipReason,
    Suppression,
    SuppressionReason,
    UndeliverableReason,
    utcnow,
)
from alumni.models.purpose import Purpose
from alumni.people.links import LinkKind, make_token
from tests.conftest import finish_jobs
from tests.support.alumni_pages import csrf_token, submit_choices
from tests.support.bounces import BOUNCE_ADDRESS, mailed_person
from tests.support.factories import make_campaign, send_now

GRANTED = {Purpose.EVENTS, Purpose.COURSES}


@pytest.fixture
def config_overrides():
    return {"BOUNCE_ADDRESS": BOUNCE_ADDRESS, "SOFT_BOUNCE_LIMIT": 3}


def report(mailed, kind: ReportKind, **fields) -> Report:
    return Report(kind, **{"verp_tag": mailed.tag, "status": "5.1.1", **fields})


def fresh(alumnus) -> Alumnus:
    db.session.expire_all()
    return db.session.get(Alumnus, alumnus.id)


def skip_reasons(campaign) -> dict[int, str | None]:
    rows = db.session.execute(
        sa.select(Delivery.alumnus_id, Delivery.reason).where(Delivery.campaign_id == campaign.id)
    )
    return dict(rows.all())


def test_a_hard_bounce_marks_the_address_and_the_next_campaign_skips_it(app, outbox):
    mailed = mailed_person(app, outbox)
    outcome = processing.record(report(mailed, ReportKind.HARD), source="pipe")
    db.session.commit()
    assert outcome == processing.Outcome(Action.UNDELIVERABLE, mailed.alumnus.id, FoundBy.TAG)
    person = fresh(mailed.alumnus)
    assert person.undeliverable_reason is UndeliverableReason.HARD_BOUNCE
    assert {c.purpose for c in person.consents if c.granted} == GRANTED  # kept

    outbox.clear()
    campaign = make_campaign(Purpose.EVENTS)
    send_now(app, campaign)
    assert outbox == []
    assert skip_reasons(campaign) == {person.id: SkipReason.UNDELIVERABLE}

    (entry,) = db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "address.undeliverable")
    )
    assert entry.subject_id == person.subject_id
    assert entry.details == {"reason": "hard-bounce", "source": "pipe", "status": "5.1.1"}
    assert person.email not in str(entry.details)


def test_soft_bounces_mark_the_address_at_the_limit_within_the_window(app, outbox):
    mailed = mailed_person(app, outbox)
    old = Bounce(
        alumnus_id=mailed.alumnus.id,
        kind=BounceKind.SOFT,
        source=BounceSource.PIPE,
        received_at=utcnow() - timedelta(days=31),
    )
    db.session.add(old)
    db.session.commit()
    soft = Report(ReportKind.SOFT, verp_tag=mailed.tag, status="4.2.2")
    outcomes = [processing.record(soft, source="mailbox").action for _ in range(2)]
    db.session.commit()
    assert outcomes == [Action.SOFT_BOUNCE, Action.IGNORED]  # the second is the same report
    assert fresh(mailed.alumnus).undeliverable_at is None

    by_address = Report(ReportKind.SOFT, address=mailed.address, status="4.4.1")
    second = processing.record(by_address, source="pipe")  # other emails, found by address
    db.session.commit()
    assert second.action is Action.SOFT_BOUNCE
    assert fresh(mailed.alumnus).undeliverable_at is None
    outcome = processing.record(by_address, source="pipe")
    db.session.commit()
    assert outcome.action is Action.UNDELIVERABLE
    assert fresh(mailed.alumnus).undeliverable_reason is UndeliverableReason.SOFT_BOUNCES


def test_a_complaint_withdraws_every_consent_and_suppresses_the_address(app, outbox):
    mailed = mailed_person(app, outbox)
    outcome = processing.record(report(mailed, ReportKind.COMPLAINT), source="ses")
    db.session.commit()
    assert outcome.action is Action.COMPLAINT
    person = fresh(mailed.alumnus)
    assert not any(consent.granted for consent in person.consents)
    evidence = db.session.execute(
        sa.select(ConsentEvidence.purpose, ConsentEvidence.channel).where(
            ConsentEvidence.channel == EvidenceChannel.COMPLAINT
        )
    ).all()
    assert sorted(evidence) == sorted(
        [(Purpose.EVENTS, EvidenceChannel.COMPLAINT), (Purpose.COURSES, EvidenceChannel.COMPLAINT)]
    )
    assert db.session.scalars(sa.select(Suppression.reason)).all() == [SuppressionReason.COMPLAINT]
    (bounce,) = db.session.scalars(sa.select(Bounce))
    assert (bounce.kind, bounce.source, bounce.campaign_id) == (
        BounceKind.COMPLAINT,
        BounceSource.SES,
        db.session.get(Delivery, mailed.delivery_id).campaign_id,
    )


def test_a_complaint_found_only_by_its_address_changes_nothing(app, outbox):
    mailed = mailed_person(app, outbox)
    complaint = Report(ReportKind.COMPLAINT, address=mailed.address)
    outcome = processing.record(complaint, source="pipe")
    assert outcome.ignored is Ignored.UNPROVEN_COMPLAINT
    db.session.commit()
    assert {c.purpose for c in fresh(mailed.alumnus).consents if c.granted} == GRANTED


@pytest.mark.parametrize("position", [0, 15, 30])
def test_a_tampered_or_foreign_tag_is_ignored(app, outbox, position):
    mailed = mailed_person(app, outbox)
    other = "a" if mailed.tag[position] != "a" else "b"
    tampered = mailed.tag[:position] + other + mailed.tag[position + 1 :]
    for tag in (tampered, "a" * 31):
        hard = Report(ReportKind.HARD, address=mailed.address, verp_tag=tag)
        assert processing.record(hard, source="pipe").ignored is Ignored.FOREIGN_TAG
    db.session.commit()
    assert fresh(mailed.alumnus).undeliverable_at is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Bounce)) == 0


def confirm_new_address(app, client, outbox, person, new: str) -> None:
    """The person types a new address in their preferences and confirms it from there."""
    url = "/preferences/" + make_token(LinkKind.PREFERENCES, person)
    submit_choices(client, url, {Purpose.EVENTS, Purpose.COURSES}, email=new)
    finish_jobs(app)
    (message,) = [m for m in outbox if m["To"] == new]
    text = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://alumni\.test(/confirm-address/\S+)", text).group(1)
    page = client.get(link).get_data(as_text=True)
    assert client.post(link, data={"csrf_token": csrf_token(page)}).status_code == 200


def test_a_confirmed_new_address_gets_mail_again_and_old_reports_are_ignored(app, client, outbox):
    mailed = mailed_person(app, outbox)
    processing.record(report(mailed, ReportKind.HARD), source="pipe")
    db.session.commit()
    old_version = mailed.alumnus.link_version

    confirm_new_address(app, client, outbox, fresh(mailed.alumnus), "werkt.wel@alumni.example")
    person = fresh(mailed.alumnus)
    assert (person.undeliverable_at, person.undeliverable_reason) == (None, None)
    # A late report about an email to the old address says nothing of the new one.
    for late in (
        Report(ReportKind.HARD, verp_tag=make_tag(Tagged(Sent.FRESH_LINK, person.id, old_version))),
        report(mailed, ReportKind.SOFT),
        report(mailed, ReportKind.HARD),
    ):
        assert processing.record(late, source="pipe").ignored is Ignored.ADDRESS_LEFT
    db.session.commit()
    assert fresh(mailed.alumnus).undeliverable_at is None

    finish_jobs(app)  # the notice to the old address, the fresh link to the new one
    outbox.clear()
    send_now(app, make_campaign(Purpose.EVENTS))
    assert [m["To"] for m in outbox] == ["werkt.wel@alumni.example"]


@pytest.mark.parametrize("code, marked", [(550, True), (551, True), (553, True), (554, False)])
def test_a_refusal_during_the_smtp_conversation_is_a_hard_bounce(
    app, outbox, monkeypatch, code, marked
):
    """Both couriers: 550, 551 and 553 mark the address as a bounce that came back would;
    the address is not suppressed (consistent with bounces that come back later)."""
    mailed = mailed_person(app, outbox)

    def refuse(email):
        raise mail.PermanentFailure(f"SMTP {code}", code=code)

    monkeypatch.setattr(mail, "send", refuse)
    campaign = make_campaign(Purpose.EVENTS)
    send_now(app, campaign)
    (delivery,) = db.session.scalars(sa.select(Delivery).where(Delivery.campaign_id == campaign.id))
    assert (delivery.status, delivery.reason) == (DeliveryStatus.FAILED, f"smtp-{code}")
    assert (fresh(mailed.alumnus).undeliverable_at is not None) is marked
    bounces = db.session.execute(sa.select(Bounce.kind, Bounce.source, Bounce.delivery_id)).all()
    assert bounces == ([(BounceKind.HARD, BounceSource.SMTP, delivery.id)] if marked else [])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0


def test_an_invitation_tag_names_the_person(app):
    from tests.support.factories import make_alumnus

    person = make_alumnus()
    tag = make_tag(Tagged(Sent.INVITATION, person.id, person.link_version))
    outcome = processing.record(Report(ReportKind.HARD, verp_tag=tag), source="pipe")
    assert (outcome.action, outcome.alumnus_id) == (Action.UNDELIVERABLE, person.id)
