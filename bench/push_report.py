"""Figures and the table of `python -m bench.push_transport`, from the trials' raw records.
Pure functions (no sockets, no websockets import), so they can be unit-tested."""

from __future__ import annotations

import math
import statistics


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summarise(trials: list[dict]) -> dict[tuple[str, int], dict]:
    """One row per (kind, connections): latencies pooled over the rounds, the other
    figures as the median of the rounds (each round ran on a fresh server)."""
    groups: dict[tuple[str, int], list[dict]] = {}
    for trial in trials:
        groups.setdefault((trial["kind"], trial["connections"]), []).append(trial)
    rows = {}
    for (kind, n), group in groups.items():
        latencies = [x for t in group for x in t["latencies_s"]]
        deliveries = sum(len(t["latencies_s"]) for t in group) * n
        rows[(kind, n)] = {
            "rounds": len(group),
            "messages": sum(len(t["latencies_s"]) for t in group),
            "lost": sum(t["lost"] for t in group),
            "rss_kb_per_conn": statistics.median(t["rss_delta_kb"] / n for t in group),
            "p50_ms": percentile(latencies, 50) * 1000 if latencies else math.nan,
            "p95_ms": percentile(latencies, 95) * 1000 if latencies else math.nan,
            "p99_ms": percentile(latencies, 99) * 1000 if latencies else math.nan,
            # Server CPU for one message to all n, less the same broadcast sent to nobody
            # (the POST and drawing the message: the same for both kinds).
            "cpu_ms_per_msg": statistics.median(
                (t["cpu_s"] - t["cpu_empty_s"]) / max(1, len(t["latencies_s"])) * 1000
                for t in group),
            "cpu_us_per_delivery": statistics.median(
                (t["cpu_s"] - t["cpu_empty_s"]) / max(1, len(t["latencies_s"]) * n) * 1e6
                for t in group),
            "client_us_per_delivery": statistics.median(
                t["client_cpu_s"] / max(1, len(t["latencies_s"]) * n) * 1e6 for t in group),
            "wire_bytes": statistics.median(t["wire_bytes_per_msg"] for t in group),
            "payload_bytes": statistics.median(t["payload_bytes_per_msg"] for t in group),
            "deliveries": deliveries,
        }
    return rows


COLUMNS = [
    # (key, heading, format)
    ("rss_kb_per_conn", "RSS KB/conn", "{:.1f}"),
    ("p50_ms", "p50 ms", "{:.1f}"),
    ("p95_ms", "p95 ms", "{:.1f}"),
    ("p99_ms", "p99 ms", "{:.1f}"),
    ("cpu_ms_per_msg", "CPU ms/msg", "{:.2f}"),
    ("cpu_us_per_delivery", "CPU us/deliv", "{:.1f}"),
    ("client_us_per_delivery", "client us/dl", "{:.1f}"),
    ("wire_bytes", "wire B/msg", "{:.0f}"),
    ("overhead_bytes", "framing B", "{:.0f}"),
]


def table(rows: dict[tuple[str, int], dict], *, yardstick: str = "sse") -> str:
    """Each kind's row beside the yardstick's (SSE), then their ratio (kind / yardstick)."""
    lines = [f"{'kind':<16}{'conns':>6}" + "".join(f"{h:>13}" for _, h, _ in COLUMNS)
             + f"{'msgs':>6}{'lost':>5}"]
    for n in sorted({n for _, n in rows}):
        for kind in sorted({k for k, m in rows if m == n}, key=lambda k: (k != yardstick, k)):
            row = {**rows[(kind, n)],
                   "overhead_bytes": rows[(kind, n)]["wire_bytes"] - rows[(kind, n)]["payload_bytes"]}
            lines.append(f"{kind:<16}{n:>6}" + "".join(
                f"{fmt.format(row[key]):>13}" for key, _, fmt in COLUMNS)
                + f"{row['messages']:>6}{row['lost']:>5}")
            if kind != yardstick and (yardstick, n) in rows:
                base = {**rows[(yardstick, n)], "overhead_bytes": rows[(yardstick, n)]["wire_bytes"]
                        - rows[(yardstick, n)]["payload_bytes"]}
                lines.append(f"{'  ' + kind + '/' + yardstick:<16}{n:>6}" + "".join(
                    f"{ratio(row[key], base[key]):>13}" for key, _, _ in COLUMNS))
    return "\n".join(lines)


def ratio(value: float, base: float) -> str:
    """value / base, or "-" where a ratio means nothing: no base, or a sign change (a
    compressed message is shorter than its payload: its framing bytes are negative)."""
    if not base or math.isnan(base) or math.isnan(value) or (value < 0) != (base < 0):
        return "-"
    return f"{value / base:.2f}x"
