"""Consent: the current choice per (alumnus, purpose), and the append-only evidence log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alumni.extensions import db
from alumni.models.base import UTCDateTime, enum_column, utcnow
from alumni.models.purpose import Purpose


class ConsentState(StrEnum):
    GRANTED = "granted"
    # Also a first "no": from then on there is no consent for the purpose.
    WITHDRAWN = "withdrawn"


class EvidenceChannel(StrEnum):
    """Where a decision was made, kept with every piece of evidence."""

    OPTIN_FORM = "optin_form"
    PREFERENCES = "preferences"
    ONE_CLICK = "one_click"  # RFC 8058 POST from a mail client
    UNSUBSCRIBE_PAGE = "unsubscribe_page"
    STAFF = "staff"  # a request by email or letter, handled by staff
    ERASURE = "erasure"  # consent ended because the data was erased
    RENEWAL = "renewal"  # "keep my choices" when asked again (a new notice, an old consent)
    LAPSED = "lapsed"  # asked again and no answer within the grace period: consent ended


class Consent(db.Model):
    __tablename__ = "consents"
    __table_args__ = (sa.Index("ix_consents_purpose_state", "purpose", "state", "alumnus_id"),)

    alumnus_id: Mapped[int] = mapped_column(
        sa.ForeignKey("alumni.id", ondelete="CASCADE"), primary_key=True
    )
    purpose: Mapped[Purpose] = mapped_column(enum_column(Purpose, name="purpose"), primary_key=True)
    state: Mapped[ConsentState] = mapped_column(enum_column(ConsentState, name="consent_state"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notice_version: Mapped[str] = mapped_column(sa.ForeignKey("privacy_notices.version"))

    alumnus = relationship("Alumnus", back_populates="consents")

    @property
    def granted(self) -> bool:
        return self.state is ConsentState.GRANTED


class ConsentEvidence(db.Model):
    """Proof of every decision, under the pseudonymous subject id; never updated or deleted."""

    __tablename__ = "consent_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    purpose: Mapped[Purpose] = mapped_column(enum_column(Purpose, name="evidence_purpose"))
    decision: Mapped[ConsentState] = mapped_column(
        enum_column(ConsentState, name="evidence_decision")
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The notice the decision was made under: its text in privacy_notices.
    notice_version: Mapped[str] = mapped_column(sa.ForeignKey("privacy_notices.version"))
    channel: Mapped[EvidenceChannel] = mapped_column(
        enum_column(EvidenceChannel, name="evidence_channel")
    )


class AppendOnlyViolation(Exception):
    """Evidence rows are written once and never changed."""


@event.listens_for(ConsentEvidence, "before_update")
@event.listens_for(ConsentEvidence, "before_delete")
def _refuse_change(mapper: object, connection: object, target: ConsentEvidence) -> None:
    raise AppendOnlyViolation("consent evidence is append-only")
