"""Erasure: remove every personal field and make sure the person is never mailed again.

One operation, used by every path that ends in "we keep nothing for alumni purposes".
"""

from __future__ import annotations

import sqlalchemy as sa

from alumni import audit
from alumni.consent import withdraw_all
from alumni.extensions import db
from alumni.models import (
    PERSONAL_FIELDS,
    Alumnus,
    AlumnusStatus,
    Consent,
    Delivery,
    EvidenceChannel,
    SuppressionReason,
    utcnow,
)
from alumni.suppression import suppress


def erase_alumnus(
    alumnus: Alumnus,
    *,
    reason: SuppressionReason,
    channel: EvidenceChannel,
    actor: str = "alumnus",
) -> None:
    """Erase within the current transaction; the caller commits."""
    if alumnus.is_erased:
        return
    withdraw_all(alumnus, channel)
    suppress(alumnus, reason)
    db.session.flush()
    # The evidence stays under the pseudonymous id; the consent rows went with the person.
    db.session.execute(sa.delete(Consent).where(Consent.alumnus_id == alumnus.id))
    db.session.execute(
        sa.update(Delivery).where(Delivery.alumnus_id == alumnus.id).values(alumnus_id=None)
    )
    db.session.expire(alumnus, ["consents"])
    for field in PERSONAL_FIELDS:
        setattr(alumnus, field, None)
    alumnus.student_key = None
    alumnus.link_version += 1
    alumnus.move_to(AlumnusStatus.ERASED)
    alumnus.erased_at = utcnow()
    audit.record("alumnus.erased", actor=actor, subject_id=alumnus.subject_id, reason=str(reason))


def request_erasure(
    alumnus: Alumnus, *, reason: SuppressionReason, channel: EvidenceChannel, actor: str
) -> None:
    """A request to erase (by staff, on behalf of the person); the caller commits."""
    erase_alumnus(alumnus, reason=reason, channel=channel, actor=actor)
