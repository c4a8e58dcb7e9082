"""Retention: unanswered invitations, people without consent, old deliveries and old audit
entries go when their period ends; `retention run` now, the scheduler every interval."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from alumni.campaigns.service import counts
from alumni.consent.decisions import record_choices
from alumni.core.pseudonyms import email_suppression_key
from alumni.erasure import ledger
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    AlumnusStatus,
    AuditEntry,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    DeliveryTotal,
    EvidenceChannel,
    Suppression,
    utcnow,
)
from alumni.models.purpose import Purpose
from alumni.people import retention
from tests.support.factories import answer, make_alumnus, make_campaign, send_now
from worker import scheduler

DAY = timedelta(days=1)


def invited(days_ago: int, *, sent: bool = True) -> Alumnus:
    at = utcnow() - days_ago * DAY
    return make_alumnus(
        status=AlumnusStatus.INVITED, invited_at=at, invitation_sent_at=at if sent else None
    )


def statuses(*people: Alumnus) -> list[AlumnusStatus]:
    db.session.expire_all()
    return [person.status for person in people]


def test_invitees_who_did_not_answer_in_time_are_erased(app):
    expired, recent, never_sent = invited(61), invited(59), invited(61, sent=False)
    answered = invited(90)
    answer(answered, {Purpose.EVENTS})
    address = expired.email

    report = retention.run()

    assert report.invitees_erased == 2
    assert statuses(expired, recent, never_sent, answered) == [
        AlumnusStatus.ERASED,
        AlumnusStatus.INVITED,
        AlumnusStatus.ERASED,  # queued 61 days ago and never sent: no answer will come
        AlumnusStatus.RESPONDED,
    ]
    assert expired.email is None
    listed = set(db.session.scalars(sa.select(Suppression.key_hash)))
    assert email_suppression_key(address) in listed
    subjects = {e.subject for e in ledger.read(app.config["ERASURE_LEDGER_PATH"], 0, 10)[0]}
    assert subjects == {expired.subject_id, never_sent.subject_id}


@pytest.mark.parametrize("config_overrides", [{"INVITE_TTL_DAYS": 7}])
def test_the_invitation_period_is_configured(app):
    person = invited(8)
    assert retention.run().invitees_erased == 1
    assert statuses(person) == [AlumnusStatus.ERASED]


def test_someone_whose_every_purpose_was_withdrawn_is_erased_without_anyone_acting(app):
    person, other = make_alumnus(), make_alumnus()
    for alumnus in (person, other):
        answer(alumnus, {Purpose.EVENTS, Purpose.SURVEYS})
    # Withdrawn without the erasure that every path asks for (data from before it existed).
    record_choices(person, {Purpose.EVENTS: False, Purpose.SURVEYS: False}, EvidenceChannel.STAFF)
    db.session.commit()

    scheduler.tick()

    assert statuses(person, other) == [AlumnusStatus.ERASED, AlumnusStatus.RESPONDED]


def test_old_deliveries_become_totals(app, outbox):
    people = [make_alumnus() for _ in range(3)]
    for person in people:
        answer(person, {Purpose.EVENTS})
    old, recent = make_campaign(Purpose.EVENTS), make_campaign(Purpose.EVENTS)
    for campaign in (old, recent):
        send_now(app, campaign)
    db.session.add(
        Delivery(
            campaign_id=old.id,
            alumnus_id=None,
            status=DeliveryStatus.SKIPPED,
            reason="no-consent",
            created_at=utcnow(),
        )
    )
    long_ago = utcnow() - 731 * DAY
    db.session.execute(
        sa.update(Delivery).where(Delivery.campaign_id == old.id).values(created_at=long_ago)
    )
    db.session.commit()
    before = {c.id: counts(c).as_dict() for c in (old, recent)}
    assert before[old.id] == {"sent": 3, "failed": 0, "skipped": {"no-consent": 1}}

    assert retention.run().deliveries_aggregated == 4
    assert retention.run().deliveries_aggregated == 0

    assert {c.id: counts(c).as_dict() for c in (old, recent)} == before
    left = db.session.scalars(sa.select(Delivery.campaign_id)).all()
    assert left == [recent.id] * 3
    assert db.session.scalar(sa.select(sa.func.sum(DeliveryTotal.count))) == 4


def test_deliveries_of_a_campaign_still_sending_are_kept(app):
    person = make_alumnus()
    answer(person, {Purpose.EVENTS})
    campaign = make_campaign(Purpose.EVENTS)
    db.session.execute(sa.update(Campaign).values(status=CampaignStatus.SENDING))
    db.session.add(
        Delivery(
            campaign_id=campaign.id,
            alumnus_id=person.id,
            status=DeliveryStatus.SENT,
            created_at=utcnow() - 800 * DAY,
        )
    )
    db.session.commit()
    assert retention.run().deliveries_aggregated == 0


def test_a_delivery_that_still_names_an_erased_person_loses_the_name(app):
    person = make_alumnus()
    answer(person, set())  # erased
    campaign = make_campaign(Purpose.EVENTS)
    db.session.add(
        Delivery(campaign_id=campaign.id, alumnus_id=person.id, status=DeliveryStatus.SKIPPED)
    )
    db.session.commit()
    assert retention.run().deliveries_unlinked == 1
    assert db.session.scalars(sa.select(Delivery.alumnus_id)).all() == [None]


@pytest.mark.parametrize("config_overrides", [{"AUDIT_RETENTION_DAYS": 30}])
def test_old_audit_entries_are_deleted(app):
    db.session.add_all(
        [
            AuditEntry(actor="cli", action="old", at=utcnow() - 31 * DAY),
            AuditEntry(actor="cli", action="recent", at=utcnow() - 29 * DAY),
        ]
    )
    db.session.commit()
    assert retention.run(actor="cli").audit_entries_deleted == 1
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["recent", "retention.ran"]


def test_the_scheduler_runs_it_once_per_interval(app):
    start = utcnow()
    assert retention.run_if_due(start) is not None
    assert retention.run_if_due(start + timedelta(minutes=59)) is None
    person = invited(61)
    assert retention.run_if_due(start + timedelta(minutes=60)).invitees_erased == 1
    assert statuses(person) == [AlumnusStatus.ERASED]


def test_the_command_says_what_it_did(app, runner):
    invited(61)
    invited(100)
    result = runner.invoke(args=["retention", "run"])
    assert result.exit_code == 0, result.output
    numbers = [int(n) for n in re.findall(r"\d+", result.output)]
    assert numbers == [60, 2, 0, 0, 0]
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(Alumnus.status == AlumnusStatus.ERASED))
        == 2
    )
