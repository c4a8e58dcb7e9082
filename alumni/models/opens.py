"""Open tracking: counts per campaign and hour, and the tokens seen, never who opened.

No table here has a column that could point at a person: a token's row holds its campaign and
a one-way digest of its random nonce, with no time; counts are per hour, for the chart.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from alumni.extensions import db
from alumni.models.base import UTCDateTime, utcnow


class OpenedToken(db.Model):
    """A token opened at least once: what makes the second open of it not unique."""

    __tablename__ = "opened_tokens"

    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    # sha256 of the campaign id and the nonce, 128 bits in hex: not the token itself, so a
    # copy of the database holds no pixel address.
    digest: Mapped[str] = mapped_column(sa.String(32), primary_key=True)


class OpenCount(db.Model):
    """Opens of a campaign in one hour (UTC): all of them, and first opens of a token."""

    __tablename__ = "open_counts"

    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    total_opens: Mapped[int] = mapped_column(default=0)
    unique_opens: Mapped[int] = mapped_column(default=0)


class OpenFlush(db.Model):
    """A flush of counts from Redis that reached the database: a flush is applied once, also
    when the scheduler that took it died before it could tell Redis."""

    __tablename__ = "open_flushes"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
