"""A graduate who got no email asks to join at ``/join``: what they typed waits here until it
is matched to a graduate and confirmed from the address typed, or an officer rejects it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from alumni.extensions import db
from alumni.models.base import UTCDateTime, enum_column, utcnow


class JoinRequestStatus(StrEnum):
    NEW = "new"  # typed; the job that matches it has not run yet
    UNMATCHED = "unmatched"  # no graduate matched: in the officers' queue
    LINKED = "linked"  # tied to a graduate; its confirmation link went to the address typed

    @property
    def label(self) -> str:
        return str(JOIN_REQUEST_STATUS_LABELS[self])


JOIN_REQUEST_STATUS_LABELS = {
    JoinRequestStatus.NEW: _l("Being matched"),
    JoinRequestStatus.UNMATCHED: _l("No match: waits for an officer"),
    JoinRequestStatus.LINKED: _l("Confirmation link sent"),
}


class JoinRequest(db.Model):
    """One request. Personal data typed by a visitor: kept at most 30 days (retention), deleted
    when confirmed or rejected, and by the erasure of the person it names. Once tied to a
    graduate only the address typed is kept, for the confirmation."""

    __tablename__ = "join_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[JoinRequestStatus] = mapped_column(
        enum_column(JoinRequestStatus, name="join_request_status"),
        default=JoinRequestStatus.NEW,
        index=True,
    )
    # As typed, for the officer who looks for the graduate; cleared once linked.
    student_number: Mapped[str | None] = mapped_column(sa.String(32))
    date_of_birth: Mapped[date | None] = mapped_column(sa.Date)
    # The keyed hash of the student number: matching, suppression and erasure find it by this.
    student_key: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    # The language of the page it was typed on: the confirmation is written in it.
    locale: Mapped[str] = mapped_column(sa.String(5), default="nl")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    alumnus_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("alumni.id", ondelete="CASCADE"), index=True
    )
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:  # never personal data: reprs end up in logs
        return f"<JoinRequest {self.id} {self.status}>"
