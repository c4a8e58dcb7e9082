"""Erasure requests, and what the database knows of the erasure ledger kept outside it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from alumni.extensions import db
from alumni.models.base import UTCDateTime, enum_column, utcnow
from alumni.models.consent import EvidenceChannel
from alumni.models.suppression import SuppressionReason

_PENDING = sa.text("done_at IS NULL")


class ErasureRequest(db.Model):
    """Durable from the moment the person asks; ``done_at`` is set when the data is gone.

    Mail stops when the request is made (consent withdrawn, address suppressed); the erasure
    itself is done by a job, or by the scheduler's sweep when that job was lost.
    """

    __tablename__ = "erasure_requests"
    __table_args__ = (
        sa.Index(
            "ix_erasure_requests_pending",
            "requested_at",
            postgresql_where=_PENDING,
            sqlite_where=_PENDING,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alumnus_id: Mapped[int] = mapped_column(
        sa.ForeignKey("alumni.id", ondelete="CASCADE"), index=True
    )
    # The pseudonymous id, as in the evidence and the audit log.
    subject_id: Mapped[str] = mapped_column(sa.String(32))
    reason: Mapped[SuppressionReason] = mapped_column(
        enum_column(SuppressionReason, name="erasure_reason")
    )
    channel: Mapped[EvidenceChannel] = mapped_column(
        enum_column(EvidenceChannel, name="erasure_channel")
    )
    actor: Mapped[str] = mapped_column(sa.String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<ErasureRequest {self.id} {'done' if self.done_at else 'pending'}>"


class ErasureState(db.Model):
    """One row (id 1): how much of the ledger the database reflects, and housekeeping times.

    ``ledger_applied_through`` is a byte offset in the ledger file: every erasure up to it is
    in this database. After a restore it is behind the file, and the replay runs before any
    mail leaves.
    """

    __tablename__ = "erasure_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    ledger_applied_through: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # One replay at a time: whoever holds the lease replays, the others wait for it.
    replay_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retention_ran_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
