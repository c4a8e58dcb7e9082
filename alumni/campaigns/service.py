"""A campaign's life: draft, schedule, send, pause, resume, cancel; and what it achieved."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from alumni import audit
from alumni.campaigns.audience import recipients
from alumni.core.jobs import Job, enqueue_after_commit
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    Campaign,
    CampaignBatch,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    DeliveryTotal,
    utcnow,
)
from alumni.models.campaign import CAMPAIGN_TRANSITIONS
from alumni.models.purpose import Purpose


class CampaignError(ValueError):
    """A request that the campaign's state does not allow; the message says why."""


class InvalidCampaign(ValueError):
    """Content or timing that a campaign cannot have; the message says why."""


MAX_SUBJECT = 200
EDITABLE = ("purpose", "subject", "body", "programmes", "graduation_years", "tracking")


def clean_subject(subject: str) -> str:
    """A subject is one line of at most 200 characters: it becomes a mail header."""
    value = subject.strip()
    if not value:
        raise InvalidCampaign("the subject is empty")
    if len(value) > MAX_SUBJECT:
        raise InvalidCampaign(f"the subject is longer than {MAX_SUBJECT} characters")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise InvalidCampaign("the subject has a line break or another control character")
    return value


def clean_send_at(send_at: datetime | None) -> datetime:
    """When to send, in UTC; absent means now. A time a minute past counts as now."""
    now = utcnow()
    if send_at is None:
        return now
    if send_at.tzinfo is None:
        raise InvalidCampaign("the time to send needs a time zone")
    if send_at < now - timedelta(minutes=1):
        raise InvalidCampaign("the time to send has passed")
    return max(send_at.astimezone(UTC), now)


def find_campaign(campaign_id: int, *, for_update: bool = False) -> Campaign | None:
    """The campaign as the database has it now. ``for_update``: locked until the commit, as
    every change of its status must be, so that the scheduler's tick, which starts due
    campaigns, cannot interleave with the change (the API and the staff pages alike)."""
    query = sa.select(Campaign).where(Campaign.id == campaign_id)
    if for_update:
        query = query.with_for_update()
    return db.session.scalar(query.execution_options(populate_existing=True))


def create_campaign(
    *,
    purpose: Purpose,
    subject: str,
    body: str,
    programmes: Sequence[str] = (),
    graduation_years: Sequence[int] = (),
    tracking: bool = True,
    created_by_id: int | None = None,
    actor: str = "system",
) -> Campaign:
    if not isinstance(purpose, Purpose):
        raise InvalidCampaign("unknown purpose")
    campaign = Campaign(
        purpose=purpose,
        subject=clean_subject(subject),
        body=body,
        programmes=sorted(set(programmes)),
        graduation_years=sorted(set(graduation_years)),
        tracking=tracking,
        created_by_id=created_by_id,
    )
    db.session.add(campaign)
    db.session.flush()
    audit.record("campaign.created", actor=actor, campaign=campaign.id, purpose=str(purpose))
    return campaign


def update_draft(campaign: Campaign, *, actor: str = "system", **changes: Any) -> None:
    """Change a draft's content or audience; only the fields of ``EDITABLE``."""
    if campaign.status is not CampaignStatus.DRAFT:
        raise CampaignError("only a draft can be edited")
    if campaign.is_renewal:
        raise CampaignError("a renewal's email is the product's own: it cannot be edited")
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise InvalidCampaign(f"cannot change: {', '.join(sorted(unknown))}")
    if "purpose" in changes and not isinstance(changes["purpose"], Purpose):
        raise InvalidCampaign("unknown purpose")
    if "subject" in changes:
        changes["subject"] = clean_subject(changes["subject"])
    for name in ("programmes", "graduation_years"):
        if name in changes:
            changes[name] = sorted(set(changes[name]))
    for name, value in changes.items():
        setattr(campaign, name, value)
    audit.record("campaign.edited", actor=actor, campaign=campaign.id, fields=sorted(changes))


def schedule(campaign: Campaign, send_at: datetime | None = None, *, actor: str = "system") -> None:
    """Send at ``send_at`` (aware), or now; the scheduler's tick starts it (within a tick)."""
    if campaign.status is not CampaignStatus.DRAFT:
        raise CampaignError("only a draft can be scheduled")
    campaign.send_at = clean_send_at(send_at)
    campaign.move_to(CampaignStatus.SCHEDULED)
    audit.record(
        "campaign.scheduled",
        actor=actor,
        campaign=campaign.id,
        send_at=campaign.send_at.isoformat(),
    )


