"""What a bounce does to a person's address, as statements on a connection: the processing
path runs them in the session's transaction, a courier in the transaction that holds the
person's lock while their email leaves (a second connection would wait for that lock).

An undeliverable address gets no mail (``SkipReason.UNDELIVERABLE``, and no invitation or
fresh link); the person keeps their consent, and the mark goes when their address changes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from alumni.models import (
    Alumnus,
    AuditEntry,
    Bounce,
    BounceKind,
    BounceSource,
    UndeliverableReason,
    utcnow,
)
from alumni.models.base import UTCDateTime

# SMTP codes that mean the address itself is bad, when the relay says so during the
# conversation: the same as a hard bounce that comes back later.
HARD_BOUNCE_CODES = frozenset({550, 551, 553})

_alumni = Alumnus.__table__
_NOW = sa.bindparam("p_now", type_=UTCDateTime())

_MARK = (
    sa.update(_alumni)
    .where(_alumni.c.id == sa.bindparam("p_person"), _alumni.c.undeliverable_at.is_(None))
    .values(
        undeliverable_at=_NOW,
        undeliverable_reason=sa.bindparam("p_reason", type_=_alumni.c.undeliverable_reason.type),
    )
    .returning(_alumni.c.subject_id)
)
_RECORD = sa.insert(Bounce.__table__)
# As ``alumni.audit.record`` writes it: by pseudonymous id.
_AUDIT = sa.insert(AuditEntry.__table__)


def record_bounce(
    connection: Connection,
    *,
    alumnus_id: int,
    kind: BounceKind,
    source: BounceSource,
    status: str | None,
    campaign_id: int | None = None,
    delivery_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Keep that a report about this person arrived: what it said, never the message."""
    values: dict[str, Any] = {
        "alumnus_id": alumnus_id,
        "campaign_id": campaign_id,
        "delivery_id": delivery_id,
        "kind": kind,
        "source": source,
        "status": status,
        "received_at": now or utcnow(),
    }
    connection.execute(_RECORD, values)


def mark_undeliverable(
    connection: Connection,
    alumnus_id: int,
    reason: UndeliverableReason,
    *,
    source: BounceSource,
    status: str | None,
    now: datetime | None = None,
) -> bool:
    """Mark the person's address undeliverable and log it; False when it was marked already."""
    now = now or utcnow()
    subject_id = connection.scalar(
        _MARK, {"p_person": alumnus_id, "p_reason": reason, "p_now": now}
    )
    if subject_id is None:
        return False
    details = {"reason": reason.value, "source": source.value, "status": status}
    connection.execute(
        _AUDIT,
        {
            "at": now,
            "actor": "system",
            "action": "address.undeliverable",
            "subject_id": subject_id,
            "details": details,
        },
    )
    return True


def refused_at_send(
    connection: Connection,
    *,
    alumnus_id: int,
    code: int | None,
    campaign_id: int | None = None,
    delivery_id: int | None = None,
) -> bool:
    """The relay refused the address during the SMTP conversation: with a code that blames the
    address (``HARD_BOUNCE_CODES``) it is a hard bounce, recorded and marked as one that came
    back later would be. Whether it was one."""
    if code not in HARD_BOUNCE_CODES:
        return False
    status = str(code)
    now = utcnow()
    record_bounce(
        connection,
        alumnus_id=alumnus_id,
        kind=BounceKind.HARD,
        source=BounceSource.SMTP,
        status=status,
        campaign_id=campaign_id,
        delivery_id=delivery_id,
        now=now,
    )
    mark_undeliverable(
        connection,
        alumnus_id,
        UndeliverableReason.HARD_BOUNCE,
        source=BounceSource.SMTP,
        status=status,
        now=now,
    )
    return True


def address_changed(alumnus: Alumnus) -> None:
    """A new address starts with a clean slate: the mark goes, earlier soft bounces stop
    counting. The caller audit-logs the change of address itself."""
    alumnus.undeliverable_at = None
    alumnus.undeliverable_reason = None
    alumnus.bounces_counted_from = utcnow()
