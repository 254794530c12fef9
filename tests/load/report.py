"""Figures from the recorded samples, and the tables `make loadtest` prints: one per
meeting size, the goals of issue 10 beside the figures."""

from __future__ import annotations

import math
from collections.abc import Iterable

from .client import Sample

# Issue 10's goals on this 2-core machine.
WRITE_P99_MS = 1000
DELIVERY_P95_MS = 500
WEB_RSS_MB = 400  # in all, holding 200 open connections


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def latency(seconds: list[float]) -> dict:
    """count and p50/p95/p99 in ms (infinity stands for "never"; None: nothing measured)."""
    if not seconds:
        return {"count": 0, "p50_ms": None, "p95_ms": None, "p99_ms": None}
    return {"count": len(seconds),
            **{f"p{q}_ms": percentile(seconds, q) * 1000 for q in (50, 95, 99)}}


def by_endpoint(samples: Iterable[Sample], seconds: float) -> dict[str, dict]:
    rows: dict[str, dict] = {}
    groups: dict[str, list[Sample]] = {}
    for sample in samples:
        groups.setdefault(sample.endpoint, []).append(sample)
    everything = [s for group in groups.values() for s in group]
    for name, group in [*sorted(groups.items()), ("all", everything)]:
        if not group:
            continue
        figures = latency([s.seconds for s in group])
        rows[name] = {
            "requests": len(group),
            "per_second": len(group) / seconds if seconds else 0.0,
            "p50_ms": figures["p50_ms"], "p95_ms": figures["p95_ms"],
            "p99_ms": figures["p99_ms"],
            "errors": sum(1 for s in group if not s.ok),
            "statuses": _statuses(group),
        }
    return rows


