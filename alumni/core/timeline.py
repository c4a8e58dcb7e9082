"""Counts over time in periods of the school's time zone: hours, days, weeks or months.

Used for the staff charts: the step is chosen so that a chart has at most about a hundred
bars, and periods without counts are there too (as zeros), so that gaps show.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Step(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


# The longest span each step is used for.
LONGEST = {
    Step.HOUR: timedelta(hours=72),
    Step.DAY: timedelta(days=92),
    Step.WEEK: timedelta(weeks=104),
}


@dataclass(frozen=True)
class Timeline:
    """Consecutive periods (their local start) and, per series, a count for each."""

    step: Step
    starts: list[datetime]
    series: dict[str, list[int]]


def choose_step(first: datetime, last: datetime, finest: Step) -> Step:
    steps = list(Step)
    for step in steps[steps.index(finest) :]:
        if step is Step.MONTH or last - first <= LONGEST[step]:
            return step
    return Step.MONTH


def period_start(moment: datetime, step: Step, zone: ZoneInfo) -> datetime:
    local = moment.astimezone(zone)
    if step is Step.HOUR:
        return local.replace(minute=0, second=0, microsecond=0)
    day = local.date()
    if step is Step.WEEK:
        day -= timedelta(days=day.weekday())
    elif step is Step.MONTH:
        day = day.replace(day=1)
    return datetime.combine(day, time(), tzinfo=zone)


def next_start(start: datetime, step: Step, zone: ZoneInfo) -> datetime:
    if step is Step.HOUR:  # in UTC: a day of a clock change has 23 or 25 hours
        return (start.astimezone(UTC) + timedelta(hours=1)).astimezone(zone)
    day = start.date()
    if step is Step.MONTH:
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    else:
        day += timedelta(days=7 if step is Step.WEEK else 1)
    return datetime.combine(day, time(), tzinfo=zone)


def timeline(
    points: Iterable[tuple[datetime, str, int]],
    names: Sequence[str],
    finest: Step,
    zone: ZoneInfo,
) -> Timeline | None:
    """Counts ``(moment, series name, count)`` summed per period; None without any."""
    points = list(points)
    if not points:
        return None
    first = min(moment for moment, _, _ in points)
    last = max(moment for moment, _, _ in points)
    step = choose_step(first, last, finest)
    starts = [period_start(first, step, zone)]
    end = period_start(last, step, zone)
    while starts[-1] < end:
        starts.append(next_start(starts[-1], step, zone))
    index = {start: position for position, start in enumerate(starts)}
    series = {name: [0] * len(starts) for name in names}
    for moment, name, count in points:
        series[name][index[period_start(moment, step, zone)]] += count
    return Timeline(step, starts, series)
