"""The SVG bar chart's geometry: heights in proportion, on a round scale, labels that fit."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from alumni.core.timeline import Step, Timeline
from alumni.web.staff.charts import (
    BOTTOM,
    HEIGHT,
    LEFT,
    MAX_X_LABELS,
    TOP,
    WIDTH,
    bar_chart,
    nice_ceiling,
)

ZONE = ZoneInfo("Europe/Amsterdam")
PLOT = HEIGHT - TOP - BOTTOM  # the plot's height


def hours(count: int) -> list[datetime]:
    start = datetime(2027, 3, 12, 9, tzinfo=ZONE)
    return [start + timedelta(hours=n) for n in range(count)]


def label(start: datetime) -> str:
    return start.strftime("%H:%M")


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (10, 10), (11, 20), (420, 500)]
)
def test_nice_ceiling(value, ceiling):
    assert nice_ceiling(value) == ceiling


def test_bars_are_in_proportion_and_zeros_are_not_drawn():
    line = Timeline(Step.HOUR, hours(3), {"total": [10, 0, 5], "unique": [4, 0, 5]})
    chart = bar_chart(line, {"total": "All", "unique": "Unique"}, label)
    assert [(bar.series, round(bar.height, 3)) for bar in chart.bars] == [
        (0, round(PLOT * 1.0, 3)),
        (1, round(PLOT * 0.4, 3)),
        (0, round(PLOT * 0.5, 3)),
        (1, round(PLOT * 0.5, 3)),
    ]
    bottom = HEIGHT - BOTTOM
    assert all(bar.y + bar.height == pytest.approx(bottom) for bar in chart.bars)
    assert all(bar.x >= LEFT and bar.x + bar.width <= WIDTH for bar in chart.bars)
    assert [tick.text for tick in chart.y_ticks] == ["0", "5", "10"]
    assert chart.rows == [("09:00", [10, 4]), ("10:00", [0, 0]), ("11:00", [5, 5])]
    assert chart.totals == [15, 9]
    assert chart.series == ["All", "Unique"]


def test_long_timelines_get_a_label_every_few_bars():
    line = Timeline(Step.HOUR, hours(72), {"total": list(range(72))})
    chart = bar_chart(line, {"total": "All"}, label)
    assert len(chart.x_labels) <= MAX_X_LABELS
    assert chart.x_labels[0].text == "09:00"
    assert len(chart.rows) == 72  # the table has every period


def test_all_zero_still_draws_an_axis():
    line = Timeline(Step.DAY, hours(2), {"total": [0, 0]})
    chart = bar_chart(line, {"total": "All"}, label)
    assert chart.bars == []
    assert [tick.text for tick in chart.y_ticks] == ["0", "1"]
