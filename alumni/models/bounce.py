"""Bounces and complaints that reached us, and why an address counts as undeliverable."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from alumni.extensions import db
from alumni.models.base import UTCDateTime, enum_column, utcnow


class BounceKind(StrEnum):
    """What a recorded report said (an auto-reply is never recorded)."""

    HARD = "hard"
    SOFT = "soft"
    COMPLAINT = "complaint"


class BounceSource(StrEnum):
    """How the report reached us."""

    SMTP = "smtp"  # refused during the SMTP conversation (550, 551, 553)
    PIPE = "pipe"  # `bounces ingest`, from the MTA's pipe alias
    MAILBOX = "mailbox"  # BOUNCE_MAILBOX_URL, polled by the scheduler
    SES = "ses"
    POSTMARK = "postmark"


class UndeliverableReason(StrEnum):
    """Why a person's address gets no mail until it changes."""

    HARD_BOUNCE = "hard-bounce"
    SOFT_BOUNCES = "soft-bounces"

    @property
    def label(self) -> str:
        return str(UNDELIVERABLE_LABELS[self])


UNDELIVERABLE_LABELS = {
    UndeliverableReason.HARD_BOUNCE: _l("The address does not exist (hard bounce)"),
    UndeliverableReason.SOFT_BOUNCES: _l("Mail to the address failed repeatedly (soft bounces)"),
}


class Bounce(db.Model):
    """One report about one email: no message body, no address, only what it means and for
    whom. An erasure keeps the row without the person, so that a campaign's bounce and
    complaint counts stay (as its deliveries do)."""

    __tablename__ = "bounces"
    __table_args__ = (sa.Index("ix_bounces_alumnus_kind", "alumnus_id", "kind", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alumnus_id: Mapped[int | None] = mapped_column(sa.ForeignKey("alumni.id", ondelete="SET NULL"))
    # The campaign email it is about; NULL for an invitation or a fresh link, or when the
    # delivery's details are gone (retention).
    campaign_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    delivery_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    kind: Mapped[BounceKind] = mapped_column(enum_column(BounceKind, name="bounce_kind"))
    source: Mapped[BounceSource] = mapped_column(enum_column(BounceSource, name="bounce_source"))
    # The enhanced status code (5.1.1) or the SMTP code (550), when the report gave one.
    status: Mapped[str | None] = mapped_column(sa.String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
