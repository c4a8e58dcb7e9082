"""Renewal of consent, on both databases, with the clock given to each step: a material notice
or an old consent makes one renewal campaign, which reaches consenting people only; "keep"
renews under the notice in force and ends the asking; no answer brings one reminder at half the
grace period and the lapse at its end, after which a person with nothing left is erased."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from alumni.campaigns import sending
from alumni.consent import notices, renewal
from alumni.consent.answers import pause_mail
from alumni.consent.suppression import suppress_address
from alumni.erasure import request_erasure
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    AlumnusStatus,
    Campaign,
    CampaignKind,
    CampaignStatus,
    Consent,
    ConsentEvidence,
    ConsentState,
    EvidenceChannel,
    SuppressionReason,
    utcnow,
)
from alumni.models.purpose import Purpose
from alumni.people import retention
from alumni.people.links import LinkKind, make_token
from tests.conftest import finish_jobs
from tests.support.alumni_pages import csrf_token, submit_choices
from tests.support.emails import is_receipt
from tests.support.factories import answer, make_alumnus

GRACE = timedelta(days=60)
KEEP_LINK = re.compile(r"https?://[^/\s]+(/renewal/[\w.-]+)")


def consenting(**fields) -> Alumnus:
    person = make_alumnus(**fields)
    answer(person, {Purpose.EVENTS, Purpose.COURSES})
    return person


def publish_material(version: str = "2027-01") -> None:
    notices.publish(version, text_nl="# Nieuw\n", text_en="# New\n", material=True, actor="cli")
    db.session.commit()


def soon():
    """A moment from now: a campaign made by a tick is due from the moment it is made."""
    return utcnow() + timedelta(seconds=1)


def tick(app, now) -> None:
    """The scheduler's tick at ``now``, and the work it queued, to the end."""
    sending.tick(now)
    finish_jobs(app)
    sending.tick(now)
    db.session.expire_all()


def renewals() -> list[Campaign]:
    query = sa.select(Campaign).where(Campaign.kind == CampaignKind.RENEWAL).order_by(Campaign.id)
    return list(db.session.scalars(query))


def channels(person: Alumnus) -> list[tuple[Purpose, ConsentState, EvidenceChannel, str]]:
    rows = db.session.scalars(
        sa.select(ConsentEvidence)
        .where(ConsentEvidence.subject_id == person.subject_id)
        .order_by(ConsentEvidence.id)
    )
    return [(e.purpose, e.decision, e.channel, e.notice_version) for e in rows]


def keep_url(message) -> str:
    return KEEP_LINK.search(message.get_body(("plain",)).get_content()).group(1)


def test_a_material_notice_asks_consenting_people_only_once(app, outbox):
    asked = consenting()
    english = consenting(locale="en")
    never_answered = make_alumnus()
    suppressed = consenting()
    suppress_address(suppressed.email, SuppressionReason.HARD_BOUNCE)
    paused = consenting()
    pause_mail(paused)
    erased = consenting()
    request_erasure(
        erased, reason=SuppressionReason.ERASED, channel=EvidenceChannel.STAFF, actor="t"
    )
    db.session.commit()
    finish_jobs(app)
    outbox.clear()
    publish_material()

    now = soon()
    tick(app, now)
    tick(app, now + timedelta(minutes=1))

    (campaign,) = renewals()
    assert campaign.renewal_key == "notice:2027-01" and campaign.purpose is None
    assert campaign.status is CampaignStatus.SENT
    assert sorted(m["To"] for m in outbox) == sorted([asked.email, english.email])
    assert never_answered.email not in {m["To"] for m in outbox}
    by_address = {m["To"]: m for m in outbox}
    dutch = by_address[asked.email]
    assert dutch["Subject"] == "Wil je nog contact houden met Demo College?"
    text = dutch.get_body(("plain",)).get_content()
    assert "/privacy/2027-01" in text and "/renewal/" in text and "/preferences/" in text
    assert "We have changed our privacy notice" in (
        by_address[english.email].get_body(("plain",)).get_content()
    )
    for message in outbox:  # I4, as every campaign email
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/decline/" in message["List-Unsubscribe"]


