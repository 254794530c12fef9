"""`make loadtest-fairshare`: does one team's heavy queries stall another team?

    python -m tests.load.fairshare [--seconds 30] [--mode both|embedded|celery] [--json PATH]

Issue 12, problem 3: three 30-second console queries of one team held another team's
`SELECT 42` back for 75 s. Here team A sends three queries of --seconds each, and once
they run team B sends one small query; two workers serve them. Printed: how long B's
query waited before it started, with the fair share switched off (TEAM_MAX_RUNNING_JOBS=0)
and on (=1), in the same run, for

- embedded: the default without Redis, this process's pool of 2 threads, SQLite in WAL
  mode (a throwaway file);
- celery: 2 Celery worker processes (one child each, as docker-compose runs them), a
  private redis-server and a throwaway PostgreSQL database beside DATABASE_URL's.

Everything runs on 127.0.0.1. The queries are stubs that wait (tests/load/fairshare_app.py)
rather than burn the machine's cores; the scheduling is the production code. Each
scenario ends when B's query is done: A's remaining jobs are then cancelled. Bounded:
about 2 x (--seconds + 15) per mode, plus the workers' start. Exits 1 if, with the fair
share on, B's query waited longer than --goal seconds."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from . import processes

HEAVY_QUERIES = 3
WORKERS = 2
SETTINGS = (("off", 0), ("on", 1))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.load.fairshare", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30,
                        help="how long each of team A's queries runs")
    parser.add_argument("--mode", choices=("both", "embedded", "celery"), default="both")
    parser.add_argument("--goal", type=float, default=5,
                        help="the most B's query may wait with the fair share on")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not 1 <= args.seconds <= 120:
        parser.error("--seconds between 1 and 120")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    modes = ["embedded", "celery"] if args.mode == "both" else [args.mode]
    rows = []
    for mode in modes:
        # One process per mode: Django's settings (database, broker) are read once.
        with tempfile.TemporaryDirectory(prefix="hl-fair-") as tmp:
            out = Path(tmp) / "rows.json"
            result = subprocess.run(
                [sys.executable, "-m", "tests.load.fairshare_run", mode, str(args.seconds),
                 str(out)], cwd=processes.ROOT, env=os.environ.copy(), timeout=900)
            if result.returncode != 0:
                print(f"the {mode} measurement failed ({result.returncode})", file=sys.stderr)
                return 2
            rows += json.loads(out.read_text())
    print(table(rows, args.seconds))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    passed = all(row["waited"] <= args.goal for row in rows if row["share"] == "on")
    return 0 if passed else 1


def table(rows: list[dict], seconds: float) -> str:
    lines = [f"Team A: {HEAVY_QUERIES} queries of {seconds:g} s; team B: one small query; "
             f"{WORKERS} workers.",
             "",
             "| mode     | fair share (TEAM_MAX_RUNNING_JOBS) | B waited | B done after "
             "| A running at once (max) |",
             "|----------|------------------------------------|---------:|-------------:"
             "|------------------------:|"]
    for row in rows:
        lines.append(f"| {row['mode']:<8} | {row['share'] + ' (' + str(row['limit']) + ')':<34} "
                     f"| {row['waited']:6.2f} s | {row['done_after']:10.2f} s "
                     f"| {row['a_running_max']:23d} |")
    return "\n".join(lines)


def scenario(mode: str, share: str, limit: int, seconds: float, *, on_start=None) -> dict:
    """Team A's heavy queries, then (once they run) team B's small one. Runs in a process
    where Django is set up."""
    from django.db.models import Q
    from django.utils import timezone

    from accounts.models import Team
    from analytics.models import AnalysisJob, Dataset, JobStatus
    from analytics.services import analysis_start

    suffix = f"{mode}-{share}"
    teams, datasets = [], []
    for name in ("A", "B"):
        team = Team.objects.create(name=f"Team {name} {suffix}", slug=f"team-{name}-{suffix}".lower())
        teams.append(team)
        datasets.append(Dataset.objects.create(team=team, name="Events", current_version=1))

    def submit(index: int, stub_seconds: float, sql: str) -> AnalysisJob:
        job = AnalysisJob.objects.create(
            team=teams[index], dataset=datasets[index], dataset_version=1,
            kind=AnalysisJob.Kind.SQL, success={},
            options={"sql": sql, "stub_seconds": stub_seconds})
        analysis_start(job)  # no transaction open: sent at once
        return job

    if on_start is not None:
        on_start()
    heavy = [submit(0, seconds, "SELECT count(*) FROM range(10000000000)")
             for _ in range(HEAVY_QUERIES)]
    a_running = AnalysisJob.objects.filter(team=teams[0], status=JobStatus.RUNNING)
    processes.wait_until(lambda: a_running.exists(), timeout=60, what="team A's queries running")
    time.sleep(1)  # as a person would: B asks while A's queries are under way
    small = submit(1, 0, "SELECT 42")
    most = 0
    deadline = time.monotonic() + seconds * (HEAVY_QUERIES + 1) + 60
    while time.monotonic() < deadline:
        most = max(most, a_running.count())
        small.refresh_from_db()
        if small.is_finished:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"B's query never finished ({small.status})")
    # What we came for is measured: cancel A's remaining work (the stubs see it and stop).
    AnalysisJob.objects.filter(pk__in=[j.pk for j in heavy]).filter(
        Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING)).update(
        status=JobStatus.FAILED, error="cancelled by the measurement", finished_at=timezone.now())
    assert small.status == JobStatus.DONE, small.error
    return {"mode": mode, "share": share, "limit": limit,
            "waited": (small.started_at - small.created_at).total_seconds(),
            "done_after": (small.finished_at - small.created_at).total_seconds(),
            "a_running_max": most}


def run_embedded(seconds: float, tmp: Path) -> list[dict]:
    os.environ.update(SQLITE_PATH=str(tmp / "db.sqlite3"), DATA_DIR=str(tmp / "data"),
                      TASKS_IN_BACKGROUND_THREAD="1", TASKS_BACKGROUND_THREADS=str(WORKERS),
                      SECRET_KEY=secrets.token_urlsafe(32), LOG_LEVEL="WARNING",
                      DJANGO_SETTINGS_MODULE="hypothesislab.settings")
    for name in ("REDIS_URL", "DATABASE_URL", "HYPOTHESISLAB_TESTING"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from .fairshare_app import install_stub

    call_command("migrate", verbosity=0)
    install_stub()
    rows = []
    for share, limit in SETTINGS:
        settings.TEAM_MAX_RUNNING_JOBS = limit
        rows.append(scenario("embedded", share, limit, seconds))
        time.sleep(1)  # the cancelled stubs notice and stop
    return rows


def run_celery(seconds: float, tmp: Path) -> list[dict]:
    from .run import _close_connections, environment, throwaway_database

    if not processes.redis_available():
        raise SystemExit("the celery measurement needs redis-server on PATH")
    rows = []
    with ExitStack() as stack:
        database_url = stack.enter_context(throwaway_database(
            os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"))
        redis = stack.enter_context(processes.redis_server(tmp / "redis.log"))
        env = environment(database_url, redis.url, tmp / "data")
        env["LOG_LEVEL"] = "WARNING"
        os.environ.update(env)
        os.environ.pop("HYPOTHESISLAB_TESTING", None)
        import django

        django.setup()
        stack.callback(_close_connections)
        from django.core.management import call_command

        from hypothesislab.celery import app

        call_command("migrate", verbosity=0)
        for share, limit in SETTINGS:
            workers = []

            def start_workers(share=share, limit=limit, workers=workers) -> None:
                for n in range(WORKERS):
                    name = f"fair{n}-{share}-{os.getpid()}@{os.uname().nodename}"
                    log = tmp / f"worker-{share}-{n}.log"
                    worker = processes.start_worker(
                        {**env, "TEAM_MAX_RUNNING_JOBS": str(limit)}, log,
                        app="tests.load.fairshare_app", hostname=name)
                    workers.append(worker)
                    processes.wait_until(
                        lambda name=name: app.control.ping(timeout=0.5, destination=[name]),
                        timeout=90, what=f"worker {name} answering")

            try:
                rows.append(scenario("celery", share, limit, seconds, on_start=start_workers))
                time.sleep(1)
            finally:
                for worker in workers:
                    processes.stop(worker)
            app.control.purge()
    return rows


if __name__ == "__main__":
    sys.exit(main())
