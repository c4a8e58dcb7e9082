"""Sending a campaign: consent is checked for each recipient at the moment of sending.

The pipeline, each step a job that carries ids:

1. ``start_due_campaigns`` (the scheduler's tick) moves a campaign whose time has come to
   *sending* and queues its dispatch.
2. ``dispatch`` cuts the audience, in order of id after the campaign's cursor, into batches
   (rows in ``campaign_batches``) and queues a job per batch.
3. ``send_batch`` reads the batch's recipients and hands them to a courier, which claims,
   checks under lock, sends and records: one email at a time on SQLite
   (``couriers.sqlite``), a chunk of people at a time on PostgreSQL (``couriers.postgres``).

The database remembers what is left, not the queue: the tick queues again batches whose job
was lost (a worker killed, Redis restarted) and finishes campaigns whose batches are done.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from alumni.campaigns import renewal
from alumni.campaigns.audience import recipients
from alumni.campaigns.content import CampaignSnapshot
from alumni.campaigns.couriers.base import CampaignStopped, Courier
from alumni.campaigns.couriers.postgres import TRY_GROUP, PostgresCourier
from alumni.campaigns.couriers.sqlite import SQLiteCourier
from alumni.campaigns.service import requeue_pending_batches
from alumni.core.jobs import Job, enqueue_after_commit
from alumni.core.metrics import count_many
from alumni.erasure import ReplayPending, require_ledger_applied
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    AlumnusStatus,
    Campaign,
    CampaignBatch,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    FailReason,
    WaitingReason,
    utcnow,
)
from alumni.models.campaign import OPEN_CLAIM

log = logging.getLogger(__name__)

BATCHES_PER_DISPATCH = 20
# A dispatch that has not moved the cursor for this long lost its job: queue it again.
STALE_DISPATCH = timedelta(minutes=2)

# -- the scheduler's tick -----------------------------------------------------------------------


def tick(now: datetime | None = None) -> None:
    """Everything the scheduler does, idempotent: safe to run on several hosts at once. Each
    step commits on its own: one campaign's trouble does not undo another's progress."""
    now = now or utcnow()
    renewal.schedule_due(now)
    start_due_campaigns(now)
    for campaign in _campaigns(CampaignStatus.SENDING):
        if campaign.dispatched_at is None and campaign.updated_at < now - STALE_DISPATCH:
            enqueue_after_commit(Job.DISPATCH_CAMPAIGN, campaign.id)  # its chain was lost
        stale = timedelta(seconds=current_app.config["STALE_BATCH_SECONDS"])
        requeue_pending_batches(campaign, stale_after=now - stale)
        finish_if_done(campaign)
    end_interrupted_claims(now)
    db.session.commit()


def start_due_campaigns(now: datetime) -> list[int]:
    """Move scheduled campaigns whose time has come to sending and queue their dispatch;
    returns their ids. Commits (their dispatch leaves after it)."""
    due = db.session.scalars(
        sa.select(Campaign)
        .where(Campaign.status == CampaignStatus.SCHEDULED, Campaign.send_at <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for campaign in due:
        campaign.move_to(CampaignStatus.SENDING)
        campaign.started_at = now
        enqueue_after_commit(Job.DISPATCH_CAMPAIGN, campaign.id)
        log.info("campaign %s started", campaign.id)
    db.session.commit()
    return [campaign.id for campaign in due]


def _campaigns(status: CampaignStatus) -> list[Campaign]:
    return list(db.session.scalars(sa.select(Campaign).where(Campaign.status == status)))


def finish_if_done(campaign: Campaign) -> bool:
    """A campaign is sent when all its recipients are batched and every batch is done."""
    if campaign.status is not CampaignStatus.SENDING or campaign.dispatched_at is None:
        return False
    pending = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(CampaignBatch)
        .where(CampaignBatch.campaign_id == campaign.id, CampaignBatch.done_at.is_(None))
    )
    if pending:
        return False
    campaign.move_to(CampaignStatus.SENT)
    campaign.finished_at = utcnow()
    campaign.waiting_reason = None
    log.info("campaign %s sent", campaign.id)
    return True


def end_interrupted_claims(now: datetime) -> int:
    """Claims left open by a sender that died: of each claim group, the first open claim in
    order of alumnus id may have been handed to SMTP, so it fails as "interrupted" and is never
    sent again; the rest of the group were not handed over and are given back, to be sent when
    the tick queues their batch again. A claim taken alone is its own group. Returns how many
    claims were ended or given back.

    On PostgreSQL a live sender holds its group's advisory lock: its claims are left alone,
    however old.
    """
    interrupted = timedelta(seconds=current_app.config["INTERRUPTED_CLAIM_SECONDS"])
    open_claims = db.session.execute(
        sa.select(Delivery.id, Delivery.claim_group)
        .where(OPEN_CLAIM, Delivery.created_at < now - interrupted)
        .order_by(Delivery.claim_group, Delivery.alumnus_id)
    ).all()
    in_flight: list[int] = []
    never_sent: list[int] = []
    groups: dict[int, bool] = {}  # claim group: whether its sender is gone
    for claim in open_claims:
        if claim.claim_group is None:
            in_flight.append(claim.id)
        elif claim.claim_group not in groups:
            groups[claim.claim_group] = _sender_gone(claim.claim_group)
            if groups[claim.claim_group]:
                in_flight.append(claim.id)
        elif groups[claim.claim_group]:
            never_sent.append(claim.id)
    if in_flight:
        db.session.execute(
            sa.update(Delivery)
            .where(Delivery.id.in_(in_flight), OPEN_CLAIM)
            .values(status=DeliveryStatus.FAILED, reason=FailReason.INTERRUPTED, finished_at=now)
        )
    if never_sent:
        db.session.execute(sa.delete(Delivery).where(Delivery.id.in_(never_sent), OPEN_CLAIM))
    return len(in_flight) + len(never_sent)


def _sender_gone(claim_group: int) -> bool:
    """Whether nobody holds the group (held until this transaction ends, if so)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return True  # SQLite's courier takes claims alone
    return bool(db.session.scalar(TRY_GROUP, {"claim_group": claim_group}))


