"""Erasure: remove every personal field and make sure the person is never mailed again.

One operation for every path that ends in "we keep nothing for alumni purposes": no to every
purpose on the consent form, "delete my data" on the opt-out page, no consent left after opt-outs
or on the preferences, withdrawing entirely, a request handled by staff, retention, and the
replay after a restore. It happens in two steps:

1. ``request_erasure`` (the click): in the caller's transaction, mail stops at once. Every
   consent given is withdrawn (with evidence), the keyed hashes of the address and student
   number go on the suppression list, the person's links die, and a durable request is stored.
   Its job is queued after the commit.
2. ``erase_alumnus`` (the job, the scheduler's sweep of requests whose job was lost, retention,
   the replay): claimed deliveries are cancelled and every delivery loses the person, consent
   rows go (the evidence stays under the pseudonymous id), so do address changes asked for
   (the typed address, the old one kept for an undo), the personal fields are cleared
   except those a legal duty keeps (``ERASURE_KEEP_FIELDS``), the erasure is appended to the
   ledger outside the database, and the audit log records it by pseudonymous id.

Queued work for the person needs no removal: jobs carry ids only, and each actor re-reads the
person and does nothing for someone suppressed or erased.
"""

from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app

from alumni import audit
from alumni.consent.decisions import withdraw_granted
from alumni.consent.suppression import suppress, suppression_keys
from alumni.core.jobs import Job, enqueue_after_commit
from alumni.core.metrics import count
from alumni.erasure import writes
from alumni.erasure.ledger import Entry, LedgerError
from alumni.erasure.position import write_before_commit
from alumni.extensions import db
from alumni.models import (
    PERSONAL_FIELDS,
    Alumnus,
    AlumnusStatus,
    ErasureRequest,
    EvidenceChannel,
    SuppressionReason,
    utcnow,
)

log = logging.getLogger(__name__)

SWEEP_BATCH = 200
# Erasures in one transaction, at most, where many requests wait (``carry_out``).
GROUP = 50
# Dates of the person's dealings with us; they go with the rest.
ERASED_DATES = (
    "invited_at",
    "invitation_sent_at",
    "responded_at",
    "paused_at",
    "receipt_due_at",
    "receipt_sent_at",
)

# SQLite lets one connection write at a time, and a connection that finds the database locked
# sleeps in SQLite's busy handler (1, 2, 5, 10, 15 ms ...) before it looks again, while the lock
# may be free. Four worker threads erasing at once made a quarter fewer erasures than they do
# queued on this lock, where the next goes the moment the one before it has committed
# (docs/benchmarks.md). Other processes still meet the busy handler; on PostgreSQL a waiter
# for a row lock wakes when it is released.
_sqlite_writer = threading.Lock()


def request_erasure(
    alumnus: Alumnus,
    *,
    reason: SuppressionReason,
    channel: EvidenceChannel,
    actor: str,
    last_receipt: bool = False,
) -> None:
    """Stop all mail to the person now and queue their erasure, in the caller's transaction
    (the caller commits). Asking twice changes nothing.

    ``last_receipt``: the person withdraws everything themselves and is owed a last consent
    receipt; its job sends it and then erases (``alumni.consent.receipts``), and no other
    erasure job takes the request into its group meanwhile. Any other receipt owed lapses."""
    alumnus = _locked(alumnus.id)
    if is_being_erased(alumnus):
        return
    _stop_mail(alumnus, reason, channel)
    alumnus.receipt_due_at = utcnow() if last_receipt else None
    request = ErasureRequest(
        alumnus_id=alumnus.id,
        subject_id=alumnus.subject_id,
        reason=reason,
        channel=channel,
        actor=actor,
        requested_at=utcnow(),
    )
    db.session.add(request)
    db.session.flush()
    _audit("alumnus.erasure_requested", alumnus, reason, channel, actor)
    enqueue_after_commit(Job.SEND_LAST_RECEIPT if last_receipt else Job.ERASE_ALUMNUS, request.id)


