"""`make loadtest`: the app under a meeting's load, on this machine, bounded.

    python -m tests.load.run [--members 50] [--seconds 60] [--json PATH]

Creates a throwaway PostgreSQL database next to DATABASE_URL's (dropped at the end),
starts a private redis-server, one Celery worker and gunicorn as docker-compose runs
them, all on 127.0.0.1, builds a team of N members with the demo product's data in one
session, and plays the meeting (tests/load/scenario.py) for the given time. Then it
measures, in the same run and with the same client, how many requests per second the
session's poll and a trivial view (/healthz) answer flat out, so that their ratio means
the same on any machine, and checks that every acknowledged write is in the database.

Prints a table; exits 1 if any request failed or any acknowledged write is missing."""

from __future__ import annotations

import argparse
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

from . import processes
from .client import Budget, Client, OutOfBudget, Recorder, poll_url_in
from .report import by_endpoint, table

LOCAL_HOSTS = {"127.0.0.1", "localhost", "", None}
GUNICORN_WORKERS = 3  # as docker-compose.yml runs the web service
JOBS_DRAIN_SECONDS = 90


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tests.load.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--users", type=int, default=4000,
                        help="users in the dataset (the demo product's data)")
    parser.add_argument("--max-requests", type=int, default=100_000,
                        help="a hard cap on the meeting's requests")
    parser.add_argument("--saturation-seconds", type=float, default=5)
    parser.add_argument("--web-workers", type=int, default=GUNICORN_WORKERS,
                        help="gunicorn sync workers (docker-compose runs 3)")
    parser.add_argument("--clients", type=int, default=8,
                        help="concurrent clients in the throughput measurement")
    parser.add_argument("--database-url", help="use this migrated PostgreSQL database as it "
                        "is (the smoke test's) instead of creating a throwaway one")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not 1 <= args.members <= 200 or not 0 < args.seconds <= 600:
        parser.error("1-200 members for at most 600 seconds")
    return args


def phase(what: str, since: list[float]) -> None:
    """Where the run's time goes, on stderr (the table is stdout's)."""
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
        # The worker and gunicorn boot while the demo team is built.
        worker_name = f"load-{os.getpid()}@{os.uname().nodename}"
        worker = processes.start_worker(env, tmp / "worker.log", hostname=worker_name)
        stack.callback(processes.stop, worker)
        port = processes.free_port()
        web = processes.start_gunicorn(env, tmp / "web.log", port=port, wait=False,
                                       workers=args.web_workers, access_log=False)
        stack.callback(processes.stop, web)
        from .scenario import build_meeting

        meeting = build_meeting(members=args.members, users=args.users)
        phase(f"a team of {args.members} members in a session", clock)
        _close_connections()  # the web and worker processes take over
        processes.wait_for_web(web, port, tmp / "web.log")
        wait_for_worker(worker, worker_name, tmp / "worker.log")
        phase("worker and gunicorn answering", clock)

        summary = run_meeting(meeting, port, args)
        phase("meeting over", clock)
        summary["jobs"] = drain_jobs(meeting)
        phase("analysis jobs finished", clock)
        everyone_leaves(meeting)
        summary["saturation"] = saturation(meeting, port, args)
        phase("throughput measured", clock)
        summary["errors"] = (summary["endpoints"]["all"]["errors"]
                             + sum(r["errors"] for r in summary["saturation"]["endpoints"].values()))
        summary["passed"] = summary["errors"] == 0 and summary["lost"]["total"] == 0
        print(table(summary))
        if args.json:
            args.json.write_text(json.dumps(summary, indent=1, default=str))
        if not summary["passed"]:
            for name in ("web.log", "worker.log"):
                print(f"--- {name} (end)\n{(tmp / name).read_text()[-3000:]}", file=sys.stderr)
        return 0 if summary["passed"] else 1