# -- dispatch: the audience in batches ---------------------------------------------------------


def dispatch(campaign_id: int) -> None:
    """Cut the next part of the audience into batches and queue them; continues itself.

    Two dispatches of one campaign never interleave: the first statement writes the campaign
    row, which locks it (the row on PostgreSQL, the database on SQLite) until the commit, and
    the cursor is read after that. Commits the batches with the cursor before they are queued.
    """
    locked = db.session.execute(
        sa.update(Campaign)
        .where(
            Campaign.id == campaign_id,
            Campaign.status == CampaignStatus.SENDING,
            Campaign.dispatched_at.is_(None),
        )
        .values(updated_at=utcnow())
    ).rowcount
    if not locked:
        db.session.rollback()
        return
    campaign = db.session.get(Campaign, campaign_id, populate_existing=True)
    size = current_app.config["SEND_BATCH_SIZE"]
    audience = recipients(campaign)
    for _ in range(BATCHES_PER_DISPATCH):
        ids = list(
            db.session.scalars(
                audience.where(Alumnus.id > campaign.cursor_alumnus_id)
                .order_by(Alumnus.id)
                .limit(size)
            )
        )
        if not ids:
            campaign.dispatched_at = utcnow()
            break
        batch = CampaignBatch(campaign_id=campaign.id, first_id=ids[0], last_id=ids[-1])
        db.session.add(batch)
        db.session.flush()
        campaign.cursor_alumnus_id = ids[-1]
        enqueue_after_commit(Job.SEND_CAMPAIGN_BATCH, batch.id)
    else:
        enqueue_after_commit(Job.DISPATCH_CAMPAIGN, campaign.id)
    finish_if_done(campaign)
    db.session.commit()


# -- one batch ------------------------------------------------------------------------------------


def send_batch(batch_id: int) -> str:
    """Send to everyone in the batch who consents now; returns what happened. Raises
    ``ReplayPending`` (retry later) while the erasure ledger is being replayed. Commits: every
    claim before its email leaves and every outcome after it (the courier), then the batch."""
    batch = db.session.get(CampaignBatch, batch_id)
    if batch is None or batch.done_at is not None:
        return "done-before"
    campaign = db.session.get(Campaign, batch.campaign_id)
    if campaign is None or campaign.status is not CampaignStatus.SENDING:
        return "not-sending"  # paused batches are queued again on resume
    try:
        require_ledger_applied()  # after a restore, nobody erased since is mailed
    except ReplayPending:
        _wait(campaign.id, WaitingReason.ERASURE_REPLAY)
        raise
    content = CampaignSnapshot.of(campaign)
    ids = list(
        db.session.scalars(
            recipients(campaign)
            .where(Alumnus.id.between(batch.first_id, batch.last_id))
            .order_by(Alumnus.id)
        )
    )
    db.session.commit()
    courier = courier_for(content)
    try:
        with courier:
            courier.look_up_suppressions(ids)
            claimed_by_others = courier.deliver_all(ids)
    except CampaignStopped:
        return "stopped"
    finally:
        count_many(courier.tally)  # once per batch: no Redis round trip per email
    if not settled(campaign.id, claimed_by_others):
        return "others-in-flight"  # whoever holds them finishes the batch, or the tick does
    db.session.execute(
        sa.update(CampaignBatch)
        .where(CampaignBatch.id == batch_id, CampaignBatch.done_at.is_(None))
        .values(done_at=utcnow())
    )
    campaign = db.session.get(Campaign, batch.campaign_id, populate_existing=True)
    if campaign.waiting_reason:
        campaign.waiting_reason = None
    finish_if_done(campaign)
    db.session.commit()
    return "done"


def courier_for(campaign: CampaignSnapshot) -> Courier:
    """One email at a time on SQLite; on PostgreSQL, with row locks, a chunk at a time."""
    if db.engine.dialect.name == "postgresql":
        return PostgresCourier(campaign)
    return SQLiteCourier(campaign)


def settled(campaign_id: int, alumnus_ids: list[int]) -> bool:
    """Whether every delivery of these people has ended (or the person is gone).

    Another job handling the same batch (one queued again by the tick) may hold a claim and
    still give it back (the campaign paused, the mail server down): the batch is done only
    when nobody is left to send to, never while a claim is open.
    """
    if not alumnus_ids:
        return True
    ended = sa.exists().where(
        Delivery.campaign_id == campaign_id,
        Delivery.alumnus_id == Alumnus.id,
        Delivery.status != DeliveryStatus.CLAIMED,
    )
    open_ = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Alumnus)
        .where(Alumnus.id.in_(alumnus_ids), Alumnus.status != AlumnusStatus.ERASED, ~ended)
    )
    db.session.commit()
    return open_ == 0


def _wait(campaign_id: int, reason: WaitingReason) -> None:
    db.session.execute(
        sa.update(Campaign).where(Campaign.id == campaign_id).values(waiting_reason=reason)
    )
    db.session.commit()
