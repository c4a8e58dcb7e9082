"""Renewal campaigns, made by the scheduler's tick: the people whose consent is due for renewal
(``alumni.consent.renewal``) are asked again by a normal campaign of kind ``renewal``, sent with
the usual claims, checks and throttling.

- one for the latest material notice (``notice:<version>``), once it is in force;
- one a month while anyone's consent is older than ``CONSENT_RENEW_AFTER_MONTHS``
  (``aged:<year>-<month>``);
- one reminder per renewal, half the grace period after it started (``reminder:<id>``), to
  those it reached who have not answered.

Each reason has one campaign at most (a unique key): ticks on several hosts make one.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from alumni import audit
from alumni.campaigns.service import schedule
from alumni.consent import notices, renewal
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    AlumnusStatus,
    Campaign,
    CampaignKind,
    CampaignStatus,
    Consent,
    ConsentState,
    PrivacyNotice,
    utcnow,
)

log = logging.getLogger(__name__)


def schedule_due(now: datetime | None = None) -> list[int]:
    """Make and schedule the renewal campaigns whose reason has come; returns their ids."""
    now = now or utcnow()
    made = []
    notice = notices.in_force()
    if notice.material:
        made.append(_make(f"notice:{notice.version}", _material_texts(notice)))
    if _anyone_aged(now):
        made.append(_make(f"aged:{now:%Y-%m}", _aged_texts()))
    for first in _due_for_a_reminder(now):
        made.append(_make(f"reminder:{first.id}", _reminder_texts(first), reminds=first))
    return [campaign_id for campaign_id in made if campaign_id is not None]


def _make(key: str, texts: tuple[str, str], reminds: Campaign | None = None) -> int | None:
    """The campaign for ``key``, scheduled now; None when it was made before."""
    if db.session.scalar(sa.select(Campaign.id).where(Campaign.renewal_key == key)):
        return None
    subject, body = texts
    campaign = Campaign(
        kind=CampaignKind.RENEWAL,
        purpose=None,
        subject=subject,
        body=body,
        tracking=False,
        renewal_key=key,
        reminds_id=None if reminds is None else reminds.id,
    )
    try:
        with db.session.begin_nested():
            db.session.add(campaign)
            db.session.flush()
    except IntegrityError:
        return None  # another host's tick made it a moment ago
    audit.record("campaign.created", actor="system", campaign=campaign.id, purpose="renewal")
    schedule(campaign)
    db.session.commit()
    log.info("renewal campaign %s made (%s)", campaign.id, key)
    return campaign.id


def _anyone_aged(now: datetime) -> bool:
    """Whether someone who is not waiting for an earlier renewal has consent older than the
    limit."""
    waiting = renewal.asked_since(now - renewal.grace())
    query = sa.select(Alumnus.id).where(
        Alumnus.status == AlumnusStatus.RESPONDED,
        Alumnus.paused_at.is_(None),
        Alumnus.id.not_in(waiting),
        sa.exists().where(
            Consent.alumnus_id == Alumnus.id,
            Consent.state == ConsentState.GRANTED,
            Consent.changed_at < renewal.aged_before(now),
        ),
    )
    return db.session.scalar(query.limit(1)) is not None


def _due_for_a_reminder(now: datetime) -> list[Campaign]:
    """Renewals sent, started half a grace period ago, without a reminder yet."""
    reminded = sa.select(Campaign.reminds_id).where(Campaign.reminds_id.is_not(None))
    return list(
        db.session.scalars(
            sa.select(Campaign).where(
                Campaign.kind == CampaignKind.RENEWAL,
                Campaign.reminds_id.is_(None),
                Campaign.status == CampaignStatus.SENT,
                Campaign.started_at <= now - renewal.grace() / 2,
                Campaign.id.not_in(reminded),
            )
        )
    )


# The campaign's subject and body as staff read them; each person's email is the product's own
# text in their language (``templates/email/renewal``).


def _material_texts(notice: PrivacyNotice) -> tuple[str, str]:
    return (
        _("Renewal: privacy notice %(version)s", version=notice.version),
        _(
            "Asks everyone whose consent was given under an earlier privacy notice to keep or "
            "change their choices."
        ),
    )


def _aged_texts() -> tuple[str, str]:
    return (
        _("Renewal: consent given long ago"),
        _("Asks everyone whose consent is older than the limit to keep or change their choices."),
    )


def _reminder_texts(first: Campaign) -> tuple[str, str]:
    return (
        _("Reminder: %(subject)s", subject=first.subject),
        _("Reminds those who have not answered yet."),
    )
