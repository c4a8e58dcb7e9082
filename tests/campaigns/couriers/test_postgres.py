"""Sending a chunk of people at a time (PostgreSQL), and what the tick does with claims left
open by a sender that died: only the first open claim of a group may have left."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from alumni.campaigns import sending
from alumni.campaigns.couriers.postgres import CHUNK
from alumni.campaigns.service import pause, resume
from alumni.campaigns.throttle import Unlimited
from alumni.erasure.operation import erase_alumnus
from alumni.extensions import db
from alumni.models import (
    CampaignStatus,
    Consent,
    Delivery,
    DeliveryStatus,
    EvidenceChannel,
    SuppressionReason,
    utcnow,
)
from alumni.models.purpose import Purpose
from tests.support.factories import answer, held_batches, make_alumnus, make_campaign


@pytest.fixture
def config_overrides():
    return {"SEND_BATCH_SIZE": 50, "INTERRUPTED_CLAIM_SECONDS": 0}


def consenting(count: int) -> list:
    people = [make_alumnus() for _ in range(count)]
    for person in people:
        answer(person, {Purpose.EVENTS})
    return people


def open_claims(campaign) -> list[int]:
    query = sa.select(Delivery.alumnus_id).where(
        Delivery.campaign_id == campaign.id, Delivery.status == DeliveryStatus.CLAIMED
    )
    return sorted(db.session.scalars(query))


def claim_group(campaign, people, group: int | None, *, sent: int = 0) -> list[int]:
    """Claims as a sender leaves them when it dies: the first ``sent`` recorded, the rest open."""
    ids = []
    for n, person in enumerate(people):
        delivery = Delivery(
            campaign_id=campaign.id,
            alumnus_id=person.id,
            status=DeliveryStatus.SENT if n < sent else DeliveryStatus.CLAIMED,
            claim_group=group,
            created_at=utcnow() - sending.timedelta(minutes=1),
        )
        db.session.add(delivery)
        db.session.flush()
        ids.append(delivery.id)
    db.session.commit()
    return ids


def test_of_a_dead_group_only_the_first_open_claim_may_have_left(app, outbox, monkeypatch):
    people = consenting(5)
    campaign = make_campaign()
    held_batches(app, monkeypatch, campaign)
    group = claim_group(campaign, people[:4], group=12345, sent=1)
    alone = claim_group(campaign, people[4:], group=None)

    assert sending.end_interrupted_claims(utcnow()) == 4
    db.session.commit()

    rows = db.session.execute(
        sa.select(Delivery.id, Delivery.status, Delivery.reason).order_by(Delivery.id)
    ).all()
    assert [tuple(row) for row in rows] == [
        (group[0], DeliveryStatus.SENT, None),  # recorded before the crash: left as it is
        (group[1], DeliveryStatus.FAILED, "interrupted"),  # may have left: never again
        # group[2] and group[3] were never handed over: given back, to be sent
        (alone[0], DeliveryStatus.FAILED, "interrupted"),  # a claim taken alone
    ]


def live_sender(app, outbox, monkeypatch):
    people = consenting(3)
    campaign = make_campaign()
    held_batches(app, monkeypatch, campaign)
    claim_group(campaign, people, group=777)
    with db.engine.connect() as sender:
        sender.execute(sa.text("SELECT pg_advisory_xact_lock(777)"))  # sending, slowly
        assert sending.end_interrupted_claims(utcnow()) == 0
        db.session.commit()
        assert open_claims(campaign) == sorted(p.id for p in people)
        sender.rollback()  # the sender dies
    assert sending.end_interrupted_claims(utcnow()) == 3
    db.session.commit()
    assert open_claims(campaign) == []


def test_a_chunk_sends_to_each_once_and_leaves_no_claim_open(app, outbox, monkeypatch):
    people = consenting(CHUNK + 5)
    campaign = make_campaign()
    (batch_id,) = held_batches(app, monkeypatch, campaign)
    assert sending.send_batch(batch_id) == "done"
    assert sorted(m["To"] for m in outbox) == sorted(p.email for p in people)
    assert open_claims(campaign) == []
    groups = db.session.scalars(sa.select(Delivery.claim_group).distinct()).all()
    assert len(groups) == (2 if db.engine.dialect.name == "postgresql" else 1)


class TestThePostgresCourier:
    """PostgreSQL only: SQLite's courier sends one email at a time, its claims alone."""

    @pytest.fixture
    def database_url(self, postgres_database):
        return postgres_database

    def test_a_chunk_is_never_more_than_the_rate_allows_in_a_second(self, app, outbox, monkeypatch):
        people = consenting(7)
        campaign = make_campaign()
        (batch_id,) = held_batches(app, monkeypatch, campaign)
        app.config["SEND_RATE"] = 3
        app.extensions["throttle"] = Unlimited()  # the chunk size, without the waiting
        assert sending.send_batch(batch_id) == "done"
        assert len(outbox) == len(people)
        sizes = db.session.scalars(
            sa.select(sa.func.count())
            .select_from(Delivery)
            .group_by(Delivery.claim_group)
            .order_by(sa.func.count())
        ).all()
        assert sizes == [1, 3, 3]

    def test_the_claims_of_a_live_sender_are_left_alone_however_old(self, app, outbox, monkeypatch):
        live_sender(app, outbox, monkeypatch)

    def test_a_pause_mid_chunk_gives_back_what_was_not_handed_over(self, app, outbox, monkeypatch):
        pause_mid_chunk(app, outbox, monkeypatch)

    def test_an_erasure_during_a_chunk_waits_for_it_and_neither_hangs(
        self, app, outbox, monkeypatch
    ):
        erasure_mid_chunk(app, outbox, monkeypatch)


