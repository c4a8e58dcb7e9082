"""What staff and the API learn of opens: counts per campaign and over time, never a person.

Counts are reported only for campaigns that reached at least ``OPENS_MIN_RECIPIENTS`` people
(emails sent), so that a mailing to a handful cannot tell who opened it; and only while open
tracking is on, for campaigns that had it on. With Redis, opens reach the database at the
scheduler's next flush (``TICK_SECONDS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from alumni.core.timeline import Step, Timeline, timeline
from alumni.extensions import db
from alumni.models import Campaign, Delivery, DeliveryStatus, OpenCount

TOTAL = "total"
UNIQUE = "unique"


@dataclass(frozen=True)
class Opens:
    total: int
    unique: int
    recipients: int  # emails sent

    @property
    def rate(self) -> float:
        """Unique opens per email sent (0 to 1)."""
        return self.unique / self.recipients if self.recipients else 0.0

    def as_dict(self) -> dict[str, int]:
        return {"total": self.total, "unique": self.unique}


OpensOverTime = Timeline  # series "total" and "unique"


def campaign_opens(campaign: Campaign) -> Opens | None:
    """The campaign's opens, or None when they are not reported (too few recipients, or
    tracking off for the installation or the campaign)."""
    return opens_by_campaign([campaign])[campaign.id]


def opens_by_campaign(campaigns: Sequence[Campaign]) -> dict[int, Opens | None]:
    """``campaign_opens`` for many campaigns in two queries: for lists."""
    reported = [campaign.id for campaign in campaigns if is_tracked(campaign)]
    result: dict[int, Opens | None] = {campaign.id: None for campaign in campaigns}
    if not reported:
        return result
    sent = sent_by_campaign(reported)
    sums = open_totals(reported)
    threshold = current_app.config["OPENS_MIN_RECIPIENTS"]
    for campaign_id in reported:
        recipients = sent.get(campaign_id, 0)
        if recipients >= threshold:
            total, unique = sums.get(campaign_id, (0, 0))
            result[campaign_id] = Opens(total, unique, recipients)
    return result


def open_totals(campaign_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """(total, unique) opens counted per campaign, whatever the threshold (a campaign without
    any is left out). Not for showing: ``opens_by_campaign`` is."""
    return {
        campaign_id: (int(total), int(unique))
        for campaign_id, total, unique in db.session.execute(
            sa.select(
                OpenCount.campaign_id,
                sa.func.sum(OpenCount.total_opens),
                sa.func.sum(OpenCount.unique_opens),
            )
            .where(OpenCount.campaign_id.in_(campaign_ids))
            .group_by(OpenCount.campaign_id)
        )
    }


def sent_by_campaign(campaign_ids: Sequence[int]) -> dict[int, int]:
    """Emails sent per campaign (a campaign with none is left out)."""
    return dict(
        db.session.execute(
            sa.select(Delivery.campaign_id, sa.func.count())
            .where(Delivery.campaign_id.in_(campaign_ids), Delivery.status == DeliveryStatus.SENT)
            .group_by(Delivery.campaign_id)
        ).all()
    )


def is_tracked(campaign: Campaign) -> bool:
    """Whether the campaign's opens are counted: tracking on, for it and the installation."""
    return bool(current_app.config["OPEN_TRACKING"] and campaign.tracking)


def opens_over_time(campaign: Campaign) -> OpensOverTime | None:
    """Opens per hour (per day or week when they span longer), in the school's time zone;
    None when not reported or when nothing was opened yet."""
    if campaign_opens(campaign) is None:
        return None
    rows = db.session.execute(
        sa.select(OpenCount.hour, OpenCount.total_opens, OpenCount.unique_opens).where(
            OpenCount.campaign_id == campaign.id
        )
    ).all()
    points = [(hour, TOTAL, total) for hour, total, _ in rows]
    points += [(hour, UNIQUE, unique) for hour, _, unique in rows]
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return timeline(points, (TOTAL, UNIQUE), Step.HOUR, zone)
