"""Sending campaigns in process: who gets the email, what it carries, and what is skipped."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import sqlalchemy as sa

from alumni.campaigns import sending
from alumni.campaigns.content import CampaignSnapshot
from alumni.campaigns.couriers import base as delivery
from alumni.campaigns.couriers.base import Courier
from alumni.campaigns.sending import courier_for
from alumni.campaigns.service import counts, schedule
from alumni.consent.answers import opt_out
from alumni.consent.suppression import suppress_address
from alumni.extensions import db
from alumni.models import (
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    EvidenceChannel,
    SuppressionReason,
)
from alumni.models.purpose import Purpose
from tests.support.factories import answer, held_batches, make_alumnus, make_campaign, send_now


@pytest.fixture
def config_overrides():
    return {"SEND_BATCH_SIZE": 3}


def test_only_those_who_consent_to_the_purpose_get_it(app, outbox):
    yes = [make_alumnus() for _ in range(5)]
    for person in yes:
        answer(person, {Purpose.EVENTS, Purpose.COURSES})
    no = make_alumnus()
    answer(no, {Purpose.COURSES})
    never_answered = make_alumnus()
    campaign = make_campaign(Purpose.EVENTS)
    send_now(app, campaign)
    assert sorted(m["To"] for m in outbox) == sorted(p.email for p in yes)
    assert never_answered.email not in {m["To"] for m in outbox}
    assert campaign.status is CampaignStatus.SENT
    assert counts(campaign).as_dict() == {"sent": 5, "failed": 0, "skipped": {}}


def test_filters_by_programme_and_graduation_year(app, outbox):
    match = make_alumnus(programme="Logistiek", graduation_year=2020)
    other_year = make_alumnus(programme="Logistiek", graduation_year=2021)
    other_programme = make_alumnus(programme="Zorg", graduation_year=2020)
    for person in (match, other_year, other_programme):
        answer(person, {Purpose.EVENTS})
    campaign = make_campaign(programmes=["Logistiek"], graduation_years=[2020])
    send_now(app, campaign)
    assert [m["To"] for m in outbox] == [match.email]


def test_every_email_carries_the_one_click_opt_out(app, outbox):
    person = make_alumnus(locale="nl")
    answer(person, {Purpose.EVENTS})
    send_now(app, make_campaign())
    (message,) = outbox
    unsubscribe = message["List-Unsubscribe"]
    https, mailto = re.findall(r"<([^>]+)>", unsubscribe)
    assert https.startswith("http://alumni.test/unsubscribe/")
    assert mailto.startswith("mailto:")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"] and message["Date"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert https in text and https.replace("&", "&amp;") in html
    assert "/preferences/" in text
    assert "<strong>alumnidag</strong>" in html and "<script" not in html


def test_markdown_cannot_smuggle_html(app, outbox):
    person = make_alumnus()
    answer(person, {Purpose.EVENTS})
    hostile = '<script>alert(1)</script> [x](javascript:alert(1)) <img src="https://t.example/p">'
    send_now(app, make_campaign(body=hostile))
    html = outbox[0].get_body(preferencelist=("html",)).get_content()
    # What was markup arrives as visible text, never as a live tag, link or image.
    assert "&lt;script&gt;" in html
    assert "<script" not in html
    # The only image is our own open-tracking pixel.
    (image,) = re.findall(r"<img\b[^>]*>", html)
    assert re.match(r'<img src="http://alumni\.test/o/[\w-]{48}\.gif"', image), image
    assert 'href="javascript:' not in html


def test_consent_is_checked_at_send_time_not_at_scheduling(app, outbox, monkeypatch):
    stays, leaves = make_alumnus(), make_alumnus()
    for person in (stays, leaves):
        answer(person, {Purpose.EVENTS, Purpose.COURSES})
    campaign = make_campaign()
    schedule(campaign)
    db.session.commit()
    queued: list[tuple[str, tuple]] = []
    runtime = app.extensions["dramatiq"]
    monkeypatch.setattr(runtime, "enqueue", lambda name, *args: queued.append((name, args)))
    sending.tick()  # started: its dispatch is queued (held here, not run yet)
    sending.dispatch(campaign.id)  # both people are in a batch now
    batches = [args[0] for name, args in queued if name == "send_campaign_batch"]
    assert batches

    opt_out(leaves, Purpose.EVENTS, EvidenceChannel.ONE_CLICK)  # after scheduling, before sending
    db.session.commit()
    for batch_id in batches:
        sending.send_batch(batch_id)
    assert [m["To"] for m in outbox] == [stays.email]


def test_a_withdrawal_after_the_batch_was_read_is_seen_at_the_send(app, outbox, monkeypatch):
    """The batch reads its audience first; a withdrawal that commits after that read and
    before the person's turn must still stop their email: the check under lock sees it."""
    people = [make_alumnus() for _ in range(3)]
    for person in people:
        answer(person, {Purpose.EVENTS, Purpose.COURSES})
    leaves = people[1]
    campaign = make_campaign()
    (batch_id,) = held_batches(app, monkeypatch, campaign)
    read_the_batch = Courier.look_up_suppressions  # runs once the audience has been read

    def withdraw_then_look_up(courier, alumnus_ids):
        alumnus_ids = list(alumnus_ids)
        assert leaves.id in alumnus_ids  # still in the audience the batch read
        opt_out(leaves, Purpose.EVENTS, EvidenceChannel.ONE_CLICK)
        db.session.commit()
        read_the_batch(courier, alumnus_ids)

    monkeypatch.setattr(Courier, "look_up_suppressions", withdraw_then_look_up)
    assert sending.send_batch(batch_id) == "done"
    assert sorted(m["To"] for m in outbox) == sorted([people[0].email, people[2].email])
    skipped = db.session.scalar(sa.select(Delivery).where(Delivery.alumnus_id == leaves.id))
    assert (skipped.status, skipped.reason) == (DeliveryStatus.SKIPPED, "no-consent")


