"""Bar charts drawn on the server as SVG: no script, no third party, the numbers in a table.

This module only does the geometry; ``templates/staff/insights/_chart.html`` draws it, with
a title and a description for assistive technology and the table as the text alternative.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from alumni.core.timeline import Timeline

WIDTH, HEIGHT = 600, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 28  # room for the axes' labels
MAX_X_LABELS = 5
MAX_BAR_WIDTH = 40  # a chart of one or two periods keeps bars, not blocks


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int  # position of its series: the style it is drawn in


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    right: int  # x of the plot's right edge
    bars: list[Bar]
    y_ticks: list[Label]  # y is the grid line's
    x_labels: list[Label]
    series: list[str]  # the legend, in drawing order
    rows: list[tuple[str, list[int]]]  # the table: period and its values

    @property
    def totals(self) -> list[int]:
        return [sum(values[index] for _, values in self.rows) for index in range(len(self.series))]


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least ``value`` (and at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def bar_chart(
    line: Timeline, names: Mapping[str, str], label_of: Callable[[datetime], str]
) -> BarChart:
    """Bars side by side per period, one per series of ``names`` (series -> legend text)."""
    keys = list(names)
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    bottom = TOP + plot_height
    top_value = nice_ceiling(max((max(line.series[key], default=0) for key in keys), default=0))
    group = plot_width / len(line.starts)
    bar_width = min(group * 0.8 / len(keys), MAX_BAR_WIDTH)
    inset = (group - bar_width * len(keys)) / 2  # the bars of a period, centred on it
    bars = []
    for index in range(len(line.starts)):
        for position, key in enumerate(keys):
            value = line.series[key][index]
            if value:
                height = plot_height * value / top_value
                x = LEFT + index * group + inset + position * bar_width
                bars.append(Bar(x, bottom - height, bar_width, height, position))
    ticks = sorted({0, top_value // 2, top_value}) if top_value > 1 else [0, 1]
    y_ticks = [Label(LEFT, bottom - plot_height * tick / top_value, str(tick)) for tick in ticks]
    every = math.ceil(len(line.starts) / MAX_X_LABELS)
    x_labels = [
        Label(LEFT + (index + 0.5) * group, HEIGHT - 8, label_of(start))
        for index, start in enumerate(line.starts)
        if index % every == 0
    ]
    rows = [
        (label_of(start), [line.series[key][index] for key in keys])
        for index, start in enumerate(line.starts)
    ]
    return BarChart(
        WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, bars, y_ticks, x_labels, list(names.values()), rows
    )
