"""Retention: nothing is kept longer than its period. ``retention run`` enforces it now; the
scheduler's tick every ``RETENTION_INTERVAL_SECONDS``.

- Invitees who have not answered within ``INVITE_TTL_DAYS`` of their invitation are erased.
- Consent asked for again (``alumni.consent.renewal``) and unanswered after
  ``RENEWAL_GRACE_DAYS`` lapses (evidence channel ``lapsed``).
- Alumni who answered but have no consent left are erased. Every path that withdraws the last
  consent asks for the erasure itself; this is the net under those paths.
- Deliveries still naming an erased person (a claim made while they were being erased) lose
  the link.
- Deliveries of finished campaigns older than ``DELIVERY_RETENTION_DAYS`` are added up per
  campaign, status and reason in ``delivery_totals`` and deleted: totals stay, who got what goes.
- Audit entries and done erasure requests older than ``AUDIT_RETENTION_DAYS`` are deleted.
- Address changes go once their links have expired: unconfirmed after a day, confirmed after
  the week in which the old address may undo them.
- Requests to join (``/join``) go after 30 days whatever became of them, and once their
  confirmation link has expired.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from alumni import audit
from alumni.consent import renewal
from alumni.erasure import erase_alumnus
from alumni.erasure.position import STATE_ID, ensure_state
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    AlumnusStatus,
    AuditEntry,
    Campaign,
    CampaignStatus,
    Consent,
    ConsentState,
    Delivery,
    DeliveryTotal,
    ErasureRequest,
    ErasureState,
    EvidenceChannel,
    SuppressionReason,
    utcnow,
)
from alumni.people import addresses, joining

log = logging.getLogger(__name__)

BATCH = 500  # people erased per transaction (and per ledger append)
FINISHED = (CampaignStatus.SENT, CampaignStatus.CANCELLED)


@dataclass
class RetentionReport:
    invitees_erased: int = 0
    renewals_lapsed: int = 0
    without_consent_erased: int = 0
    deliveries_unlinked: int = 0
    deliveries_aggregated: int = 0
    audit_entries_deleted: int = 0
    erasure_requests_deleted: int = 0
    address_changes_deleted: int = 0
    join_requests_deleted: int = 0

    @property
    def changed(self) -> bool:
        return any(asdict(self).values())


def run(now: datetime | None = None, *, actor: str = "system") -> RetentionReport:
    """Enforce every retention period now; commits as it goes."""
    now = now or utcnow()
    config = current_app.config
    report = RetentionReport()
    report.invitees_erased = _erase_where(
        _expired_invitee(now - timedelta(days=config["INVITE_TTL_DAYS"])), now
    )
    # Asked to renew and no answer: the consent lapses, and whoever has nothing left goes next.
    report.renewals_lapsed = renewal.lapse_unanswered(now)
    report.without_consent_erased = _erase_where(_without_consent(), now)
    report.deliveries_unlinked = _unlink_erased_deliveries()
    report.deliveries_aggregated = _aggregate_deliveries(
        now - timedelta(days=config["DELIVERY_RETENTION_DAYS"])
    )
    audit_cutoff = now - timedelta(days=config["AUDIT_RETENTION_DAYS"])
    report.audit_entries_deleted = _delete(AuditEntry, AuditEntry.at < audit_cutoff)
    report.erasure_requests_deleted = _delete(ErasureRequest, ErasureRequest.done_at < audit_cutoff)
    report.address_changes_deleted = addresses.forget_old_requests(now)
    report.join_requests_deleted = joining.forget_old_requests(now)
    if report.changed or actor != "system":
        audit.record("retention.ran", actor=actor, **asdict(report))
    db.session.commit()
    if report.changed:
        log.info("retention: %s", asdict(report))
    return report


def run_if_due(now: datetime | None = None) -> RetentionReport | None:
    """The scheduler's tick: run when the last run (by any process) is an interval ago. Commits
    the time of the run first, so that only one process runs it."""
    now = now or utcnow()
    interval = timedelta(seconds=current_app.config["RETENTION_INTERVAL_SECONDS"])
    ensure_state()
    due = db.session.execute(
        sa.update(ErasureState)
        .where(
            ErasureState.id == STATE_ID,
            sa.or_(
                ErasureState.retention_ran_at.is_(None),
                ErasureState.retention_ran_at <= now - interval,
            ),
        )
        .values(retention_ran_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return run(now) if due else None


def _expired_invitee(cutoff: datetime) -> sa.ColumnElement[bool]:
    # From the invitation sent, or queued when it could not be sent.
    invited = sa.func.coalesce(Alumnus.invitation_sent_at, Alumnus.invited_at)
    return sa.and_(Alumnus.status == AlumnusStatus.INVITED, invited < cutoff)


def _without_consent() -> sa.ColumnElement[bool]:
    granted = sa.exists().where(
        Consent.alumnus_id == Alumnus.id, Consent.state == ConsentState.GRANTED
    )
    return sa.and_(Alumnus.status == AlumnusStatus.RESPONDED, ~granted)


def _erase_where(condition: sa.ColumnElement[bool], now: datetime) -> int:
    """Erase everyone who matches, a batch per transaction."""
    erased = 0
    while True:
        # A conditional write picks the batch: it locks the rows and checks the condition
        # again under the lock (someone may have answered meanwhile).
        batch = sa.select(Alumnus.id).where(condition).order_by(Alumnus.id).limit(BATCH)
        ids = db.session.scalars(
            sa.update(Alumnus)
            .where(Alumnus.id.in_(batch.scalar_subquery()), condition)
            .values(updated_at=now)
            .returning(Alumnus.id)
            .execution_options(synchronize_session=False)
        ).all()
        if not ids:
            db.session.rollback()
            return erased
        for alumnus in db.session.scalars(sa.select(Alumnus).where(Alumnus.id.in_(ids))):
            erase_alumnus(
                alumnus,
                reason=SuppressionReason.ERASED,
                channel=EvidenceChannel.ERASURE,
                actor="retention",
            )
        db.session.commit()
        erased += len(ids)


def _unlink_erased_deliveries() -> int:
    erased = sa.select(Alumnus.id).where(Alumnus.status == AlumnusStatus.ERASED)
    unlinked = db.session.execute(
        sa.update(Delivery)
        .where(Delivery.alumnus_id.in_(erased.scalar_subquery()))
        .values(alumnus_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return unlinked


def _aggregate_deliveries(cutoff: datetime) -> int:
    """Count old deliveries of finished campaigns into ``delivery_totals``, then delete them."""
    finished = sa.select(Campaign.id).where(Campaign.status.in_(FINISHED))
    old = sa.and_(Delivery.created_at < cutoff, Delivery.campaign_id.in_(finished))
    reason = sa.func.coalesce(Delivery.reason, "")
    rows = db.session.execute(
        sa.select(Delivery.campaign_id, Delivery.status, reason, sa.func.count())
        .where(old)
        .group_by(Delivery.campaign_id, Delivery.status, reason)
    ).all()
    if not rows:
        db.session.rollback()
        return 0
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    for campaign_id, status, why, number in rows:
        insert = dialect.insert(DeliveryTotal).values(
            campaign_id=campaign_id, status=status, reason=why, count=number
        )
        db.session.execute(
            insert.on_conflict_do_update(
                index_elements=["campaign_id", "status", "reason"],
                set_={"count": DeliveryTotal.count + insert.excluded.count},
            )
        )
    return _delete(Delivery, old)


def _delete(model: type[Any], condition: sa.ColumnElement[bool]) -> int:
    deleted = db.session.execute(
        sa.delete(model).where(condition).execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return deleted
