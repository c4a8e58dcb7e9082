"""Withdrawal wins every race: withdrawals committed while several worker processes send a
campaign; no email leaves for a person after their withdrawal has committed."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from alumni.campaigns import sending
from alumni.campaigns.service import schedule
from alumni.extensions import db
from alumni.models import CampaignStatus, Delivery, DeliveryStatus
from alumni.models.purpose import Purpose
from alumni.people.links import LinkKind, make_token
from tests.journeys.conftest import redis_config
from tests.support.emails import is_receipt
from tests.support.factories import answer, make_alumnus, make_campaign
from tests.support.workers import (
    start_worker,
    stop,
    worker_environment,
)

PEOPLE = 100


@pytest.fixture
def config_overrides(smtp_server, redis_namespace):
    return redis_config(smtp_server, redis_namespace, SEND_BATCH_SIZE=5)


@pytest.mark.redis
def test_no_email_leaves_after_a_withdrawal_commits(
    app, database_url, smtp_server, redis_namespace, tmp_path
):
    smtp_server.delay = 0.08  # each message spends 80 ms in the relay: long races
    people = [make_alumnus() for _ in range(PEOPLE)]
    for person in people:
        answer(person, {Purpose.EVENTS, Purpose.COURSES})
    by_id = {person.id: person for person in people}
    one_click = {
        person.id: "/unsubscribe/" + make_token(LinkKind.UNSUBSCRIBE, person, "events", 1)
        for person in people
    }
    campaign = make_campaign(Purpose.EVENTS)
    schedule(campaign)
    db.session.commit()

    env = worker_environment(database_url, redis_namespace, smtp_server.url, SEND_BATCH_SIZE="5")
    workers = [start_worker(env, tmp_path / "workers.log", threads=2) for _ in range(2)]
    client = app.test_client(use_cookies=False)
    withdrawn_at: dict[str, float] = {}
    try:
        sending.tick()
        deadline = time.monotonic() + 120
        next_tick = time.monotonic() + 1
        # Withdraw exactly the people whose email is being sent right now: claimed, in flight.
        while time.monotonic() < deadline:
            if time.monotonic() > next_tick:
                if finished(campaign):
                    break
                next_tick = time.monotonic() + 1
            in_flight = db.session.scalars(
                sa.select(Delivery.alumnus_id).where(
                    Delivery.campaign_id == campaign.id, Delivery.status == DeliveryStatus.CLAIMED
                )
            ).all()
            db.session.rollback()
            for alumnus_id in in_flight:
                email = by_id[alumnus_id].email
                if email in withdrawn_at:
                    continue
                response = client.post(
                    one_click[alumnus_id], data={"List-Unsubscribe": "One-Click"}
                )
                assert response.status_code == 200
                withdrawn_at[email] = time.time()  # the withdrawal has committed by now
        assert finished(campaign), (tmp_path / "workers.log").read_text()
    finally:
        for worker in workers:
            stop(worker)

    # On SQLite every send holds the database's write lock, so few withdrawals get in while
    # sending; PostgreSQL locks rows, and races are many (without the share locks of
    # `deliver`, about every one of them ends with an email after the withdrawal).
    enough = 10 if database_url.startswith("postgresql") else 1
    assert len(withdrawn_at) >= enough, "the test did not manage to race"
    with smtp_server.lock:
        arrivals = list(zip(smtp_server.messages, smtp_server.received_at, strict=True))
    # The receipt of a one-click opt-out comes after it, as it should.
    mailings = [(message["To"], at) for message, at in arrivals if not is_receipt(message)]
    late = [
        (rcpt, at - withdrawn_at[rcpt])
        for rcpt, at in mailings
        if rcpt in withdrawn_at and at > withdrawn_at[rcpt]
    ]
    assert late == [], "emails left after the withdrawal had committed"


def finished(campaign) -> bool:
    sending.tick()
    db.session.expire_all()
    return campaign.status is CampaignStatus.SENT
