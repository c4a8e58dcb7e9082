"""When a receipt is owed, and how it leaves.

An answer marks a receipt as owed on the person's row (``receipt_due_at``) in the answer's own
transaction, and queues its job after the commit. The marker, not the queue, remembers what is
owed: a lost job, a restarted worker or a receipt put off is sent by the scheduler's tick
(``send_due``). The receipt describes the person as they are when it leaves, so one receipt
can sum up several answers.

- After the consent form, the preferences and the opt-out page: at once.
- After a one-click opt-out (RFC 8058: a mail client may post it many times): at most one
  receipt an hour; a later one-click is summed up by the next receipt, an hour after the last.
- After "delete my data" (any withdrawal of everything by the person): the last receipt,
  composed and handed over before the erasure (``last_receipt_then_erase``); a mail failure
  is logged and the erasure goes on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa

from alumni import mail
from alumni.consent.receipts.document import facts_of
from alumni.consent.receipts.emails import consent_receipt
from alumni.core.jobs import Job, enqueue_after_commit
from alumni.core.pseudonyms import email_suppression_key
from alumni.erasure import Carried, carry_out, is_being_erased, require_ledger_applied
from alumni.extensions import db
from alumni.models import Alumnus, ErasureRequest, Suppression, SuppressionReason, utcnow

log = logging.getLogger(__name__)

BATCH_WINDOW = timedelta(hours=1)
# Receipts the tick sends in one round, at most: the rest wait for the next round.
TICK_BATCH = 50


class ReceiptOutcome(StrEnum):
    """What became of a receipt owed, as the job's log line says it."""

    SENT = "sent"
    NOT_OWED = "not-owed"  # none owed (sent already), or not due yet
    GONE = "gone"  # erased, or no address
    REFUSED = "refused"  # the address bounced, or the mail server refused it for good


def owe_receipt(alumnus: Alumnus, *, batched: bool = False) -> None:
    """The person is owed a receipt of their answer, in the caller's transaction (the caller
    commits). ``batched``: a one-click opt-out, summed up at most once an hour."""
    now = utcnow()
    due = now
    if batched:
        # As committed, and held until this answer commits: a receipt leaving meanwhile
        # either was counted here or waits for this answer.
        db.session.flush()
        db.session.refresh(alumnus, ["receipt_due_at", "receipt_sent_at"], with_for_update=True)
        if alumnus.receipt_due_at is not None:
            return  # the receipt owed already will sum this answer up
        if alumnus.receipt_sent_at is not None:
            due = max(now, alumnus.receipt_sent_at + BATCH_WINDOW)
    alumnus.receipt_due_at = due
    if due <= now:
        enqueue_after_commit(Job.SEND_RECEIPT, alumnus.id)


def deliver_receipt(
    alumnus_id: int, *, now: datetime | None = None, before_erasure: bool = False
) -> ReceiptOutcome:
    """Send the receipt owed to the person if it is due (``before_erasure``: whenever due).

    The marker is cleared by the statement that locks the person's row, and the row stays
    locked until the caller commits, after the hand-over: of two senders one sends, the other
    finds nothing owed. A ``TemporaryFailure`` propagates: the caller rolls back, the marker
    is back, and the job or the next tick tries again."""
    require_ledger_applied()
    now = now or utcnow()
    claimed = sa.update(Alumnus).where(
        Alumnus.id == alumnus_id, Alumnus.receipt_due_at.is_not(None)
    )
    if not before_erasure:
        claimed = claimed.where(Alumnus.receipt_due_at <= now)
    claim = claimed.values(receipt_due_at=None).returning(Alumnus.id)
    if db.session.execute(claim.execution_options(synchronize_session=False)).first() is None:
        return ReceiptOutcome.NOT_OWED
    alumnus = db.session.scalars(
        sa.select(Alumnus).where(Alumnus.id == alumnus_id).execution_options(populate_existing=True)
    ).one()
    if alumnus.is_erased or not alumnus.email:
        return ReceiptOutcome.GONE
    if _bounced(alumnus.email):
        return ReceiptOutcome.REFUSED
    message = consent_receipt(alumnus, facts_of(alumnus, erasure=is_being_erased(alumnus)))
    try:
        mail.send(message)
    except mail.PermanentFailure:
        return ReceiptOutcome.REFUSED
    alumnus.receipt_sent_at = now
    return ReceiptOutcome.SENT


def send_due(now: datetime | None = None) -> int:
    """The scheduler's tick: send the receipts that are due and whose job has not sent them
    (put off by the hourly limit, or lost). Each is committed on its own; a mail server that
    is down ends the round. Returns how many were sent."""
    now = now or utcnow()
    owed = list(
        db.session.scalars(
            sa.select(Alumnus.id)
            .where(Alumnus.receipt_due_at.is_not(None), Alumnus.receipt_due_at <= now)
            .order_by(Alumnus.receipt_due_at)
            .limit(TICK_BATCH)
        )
    )
    db.session.rollback()
    sent = 0
    for alumnus_id in owed:
        try:
            outcome = deliver_receipt(alumnus_id, now=now)
            db.session.commit()
        except mail.TemporaryFailure:
            db.session.rollback()
            log.warning("receipts: mail server unavailable, the next tick tries again")
            break
        sent += outcome is ReceiptOutcome.SENT
    if owed:
        log.info("receipts: %d due, %d sent", len(owed), sent)
    return sent


def last_receipt_then_erase(request_id: int) -> tuple[ReceiptOutcome, Carried]:
    """The job of a withdrawal of everything: the last receipt, composed and handed over while
    the data is still there, then the erasure, which happens whatever became of the receipt.
    Commits (the erasure commits itself)."""
    request = db.session.get(ErasureRequest, request_id)
    outcome = ReceiptOutcome.NOT_OWED
    if request is not None and request.done_at is None:
        outcome = _last_receipt(request.alumnus_id)
    return outcome, carry_out(request_id)


def _last_receipt(alumnus_id: int) -> ReceiptOutcome:
    try:
        outcome = deliver_receipt(alumnus_id, before_erasure=True)
        db.session.commit()
        return outcome
    except mail.MailError as error:
        db.session.rollback()
        log.warning(
            "last receipt for alumnus %s not sent (%s): erased without it",
            alumnus_id,
            type(error).__name__,
        )
        return ReceiptOutcome.REFUSED


def _bounced(address: str) -> bool:
    """The address was refused for good before: never written to again, not even a receipt.
    (An address suppressed because the person withdraws gets their last receipt.)"""
    query = sa.select(Suppression.key_hash).where(
        Suppression.key_hash == email_suppression_key(address),
        Suppression.reason == SuppressionReason.HARD_BOUNCE,
    )
    return db.session.scalar(query) is not None
