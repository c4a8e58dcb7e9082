"""Replaying the erasure ledger: after a backup is restored, nobody erased since comes back.

``replay`` applies ledger entries to the database: each entry's keyed hashes go (back) on the
suppression list, and the person it names, if this database still holds them, is erased again.
Applying an entry twice changes nothing, so the whole ledger can be replayed at any time.

``catch_up`` replays only what the database lacks (the ledger beyond ``ledger_applied_through``);
the scheduler's tick runs it first thing, so a restored database is repaired at the start of
the scheduler. ``require_ledger_applied`` is the gate before any mail leaves: it catches up
itself, and raises ``ReplayPending`` while another process is still replaying.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import sqlalchemy as sa

from alumni import audit
from alumni.consent.suppression import suppressed_among
from alumni.erasure import ledger, position
from alumni.erasure.operation import erase_again
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    AlumnusStatus,
    EvidenceChannel,
    Suppression,
    SuppressionReason,
    utcnow,
)
from alumni.models.base import among

log = logging.getLogger(__name__)

BATCH = 1000  # entries per transaction
LEASE = timedelta(minutes=5)  # renewed after every batch
CATCH_UP_TRIES = 3  # erasures committed during a catch-up may leave a little to do
E = TypeVar("E")


class ReplayPending(Exception):
    """The ledger holds erasures this database lacks (a backup was restored) and another
    process is replaying them: no mail leaves until that is done. Try again later."""


@dataclass
class ReplayReport:
    entries: int = 0
    erased_again: int = 0
    suppressions_restored: int = 0
    through: int = 0  # the ledger's byte offset the replay reached


def replay(since: int = 0, *, actor: str = "cli", leased: bool = False) -> ReplayReport:
    """Apply the ledger from byte ``since`` (the start: every entry) to its end; ``leased``
    when the caller holds the replay lease, which is then renewed as the replay goes. Commits
    per thousand entries, and the position with each: a replay cut short goes on from there."""
    path = position.ledger_path()
    report = ReplayReport(through=since)
    position.ensure_state()
    db.session.commit()
    while True:
        entries, through = ledger.read(path, report.through, BATCH)
        if through == report.through:
            break
        _apply(entries, report)
        position.record_applied(since, through)
        db.session.commit()
        report.through = through
        if leased:
            position.renew_lease(utcnow(), LEASE)
    if actor == "cli" or report.erased_again or report.suppressions_restored:
        audit.record(
            "erasure.replayed",
            actor=actor,
            since=since,
            through=report.through,
            entries=report.entries,
            erased_again=report.erased_again,
            suppressions_restored=report.suppressions_restored,
        )
    position.mark_replayed(utcnow())
    db.session.commit()
    return report


def _apply(entries: list[ledger.Entry], report: ReplayReport) -> None:
    report.entries += len(entries)
    listed = suppressed_among(key for entry in entries for key in entry.keys)
    for entry in entries:
        for key in entry.keys:
            if key not in listed:
                db.session.add(Suppression(key_hash=key, reason=_reason(entry)))
                listed.add(key)
                report.suppressions_restored += 1
    latest = {entry.subject: entry for entry in entries}
    # Ids only: the erasure reads and locks each person itself.
    back = db.session.execute(
        sa.select(Alumnus.id, Alumnus.subject_id)
        .where(among(Alumnus.subject_id, list(latest)), Alumnus.status != AlumnusStatus.ERASED)
        .order_by(Alumnus.id)
    ).all()
    for alumnus_id, subject_id in back:
        entry = latest[subject_id]
        channel = _enum(EvidenceChannel, entry.channel, EvidenceChannel.ERASURE)
        if erase_again(alumnus_id, reason=_reason(entry), channel=channel, at=entry.at):
            report.erased_again += 1


def _reason(entry: ledger.Entry) -> SuppressionReason:
    return _enum(SuppressionReason, entry.reason, SuppressionReason.ERASED)


def _enum(kind: type[E], value: str, default: E) -> E:
    try:
        return kind(value)  # type: ignore[call-arg]
    except ValueError:
        return default


def catch_up() -> ReplayReport | None:
    """Replay what the ledger has beyond this database; None when there is nothing to do or
    another process is doing it."""
    if not position.bytes_behind():
        db.session.rollback()
        return None
    if not position.take_lease(utcnow(), LEASE):
        return None
    try:
        report = replay(position.applied_through(), actor="system", leased=True)
    finally:
        db.session.rollback()
        position.release_lease()
    if not report.erased_again and not report.suppressions_restored:
        return report  # erasures that were committing while we looked: nothing was missing
    log.warning(
        "erasure ledger replayed (the database was behind it): %d entries, %d erased again",
        report.entries,
        report.erased_again,
    )
    return report


def require_ledger_applied() -> None:
    """Call before mail leaves: every erasure in the ledger is in the database, or this
    raises ``ReplayPending`` (I2 and I6 after a restore)."""
    for _ in range(CATCH_UP_TRIES):
        if not position.bytes_behind():
            return
        catch_up()
    if position.bytes_behind():
        raise ReplayPending
