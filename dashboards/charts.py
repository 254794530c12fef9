"""Chart geometry for the inline SVG the templates draw: success rate per week (lines,
with a 95% interval whisker at every point) and per bucket (bars with whiskers). Plain
Python on a trend result; every number drawn is also in the tables beside the charts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from analytics.engine import stats

PALETTE = ("#5452d6", "#d9822b", "#1f9d8a", "#c43d6b", "#6b8e23", "#8a5cc2", "#2f7fc1",
           "#a0672c")
MAX_LINES = len(PALETTE)
FEW_USERS = 30  # points with fewer users are drawn hollow: their interval is wide


def percent(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}%"


def week_label(week: str | date) -> str:
    day = date.fromisoformat(week) if isinstance(week, str) else week
    return f"{day.day} {day:%b}"


@dataclass
class Point:
    x: float
    y: float
    y_low: float
    y_high: float
    users: int
    title: str
    hollow: bool
    partial: bool = False  # a week whose success windows are not all over yet


@dataclass
class Line:
    label: str
    color: str
    points: list[Point] = field(default_factory=list)
    path: str = ""


@dataclass
class Chart:
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    lines: list[Line]
    grid: list[dict]
    ticks: list[dict]
    shaded: list[dict]
    markers: list[dict]
    hidden: int = 0  # buckets left out of the drawing (they are in the table)
    x_title: str = "week users were first seen"

    @property
    def plot_width(self) -> int:
        return self.width - self.left - self.right

    @property
    def plot_bottom(self) -> int:
        return self.height - self.bottom

    @property
    def plot_right(self) -> int:
        return self.width - self.right


def _nice_ceiling(value: float) -> float:
    """The smallest of 5%, 10%, 20%, 25%, 40%, 50%, 60%, 80%, 100% at or above value."""
    for step in (0.05, 0.1, 0.2, 0.25, 0.4, 0.5, 0.6, 0.8, 1.0):
        if value <= step + 1e-12:
            return step
    return 1.0


def _grid_step(top: float) -> float:
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25):
        if top / step <= 5:
            return step
    return 0.25


def trend_chart(weeks: list[dict], series: list[dict], *, markers: list[dict] | None = None,
                width: int = 760, height: int = 260,
                x_title: str = "week users were first seen") -> Chart:
    """Lines of success rate by week. `weeks` are the trend's weeks (dicts with "week" and
    "complete"); each series is {"label", "cells": [[users, successes] per week]}; markers
    are {"week", "label"} drawn as dashed vertical lines (a success definition's change)."""
    left, right, top, bottom = 46, 12, 14, 40
    shown = series[:MAX_LINES]
    count = max(len(weeks), 1)
    slot = (width - left - right) / count
    highs = [stats.wilson_interval(x, n)[1] for s in shown for n, x in s["cells"] if n]
    y_top = _nice_ceiling(max(highs, default=0.05))
    plot_h = height - top - bottom

    def y_of(rate: float) -> float:
        return round(top + plot_h * (1 - rate / y_top), 2)

    lines = []
    spread = min(slot * 0.5, 6 * len(shown))
    for index, item in enumerate(shown):
        offset = 0 if len(shown) == 1 else spread * (index / (len(shown) - 1) - 0.5)
        line = Line(label=item["label"], color=PALETTE[index % len(PALETTE)])
        segments: list[list[Point]] = [[]]
        for position, (n, x) in enumerate(item["cells"]):
            if not n:
                segments.append([])
                continue
            rate = x / n
            low, high = stats.wilson_interval(x, n)
            cx = round(left + slot * (position + 0.5) + offset, 2)
            partial = not weeks[position]["complete"]
            title = (f"{item['label']} · week of {week_label(weeks[position]['week'])}: "
                     f"{percent(rate)} (95% CI {percent(low)}–{percent(high)}), "
                     f"{x:,} of {n:,} users"
                     + (" (not judged yet: some windows are not over)" if partial else ""))
            point = Point(cx, y_of(rate), y_of(low), y_of(high), n, title, n < FEW_USERS,
                          partial)
            line.points.append(point)
            segments[-1].append(point)
        line.path = " ".join(
            "M " + " L ".join(f"{p.x} {p.y}" for p in part) for part in segments if part)
        lines.append(line)

    step = _grid_step(y_top)
    grid = [{"y": y_of(i * step), "label": percent(i * step, 0)}
            for i in range(int(round(y_top / step)) + 1)]
    every = max(1, math.ceil(count / 10))
    ticks = [{"x": round(left + slot * (i + 0.5), 2), "label": week_label(w["week"])}
             for i, w in enumerate(weeks) if i % every == 0 or i == count - 1]
    if len(ticks) > 1 and ticks[-1]["x"] - ticks[-2]["x"] < slot * every * 0.8:
        ticks.pop(-2)
    shaded = []
    first_open = next((i for i, w in enumerate(weeks) if not w["complete"]
                       and all(not v["complete"] for v in weeks[i:])), None)
    if first_open is not None:
        shaded.append({"x": round(left + slot * first_open, 2), "y": top,
                       "width": round(slot * (count - first_open), 2), "height": plot_h})
    drawn_markers = []
    positions = {w["week"]: i for i, w in enumerate(weeks)}
    for marker in markers or []:
        if marker["week"] in positions:
            drawn_markers.append({"x": round(left + slot * positions[marker["week"]], 2),
                                  "label": marker["label"]})
    return Chart(width, height, left, top, right, bottom, lines, grid, ticks, shaded,
                 drawn_markers, hidden=max(0, len(series) - len(shown)), x_title=x_title)


@dataclass
class Bar:
    label: str
    y: float
    width: float
    low: float
    high: float
    text: str
    title: str
    color: str


def bucket_bars(buckets: list[dict], *, width: int = 360) -> dict:
    """Horizontal bars: each bucket's success rate over all weeks, with its interval."""
    label_w, right, row = 130, 56, 26
    plot = width - label_w - right
    highs = [b["ci95"][1] for b in buckets if b.get("ci95")]
    top = _nice_ceiling(max(highs, default=0.05))
    bars = []
    for i, bucket in enumerate(buckets):
        rate, ci = bucket.get("rate"), bucket.get("ci95")
        scale = plot / top
        bars.append(Bar(
            label=bucket["label"], y=8 + i * row,
            width=round((rate or 0) * scale, 2),
            low=round(label_w + (ci[0] if ci else 0) * scale, 2),
            high=round(label_w + (ci[1] if ci else 0) * scale, 2),
            text=percent(rate),
            title=(f"{bucket['label']}: {percent(rate)} (95% CI {percent(ci[0])}–"
                   f"{percent(ci[1])}), {bucket['successes']:,} of {bucket['users']:,} users"
                   if ci else f"{bucket['label']}: no users"),
            color=PALETTE[i % len(PALETTE)] if i < MAX_LINES else "#8b8b98"))
    return {"width": width, "height": 16 + len(buckets) * row, "label_width": label_w,
            "bars": bars, "axis_label": percent(top, 0), "axis_x": label_w + plot}
