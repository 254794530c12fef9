"""Geometry of the explorer's charts, drawn by templates as inline SVG (no script, so a
Content-Security-Policy stays strict): one horizontal bar per bucket or side with its 95%
interval as a whisker, and the population's rate as a reference line. Every chart also
carries a sentence for screen readers; the page shows the same numbers as a table."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WIDTH = 640
LABEL_WIDTH = 170
VALUE_WIDTH = 70
PLOT_WIDTH = WIDTH - LABEL_WIDTH - VALUE_WIDTH
BAR_HEIGHT = 16
ROW_GAP = 8
TOP = 6
AXIS_HEIGHT = 22


@dataclass
class Bar:
    label: str
    css: str  # "bar-bucket", "bar-group", "bar-rest"
    rate: float | None
    users: int
    y: float
    width: float
    whisker_from: float | None = None
    whisker_to: float | None = None
    text: str = ""

    @property
    def middle(self) -> float:
        return self.y + BAR_HEIGHT / 2

    @property
    def text_y(self) -> float:
        return self.y + BAR_HEIGHT - 4


@dataclass
class Tick:
    x: float
    text: str


@dataclass
class RateChart:
    bars: list[Bar]
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

    @property
    def plot_end(self) -> int:
        return LABEL_WIDTH + PLOT_WIDTH

    @property
    def axis_y(self) -> float:
        return self.height - AXIS_HEIGHT + 4


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


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
        bar = Bar(label=label, css=css, rate=rate, users=side.get("users", 0),
                  y=TOP + i * (BAR_HEIGHT + ROW_GAP),
                  width=0 if rate is None else x(rate) - LABEL_WIDTH, text=_pct(rate))
        if ci:
            bar.whisker_from, bar.whisker_to = x(ci[0]), x(ci[1])
            sentences.append(f"{label}: {_pct(rate)} of {side.get('users', 0):,} users "
                             f"{what} (95% interval {_pct(ci[0])} to {_pct(ci[1])})")
        else:
            sentences.append(f"{label}: no users")
        bars.append(bar)
    height = TOP + len(rows) * (BAR_HEIGHT + ROW_GAP) + AXIS_HEIGHT
    ticks = [Tick(x=x(scale * k / 4), text=_pct(scale * k / 4)) for k in range(5)]
    summary = "; ".join(sentences) + "."
    if reference is not None:
        summary += f" For {reference_label}, {_pct(reference)}."
    return RateChart(bars=bars, ticks=ticks, height=height,
                     reference_x=None if reference is None else x(reference),
                     reference_text=f"{reference_label}: {_pct(reference)}", summary=summary)


def breakdown_chart(result: dict, what: str = "succeeded") -> RateChart:
    rows = [(b["label"], b, "bar-bucket") for b in result.get("buckets", [])]
    return rate_chart(rows, reference=(result.get("population") or {}).get("rate"), what=what)


def compare_chart(result: dict, label_a: str, label_b: str,
                  what: str = "succeeded") -> RateChart:
    rows = [(label_a, result["a"], "bar-group"), (label_b, result["b"], "bar-rest")]
    return rate_chart(rows, reference=(result.get("population") or {}).get("rate"), what=what)


def stratify_chart(result: dict, what: str = "succeeded") -> RateChart:
    rows = [("All users · group", result["group"], "bar-group"),
            ("All users · rest", result["rest"], "bar-rest")]
    for stratum in result.get("strata", []):
        rows.append((f"{stratum['label']} · group", stratum["group"], "bar-group"))
        rows.append((f"{stratum['label']} · rest", stratum["rest"], "bar-rest"))
    return rate_chart(rows, reference=(result.get("population") or {}).get("rate"), what=what)