def unschedule(campaign: Campaign, *, actor: str = "system") -> None:
    """Back to a draft, to edit it or choose another time."""
    if campaign.status is not CampaignStatus.SCHEDULED:
        raise CampaignError("only a scheduled campaign can go back to draft")
    campaign.move_to(CampaignStatus.DRAFT)
    campaign.send_at = None
    audit.record("campaign.unscheduled", actor=actor, campaign=campaign.id)


def pause(campaign: Campaign, *, actor: str = "system") -> None:
    """Workers stop before the next recipient; nobody is skipped by it."""
    _move(campaign, CampaignStatus.PAUSED, "paused", actor)


def resume(campaign: Campaign, *, actor: str = "system") -> None:
    if campaign.status is not CampaignStatus.PAUSED:
        raise CampaignError("only a paused campaign can be resumed")
    if campaign.started_at is None:
        campaign.move_to(CampaignStatus.SCHEDULED)
    else:
        campaign.move_to(CampaignStatus.SENDING)
        requeue_pending_batches(campaign, force=True)
        if campaign.dispatched_at is None:
            enqueue_after_commit(Job.DISPATCH_CAMPAIGN, campaign.id)
    audit.record("campaign.resumed", actor=actor, campaign=campaign.id)


def cancel(campaign: Campaign, *, actor: str = "system") -> None:
    _move(campaign, CampaignStatus.CANCELLED, "cancelled", actor)
    campaign.finished_at = utcnow()


def _move(campaign: Campaign, status: CampaignStatus, verb: str, actor: str) -> None:
    if status not in _allowed(campaign):
        raise CampaignError(f"a {campaign.status} campaign cannot be {verb}")
    campaign.move_to(status)
    audit.record(f"campaign.{verb}", actor=actor, campaign=campaign.id)


def _allowed(campaign: Campaign) -> set[CampaignStatus]:
    return CAMPAIGN_TRANSITIONS[campaign.status]


def requeue_pending_batches(
    campaign: Campaign, *, force: bool = False, stale_after: datetime | None = None
) -> int:
    """Queue again the batches not done; ``stale_after`` limits it to those queued before."""
    query = sa.select(CampaignBatch).where(
        CampaignBatch.campaign_id == campaign.id, CampaignBatch.done_at.is_(None)
    )
    if not force and stale_after is not None:
        query = query.where(CampaignBatch.queued_at < stale_after)
    batches = db.session.scalars(query).all()
    for batch in batches:
        batch.queued_at = utcnow()
        enqueue_after_commit(Job.SEND_CAMPAIGN_BATCH, batch.id)
    return len(batches)


@dataclass
class Counts:
    sent: int = 0
    failed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    remaining: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.failed + sum(self.skipped.values())

    @property
    def progress(self) -> float:
        total = self.handled + self.in_flight + self.remaining
        return 1.0 if total == 0 else self.handled / total

    def as_dict(self) -> dict[str, object]:
        return {"sent": self.sent, "failed": self.failed, "skipped": dict(self.skipped)}


def counts(campaign: Campaign, *, with_remaining: bool = True) -> Counts:
    """Sent, failed, skipped by reason; and, while sending, how many are still to go."""
    rows = db.session.execute(
        sa.select(Delivery.status, Delivery.reason, sa.func.count())
        .where(Delivery.campaign_id == campaign.id)
        .group_by(Delivery.status, Delivery.reason)
    ).all()
    # Deliveries past their retention period, counted before they were deleted.
    rows += db.session.execute(
        sa.select(DeliveryTotal.status, DeliveryTotal.reason, DeliveryTotal.count).where(
            DeliveryTotal.campaign_id == campaign.id
        )
    ).all()
    result = Counts()
    skipped: Counter[str] = Counter()
    for status, reason, number in rows:
        if status is DeliveryStatus.SENT:
            result.sent += number
        elif status is DeliveryStatus.FAILED:
            result.failed += number
        elif status is DeliveryStatus.SKIPPED:
            skipped[reason or "unknown"] += number
        else:
            result.in_flight += number
    result.skipped = dict(sorted(skipped.items()))
    if with_remaining and campaign.status in (
        CampaignStatus.SENDING,
        CampaignStatus.PAUSED,
        CampaignStatus.SCHEDULED,
    ):
        result.remaining = remaining_recipients(campaign)
    return result


def remaining_recipients(campaign: Campaign) -> int:
    """Consenting now and not handled yet: what the progress bar still has to cover."""
    handled = sa.select(Delivery.id).where(
        Delivery.campaign_id == campaign.id, Delivery.alumnus_id == Alumnus.id
    )
    query = recipients(campaign).where(~handled.exists())
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