def erase_alumnus(
    alumnus: Alumnus,
    *,
    reason: SuppressionReason,
    channel: EvidenceChannel,
    actor: str = "alumnus",
) -> None:
    """Erase now, within the current transaction; the caller commits. Idempotent."""
    _erase(alumnus.id, reason, channel, actor)


class Carried(NamedTuple):
    """What a job did: the outcome of its own request, and how many people its transaction
    erased (others waiting included)."""

    outcome: str  # "erased", "erased-before" (the person was), "done-before" (the request was)
    erased: int


def carry_out(request_id: int, *, group: int | None = None) -> Carried:
    """Do one erasure request, and up to ``group - 1`` others that wait (``GROUP`` unless
    given), and commit; what the job and the sweep call. Idempotent.

    One transaction for many erasures is one ledger append (one ``fsync``), one move of the
    ledger position and one commit instead of one each: where thousands of requests wait
    (after a campaign, a retention run, Redis back after an outage) the jobs erase in groups,
    and the jobs of the others find their request done. A group that fails is not retried as a
    group: the job's own request is tried again alone at once, so that one erasure that cannot
    be done never holds up the others.
    """
    try:
        return _carry_out(request_id, group or GROUP)
    except _GroupFailed as failed:
        log.warning(
            "erasure request %s: its group of %d failed (%s), now alone",
            request_id,
            failed.size,
            type(failed.__cause__).__name__,
        )
        return _carry_out(request_id, 1)


