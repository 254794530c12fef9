"""`make bench`: build (once) a 1M-user, 50M-event dataset and measure the engine beside a
bare DuckDB scan, pandas and polars in the same run, printing medians and ratios. Machines
are shared and noisy: read the ratios, not the seconds. Each step also reports its CPU
time (all threads), steadier than wall time when other work competes for the cores.
It ends with one summary table (bench/summary.py): each step's figure, its ratio to its
yardstick in the same run, its peak memory, its goal and whether it is met.

    python -m bench.run [--events N] [--users N] [--repeat K] [--skip a,b] [--only a,b]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from bench.summary import print_summary

ROOT = Path(__file__).resolve().parent.parent

# (step, runs by default, goal as text)
STEPS = [
    ("copy_csv", 1, "DuckDB CSV -> Parquet copy (import's yardstick)"),
    ("import", 1, "import <= 1.5x the copy (events clustered by name)"),
    ("scan", 3, "bare scan of _uid, event, timestamp (the floor)"),
    ("peruser", 3, "per-user table <= 3.5x scan, >= 2x faster than polars, 8x than pandas, < 2 GB"),
    ("test_cached", 5, "one test on the cached table < 50 ms"),
    ("breakdown", 5, "a breakdown on the cached table < 100 ms"),
    # Issue 13 point 4: what each import prepares for discovery next (a job of its own),
    # discovery on the prepared version, and discovery with nothing prepared.
    ("prepare", 1, "discovery's measures, prepared after each import"),
    ("discovery", 3, "discovery, >= 200 candidates, from an imported dataset < 5 s, < 2 GB"),
    ("discovery_unprepared", 1, "the same discovery with nothing prepared"),
    ("polars", 3, "polars, same per-user table"),
    ("pandas", 1, "pandas, same per-user table"),
    # Issue 13 points 3 and 5: a new criterion on a warm success definition, and what
    # clustering the events by name at import costs and saves.
    ("new_criterion", 5, "new did_event/event_count/property criterion, warm success < 0.7 s"),
    # The same criteria through the page's "Test" with a real Celery worker (Redis DB 13,
    # bench/verdict.py): median of the kinds; the detail holds each kind's time and its
    # ratio to the worker's own claim-to-stored figure.
    ("verdict", 3, "submit to verdict on the page, real worker, slowest kind < 1 s"),
    ("import_plain", 1, "import with the events in one file (the layout's yardstick)"),
    ("new_criterion_plain", 3, "the same criteria on the one-file import"),
    # The command line on files (Parquet events, CSV users) in a fresh process, against
    # one DuckDB query computing the same counts from the same files (bench/files.py).
    ("cli_startup", 5, "analyze on tiny files in a fresh process: start-up < 0.5 s"),
    ("cli_files", 3, "analyze on files, a criterion, <= 2x one DuckDB query"),
    ("cli_files_breakdown", 3, "analyze on files, a breakdown, <= 2x one DuckDB query"),
    ("cli_files_300k", 3, "the same criterion at 300k users, 5M events"),
    ("cli_files_breakdown_300k", 3, "the same breakdown at 300k users, 5M events"),
]


def measure(step: str, data: Path) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.step", step, str(data)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"step {step} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def kinds_of(samples: list[dict]) -> dict:
    """A new-criterion step's per-kind figures, the median of each over the runs."""
    details = [s["detail"] for s in samples if isinstance(s.get("detail"), dict)]
    if not details or "max_goal_kinds" not in details[0]:
        return {}
    return {"kinds": {k: statistics.median(d[k] for d in details) for k in details[0]}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50_000_000)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=None, help="runs per step (default: per step)")
    parser.add_argument("--skip", default="", help="comma-separated steps to leave out")
    parser.add_argument("--only", default="", help="comma-separated steps to run (no others)")
    args = parser.parse_args()

    from bench.data import directory_name, generate

    data = ROOT / "bench-data" / directory_name(args.users, args.events)
    generate(data, events=args.events, users=args.users)
    skip = set(filter(None, args.skip.split(",")))
    only = set(filter(None, args.only.split(",")))
    if unknown := (skip | only) - {step for step, _, _ in STEPS}:
        raise SystemExit(f"unknown steps: {', '.join(sorted(unknown))}")
    if only:
        skip |= {step for step, _, _ in STEPS if step not in only}
    from bench.step import ENGINE_STEPS

    reads_imported = any(step in ENGINE_STEPS and step not in skip for step, _, _ in STEPS)
    if reads_imported and "import" in skip and not (data / "imported" / "v1").exists():
        print("  (importing once, untimed: the engine steps read the imported dataset)")
        measure("import", data)

    results: dict[str, dict] = {}
    for step, runs, goal in STEPS:
        if step in skip:
            continue
        runs = args.repeat or runs
        samples = [measure(step, data) for _ in range(runs)]
        results[step] = {
            **kinds_of(samples),
            "median_s": statistics.median(s["seconds"] for s in samples),
            "cpu_s": statistics.median(s.get("cpu_seconds", 0.0) for s in samples),
            "peak_mb": max(s["peak_mb"] for s in samples),
            "runs": runs, "goal": goal, "detail": samples[-1]["detail"],
        }
        floors = [s["detail"] for s in samples
                  if isinstance(s["detail"], dict) and "floor_s" in s["detail"]]
        if floors:  # a step measured against a floor run beside it (bench/files.py)
            results[step]["floor_s"] = statistics.median(f["floor_s"] for f in floors)
            results[step]["floor_cpu_s"] = statistics.median(f["floor_cpu_s"] for f in floors)
            results[step]["floor_peak_mb"] = max(f["floor_peak_mb"] for f in floors)
        print(f"  {step:<12} {results[step]['median_s']:8.3f} s  "
              f"{results[step]['cpu_s']:8.3f} s CPU  {results[step]['peak_mb']:7.0f} MB"
              f"  ({runs} runs)", flush=True)

    print(f"\nHypothesisLab benchmark: {args.users:,} users, {args.events:,} events")

    def ratio(a: str, b: str, key: str = "median_s") -> str:
        if a in results and b in results and results[b][key]:
            return f"{results[a][key] / results[b][key]:.2f}x"
        return "n/a"

    print("\nratios (same run; wall time, then CPU time):")
    for label, a, b, goal in (("import / CSV copy", "import", "copy_csv", "<= 1.5"),
                              ("per-user table / bare scan", "peruser", "scan", "<= 3.5"),
                              ("polars / per-user table", "polars", "peruser", ">= 2"),
                              ("pandas / per-user table", "pandas", "peruser", ">= 8")):
        if a in results and b in results:
            print(f"  {label:<27}{ratio(a, b):>7}  {ratio(a, b, 'cpu_s'):>7} CPU   "
                  f"(goal {goal})")
    if all(k in results for k in ("import", "prepare", "copy_csv")):
        both = {k: results["import"][k] + results["prepare"][k] for k in ("median_s", "cpu_s")}
        copy = results["copy_csv"]
        print(f"  {'import + prepare / copy':<27}{both['median_s'] / copy['median_s']:>6.2f}x"
              f"  {both['cpu_s'] / copy['cpu_s']:>6.2f}x CPU   (the import's version is "
              "usable before the preparation)")
    for step, r in results.items():
        if "floor_s" in r:  # the floor's own figures (the summary gives the ratios)
            print(f"  {step:<26} floor {r['floor_s']:.2f} s, {r['floor_cpu_s']:.2f} s CPU, "
                  f"peak {r['floor_peak_mb']:.0f} MB")
    for step in ("test_cached", "breakdown", "discovery", "discovery_unprepared"):
        if step in results:
            print(f"  {step:<26} {results[step]['median_s'] * 1000:.0f} ms")
    new_criterion_summary(results, ratio)
    verdict_summary(results)
    if "discovery" in results:
        # Issue 13: discovery over the bench data's candidates, against the bare scan.
        r = results["discovery"]
        print(f"  discovery / bare scan      {ratio('discovery', 'scan'):>7}  "
              f"{ratio('discovery', 'scan', 'cpu_s'):>7} CPU   ({r['detail'].get('tried')} "
              f"candidates, {r['median_s']:.2f} s, peak {r['peak_mb']:.0f} MB; "
              "goal < 5 s, >= 200 candidates, < 2048 MB)")
    print("\ndetails:", json.dumps({k: v["detail"] for k, v in results.items()}, default=str))
    print_summary(results, STEPS, users=args.users, events=args.events)


