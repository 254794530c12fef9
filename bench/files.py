"""The command line on files (issue 13, point 2) against its floor: one DuckDB query that
computes the same counts from the same files in a fresh process. Both run as child
processes of their own, one after the other, so that their wall time, CPU time and peak
memory are theirs; the counts of the two must agree, or the step fails.

    python -m bench.files floor criterion|breakdown EVENTS USERS   (the floor itself)

This module imports nothing of the app at the top: the floor process pays for Python and
DuckDB only, as a one-off script would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUCCESS = {"events": ["purchase"], "within_days": 14}
CRITERION = {"all": [
    {"kind": "event_count", "event": "login", "op": ">=", "value": 3, "within_days": 7},
    {"kind": "did_event", "event": "export"},
    {"kind": "property", "property": "plan", "op": "in", "value": ["pro", "business"]},
]}
BREAKDOWN = {"property": "company_size"}

# One GROUP BY user over the events (first and last time, the purchase and login times as
# lists filtered by each user's window, whether they exported), the users file joined,
# the complete-window rule from the latest event: the per-user work in its best one-pass
# form (performance.md), then the counts the command prints.
_PER_USER = """
WITH pu AS (
  SELECT user_id, min(timestamp) AS fs, max(timestamp) AS ls,
         list(timestamp) FILTER (WHERE event = 'purchase') AS buys,
         list(timestamp) FILTER (WHERE event = 'login') AS logins,
         bool_or(event = 'export') AS exported
  FROM read_parquet(?) GROUP BY user_id),
u AS (SELECT user_id, plan, company_size FROM read_csv(?)),
t AS (
  SELECT u.plan, u.company_size,
     coalesce(len(list_filter(buys, lambda x: x < pu.fs + INTERVAL 14 DAY)) > 0, false) AS success,
     coalesce(len(list_filter(logins, lambda x: x < pu.fs + INTERVAL 7 DAY)), 0) AS logins7,
     coalesce(exported, false) AS exported,
     pu.fs IS NULL OR pu.fs + INTERVAL 14 DAY <= (SELECT max(ls) FROM pu) AS included
  FROM pu FULL JOIN u USING (user_id))
"""
FLOOR = {
    "criterion": _PER_USER + """
SELECT count_if(included), count_if(included AND success), count_if(included AND g),
       count_if(included AND g AND success)
FROM (SELECT *, logins7 >= 3 AND exported AND coalesce(plan IN ('pro', 'business'), false) AS g
      FROM t)""",
    "breakdown": _PER_USER + """
SELECT company_size, count(*), count_if(success) FROM t WHERE included GROUP BY ALL""",
}


def floor(shape: str, events: str, users: str) -> list:
    import duckdb

    con = duckdb.connect()
    for setting in ("SET memory_limit = '1GB'", "SET threads = 2", "SET TimeZone = 'UTC'",
                    "SET preserve_insertion_order = false"):
        con.execute(setting)
    return [list(row) for row in con.execute(FLOOR[shape], [events, users]).fetchall()]


def counts_of(shape: str, document: dict) -> list:
    """The command's JSON as the floor's rows."""
    if shape == "criterion":
        population, group = document["population"], document["group"]
        return [[population["users"], population["successes"], group["users"],
                 group["successes"]]]
    return [[b["label"], b["users"], b["successes"]] for b in document["buckets"]]


def measure(data: Path, shape: str) -> dict:
    """One floor run then one command run on the same files."""
    events, users = str(data / "events.parquet"), str(data / "users.csv")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}  # a fresh shell: no settings
    request = CRITERION if shape == "criterion" else {"breakdown": BREAKDOWN}
    floor_run = _timed([sys.executable, "-m", "bench.files", "floor", shape, events, users],
                       env)
    cli_run = _timed([sys.executable, "manage.py", "analyze", "--events", events,
                      "--users", users, "--success", json.dumps(SUCCESS),
                      "--criterion", json.dumps(request)], env)
    expected = sorted(json.loads(floor_run["out"]))
    found = sorted(counts_of(shape, json.loads(cli_run["out"])))
    if found != expected:
        raise SystemExit(f"the command's counts {found} differ from the floor's {expected}")
    return {"seconds": cli_run["seconds"], "cpu_seconds": cli_run["cpu_seconds"],
            "peak_mb": cli_run["peak_mb"],
            "detail": {"floor_s": floor_run["seconds"], "floor_cpu_s": floor_run["cpu_seconds"],
                       "floor_peak_mb": floor_run["peak_mb"],
                       "ratio": cli_run["seconds"] / floor_run["seconds"]}}


def _timed(argv: list[str], env: dict) -> dict:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=err, env=env)
        # wait4 gives this child's own resource use (peak memory included), which
        # RUSAGE_CHILDREN would mix with the other child's.
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        output, errors = out.read().decode(), err.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv[1:5])} failed:\n{errors[-3000:]}")
    return {"seconds": seconds, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024, "out": output}


if __name__ == "__main__":
    if sys.argv[1] == "floor":
        print(json.dumps(floor(sys.argv[2], sys.argv[3], sys.argv[4]), default=str))
