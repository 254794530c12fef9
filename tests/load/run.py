"""`make loadtest`: the live session under a meeting's load, on server push, on this
machine, bounded in time.

    python -m tests.load.run [--members N] [--seconds 60] [--json PATH]

Creates a throwaway PostgreSQL database next to DATABASE_URL's (dropped at the end),
starts a private redis-server and one Celery worker, and for each meeting size (50 and
then 200 members, or --members) a fresh uvicorn as docker-compose.yml runs the web
service (its --workers and its environment's tuning, read from the file; Redis carries
each change between the processes), all on 127.0.0.1. It builds a team
with the demo product's data in one session; every member loads the page and holds ONE
open event stream; then for --seconds they write (tests/load/member.py).

It measures, per size: each write's latency; its DELIVERY, the time from the write's
acknowledgment until every other member's stream has received an event that brings the
page to the write's revision (undelivered after 10 s: a failure); the web processes'
resident memory while every stream is open; and a yardstick, /healthz flat out, in the
same run. Then it checks that every acknowledged write is in the database.

Prints one table per size with issue 10's goals beside the figures; exits 1 if any
request failed, any acknowledged write is missing or any delivery never completed (the
goals themselves are reported, not enforced)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from . import pacing, processes
from .client import Budget, Client, OutOfBudget, Recorder
from .report import by_endpoint, table

LOCAL_HOSTS = {"127.0.0.1", "localhost", "", None}
SIZES = (50, 200)
JOBS_DRAIN_SECONDS = 90


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.load.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, action="append",
                        help="one meeting size (repeat for several); default 50, then 200")
    parser.add_argument("--seconds", type=float, default=60, help="of meeting, per size")
    parser.add_argument("--users", type=int, default=4000,
                        help="users in the dataset (the demo product's data)")
    parser.add_argument("--max-requests", type=int, default=100_000,
                        help="a hard cap on each meeting's requests")
    parser.add_argument("--web-workers", type=int,
                        help="uvicorn worker processes (default: as docker-compose.yml "
                        "runs the web service)")
    parser.add_argument("--yardstick-seconds", type=float, default=2,
                        help="/healthz flat out, after each meeting")
    parser.add_argument("--clients", type=int, default=8,
                        help="concurrent clients in the yardstick")
    parser.add_argument("--database-url", help="use this migrated PostgreSQL database as it "
                        "is (the smoke test's) instead of creating a throwaway one")
    parser.add_argument("--no-drawer", action="store_true",
                        help="without the live drawer that docker-compose.yml runs: the web "
                        "processes draw the session themselves (to compare)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    args.sizes = tuple(args.members or SIZES)
    if not all(1 <= n <= 200 for n in args.sizes) or not 0 < args.seconds <= 600:
        parser.error("1-200 members for at most 600 seconds")
    return args


def phase(what: str, since: list[float]) -> None:
    """Where the run's time goes, on stderr (the tables are stdout's)."""
    now = time.monotonic()
    print(f"[{now - since[0]:6.1f} s] {what}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    clock = [time.monotonic()]
    if not processes.redis_available():
        print("make loadtest needs redis-server on PATH.", file=sys.stderr)
        return 2
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hl-load-")))
        database_url = args.database_url or stack.enter_context(
            throwaway_database(os.environ.get("DATABASE_URL", "")))
        redis = stack.enter_context(processes.redis_server(tmp / "redis.log"))
        env = environment(database_url, redis.url, tmp / "data")
        os.environ.update(env)
        os.environ.pop("HYPOTHESISLAB_TESTING", None)
        import django

        django.setup()
        stack.callback(_close_connections)
        if not args.database_url:
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            phase("database migrated", clock)
        worker_name = f"load-{os.getpid()}@{os.uname().nodename}"
        worker = processes.start_worker(env, tmp / "worker.log", hostname=worker_name)
        stack.callback(processes.stop, worker)
        wait_for_worker(worker, worker_name, tmp / "worker.log")
        phase("Celery worker answering", clock)
        summaries = []
        for members in args.sizes:
            summary = one_size(members, args, env, tmp, clock, worker_group=worker.pid)
            summaries.append(summary)
            print(table(summary) + "\n", flush=True)
            if not summary["passed"]:
                for name in (f"web-{members}.log", f"drawer-{members}.log", "worker.log"):
                    print(log_excerpt(tmp / name), file=sys.stderr)
        if args.json:
            args.json.write_text(json.dumps({"runs": summaries}, indent=1, default=str))
        return 0 if all(s["passed"] for s in summaries) else 1


def log_excerpt(path: Path) -> str:
    """A failed run's log: its first error in full (the cause, not the cascade), and
    its end."""
    text = path.read_text() if path.exists() else ""
    first = text.find("Traceback")
    head = f"--- {path.name} (first error)\n{text[first:first + 6000]}\n" if first >= 0 else ""
    return f"{head}--- {path.name} (end)\n{text[-3000:]}"


def one_size(members: int, args, env: dict[str, str], tmp: Path, clock: list[float], *,
             worker_group: int) -> dict:
    """A fresh uvicorn, a new team and session of `members`, the meeting, its figures."""
    import uvloop

    from .play import ahead_of_the_server, play
    from .scenario import build_meeting, count_lost

    port = processes.free_port()
    log = tmp / f"web-{members}.log"
    trace = tmp / f"drawings-{members}"  # each web process's drawings (tests/load/pacing.py)
    trace.mkdir()
    workers, compose_env = processes.compose_web()
    workers = args.web_workers or workers
    served = {**env, **compose_env, "LIVE_TRACE_DIR": str(trace)}
    web = processes.start_uvicorn(served, log, port=port, workers=workers, wait=False)
    drawer = (processes.start_drawer(served, tmp / f"drawer-{members}.log")
              if processes.compose_drawer() and not args.no_drawer else None)
    try:
        meeting = build_meeting(members=members, users=args.users)  # while uvicorn boots
        _close_connections()  # the web and worker processes take over
        processes.wait_for_web(web, port, log)
        phase(f"{members} members in a session; uvicorn answering", clock)
        worker_cpu = processes.group_cpu_seconds(worker_group)
        drawer_cpu = processes.group_cpu_seconds(drawer.pid) if drawer else 0.0
        worker_started = time.monotonic()
        with ahead_of_the_server() as args.prioritized:
            summary, people = asyncio.run(
                play(meeting, port, args, web_group=web.pid, database_url=env["DATABASE_URL"]),
                loop_factory=uvloop.new_event_loop)
        phase(f"{members} members: meeting over", clock)
        summary["web"] = f"uvicorn, {workers} worker processes" + "".join(
            f", {k}={v}" for k, v in sorted(compose_env.items()))
        if drawer is not None:
            summary["drawer"] = {
                "cpu_seconds": processes.group_cpu_seconds(drawer.pid) - drawer_cpu,
                "peak_rss_mb": processes.peak_rss_mb(drawer.pid),
                "exited": drawer.poll()}  # None: it ran all along
        summary["yardstick"] = yardstick(port, args)
    finally:
        processes.stop(web, timeout=10)
        processes.stop(drawer, timeout=10)
    summary["pacing"] = pacing.summary(pacing.read(trace))
    if summary["pacing"] is not None:
        drew = pacing.by_process(trace)
        summary["pacing"]["by_drawer"] = drew.get(drawer.pid, 0) if drawer else 0
    lost = count_lost(meeting, people)
    summary["lost"] = {**lost.__dict__, "total": lost.total}
    summary["jobs"] = drain_jobs(meeting)
    summary["drawing"] = drawing_cost(meeting)
    # The worker's CPU for the meeting's tests, from the meeting's start until they are
    # all done: on 2 cores, what it takes is not the web server's.
    done = sum(summary["jobs"].values())
    worker_cpu = processes.group_cpu_seconds(worker_group) - worker_cpu
    worker_wall = time.monotonic() - worker_started
    summary["worker_cpu"] = {"seconds": worker_cpu, "wall_seconds": worker_wall,
                             "ms_per_job": 1000 * worker_cpu / done if done else 0.0}
    phase(f"{members} members: analysis jobs finished", clock)
    summary["errors"] += summary["yardstick"]["errors"]
    summary["passed"] = (summary["errors"] == 0 and lost.total == 0
                         and summary["delivery"]["undelivered"] == 0
                         and (summary.get("drawer") or {}).get("exited") is None)
    return summary


def environment(database_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESISLAB_TESTING"}
    # The private Redis carries the Celery messages and each change between web processes.
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, LIVE_BROADCAST_URL=redis_url,
               DATA_DIR=str(data_dir),
               SECRET_KEY=secrets.token_urlsafe(32), DEBUG="0", ALLOWED_HOSTS="127.0.0.1",
               LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1", DJANGO_SETTINGS_MODULE=
               "hypothesislab.settings")
    return env


@contextmanager
def throwaway_database(base_url: str):
    """A new, empty database on the server DATABASE_URL names; dropped afterwards."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    if not base_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("make loadtest needs PostgreSQL: set DATABASE_URL=postgres://user@"
                         "127.0.0.1:5432/anyname (a throwaway database is made beside it).")
    config = dj_database_url.parse(base_url)
    if config.get("HOST") not in LOCAL_HOSTS:
        raise SystemExit("The load test runs against a PostgreSQL on this machine only.")
    name = f"hypothesislab_load_{uuid.uuid4().hex[:10]}"
    admin = psycopg.connect(dbname="postgres", user=config.get("USER") or None,
                            password=config.get("PASSWORD") or None,
                            host=config.get("HOST") or None, port=config.get("PORT") or None,
                            autocommit=True)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        parts = urlsplit(base_url)
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        _close_connections()
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                      .format(sql.Identifier(name)))
        admin.close()


