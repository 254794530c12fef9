"""The table `make loadtest` prints: the goals beside the figures, and a write never
delivered shown as such, not as a number."""

from __future__ import annotations

import math

from tests.load.client import Sample
from tests.load.report import by_endpoint, latency, table


def summary(*, delivery: list[float], peak_mb: float, errors: int = 0) -> dict:
    samples = [Sample("hypothesis", 200, 0.2, True), Sample("finding", 200, 0.4, True),
               Sample("test", 500, 1.5, False)]
    return {
        "members": 200, "seconds": 60.0, "web": "uvicorn, 3 worker processes",
        "endpoints": by_endpoint(samples, 60.0),
        "writes": latency([s.seconds for s in samples]) | {"errors": 1},
        "delivery": latency(delivery) | {"undelivered": delivery.count(math.inf),
                                         "late": 0, "never": delivery.count(math.inf)},
        "streams": {"of": 200, "opened": 200, "held": 199, "drops": 1, "failed_opens": 0,
                    "events": {"hello": 200, "ops": 600}, "megabytes": 12.5,
                    "stale_reloads": 0, "undispatched": 0, "comments": 4},
        "protocol": {}, "setup_errors": 0, "database_connections_peak": 12,
        "rss": {"held_mb": 300.0, "peak_mb": peak_mb, "peak_by_process_mb": [27, 120, 130],
                "samples": 60},
        "machine_cpu": {"cores": 1.87, "of": 2},
        "client": {"cpu_share": 0.03, "prioritized": True, "loop_lag_p99_ms": 20.0,
                   "loop_lag_max_ms": 40.0, "read_delay_p99_ms": 10.0,
                   "read_delay_max_ms": 30.0},
        "lost": {"hypotheses": 0, "findings": 0, "tests": 0, "unexpected": 0, "total": 0,
                 "acknowledged": {"hypotheses": 1, "findings": 1, "tests": 0}},
        "jobs": {"done": 1},
        "yardstick": {"clients": 8, "per_second": 500.0, "p50_ms": 10.0},
        "errors": errors, "passed": errors == 0,
    }


def lines_of(text: str) -> dict[str, str]:
    return {line.split("  ")[0].split(" (")[0]: line for line in text.splitlines() if line}


def test_goals_met_and_missed_side_by_side():
    text = table(summary(delivery=[0.1] * 99 + [0.2], peak_mb=350, errors=2))
    rows = lines_of(text)
    assert rows["write"].endswith("MISSED")  # p99 1.5 s
    assert "100 ms" in rows["delivery"] and rows["delivery"].endswith("met")
    assert rows["errors"].split()[1] == "2" and rows["errors"].endswith("MISSED")
    assert "350 MB" in rows["peak web RSS"] and rows["peak web RSS"].endswith("met")
    assert "199 of 200" in rows["open connections held"]
    assert "27 + 120 + 130 MB" in text and "write p50 = 40 x that" in text
    assert "machine: 1.87 of its 2 cores busy" in text
    assert text.rstrip().splitlines()[-1].startswith("FAIL")


def test_undelivered_writes_read_as_never_and_nothing_measured_as_a_dash():
    text = table(summary(delivery=[0.1] + [math.inf] * 9, peak_mb=450))
    rows = lines_of(text)
    assert "never" in rows["delivery"] and rows["delivery"].endswith("MISSED")
    assert rows["peak web RSS"].endswith("MISSED")
    empty = table(summary(delivery=[], peak_mb=100))
    assert lines_of(empty)["delivery"].split()[3:6] == ["-", "-", "-"]
    assert lines_of(empty)["delivery"].endswith("MISSED")
