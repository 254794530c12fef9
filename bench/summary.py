"""The summary table `make bench` ends with: for each step that ran, its figure (median
wall and CPU time), its ratio to its yardstick measured in the same run, its peak memory,
its goal and whether the goal is met.

Goals are declared in GOALS, one row per step; a step of bench/run.py's STEPS without a
row is still listed, with the goal text STEPS gives it. A ratio is the step's time over
its yardstick's: another step of the same run, or the step's own floor (FLOOR: a query
run beside it by the step itself, bench/files.py). A goal in time or ratio is checked in
wall and in CPU time: "yes" when both meet it, else "CPU only", "wall only" or "no" (the
machines are shared; when other work takes a core, CPU time is the steadier reading).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

FLOOR = "floor"  # the yardstick a step measures beside itself (its detail's floor_s)


@dataclass(frozen=True)
class Goal:
    point: str  # the issue and point, e.g. "13.2" (issue 3 set the engine's first goals)
    text: str
    yardstick: str | None = None  # a step of the same run, or FLOOR
    max_ratio: float | None = None  # step / yardstick, in wall and in CPU time
    min_ratio: float | None = None  # for a yardstick that must be slower than the engine
    max_seconds: float | None = None  # the figure itself
    max_peak_mb: float | None = None
    min_detail: dict[str, float] = field(default_factory=dict)  # e.g. {"tried": 200}
    # Where the figure is, when not the step's medians: (wall, CPU) from the step's result.
    figure: Callable[[dict], tuple[float, float | None]] | None = None


def _slowest_new_criterion(result: dict) -> tuple[float, float | None]:
    """The slowest of the three kinds the goal names (each a median over the runs); the
    step's own medians if it reports no kinds."""
    kinds = result.get("kinds", {})
    named = [k for k in ("did_event", "event_count", "property") if k in kinds]
    if not named:
        return result["median_s"], result.get("cpu_s")
    cpu = [kinds[f"{k}_cpu"] for k in named if f"{k}_cpu" in kinds]
    return max(kinds[k] for k in named), (max(cpu) if cpu else None)


GOALS: dict[str, Goal] = {
    "cli_startup": Goal("13.1", "< 0.5 s on a quiet machine (tiny files)", yardstick=FLOOR,
                        max_seconds=0.5),
    "cli_files": Goal("13.2", "<= 2x one DuckDB query (criterion)", yardstick=FLOOR,
                      max_ratio=2.0),
    "cli_files_breakdown": Goal("13.2", "<= 2x one DuckDB query (breakdown)",
                                yardstick=FLOOR, max_ratio=2.0),
    "cli_files_300k": Goal("13.2", "<= 2x one DuckDB query (criterion, 300k users)",
                           yardstick=FLOOR, max_ratio=2.0),
    "cli_files_breakdown_300k": Goal("13.2", "<= 2x one DuckDB query (breakdown, 300k users)",
                                     yardstick=FLOOR, max_ratio=2.0),
    "new_criterion": Goal("13.3", "< 0.7 s, slowest of did_event/event_count/property",
                          yardstick="scan", max_seconds=0.7, figure=_slowest_new_criterion),
    "verdict": Goal("13.3", "submit to verdict on the page < 1 s (slowest kind, real worker)",
                    yardstick="new_criterion", max_seconds=1.0,
                    figure=lambda result: (result["median_s"], None)),
    "new_criterion_plain": Goal("13.3", "the same on the one-file layout (the trade)",
                                yardstick="new_criterion", figure=_slowest_new_criterion),
    "prepare": Goal("13.4", "after each import, in a job of its own (no goal)",
                    yardstick="copy_csv"),
    "discovery": Goal("13.4", "< 5 s, >= 200 candidates, < 2 GB", yardstick="scan",
                      max_seconds=5.0, max_peak_mb=2048, min_detail={"tried": 200}),
    "discovery_unprepared": Goal("13.4", "the same, nothing prepared (no goal)",
                                 yardstick="scan"),
    "import": Goal("13.5", "<= 1.5x the CSV -> Parquet copy", yardstick="copy_csv",
                   max_ratio=1.5),
    "import_plain": Goal("13.5", "one-file import (the layout's yardstick)",
                         yardstick="copy_csv"),
    "peruser": Goal("3", "<= 3.5x the bare scan, < 2 GB", yardstick="scan", max_ratio=3.5,
                    max_peak_mb=2048),
    "test_cached": Goal("3", "< 50 ms", max_seconds=0.05),
    "breakdown": Goal("3", "< 100 ms", max_seconds=0.1),
    "polars": Goal("3", ">= 2x the per-user table", yardstick="peruser", min_ratio=2.0),
    "pandas": Goal("3", ">= 8x the per-user table", yardstick="peruser", min_ratio=8.0),
}


