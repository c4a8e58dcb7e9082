"""What the office may know of consent in numbers: alumni per status, consents per purpose, per
graduation year and over time. Numbers only, never a person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from alumni.core.timeline import Step, Timeline, timeline
from alumni.extensions import db
from alumni.models import (
    Alumnus,
    AlumnusStatus,
    Consent,
    ConsentEvidence,
    ConsentState,
)
from alumni.models.purpose import Purpose


def _not_erased() -> sa.ColumnElement[bool]:
    return Alumnus.status != AlumnusStatus.ERASED


def _granted() -> sa.ColumnElement[bool]:
    return Consent.state == ConsentState.GRANTED


def alumni_by_status() -> dict[AlumnusStatus, int]:
    counts = dict.fromkeys(AlumnusStatus, 0)
    query = sa.select(Alumnus.status, sa.func.count()).group_by(Alumnus.status)
    counts.update({status: count for status, count in db.session.execute(query)})
    return counts


def granted_by_purpose() -> dict[Purpose, int]:
    """Alumni who consent to each purpose right now."""
    counts = dict.fromkeys(Purpose, 0)
    query = (
        sa.select(Consent.purpose, sa.func.count())
        .join(Alumnus, Alumnus.id == Consent.alumnus_id)
        .where(_granted(), _not_erased())
        .group_by(Consent.purpose)
    )
    counts.update({purpose: count for purpose, count in db.session.execute(query)})
    return counts


@dataclass
class Cohort:
    graduation_year: int | None
    alumni: int
    granted: dict[Purpose, int]


def consent_by_cohort() -> list[Cohort]:
    """Per graduation year: alumni we hold, and how many consent to each purpose."""
    year = Alumnus.graduation_year
    sizes = sa.select(year, sa.func.count()).where(_not_erased()).group_by(year)
    cohorts = {
        graduation_year: Cohort(graduation_year, count, dict.fromkeys(Purpose, 0))
        for graduation_year, count in db.session.execute(sizes)
    }
    granted = (
        sa.select(year, Consent.purpose, sa.func.count())
        .join(Consent, Consent.alumnus_id == Alumnus.id)
        .where(_granted(), _not_erased())
        .group_by(year, Consent.purpose)
    )
    for graduation_year, purpose, count in db.session.execute(granted):
        cohorts[graduation_year].granted[purpose] = count
    # Newest first; a year we do not know last.
    return sorted(
        cohorts.values(), key=lambda c: (c.graduation_year is None, -(c.graduation_year or 0))
    )


def consent_over_time() -> dict[Purpose, Timeline] | None:
    """Per purpose, the decisions recorded per period: "yes", and "no" or withdrawn.

    From the evidence log, so erased people's decisions count too (the log is pseudonymous and
    append-only). Counted per UTC day in the database; the periods are the same for every
    purpose, so the charts line up. None while there is no evidence yet.
    """
    day = sa.func.date(ConsentEvidence.recorded_at)
    rows = db.session.execute(
        sa.select(day, ConsentEvidence.purpose, ConsentEvidence.decision, sa.func.count()).group_by(
            day, ConsentEvidence.purpose, ConsentEvidence.decision
        )
    ).all()
    points = [
        (_utc_midnight(value), f"{purpose}|{decision}", count)
        for value, purpose, decision, count in rows
    ]
    names = [f"{purpose}|{decision}" for purpose in Purpose for decision in ConsentState]
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    line = timeline(points, names, Step.DAY, zone)
    if line is None:
        return None
    return {
        purpose: Timeline(
            line.step,
            line.starts,
            {decision.value: line.series[f"{purpose}|{decision}"] for decision in ConsentState},
        )
        for purpose in Purpose
    }


def _utc_midnight(value: date | str) -> datetime:
    """SQL's date() is a string on SQLite, a date on PostgreSQL."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return datetime.combine(day, time(), tzinfo=UTC)