def pause_mid_chunk(app, outbox, monkeypatch):
    people = consenting(6)
    campaign = make_campaign()
    (batch_id,) = held_batches(app, monkeypatch, campaign)
    backend = app.extensions["mail"]
    hand_over = backend.send

    def pause_after_the_first(message):
        hand_over(message)
        if len(backend.outbox) == 1:
            with app.app_context():  # the officer, meanwhile
                staff_view = db.session.get(type(campaign), campaign.id)
                pause(staff_view)
                db.session.commit()

    monkeypatch.setattr(backend, "send", pause_after_the_first)
    assert sending.send_batch(batch_id) == "stopped"
    assert len(outbox) == 1  # the first was recorded, and saw the pause
    assert open_claims(campaign) == []  # the other five were given back

    monkeypatch.setattr(backend, "send", hand_over)
    db.session.refresh(campaign)
    resume(campaign)
    db.session.commit()
    assert sending.send_batch(batch_id) == "done"
    assert sorted(m["To"] for m in outbox) == sorted(p.email for p in people)


def erasure_mid_chunk(app, outbox, monkeypatch):
    """The chunk holds the people while it sends and records each delivery after; an erasure
    locks the person before their deliveries, so it waits for the chunk. (Deliveries first
    would hold the claim the chunk has yet to record while waiting for the chunk: neither
    would ever finish, and PostgreSQL could not see it.)"""
    people = consenting(4)
    addresses = sorted(p.email for p in people)
    leaving = people[2]
    campaign = make_campaign()
    (batch_id,) = held_batches(app, monkeypatch, campaign)
    backend = app.extensions["mail"]
    hand_over = backend.send
    erasure: dict[str, object] = {}

    def erase() -> None:
        with app.app_context():
            db.session.execute(sa.text("SET lock_timeout = '5s'"))  # a hang fails the test
            try:
                person = db.session.get(type(leaving), leaving.id)
                erase_alumnus(
                    person,
                    reason=SuppressionReason.ERASED,
                    channel=EvidenceChannel.ERASURE,
                    actor="test",
                )
                db.session.commit()
                erasure["done"] = time.monotonic()
            except sa.exc.DBAPIError as error:
                db.session.rollback()
                erasure["error"] = error

    eraser = threading.Thread(target=erase)

    def erase_during_the_first(message):
        hand_over(message)
        if len(backend.outbox) == 1:
            eraser.start()
            time.sleep(1.0)  # the erasure takes what it can, then waits

    monkeypatch.setattr(backend, "send", erase_during_the_first)
    assert sending.send_batch(batch_id) == "done"
    chunk_done = time.monotonic()
    eraser.join(30)
    assert "error" not in erasure, erasure.get("error")
    assert erasure["done"] >= chunk_done - 0.5  # it waited for the chunk
    # Held by the chunk when the erasure came, so mailed: the erasure had not committed.
    assert sorted(m["To"] for m in outbox) == addresses
    assert db.session.get(type(leaving), leaving.id, populate_existing=True).is_erased
    assert open_claims(campaign) == []
    statuses = db.session.scalars(
        sa.select(Delivery.status).where(Delivery.campaign_id == campaign.id)
    ).all()
    assert statuses == [DeliveryStatus.SENT] * 4
    assert campaign.status is CampaignStatus.SENT


def test_nothing_is_locked_while_a_courier_waits_for_the_send_rate(app, outbox, monkeypatch):
    """Waiting for the rate can take seconds: an unsubscribe meanwhile must not wait for it."""
    people = consenting(3)
    ids = [person.id for person in people]
    campaign = make_campaign()
    (batch_id,) = held_batches(app, monkeypatch, campaign)
    other_writer = sa.create_engine(db.engine.url)  # its own pool: the timeouts stay with it
    waits = []

    class Probe:
        """The throttle, checking that another writer gets through at once while it waits."""

        def wait(self, messages: int = 1) -> None:
            with other_writer.connect() as other:
                if other.dialect.name == "sqlite":
                    other.exec_driver_sql("PRAGMA busy_timeout = 200")
                else:
                    other.exec_driver_sql("SET lock_timeout = '200ms'")
                other.execute(
                    sa.update(Consent)
                    .where(Consent.alumnus_id.in_(ids))
                    .values(changed_at=Consent.changed_at)
                )
                other.commit()
            waits.append(messages)

    app.extensions["throttle"] = Probe()
    try:
        assert sending.send_batch(batch_id) == "done"
    finally:
        other_writer.dispose()
    assert sum(waits) == len(people)
    assert sorted(m["To"] for m in outbox) == sorted(p.email for p in people)
