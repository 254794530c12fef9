"""Chart geometry for the inline SVG the templates draw (no script, so a
Content-Security-Policy stays strict). Plain Python, no Django: numbers in, positions and
texts out; every number drawn is also in a table beside the chart, and every chart carries
a sentence for screen readers.

- Dashboards: success rate per week as lines, with a 95% interval whisker at every point
  (`trend_chart`), and per bucket as bars with whiskers (`bucket_bars`).
- The explorer: one horizontal bar per bucket or side with its 95% interval, and the
  population's rate as a reference line (`rate_chart` and its breakdown, compare and
  stratify forms).
- Session results: the compact group-against-rest bars (`compact_rate_chart`)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date

from analytics import numbers
from analytics.engine import stats
from analytics.numbers import NA, percent

PALETTE = ("#5452d6", "#d9822b", "#1f9d8a", "#c43d6b", "#6b8e23", "#8a5cc2", "#2f7fc1",
           "#a0672c")
MAX_LINES = len(PALETTE)
# Drawn by default: the largest series by users; the legend toggles the rest (static/js/
# charts.js), and without script the legend still lists them all.
MAX_SHOWN = 6
# Under the verdict's minimum a point or bar is drawn faint (and hollow), with a note: its
# interval is wide, and it must not set the scale.
FEW_USERS = stats.MIN_USERS_FOR_VERDICT


@dataclass
class Tick:
    x: float
    text: str
    value: float | None = None


@dataclass
class RateBar:
    """A horizontal bar for a rate, with its 95% interval as a whisker when known."""

    label: str
    css: str  # "bar-bucket", "bar-group", "bar-rest"
    rate: float | None
    users: int
    y: float
    width: float
    whisker_from: float | None = None
    whisker_to: float | None = None
    text: str = ""
    low: float | None = None
    high: float | None = None
    height: float = 16

    @property
    def faint(self) -> bool:
        """Fewer users than a verdict needs: drawn faint, with a note."""
        return 0 < self.users < FEW_USERS

    @property
    def middle(self) -> float:
        return self.y + self.height / 2

    @property
    def text_y(self) -> float:
        return self.y + self.height - 4


# ======================================================================= labels

_NUMBER = r"-?\d+(?:\.\d+)?"
_BETWEEN = re.compile(rf"^({_NUMBER})(?:-| to )({_NUMBER})$")
_BELOW = re.compile(rf"^< ({_NUMBER})$")
_ABOVE = re.compile(rf"^>= ({_NUMBER})$")


def bin_labels_shown(labels: list[str]) -> dict[str, str]:
    """How the engine's bin labels read on every chart and table: the engine writes "1-3"
    and "3-10" (its JSON keeps them, as the contract says), which both seem to hold 3; a
    bin holds low <= value < high, so they show as "1 to <3" and "3 to <10", the ends as
    "<1" and "≥10". Only a whole ladder of bins ("< a" first, ">= b" last) is rewritten,
    so a text value that happens to look like "1-3" keeps its own name."""
    real = [label for label in labels if label not in ("(none)", "(other)")]
    if len(real) < 2 or not _BELOW.match(real[0]) or not _ABOVE.match(real[-1]):
        return {}
    if not all(_BETWEEN.match(label) for label in real[1:-1]):
        return {}
    shown = {real[0]: f"<{_BELOW.match(real[0]).group(1)}",
             real[-1]: f"≥{_ABOVE.match(real[-1]).group(1)}"}
    for label in real[1:-1]:
        low, high = _BETWEEN.match(label).groups()
        shown[label] = f"{low} to <{high}"
    return shown


def distinct_labels(a: str, b: str, *, width: int = 26) -> tuple[str, str]:
    """Two group descriptions cut to `width` but still told apart: their shared opening
    words ("device of the first event is …") give way to what differs."""
    if a == b or (len(a) <= width and len(b) <= width):
        return a, b
    words_a, words_b = a.split(), b.split()
    shared = 0
    while (shared < min(len(words_a), len(words_b)) - 1
           and words_a[shared] == words_b[shared]):
        shared += 1

    def cut(words: list[str]) -> str:
        text = " ".join(words[shared:]) if shared else " ".join(words)
        text = ("…" + text) if shared else text
        return text if len(text) <= width else text[:width - 1] + "…"
    return cut(words_a), cut(words_b)


# ======================================================================= dashboards


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
    hollow: bool  # fewer than FEW_USERS users: drawn faint
    partial: bool = False  # a week whose success windows are not all over yet


@dataclass
class Line:
    label: str
    color: str
    points: list[Point] = field(default_factory=list)
    path: str = ""
    users: int = 0
    off: bool = False  # not drawn by default (beyond the MAX_SHOWN largest): the legend shows it


@dataclass
class TrendChart:
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
    hidden: int = 0  # series not drawn by default (the legend toggles them)
    x_title: str = "week users were first seen"

    @property
    def few(self) -> bool:
        return any(p.hollow for line in self.lines for p in line.points)

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
                x_title: str = "week users were first seen") -> TrendChart:
    """Lines of success rate by week. `weeks` are the trend's weeks (dicts with "week" and
    "complete"); each series is {"label", "cells": [[users, successes] per week]}; markers
    are {"week", "label"} drawn as dashed vertical lines (a success definition's change)."""
    left, right, top, bottom = 46, 12, 14, 40
    totals = [sum(n for n, _ in item["cells"]) for item in series]
    ranked = sorted(range(len(series)), key=lambda i: -totals[i])
    shown_at = set(ranked[:MAX_SHOWN])
    count = max(len(weeks), 1)
    slot = (width - left - right) / count
    # The scale follows the points that can be read: intervals of points with enough
    # users, and the rates (not the wide whiskers) of faint ones.
    cells = [(n, x) for i in shown_at for n, x in series[i]["cells"] if n]
    highs = [stats.wilson_interval(x, n)[1] if n >= FEW_USERS else x / n for n, x in cells]
    y_top = _nice_ceiling(max(highs, default=0.05))
    plot_h = height - top - bottom

    def y_of(rate: float) -> float:
        return round(top + plot_h * (1 - min(rate, y_top) / y_top), 2)

    lines = []
    spread = min(slot * 0.5, 6 * min(len(series), MAX_SHOWN))
    drawn = max(1, min(len(series), MAX_SHOWN))
    for index, item in enumerate(series):
        place = sorted(shown_at).index(index) if index in shown_at else index % drawn
        offset = 0 if drawn == 1 else spread * (place / (drawn - 1) - 0.5)
        line = Line(label=item["label"], color=PALETTE[index % len(PALETTE)],
                    users=totals[index], off=index not in shown_at)
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
                     f"{numbers.count(x)} of {numbers.count(n)} users"
                     + (f" (fewer than {FEW_USERS}: read with care)" if n < FEW_USERS else "")
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
    return TrendChart(width, height, left, top, right, bottom, lines, grid, ticks, shaded,
                      drawn_markers, hidden=sum(1 for line in lines if line.off),
                      x_title=x_title)


@dataclass
class BucketBar:
    label: str
    y: float
    width: float
    low: float
    high: float
    text: str
    title: str
    color: str
    faint: bool = False  # fewer than FEW_USERS users


def bucket_bars(buckets: list[dict], *, width: int = 360) -> dict:
    """Horizontal bars: each bucket's success rate over all weeks, with its interval."""
    label_w, right, row = 130, 56, 26
    plot = width - label_w - right
    highs = [b["ci95"][1] if b["users"] >= FEW_USERS else b["rate"] for b in buckets
             if b.get("ci95")]
    top = _nice_ceiling(max(highs, default=0.05))
    bars = []
    for i, bucket in enumerate(buckets):
        rate, ci = bucket.get("rate"), bucket.get("ci95")
        scale = plot / top
        bars.append(BucketBar(
            label=bucket["label"], y=8 + i * row,
            width=round(min(rate or 0, top) * scale, 2),
            low=round(label_w + min(ci[0] if ci else 0, top) * scale, 2),
            high=round(label_w + min(ci[1] if ci else 0, top) * scale, 2),
            text=percent(rate),
            title=(f"{bucket['label']}: {percent(rate)} (95% CI {percent(ci[0])}–"
                   f"{percent(ci[1])}), {numbers.count(bucket['successes'])} of "
                   f"{numbers.count(bucket['users'])} users"
                   if ci else f"{bucket['label']}: no users"),
            color=PALETTE[i % len(PALETTE)] if i < MAX_LINES else "#8b8b98",
            faint=0 < bucket["users"] < FEW_USERS))
    return {"width": width, "height": 16 + len(buckets) * row, "label_width": label_w,
            "few": any(bar.faint for bar in bars), "few_users": FEW_USERS,
            "bars": bars, "axis_label": percent(top, 0), "axis_x": label_w + plot}


# ======================================================================= the explorer

WIDTH = 640
LABEL_WIDTH = 170
VALUE_WIDTH = 70
PLOT_WIDTH = WIDTH - LABEL_WIDTH - VALUE_WIDTH
BAR_HEIGHT = 16
ROW_GAP = 8
TOP = 6
AXIS_HEIGHT = 22


@dataclass
class RateChart:
    bars: list[RateBar]
    ticks: list[Tick]
    height: float
    reference_x: float | None
    reference_text: str
    summary: str
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    plot_width: int = PLOT_WIDTH
    value_x: int = WIDTH - VALUE_WIDTH + 6
    extra: dict = field(default_factory=dict)
    few_users: int = FEW_USERS

    @property
    def few(self) -> bool:
        return any(bar.faint for bar in self.bars)

    @property
    def plot_end(self) -> int:
        return LABEL_WIDTH + PLOT_WIDTH

    @property
    def axis_y(self) -> float:
        return self.height - AXIS_HEIGHT + 4


def _scale_max(values: list[float]) -> float:
    top = max([v for v in values if v is not None] or [0.0])
    if top <= 0:
        return 0.1
    step = 0.05 if top <= 0.3 else 0.1
    return min(1.0, math.ceil(top / step) * step) if top < 1 else 1.0


def rate_chart(rows: list[tuple[str, dict, str]], *, reference: float | None = None,
               reference_label: str = "everyone", what: str = "succeeded") -> RateChart:
    """rows: (label, {"users", "rate", "ci95"}, css) in drawing order."""
    scale = _scale_max([v for _, s, _ in rows for v in [s.get("rate"), *(s.get("ci95") or [])]]
                       + [reference or 0])

    def x(value: float) -> float:
        return LABEL_WIDTH + PLOT_WIDTH * max(0.0, min(value, scale)) / scale

    bars, sentences = [], []
    for i, (label, side, css) in enumerate(rows):
        rate, ci = side.get("rate"), side.get("ci95")
        bar = RateBar(label=label, css=css, rate=rate, users=side.get("users", 0),
                      y=TOP + i * (BAR_HEIGHT + ROW_GAP),
                      width=0 if rate is None else x(rate) - LABEL_WIDTH, text=percent(rate),
                      height=BAR_HEIGHT)
        if ci:
            bar.whisker_from, bar.whisker_to = x(ci[0]), x(ci[1])
            bar.low, bar.high = ci[0], ci[1]
            users = numbers.count(side.get("users", 0))
            sentences.append(f"{label}: {percent(rate)} of {users} users {what} "
                             f"(95% interval {percent(ci[0])} to {percent(ci[1])})")
        else:
            sentences.append(f"{label}: no users")
        bars.append(bar)
    height = TOP + len(rows) * (BAR_HEIGHT + ROW_GAP) + AXIS_HEIGHT
    ticks = [Tick(x=x(scale * k / 4), text=percent(scale * k / 4), value=scale * k / 4)
             for k in range(5)]
    summary = "; ".join(sentences) + "."
    if reference is not None:
        summary += f" For {reference_label}, {percent(reference)}."
    return RateChart(bars=bars, ticks=ticks, height=height,
                     reference_x=None if reference is None else x(reference),
                     reference_text=f"{reference_label}: {percent(reference)}", summary=summary)


def breakdown_chart(result: dict, what: str = "succeeded") -> RateChart:
    buckets = result.get("buckets", [])
    shown = bin_labels_shown([b["label"] for b in buckets])
    rows = [(shown.get(b["label"], b["label"]), b, "bar-bucket") for b in buckets]
    return rate_chart(rows, reference=(result.get("population") or {}).get("rate"), what=what)


def compare_chart(result: dict, label_a: str, label_b: str,
                  what: str = "succeeded") -> RateChart:
    label_a, label_b = distinct_labels(label_a, label_b)
    rows = [(label_a, result["a"], "bar-group"), (label_b, result["b"], "bar-rest")]
    return rate_chart(rows, reference=(result.get("population") or {}).get("rate"), what=what)


def stratify_chart(result: dict, what: str = "succeeded") -> RateChart:
    rows = [("All users · group", result["group"], "bar-group"),
            ("All users · rest", result["rest"], "bar-rest")]
    for stratum in result.get("strata", []):
        rows.append((f"{stratum['label']} · group", stratum["group"], "bar-group"))
        rows.append((f"{stratum['label']} · rest", stratum["rest"], "bar-rest"))
    return rate_chart(rows, reference=(result.get("population") or {}).get("rate"), what=what)


# ======================================================================= session results

COMPACT_WIDTH = 360
COMPACT_LABEL_WIDTH = 64
COMPACT_BAR_HEIGHT = 18
COMPACT_ROW_GAP = 10
COMPACT_TOP = 4
COMPACT_AXIS_HEIGHT = 18


@dataclass
class CompactRateChart:
    bars: list[RateBar]
    ticks: list[Tick]
    width: int
    height: int
    plot_left: int
    plot_width: int
    outcome: str
    summary: str
    few_users: int = FEW_USERS

    @property
    def few(self) -> bool:
        return any(bar.faint for bar in self.bars)


def _tenth_above(value: float) -> float:
    """The axis end: the next tenth above the largest interval end (at least 10%)."""
    if value <= 0:
        return 0.1
    return min(1.0, max(0.1, math.ceil(value * 10 + 1e-9) / 10))


def compact_rate_chart(rows: list[dict], *, outcome: str = "succeeded") -> CompactRateChart:
    """rows: {"label", "rate", "ci95", "users", "css"}; rates in [0, 1]. Positions are
    rounded to a tenth, as the session template writes them unformatted."""
    highest = max(((row.get("ci95") or [0, row.get("rate") or 0])[1] or 0) for row in rows)
    axis_end = _tenth_above(highest)
    plot_left = COMPACT_LABEL_WIDTH
    plot_width = COMPACT_WIDTH - COMPACT_LABEL_WIDTH - 8

    def x(value: float) -> float:
        return round(plot_left + plot_width * min(value, axis_end) / axis_end, 1)

    bars = []
    for position, row in enumerate(rows):
        rate = row.get("rate")
        low, high = (row.get("ci95") or [None, None])
        bars.append(RateBar(
            label=row["label"], rate=rate, low=low, high=high, users=row.get("users", 0),
            y=COMPACT_TOP + position * (COMPACT_BAR_HEIGHT + COMPACT_ROW_GAP),
            width=0 if rate is None else round(x(rate) - plot_left, 1),
            whisker_from=None if low is None else x(low),
            whisker_to=None if high is None else x(high),
            css=row.get("css", ""), text=percent(rate, missing=NA),
            height=COMPACT_BAR_HEIGHT,
        ))
    ticks = [Tick(value=v, x=x(v), text=percent(v, 0)) for v in (0.0, axis_end / 2, axis_end)]
    height = COMPACT_TOP + len(rows) * (COMPACT_BAR_HEIGHT + COMPACT_ROW_GAP) + \
        COMPACT_AXIS_HEIGHT
    summary = "; ".join(
        f"{bar.label}: {percent(bar.rate, missing=NA)} {outcome}"
        + (f" (95% interval {percent(bar.low, missing=NA)} to {percent(bar.high, missing=NA)})"
           if bar.low is not None else "")
        + f", {bar.users} users"
        for bar in bars
    )
    return CompactRateChart(bars=bars, ticks=ticks, width=COMPACT_WIDTH, height=height,
                            plot_left=plot_left, plot_width=plot_width, outcome=outcome,
                            summary=summary)


def group_vs_rest_chart(group: dict, rest: dict, *,
                        outcome: str = "succeeded") -> CompactRateChart:
    return compact_rate_chart([
        {**group, "label": "Group", "css": "bar-group"},
        {**rest, "label": "Rest", "css": "bar-rest"},
    ], outcome=outcome)
