"""The database's side of the erasure ledger: entries written with their erasure's transaction,
and how far into the ledger this database is.

An erasure's entries are appended (and fsynced) just before its transaction commits, after
everything else has been flushed: if the append fails, nothing commits and the erasure is tried
again; if the commit fails after the append, the ledger holds an erasure the database lacks,
which the replay completes. So the ledger is never behind the database, only sometimes ahead.

``ledger_applied_through`` only moves over a contiguous stretch of the file: an append moves it
from where it was to the end of its own lines, and only if the database had everything before
them. After a restore it stays behind the file until the replay has run, however many erasures
happen meanwhile; that gap is what holds every mail until the replay is done.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_sqlalchemy.session import Session
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite

from alumni.erasure import ledger
from alumni.extensions import db
from alumni.models import ErasureState

log = logging.getLogger(__name__)

STATE_ID = 1
_PENDING = "alumni.ledger_entries"


def ledger_path() -> Path:
    return Path(current_app.config["ERASURE_LEDGER_PATH"])


def write_before_commit(entry: ledger.Entry) -> None:
    """Append ``entry`` to the ledger when the current transaction commits (just before)."""
    db.session.info.setdefault(_PENDING, []).append(entry)


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    entries = session.info.get(_PENDING)
    if not entries:
        return
    session.flush()  # a database error surfaces now, before anything is written

    def advance(start: int, end: int) -> None:
        _advance(session, start, end)

    ledger.append(ledger_path(), entries, on_written=advance)
    session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _advance(session: Session, start: int, end: int) -> None:
    """Within the erasure's transaction: the database now has the ledger up to ``end``, if
    it had it up to ``start``.

    One statement that compares and moves under the row's lock. An erasure appended just
    before this one may not have committed yet: the UPDATE waits for it and then compares
    with the value it committed (PostgreSQL evaluates the CASE again on the newest version
    of a row it had to wait for). A WHERE on the old value would not do: PostgreSQL skips a
    row whose committed version does not match, without waiting.
    """
    moved = session.execute(_ADVANCE, {"start": start, "end": end}).rowcount
    if not moved:
        # No row (a database emptied by hand): make it; this waits for another transaction
        # that is making it too.
        session.execute(_insert_state(session))
        session.execute(_ADVANCE, {"start": start, "end": end})


_STATE = ErasureState.__table__
_ADVANCE = (
    sa.update(_STATE)
    .where(_STATE.c.id == STATE_ID)
    .values(
        ledger_applied_through=sa.case(
            (
                _STATE.c.ledger_applied_through == sa.bindparam("start", type_=sa.BigInteger()),
                sa.bindparam("end", type_=sa.BigInteger()),
            ),
            else_=_STATE.c.ledger_applied_through,
        )
    )
)


def _locked_position(session: Session) -> int | None:
    """The applied position, locked until the commit; None when there is no state row."""
    return session.scalar(
        sa.select(ErasureState.ledger_applied_through)
        .where(ErasureState.id == STATE_ID)
        .with_for_update()
    )


def _insert_state(session: Session) -> sa.Executable:
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return (
        dialect.insert(ErasureState)
        .values(id=STATE_ID, ledger_applied_through=0)
        .on_conflict_do_nothing(index_elements=["id"])
    )


def ensure_state() -> None:
    """The state row exists (a database emptied by hand may lack it)."""
    db.session.execute(_insert_state(db.session))


def applied_through() -> int:
    query = sa.select(ErasureState.ledger_applied_through).where(ErasureState.id == STATE_ID)
    return db.session.scalar(query) or 0


def bytes_behind() -> int:
    """How much of the ledger this database does not have yet; 0 when it is caught up."""
    size = ledger.size(ledger_path())
    applied = applied_through()
    if size < applied:
        # The ledger was truncated, replaced or is not mounted here: nothing to replay from.
        log.error("erasure ledger: %d bytes, but the database has applied %d", size, applied)
        return 0
    return size - applied


def record_applied(since: int, through: int) -> None:
    """A replay that started at ``since`` has applied everything up to ``through``."""
    applied = _locked_position(db.session)
    if applied is not None and since <= applied < through:
        _set_state(db.session, ledger_applied_through=through)


def mark_replayed(now: datetime) -> None:
    _set_state(db.session, replayed_at=now)


def take_lease(now: datetime, duration: timedelta) -> bool:
    """One replay at a time over all processes; committed. False when another holds it."""
    ensure_state()
    taken = db.session.execute(
        sa.update(ErasureState)
        .where(
            ErasureState.id == STATE_ID,
            sa.or_(
                ErasureState.replay_lease_until.is_(None), ErasureState.replay_lease_until < now
            ),
        )
        .values(replay_lease_until=now + duration)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(taken)


def renew_lease(now: datetime, duration: timedelta) -> None:
    _set_lease(now + duration)


def release_lease() -> None:
    _set_lease(None)


def _set_lease(until: datetime | None) -> None:
    _set_state(db.session, replay_lease_until=until)
    db.session.commit()


def _set_state(session: Session, **values: object) -> None:
    session.execute(
        sa.update(ErasureState)
        .where(ErasureState.id == STATE_ID)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