def test_a_suppressed_address_is_never_mailed_whatever_the_consent(app, outbox, monkeypatch):
    """Suppression is looked up once per batch; an address changed after that look-up (to one
    on the list) is looked up again at its send."""
    people = [make_alumnus() for _ in range(3)]
    for person in people:
        answer(person, {Purpose.EVENTS})
    bounced, moves = people[0], people[2]
    suppress_address(bounced.email, SuppressionReason.HARD_BOUNCE)
    suppress_address("bounced-before@example.org", SuppressionReason.HARD_BOUNCE)
    campaign = make_campaign()
    (batch_id,) = held_batches(app, monkeypatch, campaign)
    look_up = Courier.look_up_suppressions

    def look_up_then_move(courier, alumnus_ids):
        look_up(courier, alumnus_ids)
        moves.email = "bounced-before@example.org"  # corrected by the person, say
        db.session.commit()

    monkeypatch.setattr(Courier, "look_up_suppressions", look_up_then_move)
    assert sending.send_batch(batch_id) == "done"
    assert [m["To"] for m in outbox] == [people[1].email]
    reasons = db.session.execute(
        sa.select(Delivery.alumnus_id, Delivery.reason).where(
            Delivery.status == DeliveryStatus.SKIPPED
        )
    ).all()
    assert sorted(reasons) == sorted([(bounced.id, "suppressed"), (moves.id, "suppressed")])


def test_a_delivery_is_claimed_once_whatever_happens(app, outbox, monkeypatch):
    person = make_alumnus()
    answer(person, {Purpose.EVENTS})
    campaign = make_campaign()
    schedule(campaign)
    db.session.commit()
    # Hold the queued jobs: this test sends by hand, with no worker racing it.
    monkeypatch.setattr(app.extensions["dramatiq"], "enqueue", lambda name, *args: None)
    sending.start_due_campaigns(sending.utcnow())
    with courier_for(CampaignSnapshot.of(campaign)) as courier:
        assert courier.deliver_all([person.id]) == []
        assert courier.deliver_all([person.id]) == [person.id]  # claimed before
    assert courier.tally == Counter({("alumni_emails_sent", "events"): 1})
    assert len(outbox) == 1
    rows = db.session.scalars(sa.select(Delivery)).all()
    assert [(r.status, r.alumnus_id) for r in rows] == [(DeliveryStatus.SENT, person.id)]


def test_a_batch_is_not_done_while_another_job_holds_one_of_its_claims(app, outbox, monkeypatch):
    """Two jobs on one batch (the tick queued it again): the one that finds a claim of the
    other must not close the batch, for that claim may be given back unsent."""
    people = [make_alumnus() for _ in range(3)]
    for person in people:
        answer(person, {Purpose.EVENTS})
    campaign = make_campaign()
    (batch_id,) = held_batches(app, monkeypatch, campaign)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as other_job:
        held = delivery.claim(other_job, campaign.id, people[1].id)  # mid-send

    assert sending.send_batch(batch_id) == "others-in-flight"
    assert sending.finish_if_done(campaign) is False

    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as other_job:
        delivery.unclaim(other_job, held)  # given back: the campaign was paused, say
    assert sending.send_batch(batch_id) == "done"
    assert sorted(m["To"] for m in outbox) == sorted(p.email for p in people)
    assert campaign.status is CampaignStatus.SENT


def test_a_claim_ended_by_the_tick_is_not_sent_by_its_holder(app, outbox, monkeypatch):
    """The tick took the holder for dead and failed the claim: sending now could duplicate."""
    person = make_alumnus()
    answer(person, {Purpose.EVENTS})
    campaign = make_campaign()
    held_batches(app, monkeypatch, campaign)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as holder:
        delivery_id = delivery.claim(holder, campaign.id, person.id)
    app.config["INTERRUPTED_CLAIM_SECONDS"] = 0
    sending.end_interrupted_claims(sending.utcnow() + sending.timedelta(seconds=1))
    db.session.commit()

    with db.engine.connect() as holder:
        assert delivery.begin_send(holder, campaign.id, delivery_id) is False
    assert outbox == []
    ended = db.session.get(Delivery, delivery_id, populate_existing=True)
    assert (ended.status, ended.reason) == (DeliveryStatus.FAILED, "interrupted")


def test_paused_people_are_skipped(app, outbox):
    person = make_alumnus()
    answer(person, {Purpose.EVENTS})
    from alumni.consent.answers import pause_mail

    pause_mail(person)
    db.session.commit()
    campaign = make_campaign()
    send_now(app, campaign)
    assert outbox == []


def test_metrics_count_what_was_sent(app, client, outbox):
    for _ in range(2):
        answer(make_alumnus(), {Purpose.EVENTS})
    campaign = make_campaign()
    send_now(app, campaign)
    page = client.get("/metrics").get_data(as_text=True)
    assert 'alumni_emails_sent_total{purpose="events"} 2.0' in page
    assert 'alumni_consent_changes_total{decision="granted",purpose="events"} 2.0' in page
    assert "alumni_queue_depth" in page
