"""The command line on files (issue 13, point 2) against its floor: one DuckDB query that
computes the same counts from the same files in a fresh process. Both run as child
processes of their own, one after the other, so that their wall time, CPU time and peak
memory are theirs; the counts of the two must agree, or the step fails.

    python -m bench.files floor lists|join criterion|breakdown EVENTS USERS   (a floor)

`startup()` times the command's fixed costs the same way (issue 13, point 1): the command
on files of three events, against a script that imports DuckDB and runs one query.

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

# Two formulations of the same counts, both given the same files; the floor is the faster
# of the two in each run. "lists": one GROUP BY user over the events (first and last time,
# the purchase and login times as lists filtered by each user's window, whether they
# exported), the per-user work in its one-pass form (performance.md). "join": first-seen
# per user, then the events joined back to it and grouped again (cheaper than lists when
# many times travel in the lists). Each then joins the users file and applies the
# complete-window rule with the latest event.
_LISTS = """
WITH pu AS (
  SELECT user_id, min(timestamp) AS fs, max(timestamp) AS ls,
         list(timestamp) FILTER (WHERE event = 'purchase') AS buys,
         list(timestamp) FILTER (WHERE event = 'login') AS logins,
         bool_or(event = 'export') AS exported
  FROM read_parquet($events) GROUP BY user_id),
u AS (SELECT user_id, plan, company_size FROM read_csv($users)),
t AS (
  SELECT u.plan, u.company_size,
     coalesce(len(list_filter(buys, lambda x: x < pu.fs + INTERVAL 14 DAY)) > 0, false) AS success,
     coalesce(len(list_filter(logins, lambda x: x < pu.fs + INTERVAL 7 DAY)), 0) AS logins7,
     coalesce(exported, false) AS exported,
     pu.fs IS NULL OR pu.fs + INTERVAL 14 DAY <= (SELECT max(ls) FROM pu) AS included
  FROM pu FULL JOIN u USING (user_id))
"""
_JOIN = """
WITH f AS (
  SELECT user_id, min(timestamp) AS fs, max(timestamp) AS ls
  FROM read_parquet($events) GROUP BY user_id),
pu AS (
  SELECT e.user_id,
         count_if(e.event = 'purchase' AND e.timestamp < f.fs + INTERVAL 14 DAY) > 0 AS success,
         count_if(e.event = 'login' AND e.timestamp < f.fs + INTERVAL 7 DAY) AS logins7,
         count_if(e.event = 'export') > 0 AS exported
  FROM read_parquet($events) e JOIN f USING (user_id)
  WHERE e.event IN (EVENTS) GROUP BY e.user_id),
u AS (SELECT user_id, plan, company_size FROM read_csv($users)),
t AS (
  SELECT u.plan, u.company_size, coalesce(pu.success, false) AS success,
     coalesce(pu.logins7, 0) AS logins7, coalesce(pu.exported, false) AS exported,
     f.fs IS NULL OR f.fs + INTERVAL 14 DAY <= (SELECT max(ls) FROM f) AS included
  FROM f FULL JOIN u USING (user_id) LEFT JOIN pu USING (user_id))
"""
_COUNTS = {
    "criterion": """
SELECT count_if(included), count_if(included AND success), count_if(included AND g),
       count_if(included AND g AND success)
FROM (SELECT *, logins7 >= 3 AND exported AND coalesce(plan IN ('pro', 'business'), false) AS g
      FROM t)""",
    "breakdown": """