def _statuses(group: list[Sample]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for sample in group:
        counts[str(sample.status)] = counts.get(str(sample.status), 0) + 1
    return dict(sorted(counts.items()))


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return "never" if math.isinf(value) else f"{value:.0f} ms"


def _below(value: float | None, goal: float) -> bool:
    return value is not None and value < goal


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def table(summary: dict) -> str:
    """The figures of one meeting size."""
    w, d, s, rss = summary["writes"], summary["delivery"], summary["streams"], summary["rss"]
    lost = summary["lost"]
    n = summary["members"]
    rows = [
        ("write", f"{w['count']} writes", w, f"p99 < {WRITE_P99_MS} ms",
         _below(w["p99_ms"], WRITE_P99_MS)),
        ("delivery", f"{d['count']} writes", d, f"p95 < {DELIVERY_P95_MS} ms",
         _below(d["p95_ms"], DELIVERY_P95_MS)),
    ]
    lines = [
        f"Live session on server push: {n} members in one session, "
        f"{summary['seconds']:.0f} s of meeting",
        f"({summary['web']}; PostgreSQL, Redis, 1 Celery worker; all on this machine)",
        "",
        f"{'':<24}{'p50':>9}{'p95':>9}{'p99':>9}   goal",
    ]
    for name, count, figures, goal, met in rows:
        lines.append(f"{name + ' (' + count + ')':<24}{_ms(figures['p50_ms']):>9}"
                     f"{_ms(figures['p95_ms']):>9}{_ms(figures['p99_ms']):>9}   "
                     f"{goal:<18}{_verdict(met)}")
    checks = [
        ("errors", str(summary["errors"]), "0", summary["errors"] == 0),
        ("lost writes", str(lost["total"]), "0", lost["total"] == 0),
        ("undelivered (> 10 s)", str(d["undelivered"]), "0", d["undelivered"] == 0),
        ("peak web RSS", f"{rss['peak_mb']:.0f} MB", f"< {WEB_RSS_MB} MB",
         rss["peak_mb"] < WEB_RSS_MB),
    ]
    for name, value, goal, met in checks:
        lines.append(f"{name:<24}{value:>27}   {goal:<18}{_verdict(met)}")
    lines.append(f"{'open connections held':<24}{s['held']:>20} of {n:<4}"
                 f"   (opened {s['opened']}, dropped {s['drops']})")
    lines += ["", _details(summary)]
    return "\n".join(lines)


def _details(summary: dict) -> str:
    s, lost, client, rss = (summary["streams"], summary["lost"], summary["client"],
                            summary["rss"])
    acked = lost["acknowledged"]
    events = " ".join(f"{k} {v}" for k, v in s["events"].items()) or "none"
    lines = [f"{'requests':<12}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
             f"{'errors':>8}  statuses"]
    for name, row in summary["endpoints"].items():
        statuses = " ".join(f"{k}:{v}" for k, v in row["statuses"].items())
        lines.append(f"{name:<12}{row['requests']:>7}{row['p50_ms']:>9.1f}{row['p95_ms']:>9.1f}"
                     f"{row['p99_ms']:>9.1f}{row['errors']:>8}  {statuses}")
    lines += [
        f"writes acknowledged: {acked['hypotheses']} hypotheses, {acked['findings']} findings, "
        f"{acked['tests']} tests; lost: hypotheses {lost['hypotheses']}, findings "
        f"{lost['findings']}, tests {lost['tests']}, rows nobody wrote {lost['unexpected']}",
        f"streams: events {events}; {s['megabytes']:.1f} MB read; keep-alives "
        f"{s['comments']}; page reloads after stale {s['stale_reloads']}; events without "
        f"data (a browser drops them) {s['undispatched']}",
        f"delivery: late (> 10 s) {summary['delivery']['late']}, never "
        f"{summary['delivery']['never']}",
        f"web RSS: {rss['held_mb']:.0f} MB with every stream open and no write yet, peak "
        f"{rss['peak_mb']:.0f} MB = {' + '.join(map(str, rss['peak_by_process_mb']))} MB "
        f"(master first; {rss['samples']} samples, 1 per second)",
        *([f"web CPU: {summary['web_cpu']['seconds']:.1f} s over the meeting and its "
           f"deliveries ({summary['web_cpu']['cores']:.2f} cores), "
           f"{summary['web_cpu']['ms_per_write']:.1f} ms per write, drawings and sending "
           f"included"] if "web_cpu" in summary else []),
        *([f"machine: {summary['machine_cpu']['cores']:.2f} of its "
           f"{summary['machine_cpu']['of']} cores busy over the meeting and its deliveries "
           f"(every process: the web server's above, the load client's, PostgreSQL's, "
           f"Redis's and the worker's)"] if "machine_cpu" in summary else []),
        *([f"live drawer: {summary['drawer']['cpu_seconds']:.1f} s of CPU over the meeting, "
           f"peak RSS {summary['drawer']['peak_rss_mb']:.0f} MB"
           + ("" if summary["drawer"].get("exited") is None
              else f"; EXITED during the meeting (status {summary['drawer']['exited']})")]
          if summary.get("drawer") else []),
        *([f"worker CPU: {summary['worker_cpu']['seconds']:.1f} s until the last test was "
           f"done, {summary['worker_cpu']['wall_seconds']:.0f} s after the meeting began "
           f"({summary['worker_cpu']['ms_per_job']:.1f} ms per test)"]
          if "worker_cpu" in summary else []),
        *([pacing_line(summary["pacing"])] if summary.get("pacing") else []),
        *([f"a drawing of the session as the meeting left it ({summary['drawing']['cards']} "
           f"cards, {summary['drawing']['findings']} findings): "
           f"{summary['drawing']['ms']:.1f} ms of CPU"] if "drawing" in summary else []),
        f"load client: {client['cpu_share'] * 100:.0f}% of one core "
        f"({'at' if client['prioritized'] else 'NOT at'} a higher CPU priority than the "
        f"server); its loop woke late by p99 {client['loop_lag_p99_ms']:.0f} ms, at most "
        f"{client['loop_lag_max_ms']:.0f} ms, and read what arrived p99 "
        f"{client['read_delay_p99_ms']:.0f} ms later, at most "
        f"{client['read_delay_max_ms']:.0f} ms (not counted: the kernel's arrival times are)",
        f"analysis jobs: {summary.get('jobs', {})}; the run's database held at most "
        f"{summary.get('database_connections_peak')} connections",
    ]
    if summary["protocol"]:
        lines.append("PROTOCOL MISMATCHES: " + "; ".join(
            f"{what}: {count}" for what, count in summary["protocol"].items()))
    if summary["setup_errors"]:
        lines.append(f"page loads that failed before the clock started: "
                     f"{summary['setup_errors']}")
    if "yardstick" in summary:
        y = summary["yardstick"]
        w_p50 = summary["writes"]["p50_ms"] or 0.0
        ratio = w_p50 / y["p50_ms"] if y["p50_ms"] else 0.0
        lines.append(f"yardstick: /healthz {y['per_second']:.0f} req/s with {y['clients']} "
                     f"clients flat out, p50 {y['p50_ms']:.1f} ms; write p50 = {ratio:.0f} x "
                     f"that")
    lines.append(f"{'PASS' if summary['passed'] else 'FAIL'} (errors, lost and undelivered "
                 "writes decide; the goals above are reported)")
    return "\n".join(lines)


def pacing_line(pacing: dict) -> str:
    """tests/load/pacing.py's summary, as the table's line."""
    def pair(figures: dict) -> str:
        return f"p50 {figures['p50_ms']:.0f} / p95 {figures['p95_ms']:.0f} ms"

    between = pacing["between_starts"]
    by = (f"{pacing['by_drawer']} by the live drawer, the rest by the web processes"
          if pacing.get("by_drawer") else "by the web processes")
    return (f"drawings: {pacing['count']} ({by}), starts "
            + (pair(between) if between["p50_ms"] is not None else "-")
            + f" apart (a change waits for the next); each took {pair(pacing['wall'])} of "
            f"wall time for {pair(pacing['cpu'])} of CPU; "
            f"{pacing['overlapping'] * 100:.0f}% began while the one before was drawing")
