"""Figures from the recorded samples, and the table `make loadtest` prints."""

from __future__ import annotations

import math
from collections.abc import Iterable

from .client import Sample


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def by_endpoint(samples: Iterable[Sample], seconds: float) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    groups: dict[str, list[Sample]] = {}
    for sample in samples:
        groups.setdefault(sample.endpoint, []).append(sample)
    everything = [s for group in groups.values() for s in group]
    for name, group in [*sorted(groups.items()), ("all", everything)]:
        if not group:
            continue
        timings = [s.seconds for s in group]
        rows[name] = {
            "requests": len(group),
            "per_second": len(group) / seconds,
            "p50_ms": percentile(timings, 50) * 1000,
            "p99_ms": percentile(timings, 99) * 1000,
            "errors": sum(1 for s in group if not s.ok),
            "statuses": _statuses(group),
        }
    return rows


def _statuses(group: list[Sample]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for sample in group:
        counts[str(sample.status)] = counts.get(str(sample.status), 0) + 1
    return dict(sorted(counts.items()))


def table(summary: dict) -> str:
    lines = [
        f"Load test: {summary['members']} members in one session for "
        f"{summary['seconds']:.0f} s (gunicorn {summary['gunicorn']}, PostgreSQL, Redis, "
        f"1 Celery worker)",
        "",
        f"{'endpoint':<12}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'errors':>8}  statuses",
    ]
    for name, row in summary["endpoints"].items():
        statuses = " ".join(f"{k}:{v}" for k, v in row["statuses"].items())
        lines.append(f"{name:<12}{row['requests']:>10}{row['per_second']:>9.1f}"
                     f"{row['p50_ms']:>9.1f}{row['p99_ms']:>9.1f}{row['errors']:>8}  {statuses}")
    lost = summary["lost"]
    acked = lost["acknowledged"]
    lines += [
        "",
        f"writes acknowledged: {acked['hypotheses']} hypotheses, {acked['findings']} findings, "
        f"{acked['tests']} tests",
        f"lost writes: {lost['total']} (hypotheses {lost['hypotheses']}, findings "
        f"{lost['findings']}, tests {lost['tests']}, rows nobody wrote {lost['unexpected']})",
        f"analysis jobs: {summary['jobs']}",
        "",
        f"throughput, {summary['saturation']['clients']} clients flat out for "
        f"{summary['saturation']['seconds']:.0f} s each:",
    ]
    healthz = summary["saturation"]["healthz"]
    for name, row in summary["saturation"]["endpoints"].items():
        ratio = row["per_second"] / healthz["per_second"] if healthz["per_second"] else 0
        lines.append(f"  {name:<30}{row['per_second']:>8.0f} req/s  p50 {row['p50_ms']:.1f} ms"
                     f"  errors {row['errors']}  = {ratio:.2f} x /healthz")
    lines.append("")
    lines.append(f"errors: {summary['errors']}   lost writes: {lost['total']}   "
                 f"{'PASS' if summary['passed'] else 'FAIL'}")
    return "\n".join(lines)
