"""Who a campaign may reach: alumni who consent to its purpose, within its filters; for a
renewal, alumni whose consent is due for renewal (``alumni.consent.renewal``)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alumni.consent import renewal
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    AlumnusStatus,
    Campaign,
    Consent,
    ConsentState,
    Delivery,
    utcnow,
)
from alumni.models.purpose import Purpose


def recipients(campaign: Campaign) -> sa.Select[tuple[int]]:
    """Ids of everyone ``campaign`` may reach now."""
    if campaign.is_renewal:
        return renewal_audience(campaign)
    assert campaign.purpose is not None
    return audience_ids(campaign.purpose, campaign.programmes, campaign.graduation_years)


def renewal_audience(campaign: Campaign) -> sa.Select[tuple[int]]:
    """A renewal reaches everyone with a consent due, mail not paused, who is not waiting for
    an answer to an earlier renewal; its reminder, those it reached whose consent is still
    due. Suppression and erasure are checked at send time, as for every campaign."""
    now = utcnow()
    query = sa.select(Alumnus.id).where(
        Alumnus.status == AlumnusStatus.RESPONDED,
        Alumnus.paused_at.is_(None),
        renewal.has_due_consent(now),
    )
    if campaign.reminds_id is not None:
        first = sa.select(sa.literal(campaign.reminds_id))
        return query.where(Alumnus.id.in_(renewal.asked(first)))
    waiting = renewal.asked_since(now - renewal.grace()).where(Delivery.campaign_id != campaign.id)
    return query.where(Alumnus.id.not_in(waiting))


def audience_ids(
    purpose: Purpose,
    programmes: Sequence[str] = (),
    graduation_years: Sequence[int] = (),
) -> sa.Select[tuple[int]]:
    """Ids of everyone the campaign may reach now: consent for the purpose, mail not paused."""
    query = (
        sa.select(Alumnus.id)
        .join(
            Consent,
            sa.and_(
                Consent.alumnus_id == Alumnus.id,
                Consent.purpose == purpose,
                Consent.state == ConsentState.GRANTED,
            ),
        )
        .where(Alumnus.status == AlumnusStatus.RESPONDED, Alumnus.paused_at.is_(None))
    )
    if programmes:
        query = query.where(Alumnus.programme.in_(list(programmes)))
    if graduation_years:
        query = query.where(Alumnus.graduation_year.in_(list(graduation_years)))
    return query


def count_recipients(campaign: Campaign) -> int:
    """How many people ``campaign`` may reach now."""
    query = recipients(campaign).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(query)) or 0


def count_audience(
    purpose: Purpose,
    programmes: Sequence[str] = (),
    graduation_years: Sequence[int] = (),
) -> int:
    query = audience_ids(purpose, programmes, graduation_years).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(query)) or 0


def programmes_known() -> list[str]:
    """The programmes in the records, for the audience filter."""
    query = (
        sa.select(Alumnus.programme)
        .where(Alumnus.programme.is_not(None))
        .distinct()
        .order_by(Alumnus.programme)
    )
    return list(db.session.scalars(query))
