"""What the API answers: a campaign as JSON, in the shape the OpenAPI document describes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alumni.campaigns.service import counts
from alumni.models import Campaign
from alumni.opens import campaign_opens


def campaign_json(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "kind": str(campaign.kind),
        "purpose": None if campaign.purpose is None else str(campaign.purpose),
        "subject": campaign.subject,
        "body": campaign.body,
        "status": str(campaign.status),
        "programme": list(campaign.programmes),
        "graduation_years": list(campaign.graduation_years),
        "tracking": campaign.tracking,
        "send_at": _time(campaign.send_at),
        "created_at": _time(campaign.created_at),
        "started_at": _time(campaign.started_at),
        "finished_at": _time(campaign.finished_at),
        "counts": counts(campaign, with_remaining=False).as_dict(),
        "opens": _opens(campaign),
    }


def _opens(campaign: Campaign) -> dict[str, int] | None:
    """Null below OPENS_MIN_RECIPIENTS emails sent, and when tracking is off."""
    opens = campaign_opens(campaign)
    return None if opens is None else opens.as_dict()


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
