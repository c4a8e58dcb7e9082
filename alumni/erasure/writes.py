"""The erasure's writes, as Core statements on the tables the person is in.

An erasure is a fixed set of writes by id. Through the ORM it loaded the person and their
consents as objects, changed them and flushed them: thirteen statements per erasure job, and
more of the worker's time in the unit of work than in the database. Here each table gets one
statement (ten in all on SQLite, where a statement costs no round trip, with the ledger
position's); on PostgreSQL the request's claim locks the person too, and every other write goes
with the person's row in one statement (data-modifying ``WITH`` clauses): three statements.
The same statement objects serve both databases, so neither can forget a table.

The statements go around the session: ``forget_loaded`` expires a copy of the person that
the session holds. ``alumni.erasure.operation`` decides what is erased and in which order.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from alumni.consent import notices
from alumni.core.metrics import count
from alumni.extensions import db
from alumni.models import (
    AddressChange,
    Alumnus,
    AlumnusStatus,
    AuditEntry,
    Consent,
    ConsentEvidence,
    ConsentState,
    Delivery,
    DeliveryStatus,
    ErasureRequest,
    EvidenceChannel,
    JoinRequest,
    SkipReason,
    Suppression,
    SuppressionReason,
    utcnow,
)
from alumni.models.base import UTCDateTime
from alumni.models.purpose import Purpose

# Parameter names that are no column's name: the statements of one erasure share them.
_PERSON = sa.bindparam("p_person", type_=sa.Integer())
_NOW = sa.bindparam("p_now", type_=UTCDateTime())  # the erasure's time (a replay's is earlier)
_CLOCK = sa.bindparam("p_clock", type_=UTCDateTime())  # the time it is done, for the records

_alumni = Alumnus.__table__
_requests = ErasureRequest.__table__
_deliveries = Delivery.__table__
_consents = Consent.__table__
_claimed = _deliveries.c.status == DeliveryStatus.CLAIMED

_CLAIM = (
    sa.update(_requests)
    .where(_requests.c.id == sa.bindparam("p_request"), _requests.c.done_at.is_(None))
    .values(attempts=_requests.c.attempts + 1)
    .returning(_requests.c.alumnus_id, _requests.c.reason, _requests.c.channel, _requests.c.actor)
)
_PERSON_COLUMNS = (
    _alumni.c.id,
    _alumni.c.subject_id,
    _alumni.c.status,
    _alumni.c.email,
    _alumni.c.student_key,
)
_LOCK_PERSON = sa.select(*_PERSON_COLUMNS).where(_alumni.c.id == _PERSON).with_for_update()
_claimed_request = _CLAIM.cte("claimed_request")
_CLAIM_AND_LOCK = (
    sa.select(*_claimed_request.c, *_PERSON_COLUMNS)
    .join_from(_claimed_request, _alumni, _alumni.c.id == _claimed_request.c.alumnus_id)
    .with_for_update(of=_alumni)
)
# Requests waiting beside the one a job claimed, with their person, for the same transaction.
# Only what nobody holds: a request or person locked by another erasure or by a sender is
# skipped (its own job does it), so the group never waits for anyone. On SQLite the write lock,
# taken by the first claim, keeps everyone else out, and FOR UPDATE renders as nothing. A
# person still owed their last consent receipt is left to their own job, which sends it first.
_CLAIM_WAITING = (
    sa.select(
        _requests.c.alumnus_id,
        _requests.c.reason,
        _requests.c.channel,
        _requests.c.actor,
        *_PERSON_COLUMNS,
    )
    .join_from(_requests, _alumni, _alumni.c.id == _requests.c.alumnus_id)
    .where(
        _requests.c.done_at.is_(None),
        _requests.c.id != sa.bindparam("p_request"),
        _alumni.c.receipt_due_at.is_(None),
    )
    .order_by(_requests.c.id)
    .limit(sa.bindparam("p_limit", type_=sa.Integer()))
    .with_for_update(of=(_requests, _alumni), skip_locked=True)
)
# Cancel what is claimed and not sent; keep every delivery, without the person, so that the
# campaign's totals stay.
_END_DELIVERIES = (
    sa.update(_deliveries)
    .where(_deliveries.c.alumnus_id == _PERSON)
    .values(
        alumnus_id=None,
        status=sa.case((_claimed, DeliveryStatus.SKIPPED), else_=_deliveries.c.status),
        reason=sa.case((_claimed, SkipReason.ERASED.value), else_=_deliveries.c.reason),
        finished_at=sa.case((_claimed, _NOW), else_=_deliveries.c.finished_at),
    )
)
_END_CONSENTS = (
    sa.delete(_consents)
    .where(_consents.c.alumnus_id == _PERSON)
    .returning(_consents.c.purpose, _consents.c.state)
)
# Addresses typed for a change, confirmed or not, and the old one kept for its undo.
_END_ADDRESS_CHANGES = sa.delete(AddressChange.__table__).where(
    AddressChange.__table__.c.alumnus_id == _PERSON
)
# Requests to join that name the person, or that someone typed with their student number or
# their address: what a visitor typed about them goes with them.
_joins = JoinRequest.__table__
_END_JOIN_REQUESTS = sa.delete(_joins).where(
    sa.or_(
        _joins.c.alumnus_id == _PERSON,
        _joins.c.student_key == sa.bindparam("p_student_key", type_=sa.String()),
        _joins.c.email == sa.bindparam("p_email", type_=sa.String()),
    )
)
# Not "AND done_at IS NULL": PostgreSQL without statistics on the table (autovacuum off, as on
# the benchmark's machine) then read all of the partial index of pending requests beside the
# person's own index, for every erasure: after a campaign that is thousands of entries. By the
# person's index alone it is their one or two rows.
_REQUESTS_DONE = (
    sa.update(_requests)
    .where(_requests.c.alumnus_id == _PERSON)
    .values(done_at=sa.func.coalesce(_requests.c.done_at, _NOW))
)
# As ``alumni.audit.record`` writes it: by pseudonymous id, with why and how.
_AUDIT_ERASED = sa.insert(AuditEntry.__table__).values(
    at=_CLOCK,
    actor=sa.bindparam("p_actor"),
    action="alumnus.erased",
    subject_id=sa.bindparam("p_subject"),
    details=sa.bindparam("p_details", type_=sa.JSON()),
)


class Person(NamedTuple):
    """What the erasure reads of the person before it clears them."""

    id: int
    subject_id: str
    status: AlumnusStatus
    email: str | None
    student_key: str | None


class Claim(NamedTuple):
    alumnus_id: int
    reason: SuppressionReason
    channel: EvidenceChannel
    actor: str
    person: Person | None  # read and locked with the claim (PostgreSQL), or to be read


def claim(request_id: int) -> Claim | None:
    """The request, claimed on its row, or None when it is done. On PostgreSQL the same
    statement locks and reads the person, after the request, as ``lock_person`` would."""
    if _dialect() == "postgresql":
        row = db.session.execute(_CLAIM_AND_LOCK, {"p_request": request_id}).first()
        return None if row is None else Claim(*row[:4], Person(*row[4:]))
    row = db.session.execute(_CLAIM, {"p_request": request_id}).first()
    return None if row is None else Claim(*row, None)


def claim_waiting(request_id: int, limit: int) -> list[Claim]:
    """Up to ``limit`` other requests not done yet, oldest first, each with its person read
    and locked: those that nobody else holds at this moment."""
    rows = db.session.execute(_CLAIM_WAITING, {"p_request": request_id, "p_limit": limit})
    return [Claim(*row[:4], Person(*row[4:])) for row in rows]


def lock_person(alumnus_id: int) -> Person:
    """The person's row, locked until the commit (on SQLite the write lock does that)."""
    return Person(*db.session.execute(_LOCK_PERSON, {"p_person": alumnus_id}).one())


