"""Who a campaign may reach: alumni who consent to its purpose, within its filters."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alumni.extensions import db
from alumni.models import Alumnus, AlumnusStatus, Consent, ConsentState
from alumni.models.purpose import Purpose


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
