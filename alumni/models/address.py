"""A change of email address asked for by the person: it waits for the new address to confirm
it, and the old address may undo it for a while after."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from alumni.extensions import db
from alumni.models.base import UTCDateTime, utcnow


class AddressChange(db.Model):
    """One request. The new address is the person's only once ``confirmed_at`` is set; until
    then every email goes to the old one. Erasure and retention delete these rows."""

    __tablename__ = "address_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    alumnus_id: Mapped[int] = mapped_column(
        sa.ForeignKey("alumni.id", ondelete="CASCADE"), index=True
    )
    new_email: Mapped[str] = mapped_column(sa.String(254))
    # The address it replaced, kept for the notice to it and its undo link only.
    old_email: Mapped[str | None] = mapped_column(sa.String(254))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
