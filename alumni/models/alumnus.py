"""The alumnus: exactly the nine personal fields of the privacy statement, and a status."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alumni.extensions import db
from alumni.models.base import UTCDateTime, check_transition, enum_column, utcnow


class AlumnusStatus(StrEnum):
    IMPORTED = "imported"  # known from the student records, not yet invited
    INVITED = "invited"  # invitation queued; no answer yet
    RESPONDED = "responded"  # answered the consent form with at least one yes
    ERASED = "erased"  # personal fields removed; only the pseudonymous id remains

    @property
    def label(self) -> str:
        return str(ALUMNUS_STATUS_LABELS[self])


ALUMNUS_STATUS_LABELS = {
    AlumnusStatus.IMPORTED: _l("Imported, not invited yet"),
    AlumnusStatus.INVITED: _l("Invited, no answer yet"),
    AlumnusStatus.RESPONDED: _l("Answered the consent form"),
    AlumnusStatus.ERASED: _l("Erased"),
}


ALUMNUS_TRANSITIONS = {
    AlumnusStatus.IMPORTED: {AlumnusStatus.INVITED, AlumnusStatus.ERASED},
    AlumnusStatus.INVITED: {AlumnusStatus.RESPONDED, AlumnusStatus.ERASED},
    AlumnusStatus.RESPONDED: {AlumnusStatus.ERASED},
    AlumnusStatus.ERASED: set(),
}


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    NONBINARY = "nonbinary"
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return str(GENDER_LABELS[self])


GENDER_LABELS = {
    Gender.FEMALE: _l("Female"),
    Gender.MALE: _l("Male"),
    Gender.NONBINARY: _l("Non-binary"),
    Gender.UNKNOWN: _l("Prefer not to say"),
}

# The personal fields (privacy statement, "Welke gegevens"): erasure clears exactly these.
PERSONAL_FIELDS = (
    "first_name",
    "last_name",
    "preferred_name",
    "email",
    "phone",
    "gender",
    "date_of_birth",
    "programme",
    "graduation_year",
)


def new_subject_id() -> str:
    return secrets.token_urlsafe(16)


# Campaign audiences filter on these: partial covering indexes let PostgreSQL answer from the
# index alone (a million alumni: 326 ms -> under 100 ms, docs/benchmarks.md).
_MAILABLE = sa.text("status = 'responded' AND paused_at IS NULL")
_RECEIPT_OWED = sa.text("receipt_due_at IS NOT NULL")


class Alumnus(db.Model):
    __tablename__ = "alumni"
    __table_args__ = (
        sa.Index(
            "ix_alumni_audience_year",
            "graduation_year",
            "id",
            postgresql_where=_MAILABLE,
            sqlite_where=_MAILABLE,
        ),
        sa.Index(
            "ix_alumni_audience_programme",
            "programme",
            "id",
            postgresql_where=_MAILABLE,
            sqlite_where=_MAILABLE,
        ),
        # The scheduler looks for receipts that are due: the few owed, never the million.
        sa.Index(
            "ix_alumni_receipt_due",
            "receipt_due_at",
            postgresql_where=_RECEIPT_OWED,
            sqlite_where=_RECEIPT_OWED,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Opaque and random: used in signed links and as the pseudonym in evidence and audit logs.
    subject_id: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_subject_id)
    # Keyed hash of the student number: import stays idempotent without keeping the number.
    student_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    status: Mapped[AlumnusStatus] = mapped_column(
        enum_column(AlumnusStatus, name="alumnus_status"), default=AlumnusStatus.IMPORTED
    )
    locale: Mapped[str] = mapped_column(sa.String(5), default="nl")
    # Part of every signed link; bumped on erasure and address change so old links die.
    link_version: Mapped[int] = mapped_column(default=1)

    first_name: Mapped[str | None] = mapped_column(sa.String(100))
    last_name: Mapped[str | None] = mapped_column(sa.String(100))
    preferred_name: Mapped[str | None] = mapped_column(sa.String(100))
    programme: Mapped[str | None] = mapped_column(sa.String(200), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(32))
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    gender: Mapped[Gender | None] = mapped_column(enum_column(Gender, name="gender"))
    date_of_birth: Mapped[date | None] = mapped_column(sa.Date)
    graduation_year: Mapped[int | None] = mapped_column(index=True)

    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    invitation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Restriction of processing: no mail at all while set, data kept.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A consent receipt is owed from ``receipt_due_at`` on (``alumni.consent.receipts``);
    # ``receipt_sent_at``: the last one, so that one-click opt-outs get one an hour at most.
    receipt_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receipt_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    consents = relationship(
        "Consent", back_populates="alumnus", cascade="all, delete-orphan", lazy="selectin"
    )

    def move_to(self, status: AlumnusStatus) -> None:
        check_transition(self.status, status, ALUMNUS_TRANSITIONS)
        self.status = status

    @property
    def display_name(self) -> str:
        return self.preferred_name or self.first_name or ""

    @property
    def is_erased(self) -> bool:
        return self.status is AlumnusStatus.ERASED

    @property
    def has_responded(self) -> bool:
        return self.status is AlumnusStatus.RESPONDED

    def __repr__(self) -> str:  # never personal data: reprs end up in logs
        return f"<Alumnus {self.id} {self.status}>"