class _GroupFailed(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


def _carry_out(request_id: int, group: int) -> Carried:
    with _one_writer():
        # The first statement writes: it claims the request (a second caller waits, then
        # finds it done) and on SQLite takes the write lock before anything is read.
        claimed = writes.claim(request_id)
        if claimed is None:
            db.session.rollback()
            return Carried("done-before", 0)
        others = 0
        try:
            own = _erase_claimed(claimed)
            erased, seen = int(own), {claimed.alumnus_id}
            waiting = writes.claim_waiting(request_id, group - 1) if group > 1 else []
            for other in waiting:
                if other.alumnus_id not in seen:  # two requests of one person: one erasure
                    seen.add(other.alumnus_id)
                    others += 1
                    erased += _erase_claimed(other)
            db.session.commit()
        except LedgerError:
            db.session.rollback()
            raise  # alone it would meet the same ledger
        except Exception as error:
            db.session.rollback()
            if others:
                raise _GroupFailed(others + 1) from error
            raise
        except BaseException:
            db.session.rollback()  # the SQLite write lock goes with the thread lock
            raise
    return Carried("erased" if own else "erased-before", erased)


def _erase_claimed(claimed: writes.Claim) -> bool:
    return _erase(
        claimed.alumnus_id,
        claimed.reason,
        claimed.channel,
        claimed.actor,
        locked=claimed.person,
    )


def _one_writer() -> AbstractContextManager[object]:
    sqlite_ = db.session.get_bind().dialect.name == "sqlite"
    return _sqlite_writer if sqlite_ else nullcontext()


def sweep(now: datetime | None = None) -> int:
    """The scheduler's tick: do the requests whose job has not done them in time (Redis was
    down, a worker crashed). Returns how many were erased."""
    now = now or utcnow()
    cutoff = now - timedelta(seconds=current_app.config["ERASURE_SWEEP_SECONDS"])
    ids = list(
        db.session.scalars(
            sa.select(ErasureRequest.id)
            .where(ErasureRequest.done_at.is_(None), ErasureRequest.requested_at < cutoff)
            .order_by(ErasureRequest.id)
            .limit(SWEEP_BATCH)
        )
    )
    db.session.rollback()
    erased = 0
    for request_id in ids:
        try:
            erased += carry_out(request_id).erased
        except LedgerError as error:
            db.session.rollback()
            log.error("erasure sweep stopped: %s", error)  # the next tick tries again
            break
    if ids:
        log.info("erasure sweep: %d requests, %d erased", len(ids), erased)
    return erased


def erase_again(
    alumnus_id: int, *, reason: SuppressionReason, channel: EvidenceChannel, at: datetime
) -> bool:
    """The replay: erase someone a restored backup brought back, as they were erased at
    ``at``, without a new ledger entry (the ledger has it)."""
    return _erase(alumnus_id, reason, channel, "replay", at=at, to_ledger=False)


def pending_requests() -> int:
    query = sa.select(sa.func.count()).where(ErasureRequest.done_at.is_(None))
    return db.session.scalar(query) or 0


def is_being_erased(alumnus: Alumnus) -> bool:
    """Erased, or asked for: mail has stopped and nothing new may start for the person. Asks
    the database, not the object, which may have been read before a worker erased them."""
    erased = sa.select(Alumnus.id).where(
        Alumnus.id == alumnus.id, Alumnus.status == AlumnusStatus.ERASED
    )
    requested = sa.select(ErasureRequest.id).where(
        ErasureRequest.alumnus_id == alumnus.id, ErasureRequest.done_at.is_(None)
    )
    return bool(db.session.scalar(sa.select(sa.or_(erased.exists(), requested.exists()))))


# -- the steps --------------------------------------------------------------------------------


def _locked(alumnus_id: int) -> Alumnus:
    """The person re-read and locked until the commit; the caller's changes flushed first."""
    db.session.flush()
    return db.session.scalars(
        sa.select(Alumnus)
        .where(Alumnus.id == alumnus_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _stop_mail(
    alumnus: Alumnus,
    reason: SuppressionReason,
    channel: EvidenceChannel,
    at: datetime | None = None,
) -> None:
    """What must hold from the moment of the request: no consent, suppressed, links dead."""
    withdraw_granted(alumnus, channel, at)
    suppress(alumnus, reason)
    alumnus.link_version += 1


def _erase(
    alumnus_id: int,
    reason: SuppressionReason,
    channel: EvidenceChannel,
    actor: str,
    *,
    at: datetime | None = None,
    to_ledger: bool = True,
    locked: writes.Person | None = None,
) -> bool:
    """The erasure itself; returns False when the person was erased before. ``locked``: the
    person, read and locked already (with the claim of their request)."""
    now = at or utcnow()
    db.session.flush()  # the caller's changes first: the writes go around the ORM
    on_postgresql = db.session.get_bind().dialect.name == "postgresql"
    if on_postgresql:
        # The person first: a sender holds the person while it hands the email over, and
        # records the delivery after. Should an erasure hold that delivery while it waits for
        # the person, the two would wait for each other unseen (alumni.campaigns.couriers.postgres).
        # Their deliveries end in the same statement as their row (``writes``).
        person = locked or writes.lock_person(alumnus_id)
    else:
        # SQLite has one writer at a time: write first, to take the write lock before reading.
        writes.end_deliveries(alumnus_id, now)
        person = locked or writes.lock_person(alumnus_id)
    if person.status is AlumnusStatus.ERASED:
        writes.requests_done(alumnus_id, now)
        return False
    keys = suppression_keys(person.email, person.student_key)
    kept = current_app.config["ERASURE_KEEP_FIELDS"]
    writes.clear_everywhere(
        person,
        cleared=tuple(field for field in PERSONAL_FIELDS if field not in kept) + ERASED_DATES,
        keys=keys,
        reason=reason,
        channel=channel,
        actor=actor,
        now=now,
        deliveries=on_postgresql,
    )
    if to_ledger:
        write_before_commit(Entry(person.subject_id, tuple(keys), str(reason), str(channel), now))
    count("alumni_erasures", str(reason))
    log.info("alumnus %s erased", alumnus_id)
    return True


def _audit(
    action: str,
    alumnus: Alumnus,
    reason: SuppressionReason,
    channel: EvidenceChannel,
    actor: str,
) -> None:
    """By pseudonymous id, with why and how: nothing personal."""
    audit.record(
        action, actor=actor, subject_id=alumnus.subject_id, reason=str(reason), channel=str(channel)
    )
