"""Consent that stays current: which consents are due to be asked for again, and what becomes
of them when the person answers or does not.

A granted consent is *due* when it was given under a notice published before the latest
material one, or when it is older than ``CONSENT_RENEW_AFTER_MONTHS``. The person is asked by a
renewal campaign (``alumni.campaigns.renewal``); "keep my choices" (``decisions.renew``) or a
saved preferences page gives the consent anew, and it is no longer due. What is still due
``RENEWAL_GRACE_DAYS`` after the person was asked lapses (evidence channel ``lapsed``);
retention then erases whoever has nothing left.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from alumni.consent.decisions import record_choices, renew
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    AlumnusStatus,
    Campaign,
    CampaignKind,
    Consent,
    ConsentEvidence,
    ConsentState,
    Delivery,
    DeliveryStatus,
    EvidenceChannel,
    PrivacyNotice,
    utcnow,
)
from alumni.models.purpose import Purpose


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` calendar months earlier (the last day of a shorter
    month: 31 March minus one month is 28 or 29 February)."""
    month_index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(month_index, 12)
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month + 1, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month + 1, day=min(moment.day, 28))


def aged_before(now: datetime) -> datetime:
    """A consent last given before this is due by its age."""
    return months_before(now, current_app.config["CONSENT_RENEW_AFTER_MONTHS"])


def grace() -> timedelta:
    return timedelta(days=current_app.config["RENEWAL_GRACE_DAYS"])


def is_due(consent: type[Consent] | Consent, now: datetime) -> sa.ColumnElement[bool]:
    """A condition on ``Consent`` rows (the class or an alias): given, and due for renewal."""
    latest_material = (
        sa.select(sa.func.max(PrivacyNotice.published_at))
        .where(PrivacyNotice.material.is_(True), PrivacyNotice.sha256_nl.is_not(None))
        .scalar_subquery()
    )
    given_under = (
        sa.select(PrivacyNotice.published_at)
        .where(PrivacyNotice.version == consent.notice_version)
        .scalar_subquery()
    )
    return sa.and_(
        consent.state == ConsentState.GRANTED,
        sa.or_(consent.changed_at < aged_before(now), given_under < latest_material),
    )


def has_due_consent(now: datetime) -> sa.ColumnElement[bool]:
    """A condition on ``Alumnus``: at least one of their consents is due."""
    due = aliased(Consent)
    return sa.exists().where(due.alumnus_id == Alumnus.id, is_due(due, now))


def due_purposes(alumnus: Alumnus, now: datetime | None = None) -> list[Purpose]:
    now = now or utcnow()
    query = sa.select(Consent.purpose).where(Consent.alumnus_id == alumnus.id, is_due(Consent, now))
    return list(db.session.scalars(query.order_by(Consent.purpose)))


def answered(alumnus: Alumnus, channel: EvidenceChannel) -> list[Purpose]:
    """The person told us their choices again (the preferences saved): the consents they kept
    that were due are given anew, with the channel they answered on. Nothing is recorded when
    nothing was due."""
    due = set(due_purposes(alumnus))
    return renew(alumnus, channel=channel, purposes=due) if due else []


# -- who was asked, and what came of it --------------------------------------------------------


def asked(campaign_ids: sa.Select | None = None) -> sa.Select[tuple[int]]:
    """Ids of the people a first renewal email reached (not a reminder)."""
    first_asks = sa.select(Campaign.id).where(
        Campaign.kind == CampaignKind.RENEWAL, Campaign.reminds_id.is_(None)
    )
    return sa.select(Delivery.alumnus_id).where(
        Delivery.campaign_id.in_(campaign_ids if campaign_ids is not None else first_asks),
        Delivery.status == DeliveryStatus.SENT,
        Delivery.alumnus_id.is_not(None),
    )


def asked_since(moment: datetime) -> sa.Select[tuple[int]]:
    """Ids of the people a first renewal email reached in a campaign started since
    ``moment``: they are waiting for their grace period to end, and are not asked again."""
    return asked(
        sa.select(Campaign.id).where(
            Campaign.kind == CampaignKind.RENEWAL,
            Campaign.reminds_id.is_(None),
            Campaign.started_at >= moment,
        )
    )


def lapse_unanswered(now: datetime | None = None) -> int:
    """Retention: everyone asked by a renewal that started a grace period ago whose consent is
    still due loses it (evidence channel ``lapsed``); returns how many people. Whoever has
    nothing left is then erased with everyone else without consent."""
    now = now or utcnow()
    overdue = sa.select(Campaign.id).where(
        Campaign.kind == CampaignKind.RENEWAL,
        Campaign.reminds_id.is_(None),
        Campaign.started_at <= now - grace(),
    )
    people = db.session.scalars(
        sa.select(Alumnus).where(
            Alumnus.id.in_(asked(overdue)),
            Alumnus.status == AlumnusStatus.RESPONDED,
            has_due_consent(now),
        )
    ).all()
    for alumnus in people:
        lapsing = due_purposes(alumnus, now)
        record_choices(alumnus, dict.fromkeys(lapsing, False), EvidenceChannel.LAPSED, now)
    db.session.commit()
    return len(people)


@dataclass(frozen=True)
class Progress:
    """The renewal on the staff dashboard. ``changed``: asked, and answered otherwise than by
    keeping (the preferences, an opt-out, "delete my data")."""

    asked: int
    kept: int
    changed: int
    lapsed: int
    waiting: int


def progress(now: datetime | None = None) -> Progress:
    now = now or utcnow()
    asked_count = _count(
        sa.select(Delivery.id)
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(
            Campaign.kind == CampaignKind.RENEWAL,
            Campaign.reminds_id.is_(None),
            Delivery.status == DeliveryStatus.SENT,
        )
    )
    kept = _people_with_evidence(EvidenceChannel.RENEWAL)
    lapsed = _people_with_evidence(EvidenceChannel.LAPSED)
    waiting = _count(
        sa.select(Alumnus.id).where(
            Alumnus.id.in_(asked_since(now - grace())),
            Alumnus.status == AlumnusStatus.RESPONDED,
            has_due_consent(now),
        )
    )
    changed = max(asked_count - kept - lapsed - waiting, 0)
    return Progress(asked_count, kept, changed, lapsed, waiting)


def _people_with_evidence(channel: EvidenceChannel) -> int:
    return _count(
        sa.select(ConsentEvidence.subject_id).where(ConsentEvidence.channel == channel).distinct()
    )


def _count(query: sa.Select) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
