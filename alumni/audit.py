"""The audit log: who did what. Alumni are named only by their pseudonymous subject id."""

from __future__ import annotations

from typing import Any

from alumni.extensions import db
from alumni.models import AuditEntry


def record(
    action: str, *, actor: str = "system", subject_id: str | None = None, **details: Any
) -> None:
    """Add an entry to the current transaction; details must hold no personal data."""
    db.session.add(AuditEntry(actor=actor, action=action, subject_id=subject_id, details=details))
