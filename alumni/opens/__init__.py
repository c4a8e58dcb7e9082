"""Open tracking that counts opens and never knows who opened (I7).

Each campaign email gets a pixel ``/o/<token>.gif`` whose token is a fresh random nonce with a
MAC under the campaign's key (``tokens``). Nothing keeps which token went to whom. An open is
counted per campaign and hour, and a token's first open as a unique open (``counting``); staff
see the counts only for campaigns of at least ``OPENS_MIN_RECIPIENTS`` recipients
(``report``). ``OPEN_TRACKING`` off, or a campaign's ``tracking`` off: no pixel, no count.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import sqlalchemy as sa
from flask import Flask, current_app

from alumni.extensions import db
from alumni.models import Campaign, utcnow
from alumni.opens import counting
from alumni.opens.report import (
    Opens,
    OpensOverTime,
    campaign_opens,
    is_tracked,
    opens_by_campaign,
    opens_over_time,
    sent_by_campaign,
)
from alumni.opens.tokens import make_token, parse_token

__all__ = [
    "Opens",
    "OpensOverTime",
    "campaign_opens",
    "flush_opens",
    "init_app",
    "is_tracked",
    "opens_by_campaign",
    "opens_over_time",
    "pixel_url",
    "record_open",
    "sent_by_campaign",
]

log = logging.getLogger(__name__)


class Tracked(Protocol):
    """What the pixel needs of a campaign: a ``Campaign`` or a ``CampaignSnapshot``."""

    id: int
    tracking: bool
    tracking_key: str


def tracking_on() -> bool:
    return bool(current_app.config["OPEN_TRACKING"])


def pixel_url(campaign: Tracked) -> str | None:
    """The pixel for one email of this campaign, a new token each call; None when off."""
    if not tracking_on() or not campaign.tracking:
        return None
    token = make_token(campaign.id, campaign.tracking_key)
    return f"{current_app.config['BASE_URL']}/o/{token}.gif"


def record_open(text: str) -> bool:
    """Count an open of a genuine token; anything else is ignored. Never raises: the pixel
    is always answered, and a count is not worth an error page in someone's mail."""
    if not tracking_on():
        return False
    token = parse_token(text)
    if token is None:
        return False
    try:
        key = current_app.extensions["opens.keys"].key(token.campaign_id)
        if key is None or not token.is_signed_with(key):
            return False
        current_app.extensions["opens"].record(
            token.campaign_id, token.digest, counting.hour_of(utcnow())
        )
    except Exception as error:  # the database or Redis is away: this open is lost, that's all
        db.session.rollback()
        log.warning("open not counted: %s", type(error).__name__)
        return False
    return True


def flush_opens(now: float | None = None) -> int:
    """The scheduler's part: move the opens counted in Redis into the database."""
    return current_app.extensions["opens"].flush(now)


class CampaignKeys:
    """The tracking keys of campaigns that have started, kept in memory: a pixel request
    usually reads nothing from the database. A campaign not started (or unknown, as in a
    forged token) is asked again after a minute, so it is counted once it starts."""

    RETRY_SECONDS = 60.0
    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._keys: dict[int, str | None] = {}
        self._retry_at: dict[int, float] = {}
        self._lock = threading.Lock()

    def key(self, campaign_id: int) -> str | None:
        with self._lock:
            if campaign_id in self._keys:
                return self._keys[campaign_id]
            if self._retry_at.get(campaign_id, 0.0) > time.monotonic():
                return None
        row = db.session.execute(
            sa.select(Campaign.tracking_key, Campaign.tracking, Campaign.started_at).where(
                Campaign.id == campaign_id
            )
        ).first()
        with self._lock:
            if len(self._keys) + len(self._retry_at) >= self.MAX_ENTRIES:
                self._keys.clear()
                self._retry_at.clear()
            if row is None or row.started_at is None:
                self._retry_at[campaign_id] = time.monotonic() + self.RETRY_SECONDS
                return None
            # A started campaign's tracking can no longer change: only drafts are edited.
            self._keys[campaign_id] = row.tracking_key if row.tracking else None
            return self._keys[campaign_id]


def init_app(app: Flask) -> None:
    counting.init_app(app)
    app.extensions["opens.keys"] = CampaignKeys()