def end_deliveries(alumnus_id: int, now: datetime) -> None:
    db.session.execute(_END_DELIVERIES, {"p_person": alumnus_id, "p_now": now})


def requests_done(alumnus_id: int, now: datetime) -> None:
    db.session.execute(_REQUESTS_DONE, {"p_person": alumnus_id, "p_now": now})


def _end_consents(person: Person, channel: EvidenceChannel, now: datetime) -> None:
    """The consent rows go; each one still given leaves the evidence of its withdrawal. One
    statement deletes them and says what it deleted."""
    rows = db.session.execute(_END_CONSENTS, {"p_person": person.id}).all()
    granted = [purpose for purpose, state in rows if state is ConsentState.GRANTED]
    _withdrawn(person, granted, channel, now)


def _withdrawn(
    person: Person, granted: list[Purpose], channel: EvidenceChannel, now: datetime
) -> None:
    """Evidence of the withdrawal of consents that were still given when their rows went, as
    ``alumni.consent.withdraw_granted`` writes it."""
    if not granted:
        return  # the usual case: the request withdrew them already
    notice = notices.version_in_force()
    withdrawn = ConsentState.WITHDRAWN
    evidence = [
        {
            "subject_id": person.subject_id,
            "purpose": purpose,
            "decision": withdrawn,
            "recorded_at": now,
            "notice_version": notice,
            "channel": channel,
        }
        for purpose in granted
    ]
    db.session.execute(sa.insert(ConsentEvidence.__table__), evidence)
    for purpose in granted:
        count("alumni_consent_changes", purpose.value, withdrawn.value)