def _close_connections() -> None:
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


def wait_for_worker(worker, name: str, log: Path) -> None:
    from hypothesislab.celery import app

    def answers() -> bool:
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited early:\n{log.read_text()[-3000:]}")
        return bool(app.control.ping(timeout=0.5, destination=[name]))

    processes.wait_until(answers, timeout=90, what="the Celery worker answering")


def drain_jobs(meeting) -> dict[str, int]:
    """Let the worker finish the queued tests (bounded); how the jobs ended."""
    from django.db.models import Count

    from analytics.models import AnalysisJob, JobStatus

    jobs = AnalysisJob.objects.filter(session_test__session_id=meeting.session_id)

    def finished() -> bool:
        return not jobs.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists()

    try:
        processes.wait_until(finished, timeout=JOBS_DRAIN_SECONDS, what="jobs", every=0.5)
    except AssertionError:
        pass
    counts = dict(jobs.values_list("status").annotate(n=Count("pk")))
    _close_connections()
    return counts


def drawing_cost(meeting, times: int = 9) -> dict:
    """What one live drawing of the session as the meeting left it costs in CPU (median,
    here in this process, after a first drawing: as a web process draws a change)."""
    import statistics

    from sessions import regions
    from sessions.models import Finding, Hypothesis

    regions.draw(meeting.session_id)
    costs = []
    for _ in range(times):
        started = time.thread_time()
        regions.draw(meeting.session_id)
        costs.append(time.thread_time() - started)
    figures = {"ms": 1000 * statistics.median(costs),
               "cards": Hypothesis.objects.filter(session_id=meeting.session_id).count(),
               "findings": Finding.objects.filter(session_id=meeting.session_id).count()}
    _close_connections()
    return figures


def yardstick(port: int, args) -> dict:
    """/healthz, `clients` at a time flat out: what this machine's web tier answers at
    best right now, so the meeting's figures can be read as ratios."""
    samples, seconds = flat_out(port, args, path="/healthz", seconds=args.yardstick_seconds,
                                expect=(200,))
    row = by_endpoint(samples, seconds)["all"]
    return {"clients": args.clients, "seconds": seconds, **row}


def flat_out(port: int, args, *, path: str, seconds: float, expect: tuple[int, ...],
             cookies: dict | None = None, htmx: bool = False) -> tuple[list, float]:
    """`args.clients` clients asking for `path` back to back for `seconds`: the samples,
    and the time it took."""
    recorder = Recorder()
    budget = Budget(seconds=seconds, max_requests=args.max_requests)
    headers = {"HX-Request": "true"} if htmx else None

    def loop() -> None:
        client = Client(port, recorder, budget, cookies=cookies)
        try:
            while True:
                client.get(path, "x", expect=expect, headers=headers)
        except OutOfBudget:
            client.close()

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(args.clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    return recorder.samples, time.monotonic() - started


if __name__ == "__main__":
    sys.exit(main())
