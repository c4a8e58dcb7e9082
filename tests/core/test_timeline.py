"""Counts over time in the school's periods: the step follows the span, gaps are zeros."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alumni.core.timeline import Step, choose_step, next_start, period_start, timeline

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
START = datetime(2027, 3, 12, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("span", "finest", "step"),
    [
        (timedelta(hours=5), Step.HOUR, Step.HOUR),
        (timedelta(hours=72), Step.HOUR, Step.HOUR),
        (timedelta(hours=73), Step.HOUR, Step.DAY),
        (timedelta(hours=5), Step.DAY, Step.DAY),
        (timedelta(days=92), Step.DAY, Step.DAY),
        (timedelta(days=93), Step.DAY, Step.WEEK),
        (timedelta(weeks=104), Step.DAY, Step.WEEK),
        (timedelta(weeks=105), Step.DAY, Step.MONTH),
    ],
)
def test_the_step_follows_the_span(span, finest, step):
    assert choose_step(START, START + span, finest) is step


@pytest.mark.parametrize(
    ("moment", "step", "start"),
    [
        # 23:30 UTC on 31 March is 01:30 on 1 April in Amsterdam (summer time)
        (datetime(2027, 3, 31, 23, 30, tzinfo=UTC), Step.HOUR, datetime(2027, 4, 1, 1)),
        (datetime(2027, 3, 31, 23, 30, tzinfo=UTC), Step.DAY, datetime(2027, 4, 1)),
        (datetime(2027, 3, 31, 23, 30, tzinfo=UTC), Step.MONTH, datetime(2027, 4, 1)),
        (datetime(2027, 3, 12, 8, tzinfo=UTC), Step.WEEK, datetime(2027, 3, 8)),  # a Monday
    ],
)
def test_periods_start_in_local_time(moment, step, start):
    assert period_start(moment, step, AMSTERDAM) == start.replace(tzinfo=AMSTERDAM)


def test_the_night_of_the_clock_change_has_23_hours():
    start = datetime(2027, 3, 28, tzinfo=AMSTERDAM)  # summer time starts at 02:00
    hours = [start]
    while len(hours) < 30:
        hours.append(next_start(hours[-1], Step.HOUR, AMSTERDAM))
    next_day = next_start(start, Step.DAY, AMSTERDAM)
    assert hours.index(next_day) == 23
    assert next_start(datetime(2027, 12, 1, tzinfo=AMSTERDAM), Step.MONTH, AMSTERDAM) == (
        datetime(2028, 1, 1, tzinfo=AMSTERDAM)
    )


def test_a_timeline_sums_per_period_and_fills_gaps():
    points = [
        (START, "total", 3),
        (START, "unique", 2),
        (START + timedelta(minutes=30), "total", 1),
        (START + timedelta(hours=3), "total", 4),
        (START + timedelta(hours=3), "unique", 1),
    ]
    line = timeline(points, ("total", "unique"), Step.HOUR, AMSTERDAM)
    assert line.step is Step.HOUR
    assert [start.hour for start in line.starts] == [9, 10, 11, 12]  # CET = UTC+1
    assert line.series == {"total": [4, 0, 0, 4], "unique": [2, 0, 0, 1]}


def test_no_points_no_timeline():
    assert timeline([], ("total",), Step.HOUR, AMSTERDAM) is None
