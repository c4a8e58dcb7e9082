"""The audit log: who did what. Alumni are named only by their pseudonymous subject id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import LOCAL_TIME, AuditEntry


def record(
    action: str, *, actor: str = "system", subject_id: str | None = None, **details: Any
) -> None:
    """Add an entry to the current transaction; details must hold no personal data."""
    db.session.add(AuditEntry(actor=actor, action=action, subject_id=subject_id, details=details))


@dataclass(frozen=True)
class AuditFilter:
    """What the audit log page asks for; empty fields do not filter. Days are local days."""

    actor: str = ""
    action: str = ""
    subject_id: str = ""
    since: date | None = None
    until: date | None = None


def search(wanted: AuditFilter) -> sa.Select[tuple[AuditEntry]]:
    """The entries that match, newest first."""
    query = sa.select(AuditEntry)
    if wanted.actor:
        query = query.where(AuditEntry.actor == wanted.actor)
    if wanted.action:
        query = query.where(AuditEntry.action == wanted.action)
    if wanted.subject_id:
        query = query.where(AuditEntry.subject_id == wanted.subject_id)
    if wanted.since:
        query = query.where(AuditEntry.at >= _start_of(wanted.since))
    if wanted.until:
        query = query.where(AuditEntry.at < _start_of(wanted.until + timedelta(days=1)))
    return query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def known_actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).distinct().order_by("action")))


def known_actors() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.actor).distinct().order_by("actor")))


def _start_of(day: date) -> datetime:
    """Midnight in Dutch time, in UTC as the log keeps it."""
    return datetime.combine(day, time(), tzinfo=LOCAL_TIME).astimezone(UTC)