@dataclass
class Row:
    point: str
    step: str
    wall: float
    cpu: float | None
    ratio: str
    yardstick: str
    peak_mb: float
    goal: str
    met: str


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def summary_row(step: str, result: dict, results: dict, default_goal: str) -> Row:
    goal = GOALS.get(step)
    if goal is None:
        return Row("", step, result["median_s"], result.get("cpu_s"), "", "",
                   result["peak_mb"], default_goal, "")
    wall, cpu = (goal.figure(result) if goal.figure
                 else (result["median_s"], result.get("cpu_s")))
    ratios: tuple[float | None, float | None] = (None, None)
    yardstick = goal.yardstick or ""
    if goal.yardstick == FLOOR and "floor_s" in result:
        ratios = _ratio(wall, result["floor_s"]), _ratio(cpu, result.get("floor_cpu_s"))
        yardstick = f"floor {_seconds(result['floor_s'])}"
    elif goal.yardstick in results:
        other = results[goal.yardstick]
        other_wall, other_cpu = (GOALS[goal.yardstick].figure(other)
                                 if goal.yardstick in GOALS and GOALS[goal.yardstick].figure
                                 else (other["median_s"], other.get("cpu_s")))
        ratios = _ratio(wall, other_wall), _ratio(cpu, other_cpu)
    # Each check holds in wall time, in CPU time, or both (memory and counts: both).
    wall_ok: list[bool] = []
    cpu_ok: list[bool] = []
    missing = False
    for bound, holds in ((goal.max_ratio, lambda r, b: r <= b),
                         (goal.min_ratio, lambda r, b: r >= b)):
        if bound is None:
            continue
        if ratios[0] is None:
            missing = True
            continue
        wall_ok.append(holds(ratios[0], bound))
        cpu_ok.append(ratios[1] is not None and holds(ratios[1], bound))
    if goal.max_seconds is not None:
        # A limit on time is one on wall time; CPU time below it says the step would keep
        # to it with the cores to itself (above it, it may just be using two cores).
        wall_ok.append(wall < goal.max_seconds)
        cpu_ok.append(wall < goal.max_seconds or (cpu is not None and cpu < goal.max_seconds))
    both = []
    if goal.max_peak_mb is not None:
        both.append(result["peak_mb"] < goal.max_peak_mb)
    for key, least in goal.min_detail.items():
        value = (result.get("detail") or {}).get(key)
        both.append(value is not None and value >= least)
    if missing:
        met = f"n/a: {goal.yardstick} not run"
    elif not (wall_ok or both):
        met = ""
    elif not all(both):
        met = "no"
    else:
        met = {(True, True): "yes", (False, True): "CPU only",
               (True, False): "wall only", (False, False): "no"}[all(wall_ok), all(cpu_ok)]
    ratio = ""
    if ratios[0] is not None:
        ratio = f"{ratios[0]:.2f}x / " + (f"{ratios[1]:.2f}x" if ratios[1] is not None
                                          else "n/a")
    return Row(goal.point, step, wall, cpu, ratio, yardstick, result["peak_mb"], goal.text,
               met)


def print_summary(results: dict, steps: list[tuple[str, int, str]], *, users: int,
                  events: int) -> None:
    """The table, in the order of STEPS, of the steps that ran."""
    goals_text = {step: text for step, _, text in steps}
    rows = [summary_row(step, results[step], results, goals_text.get(step, ""))
            for step, _, _ in steps if step in results]
    # Issue 13's points in order, then the older goals, then steps without a goal row.
    rows.sort(key=lambda r: (not r.point.startswith("13."), not r.point, r.point))
    print(f"\nSummary: {users:,} users, {events:,} events; medians of each step's runs. "
          "Ratio: the step over its yardstick, measured in this run (wall / CPU).")
    header = ("point", "step", "wall", "CPU", "ratio wall/CPU", "yardstick", "peak MB",
              "goal", "met?")
    lines = [header] + [
        (r.point, r.step, _seconds(r.wall), _seconds(r.cpu), r.ratio, r.yardstick,
         f"{r.peak_mb:.0f}", r.goal, r.met) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    left = {0, 1, 5, 7, 8}  # text columns; figures align right
    for line in lines:
        cells = [cell.ljust(width) if i in left else cell.rjust(width)
                 for i, (cell, width) in enumerate(zip(line, widths, strict=True))]
        print("  ".join(cells).rstrip())


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"