SELECT company_size, count(*), count_if(success) FROM t WHERE included GROUP BY ALL""",
}
# The events each shape needs (the join form reads only those the second time).
_EVENTS = {"criterion": "'purchase', 'login', 'export'", "breakdown": "'purchase'"}
FORMS = ("lists", "join")


def floor_sql(form: str, shape: str) -> str:
    head = _LISTS if form == "lists" else _JOIN.replace("EVENTS", _EVENTS[shape])
    return head + _COUNTS[shape]


def floor(form: str, shape: str, events: str, users: str) -> list:
    import duckdb

    con = duckdb.connect()
    for setting in ("SET memory_limit = '1GB'", "SET threads = 2", "SET TimeZone = 'UTC'",
                    "SET preserve_insertion_order = false"):
        con.execute(setting)
    rows = con.execute(floor_sql(form, shape), {"events": events, "users": users}).fetchall()
    return [list(row) for row in rows]


def counts_of(shape: str, document: dict) -> list:
    """The command's JSON as the floor's rows."""
    if shape == "criterion":
        population, group = document["population"], document["group"]
        return [[population["users"], population["successes"], group["users"],
                 group["successes"]]]
    return [[b["label"], b["users"], b["successes"]] for b in document["buckets"]]


def measure(data: Path, shape: str) -> dict:
    """Each floor formulation, then the command, on the same files; the floor is the
    faster formulation of this run."""
    events, users = str(data / "events.parquet"), str(data / "users.csv")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}  # a fresh shell: no settings
    request = CRITERION if shape == "criterion" else {"breakdown": BREAKDOWN}
    floors = {form: _timed([sys.executable, "-m", "bench.files", "floor", form, shape,
                            events, users], env) for form in FORMS}
    cli_run = _timed([sys.executable, "manage.py", "analyze", "--events", events,
                      "--users", users, "--success", json.dumps(SUCCESS),
                      "--criterion", json.dumps(request)], env)
    found = sorted(counts_of(shape, json.loads(cli_run["out"])))
    for form, run in floors.items():
        expected = sorted(json.loads(run["out"]))
        if found != expected:
            raise SystemExit(f"the command's counts {found} differ from the {form} "
                             f"floor's {expected}")
    form = min(floors, key=lambda f: floors[f]["seconds"])
    best = floors[form]
    return {"seconds": cli_run["seconds"], "cpu_seconds": cli_run["cpu_seconds"],
            "peak_mb": cli_run["peak_mb"],
            "detail": {"floor_s": best["seconds"], "floor_cpu_s": best["cpu_seconds"],
                       "floor_peak_mb": best["peak_mb"], "floor_form": form,
                       "ratio": cli_run["seconds"] / best["seconds"],
                       **{f"{f}_s": r["seconds"] for f, r in floors.items()}}}


# The smallest files the command analyses: its time is start-up and fixed costs.
_TINY_EVENTS = """user_id,event,timestamp
u1,signup,2026-01-01T00:00:00Z
u1,purchase,2026-01-02T00:00:00Z
u2,signup,2026-01-01T00:00:00Z
u3,signup,2026-02-01T00:00:00Z
"""
_TINY_USERS = "user_id,plan\nu1,pro\nu2,free\nu3,free\n"
_DUCKDB_FLOOR = "import duckdb; duckdb.connect().execute('SELECT 1').fetchall()"


def startup() -> dict:
    """`manage.py analyze` on tiny files in a fresh process (no settings), and beside it
    the floor of any script using DuckDB: Python started, duckdb imported, one query."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    with tempfile.TemporaryDirectory(prefix="hl-bench-startup-") as tmp:
        events, users = Path(tmp) / "events.csv", Path(tmp) / "users.csv"
        events.write_text(_TINY_EVENTS)
        users.write_text(_TINY_USERS)
        floor_run = _timed([sys.executable, "-c", _DUCKDB_FLOOR], env)
        cli_run = _timed([sys.executable, "manage.py", "analyze", "--events", str(events),
                          "--users", str(users), "--success", json.dumps(SUCCESS),
                          "--criterion", json.dumps({"kind": "did_event", "event": "signup"})],
                         env)
    population = json.loads(cli_run["out"])["population"]
    if population["users"] + population["excluded_incomplete"] != 3:
        raise SystemExit(f"unexpected result on the tiny files: {cli_run['out']}")
    return {"seconds": cli_run["seconds"], "cpu_seconds": cli_run["cpu_seconds"],
            "peak_mb": cli_run["peak_mb"],
            "detail": {"floor_s": floor_run["seconds"], "floor_cpu_s": floor_run["cpu_seconds"],
                       "floor_peak_mb": floor_run["peak_mb"]}}


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
        print(json.dumps(floor(*sys.argv[2:6]), default=str))