def environment(database_url: str, redis_url: str, data_dir: Path) -> dict[str, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESISLAB_TESTING"}
    env.update(DATABASE_URL=database_url, REDIS_URL=redis_url, DATA_DIR=str(data_dir),
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


def run_meeting(meeting, port: int, args) -> dict:
    from .scenario import Member, count_lost

    recorder = Recorder()
    budget = Budget(seconds=args.seconds + 600, max_requests=args.max_requests)
    members = [Member(n, meeting, port, recorder, budget, args.seconds, seed=n)
               for n in range(args.members)]
    opening = [threading.Thread(target=m.prepare, daemon=True) for m in members]
    for thread in opening:
        thread.start()
    for thread in opening:
        thread.join(timeout=120)
    budget.deadline = time.monotonic() + args.seconds  # the clock starts now
    started = time.monotonic()
    threads = [thread for member in members for thread in member.start()]
    for thread in threads:
        thread.join(timeout=args.seconds + 60)
    elapsed = time.monotonic() - started
    stuck = sum(1 for t in threads if t.is_alive())
    lost = count_lost(meeting, members)
    return {
        "members": args.members, "seconds": elapsed,
        "gunicorn": f"{args.web_workers} sync workers",
        "endpoints": by_endpoint(recorder.samples, elapsed),
        "lost": {**lost.__dict__, "total": lost.total},
        "stuck_members": stuck,
    }


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


def everyone_leaves(meeting) -> None:
    """The meeting is over: nobody is present any more. Otherwise the count of people
    present would change while the poll is measured (each presence lasts 20 s), and a
    poll that should find nothing new would find that."""
    from datetime import timedelta

    from django.utils import timezone

    from sessions.models import Participant

    Participant.objects.filter(session_id=meeting.session_id).update(
        last_seen_at=timezone.now() - timedelta(hours=1))
    _close_connections()


ROUNDS = 5  # the measurements take turns, so a change in the machine's load hits all alike


def saturation(meeting, port: int, args) -> dict:
    """Requests per second, `clients` at a time flat out: /healthz, the poll when nothing
    changed (its common answer, 204) and the poll when something did (200), in turns of
    saturation-seconds / ROUNDS each."""
    member = Client(port, Recorder(), Budget(seconds=60, max_requests=20),
                    cookies=meeting.cookies[min(1, len(meeting.cookies) - 1)])
    poll = settled_poll(member, meeting.session_path)
    changed = poll.replace("v=", "v=0&was=", 1)
    targets = {
        "/healthz": dict(path="/healthz", expect=(200,)),
        "poll, nothing new (204)": dict(path=poll, expect=(204,), cookies=member.cookies,
                                        htmx=True),
        "poll, something new (200)": dict(path=changed, expect=(200,),
                                          cookies=member.cookies, htmx=True),
    }
    samples: dict[str, list] = {name: [] for name in targets}
    spent = dict.fromkeys(targets, 0.0)
    for _ in range(ROUNDS):
        for name, target in targets.items():
            found, seconds = flat_out(port, args, seconds=args.saturation_seconds / ROUNDS,
                                      **target)
            samples[name] += found
            spent[name] += seconds
    measured = {name: by_endpoint(samples[name], spent[name])["x"] for name in targets}
    return {"clients": args.clients, "seconds": args.saturation_seconds,
            "healthz": measured["/healthz"], "endpoints": measured}


def settled_poll(member: Client, session_path: str) -> str:
    """The poll address a browser holds once the page has settled: follow the poll's
    answers (as session.js does) until one says nothing is new."""
    page = member.get(session_path, "page")
    poll = poll_url_in(page.body) if page is not None else None
    quiet = 0
    for _ in range(10):
        if poll is None:
            break
        answer = member.get(poll, "poll", expect=(200, 204), headers={"HX-Request": "true"})
        if answer is not None and answer.status == 204:
            quiet += 1
            if quiet == 2:  # the first poll also marks the member present
                member.close()
                return poll
            continue
        quiet = 0
        poll = poll_url_in(answer.body) if answer is not None else None
    raise RuntimeError("the session's poll never settled on \"nothing new\"")


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
