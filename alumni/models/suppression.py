"""The suppression list: keyed hashes of addresses and student numbers never to mail again."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from alumni.extensions import db
from alumni.models.base import UTCDateTime, enum_column, utcnow


class SuppressionReason(StrEnum):
    WITHDRAWN = "withdrawn"  # said no to everything, or withdrew entirely
    ERASED = "erased"  # data erased on request or by retention
    # The mail server refused the address permanently. Written before bounces were processed
    # (0012); a bounce now marks the person's address undeliverable instead.
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"  # marked an email as spam


class Suppression(db.Model):
    __tablename__ = "suppressions"

    key_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    reason: Mapped[SuppressionReason] = mapped_column(
        enum_column(SuppressionReason, name="suppression_reason")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
