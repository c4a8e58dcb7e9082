"""Campaigns per purpose and one delivery per (campaign, alumnus)."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from alumni.extensions import db
from alumni.models.base import UTCDateTime, check_transition, enum_column, utcnow
from alumni.models.purpose import Purpose


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    SENT = "sent"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return str(CAMPAIGN_STATUS_LABELS[self])


CAMPAIGN_STATUS_LABELS = {
    CampaignStatus.DRAFT: _l("Draft"),
    CampaignStatus.SCHEDULED: _l("Scheduled"),
    CampaignStatus.SENDING: _l("Sending"),
    CampaignStatus.PAUSED: _l("Paused"),
    CampaignStatus.SENT: _l("Sent"),
    CampaignStatus.CANCELLED: _l("Cancelled"),
}


class CampaignKind(StrEnum):
    """What a campaign is for: one purpose, to those who consent to it; or asking everyone
    whose consent is due for renewal to keep or change their choices
    (``alumni.consent.renewal``)."""

    PURPOSE = "purpose"
    RENEWAL = "renewal"

    @property
    def label(self) -> str:
        return str(CAMPAIGN_KIND_LABELS[self])


CAMPAIGN_KIND_LABELS = {
    CampaignKind.PURPOSE: _l("Purpose"),
    CampaignKind.RENEWAL: _l("Renewal of consent"),
}


class WaitingReason(StrEnum):
    """Why a sending campaign is not moving; it goes on by itself once the cause is gone."""

    SMTP_UNAVAILABLE = "smtp-unavailable"
    ERASURE_REPLAY = "erasure-replay"

    @property
    def label(self) -> str:
        return str(WAITING_LABELS[self])


WAITING_LABELS = {
    WaitingReason.SMTP_UNAVAILABLE: _l(
        "Waiting for the mail server; sending goes on by itself when it is back."
    ),
    WaitingReason.ERASURE_REPLAY: _l(
        "Waiting for the erasure ledger to be replayed after a restore."
    ),
}


CAMPAIGN_TRANSITIONS = {
    CampaignStatus.DRAFT: {CampaignStatus.SCHEDULED, CampaignStatus.CANCELLED},
    CampaignStatus.SCHEDULED: {
        CampaignStatus.DRAFT,
        CampaignStatus.SENDING,
        CampaignStatus.PAUSED,
        CampaignStatus.CANCELLED,
    },
    CampaignStatus.SENDING: {CampaignStatus.PAUSED, CampaignStatus.SENT, CampaignStatus.CANCELLED},
    CampaignStatus.PAUSED: {
        CampaignStatus.SCHEDULED,
        CampaignStatus.SENDING,
        CampaignStatus.CANCELLED,
    },
    CampaignStatus.SENT: set(),
    CampaignStatus.CANCELLED: set(),
}


class Campaign(db.Model):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CampaignKind] = mapped_column(
        enum_column(CampaignKind, name="campaign_kind"), default=CampaignKind.PURPOSE
    )
    # None for a renewal: it asks about every purpose at once.
    purpose: Mapped[Purpose | None] = mapped_column(enum_column(Purpose, name="campaign_purpose"))
    # A renewal's reason, one campaign each ("notice:2027-01", "aged:2027-03", "reminder:12"):
    # the scheduler's tick never makes two for the same reason.
    renewal_key: Mapped[str | None] = mapped_column(sa.String(48), unique=True)
    # A renewal's reminder: the renewal it reminds of (its recipients who have not answered).
    reminds_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE")
    )
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)  # Markdown
    programmes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    graduation_years: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    status: Mapped[CampaignStatus] = mapped_column(
        enum_column(CampaignStatus, name="campaign_status"), default=CampaignStatus.DRAFT
    )
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tracking: Mapped[bool] = mapped_column(default=True)
    # Key of the open-tracking MACs: tokens are verifiable without being stored.
    tracking_key: Mapped[str] = mapped_column(sa.String(64), default=lambda: secrets.token_hex(32))
    # Recipients are read in batches after the last alumnus id handled.
    cursor_alumnus_id: Mapped[int] = mapped_column(default=0)
    # Set when every recipient has been put in a batch; the campaign is sent once every
    # batch is done.
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why a sending campaign is not moving, for the progress page ("smtp-unreachable").
    waiting_reason: Mapped[str | None] = mapped_column(sa.String(40))
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    deliveries = relationship("Delivery", back_populates="campaign", lazy="dynamic")
    reminded = relationship("Campaign", remote_side=[id])

    def move_to(self, status: CampaignStatus) -> None:
        check_transition(self.status, status, CAMPAIGN_TRANSITIONS)
        self.status = status

    @property
    def is_renewal(self) -> bool:
        return self.kind is CampaignKind.RENEWAL

    @property
    def topic(self) -> str:
        """What the campaign is about, in words: its purpose, or the renewal."""
        return self.purpose.label if self.purpose is not None else self.kind.label


class CampaignBatch(db.Model):
    """A slice of the audience (alumnus ids ``first_id``..``last_id``) handed to one job.

    The database, not the queue, remembers what is left: the scheduler's tick queues again a
    batch whose job was lost (a worker killed, Redis restarted). Handling a batch twice is
    harmless: each delivery is claimed under its unique key.
    """

    __tablename__ = "campaign_batches"
    __table_args__ = (sa.UniqueConstraint("campaign_id", "first_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    first_id: Mapped[int]
    last_id: Mapped[int]
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DeliveryStatus(StrEnum):
    CLAIMED = "claimed"  # consent checked and the slot taken; handing over to SMTP
    SENT = "sent"
    SKIPPED = "skipped"  # with a named reason
    FAILED = "failed"


class SkipReason(StrEnum):
    """Why a person did not get a campaign's email, decided at the moment of sending
    (``alumni.campaigns.couriers.base.skip_reason``)."""

    ERASED = "erased"
    NO_CONSENT = "no-consent"
    PAUSED = "paused"
    NO_ADDRESS = "no-address"
    SUPPRESSED = "suppressed"

    @property
    def label(self) -> str:
        return str(DELIVERY_REASON_LABELS[self])


class FailReason(StrEnum):
    """Why an email failed, besides a refusal by the mail server (``smtp-<code>``)."""

    INTERRUPTED = "interrupted"  # in flight at a crash: never sent again

    @property
    def label(self) -> str:
        return str(DELIVERY_REASON_LABELS[self])

    @staticmethod
    def smtp(code: int | None) -> str:
        """The reason of an email the mail server refused for good."""
        return f"smtp-{code}"


DELIVERY_REASON_LABELS = {
    SkipReason.NO_CONSENT: _l("No consent for this purpose any more"),
    SkipReason.ERASED: _l("Data erased"),
    SkipReason.PAUSED: _l("Paused all email"),
    SkipReason.NO_ADDRESS: _l("No email address"),
    SkipReason.SUPPRESSED: _l("Address on the suppression list"),
    FailReason.INTERRUPTED: _l("Interrupted by a crash while sending (never sent twice)"),
}


def reason_label(reason: str) -> str:
    """A delivery's reason (skip or failure) in words; a mail server's refusal keeps its code."""
    for family in (SkipReason, FailReason):
        try:
            return family(reason).label
        except ValueError:
            pass
    code = reason.removeprefix("smtp-")
    if code != reason and code.isdigit():
        return str(_l("Refused by the mail server (code %(code)s)", code=code))
    return reason


DELIVERY_TRANSITIONS = {
    DeliveryStatus.CLAIMED: {DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.SKIPPED},
    DeliveryStatus.SENT: set(),
    DeliveryStatus.SKIPPED: set(),
    DeliveryStatus.FAILED: set(),
}


# The predicate of the open-claims index, written out so that a query can repeat it literally:
# a bound parameter in its place would keep PostgreSQL's generic plans from using the index.
OPEN_CLAIM = sa.text("deliveries.status = 'claimed'")


class Delivery(db.Model):
    """At most one per (campaign, alumnus): the unique key is what makes sending idempotent."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "alumnus_id"),
        # The scheduler's tick looks for claims left open by a crash every few seconds: only
        # the few open claims are in this index, not the millions of deliveries done.
        sa.Index(
            "ix_deliveries_open_claims",
            "created_at",
            postgresql_where=sa.text("status = 'claimed'"),
            sqlite_where=sa.text("status = 'claimed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    # Set to NULL when the alumnus is erased: campaign totals stay, the person goes.
    alumnus_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("alumni.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, name="delivery_status")
    )
    reason: Mapped[str | None] = mapped_column(sa.String(40))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Claims taken together by one sender, who sends them in order of alumnus id (a random
    # number; NULL for a claim taken alone). Should the sender die, the first open claim of
    # its group may have been handed over and the rest were not.
    claim_group: Mapped[int | None] = mapped_column(sa.BigInteger)

    campaign = relationship("Campaign", back_populates="deliveries")

    def move_to(self, status: DeliveryStatus) -> None:
        check_transition(self.status, status, DELIVERY_TRANSITIONS)
        self.status = status


class DeliveryTotal(db.Model):
    """Deliveries past their retention period, counted per (campaign, status, reason) and
    then deleted: the campaign's totals stay, the details of who got what go."""

    __tablename__ = "delivery_totals"

    campaign_id: Mapped[int] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, name="delivery_total_status"), primary_key=True
    )
    # "" for none: part of the primary key, so never NULL.
    reason: Mapped[str] = mapped_column(sa.String(40), primary_key=True, default="")
    count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