def verdict_summary(results: dict) -> None:
    """Issue 13 point 3 on the page: each kind's submit-to-verdict time (median over the
    runs) against the worker's own claim-to-stored time in the same runs."""
    if "verdict" not in results or not results["verdict"].get("kinds"):
        return
    kinds = results["verdict"]["kinds"]
    print("  verdict on the page (goal < 1 s; worker claim to stored, goal < 700 ms):")
    for kind in ("did_event", "event_count", "property"):
        page, worker = kinds[kind], kinds[f"{kind}_worker"]
        print(f"    {kind:<20} {page * 1000:7.0f} ms   worker {worker * 1000:6.0f} ms   "
              f"page / worker {page / worker:.2f}x")


def new_criterion_summary(results: dict, ratio) -> None:
    """Issue 13 points 3 and 5: each new criterion's time (median over runs of the
    step's per-kind figures) against the bare scan, and the layout's trade."""
    scan = results.get("scan", {}).get("median_s")
    for step in ("new_criterion", "new_criterion_plain"):
        if step not in results:
            continue
        print(f"  {step} (goal < 700 ms each for did_event, event_count, property):")
        kinds = results[step]["kinds"]
        scan_cpu = results.get("scan", {}).get("cpu_s")
        for kind, seconds in kinds.items():
            if kind.endswith("_cpu"):
                continue
            floor = f"  {seconds / scan:.2f}x the bare scan" if scan else ""
            cpu = kinds.get(f"{kind}_cpu")
            cpu_text = (f"   CPU {cpu * 1000:6.0f} ms  {cpu / scan_cpu:.2f}x the scan's"
                        if cpu is not None and scan_cpu else "")
            print(f"    {kind:<20} {seconds * 1000:7.0f} ms{floor}{cpu_text}")
    for label, a, b in (("import one file / CSV copy", "import_plain", "copy_csv"),
                        ("import clustered / one file", "import", "import_plain")):
        if a in results:
            print(f"  {label:<27}{ratio(a, b):>7}  {ratio(a, b, 'cpu_s'):>7} CPU")
    if "import" in results and "import_plain" in results and "new_criterion" in results \
            and "new_criterion_plain" in results:
        cost = results["import"]["median_s"] - results["import_plain"]["median_s"]
        kinds = results["new_criterion"]["kinds"]
        plain = results["new_criterion_plain"]["kinds"]
        saved = sum(plain[k] - kinds[k] for k in ("did_event", "event_count"))
        if saved > 0:
            print(f"  layout: +{cost:.1f} s at import, {saved / 2 * 1000:.0f} ms saved per new "
                  f"event criterion: repaid after {max(cost, 0) / (saved / 2):.0f} of them")


if __name__ == "__main__":
    main()
