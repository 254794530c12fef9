"""Geometry of the small server-side charts (inline SVG drawn by templates): horizontal
bars for rates with their 95% interval as whiskers. Numbers only; the template draws."""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH = 360
LABEL_WIDTH = 64
BAR_HEIGHT = 18
ROW_GAP = 10
TOP = 4
AXIS_HEIGHT = 18


@dataclass
class Bar:
    label: str
    rate: float | None
    low: float | None
    high: float | None
    users: int
    y: float
    width: float
    whisker_from: float | None
    whisker_to: float | None
    css: str


@dataclass
class Tick:
    value: float
    x: float
    text: str


@dataclass
class Chart:
    bars: list[Bar]
    ticks: list[Tick]
    width: int
    height: int
    plot_left: int
    plot_width: int
    outcome: str
    summary: str


def _nice_max(value: float) -> float:
    """The axis end: the next tenth above the largest interval end (at least 10%)."""
    if value <= 0:
        return 0.1
    return min(1.0, max(0.1, math.ceil(value * 10 + 1e-9) / 10))


def rate_bars_chart(rows: list[dict], *, outcome: str = "succeeded") -> Chart:
    """rows: {"label", "rate", "ci95", "users", "css"}; rates in [0, 1]."""
    highest = max(((row.get("ci95") or [0, row.get("rate") or 0])[1] or 0) for row in rows)
    axis_end = _nice_max(highest)
    plot_left = LABEL_WIDTH
    plot_width = WIDTH - LABEL_WIDTH - 8

    def x(value: float) -> float:
        return round(plot_left + plot_width * min(value, axis_end) / axis_end, 1)

    bars = []
    for position, row in enumerate(rows):
        rate = row.get("rate")
        low, high = (row.get("ci95") or [None, None])
        bars.append(Bar(
            label=row["label"], rate=rate, low=low, high=high, users=row.get("users", 0),
            y=TOP + position * (BAR_HEIGHT + ROW_GAP),
            width=0 if rate is None else round(x(rate) - plot_left, 1),
            whisker_from=None if low is None else x(low),
            whisker_to=None if high is None else x(high),
            css=row.get("css", ""),
        ))
    ticks = [Tick(value=v, x=x(v), text=f"{v * 100:.0f}%")
             for v in (0.0, axis_end / 2, axis_end)]
    height = TOP + len(rows) * (BAR_HEIGHT + ROW_GAP) + AXIS_HEIGHT
    summary = "; ".join(
        f"{bar.label}: {_pct(bar.rate)} {outcome}"
        + (f" (95% interval {_pct(bar.low)} to {_pct(bar.high)})" if bar.low is not None else "")
        + f", {bar.users} users"
        for bar in bars
    )
    return Chart(bars=bars, ticks=ticks, width=WIDTH, height=height, plot_left=plot_left,
                 plot_width=plot_width, outcome=outcome, summary=summary)


def group_vs_rest_chart(group: dict, rest: dict, *, outcome: str = "succeeded") -> Chart:
    return rate_bars_chart([
        {**group, "label": "Group", "css": "bar-group"},
        {**rest, "label": "Rest", "css": "bar-rest"},
    ], outcome=outcome)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"