def clear_everywhere(
    person: Person,
    *,
    cleared: tuple[str, ...],
    keys: list[str],
    reason: SuppressionReason,
    channel: EvidenceChannel,
    actor: str,
    now: datetime,
    deliveries: bool,
) -> None:
    """Clear the ``cleared`` columns of the person's row and mark them erased (their links
    die with the link version), delete their consents (with evidence of those still given),
    address changes and requests to join, put ``keys`` on the suppression list, mark their
    requests done and log the erasure; with ``deliveries`` also end their deliveries (SQLite
    did that first, for its write lock)."""
    dialect = _dialect()
    clock = utcnow()
    parameters: dict[str, Any] = {
        "p_person": person.id,
        "p_now": now,
        "p_clock": clock,
        "p_actor": actor,
        "p_subject": person.subject_id,
        "p_details": {"reason": str(reason), "channel": str(channel)},
        "p_student_key": person.student_key,
        "p_email": person.email,
    }
    if keys:
        parameters["p_keys"] = keys if dialect == "postgresql" else json.dumps(keys)
        parameters["p_reason"] = reason
    locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    statements = _writes(dialect, cleared, locale, deliveries=deliveries, keys=bool(keys))
    if dialect == "postgresql":
        ((statement, names),) = statements
        granted = db.session.execute(statement, {n: parameters[n] for n in names}).scalar_one()
        _withdrawn(person, [Purpose(value) for value in granted or ()], channel, now)
    else:
        _end_consents(person, channel, now)
        for statement, names in statements:
            db.session.execute(statement, {name: parameters[name] for name in names})
    forget_loaded(person.id)


@functools.cache
def _writes(
    dialect: str, cleared: tuple[str, ...], locale: str, *, deliveries: bool, keys: bool
) -> list[tuple[sa.Executable, frozenset[str]]]:
    """The statements, each with the names of its parameters; built once per shape."""
    writes: list[sa.Executable] = [_END_DELIVERIES] if deliveries else []
    writes += [_END_ADDRESS_CHANGES, _END_JOIN_REQUESTS, _REQUESTS_DONE, _AUDIT_ERASED]
    if keys:
        writes.append(_suppress(dialect))
    row = _clear_person(cleared, locale)
    if dialect == "postgresql":
        # One round trip: each WITH clause writes a table of its own and runs to completion
        # with the statement, which returns the purposes whose consent was still given.
        ended = _END_CONSENTS.cte("ended_consents")
        ctes = [ended, *(write.cte(f"erasure_write_{n}") for n, write in enumerate(writes))]
        still_given = (
            sa.select(sa.func.array_agg(ended.c.purpose))
            .where(ended.c.state == ConsentState.GRANTED)
            .scalar_subquery()
        )
        writes, row = [], row.add_cte(*ctes).returning(still_given)
    return [(statement, _parameter_names(statement)) for statement in (*writes, row)]


def _parameter_names(statement: sa.Executable) -> frozenset[str]:
    return frozenset(name for name in statement.compile().params if name.startswith("p_"))


def forget_loaded(alumnus_id: int) -> None:
    """The statements went around the session: a copy of the person it holds is stale."""
    loaded = db.session.identity_map.get(db.session.identity_key(Alumnus, alumnus_id))
    if loaded is not None:
        db.session.expire(loaded)


@functools.cache
def _clear_person(cleared: tuple[str, ...], locale: str) -> sa.Update:
    values: dict[str, Any] = {
        **dict.fromkeys(cleared, None),
        "student_key": None,
        "locale": locale,
        "status": AlumnusStatus.ERASED,
        "erased_at": _NOW,
        # Given, not left to the column's onupdate: PostgreSQL's statement with WITH clauses
        # left it unset.
        "updated_at": _CLOCK,
        "link_version": _alumni.c.link_version + 1,
    }
    return sa.update(_alumni).where(_alumni.c.id == _PERSON).values(values)


@functools.cache
def _suppress(dialect: str) -> sa.Insert:
    """The keyed hashes given as one parameter on the list (an array on PostgreSQL, a JSON
    array on SQLite, as ``alumni.models.base.among`` looks them up); a hash listed before keeps its
    first reason. (A multi-row VALUES would be compiled anew for every erasure.)"""
    table = Suppression.__table__
    if dialect == "postgresql":
        array = sa.bindparam("p_keys", type_=postgresql.ARRAY(sa.String()))
        keys = sa.func.unnest(array).table_valued("value").render_derived()
        insert = postgresql.insert
    else:
        keys = sa.func.json_each(sa.bindparam("p_keys", type_=sa.String())).table_valued("value")
        insert = sqlite.insert
    reason = sa.bindparam("p_reason", type_=table.c.reason.type)
    # SQLite needs a WHERE before ON CONFLICT to read the SELECT right.
    rows = sa.select(keys.c.value, reason, _CLOCK).where(sa.true())
    return (
        insert(table)
        .from_select(["key_hash", "reason", "created_at"], rows)
        .on_conflict_do_nothing(index_elements=["key_hash"])
    )


def _dialect() -> str:
    return db.session.get_bind().dialect.name
