"""A worker killed with kill -9 in the middle of a campaign, and a new one started: zero
duplicates at the SMTP server, and everyone who consents gets exactly one email, except the
messages in flight at the kill. Those stay claimed, are never sent again (the mail may have
left), and end as failed with the reason "interrupted".

The kill comes at the worst moment: the SMTP server has taken a message but its "250" has not
reached the worker, so nothing in the database says it was sent."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from alumni.campaigns import sending
from alumni.extensions import db
from alumni.models import CampaignStatus, Delivery, DeliveryStatus
from tests.journeys.conftest import deliveries_of, redis_config, scheduled_campaign_to
from tests.support.workers import (
    kill_hard,
    start_worker,
    stop,
    wait_for,
    worker_environment,
)

PEOPLE = 200
THREADS = 2
RECOVERY = {"SEND_BATCH_SIZE": 20, "STALE_BATCH_SECONDS": 3, "INTERRUPTED_CLAIM_SECONDS": 3}


@pytest.fixture
def config_overrides(smtp_server, redis_namespace):
    return redis_config(smtp_server, redis_namespace, **RECOVERY)


def finished(campaign) -> bool:
    """Play the scheduler: tick, then see whether the campaign is done."""
    sending.tick()
    db.session.expire_all()
    claimed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Delivery)
        .where(Delivery.campaign_id == campaign.id, Delivery.status == DeliveryStatus.CLAIMED)
    )
    return campaign.status is CampaignStatus.SENT and claimed == 0


def describe(campaign, people, emails) -> str:
    """What the database says of the people who got nothing: the test's failure message."""
    ids = {person.id for person in people if person.email in emails}
    rows = db.session.execute(
        sa.select(Delivery.alumnus_id, Delivery.status, Delivery.reason, Delivery.attempts).where(
            Delivery.campaign_id == campaign.id, Delivery.alumnus_id.in_(ids)
        )
    ).all()
    return f"no email for alumni {sorted(ids)}; their deliveries: {rows}"


@pytest.mark.redis
def test_kill_9_mid_campaign_sends_nobody_twice(
    app, database_url, smtp_server, redis_namespace, tmp_path
):
    smtp_server.hold_from = 40  # from the 40th on, the server keeps each message unanswered
    people, campaign = scheduled_campaign_to(PEOPLE)
    env = worker_environment(database_url, redis_namespace, smtp_server.url, **RECOVERY)
    log = tmp_path / "workers.log"
    first = start_worker(env, log, threads=THREADS)
    try:
        sending.tick()
        assert wait_for(lambda: len(smtp_server.messages) >= 40, timeout=60), log.read_text()
        kill_hard(first)
        with smtp_server.lock:
            on_server_unanswered = set(smtp_server.recipients()[39:])
        smtp_server.released.set()
        assert len(smtp_server.messages) < PEOPLE  # the kill came mid-campaign

        second = start_worker(env, log, threads=THREADS)
        try:
            assert wait_for(lambda: finished(campaign), timeout=120, step=1), log.read_text()
        finally:
            stop(second)
    finally:
        stop(first)

    received = Counter(smtp_server.recipients())
    assert max(received.values()) == 1, "an email went out twice"
    interrupted = set(deliveries_of(campaign, Delivery.reason == "interrupted"))
    assert len(interrupted) <= THREADS  # at most one message in flight per thread
    everyone = {person.email for person in people}
    in_flight = {person.email for person in people if person.id in interrupted}
    assert on_server_unanswered and on_server_unanswered <= in_flight  # and never sent again
    missing = everyone - in_flight - set(received)
    assert not missing, describe(campaign, people, missing)  # all others got theirs
    assert set(received) <= everyone
    sent = deliveries_of(campaign, Delivery.status == DeliveryStatus.SENT)
    assert len(sent) == PEOPLE - len(interrupted)