def test_keep_renews_under_the_new_notice_and_no_reminder_follows(app, client, outbox):
    keeper = consenting()
    silent = consenting()
    publish_material()
    start = soon()
    tick(app, start)
    url = keep_url(next(m for m in outbox if m["To"] == keeper.email))

    page = client.get(url)
    assert channels(keeper)[-1][2] is EvidenceChannel.OPTIN_FORM  # the GET changed nothing
    outbox.clear()
    client.post(url, data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    finish_jobs(app)
    assert [m["To"] for m in outbox] == [keeper.email]  # the receipt of "keep"
    assert is_receipt(outbox[0])

    db.session.expire_all()
    renewed = [row for row in channels(keeper) if row[2] is EvidenceChannel.RENEWAL]
    assert sorted(renewed) == [
        (Purpose.COURSES, ConsentState.GRANTED, EvidenceChannel.RENEWAL, "2027-01"),
        (Purpose.EVENTS, ConsentState.GRANTED, EvidenceChannel.RENEWAL, "2027-01"),
    ]
    consents = db.session.scalars(sa.select(Consent).where(Consent.alumnus_id == keeper.id))
    assert {c.notice_version for c in consents if c.granted} == {"2027-01"}

    outbox.clear()
    tick(app, start + GRACE / 2 + timedelta(minutes=1))
    tick(app, start + GRACE / 2 + timedelta(days=1))
    reminders = [c for c in renewals() if c.reminds_id is not None]
    assert len(reminders) == 1
    assert [m["To"] for m in outbox] == [silent.email]  # one reminder, not to the keeper
    assert "Herinnering" in outbox[0]["Subject"]


def test_no_answer_lapses_at_the_end_of_the_grace_period_and_erases(app, outbox):
    silent = consenting()
    partly = consenting()
    publish_material()
    start = soon()
    tick(app, start)
    # Asked, then a new consent for research under the new notice: that one does not lapse.
    from alumni.consent.decisions import record_choices

    record_choices(partly, {Purpose.RESEARCH: True}, EvidenceChannel.PREFERENCES)
    db.session.commit()

    assert retention.run(start + GRACE - timedelta(days=1)).renewals_lapsed == 0
    report = retention.run(start + GRACE + timedelta(minutes=1))
    finish_jobs(app)

    assert report.renewals_lapsed == 2
    db.session.expire_all()
    lapsed = [row for row in channels(silent) if row[2] is EvidenceChannel.LAPSED]
    assert {(p, d) for p, d, _, _ in lapsed} == {
        (Purpose.EVENTS, ConsentState.WITHDRAWN),
        (Purpose.COURSES, ConsentState.WITHDRAWN),
    }
    assert db.session.get(Alumnus, silent.id).status is AlumnusStatus.ERASED
    kept = db.session.get(Alumnus, partly.id)
    assert kept.status is AlumnusStatus.RESPONDED
    assert {c.purpose for c in kept.consents if c.granted} == {Purpose.RESEARCH}
    assert retention.run(start + GRACE + timedelta(days=2)).renewals_lapsed == 0


def test_an_old_consent_is_asked_for_again_once_a_month(app, outbox):
    old = consenting()
    fresh = consenting()
    now = soon()
    for consent in old.consents:
        consent.changed_at = renewal.months_before(now, 25)
    db.session.commit()
    outbox.clear()

    tick(app, now)
    tick(app, now + timedelta(minutes=5))

    (campaign,) = renewals()
    assert campaign.renewal_key == f"aged:{now:%Y-%m}"
    assert [m["To"] for m in outbox] == [old.email]
    assert fresh.email not in {m["To"] for m in outbox}
    assert "lang geleden" in outbox[0].get_body(("plain",)).get_content()


def test_nothing_due_makes_no_campaign(app):
    consenting()
    tick(app, soon())
    assert renewals() == []


def test_progress_counts_asked_kept_lapsed_and_waiting(app, client, outbox):
    keeper, silent, waiting = consenting(), consenting(), consenting()
    publish_material()
    start = soon()
    tick(app, start)
    url = keep_url(next(m for m in outbox if m["To"] == keeper.email))
    client.post(url, data={"csrf_token": csrf_token(client.get(url).get_data(as_text=True))})
    db.session.expire_all()
    assert renewal.progress(start) == renewal.Progress(
        asked=3, kept=1, changed=0, lapsed=0, waiting=2
    )
    del silent, waiting


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        ("2027-03-31", 1, "2027-02-28"),
        ("2028-03-31", 1, "2028-02-29"),
        ("2027-01-15", 24, "2025-01-15"),
    ],
)
def test_months_before_keeps_the_day_or_takes_the_last_of_the_month(moment, months, expected):
    from datetime import UTC, datetime

    start = datetime.fromisoformat(moment).replace(tzinfo=UTC)
    assert renewal.months_before(start, months).date().isoformat() == expected


def test_choices_saved_on_the_preferences_are_an_answer(app, client, outbox):
    """ "Change my choices": what the person keeps there is given anew and does not lapse."""
    person = consenting()
    publish_material()
    start = soon()
    tick(app, start)
    url = "/preferences/" + make_token(LinkKind.PREFERENCES, person)
    status, _ = submit_choices(client, url, {Purpose.EVENTS})
    assert status == 303

    db.session.expire_all()
    assert (Purpose.EVENTS, ConsentState.GRANTED, EvidenceChannel.PREFERENCES, "2027-01") in (
        channels(person)
    )
    assert retention.run(start + GRACE + timedelta(minutes=1)).renewals_lapsed == 0
    kept = db.session.get(Alumnus, person.id)
    assert {c.purpose for c in kept.consents if c.granted} == {Purpose.EVENTS}
