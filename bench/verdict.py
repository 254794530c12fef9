"""Issue 13 point 3, as the page sees it: from "Test" to the verdict on the session page,
with a real Celery worker, for criteria never tested before on a warm success definition.

    python -m bench.step verdict DATA_DIR

A world of its own, removed afterwards: a SQLite database and a data directory in a
temporary directory, a private Redis database (REDIS_DB below) and one Celery worker
process (prefork, concurrency 1, as in production) in its own process group, stopped at
the end whatever happens. The dataset's version 1 is the benchmark's imported dataset
(a symbolic link, so the success definition's per-user table is the one the other steps
warm). A warm-up test runs first: the worker's first job imports the statistics and
opens its DuckDB database, which a worker does once in its life.

Each criterion is then tested through the service the page's "Test" button calls
(sessions.services.hypothesis_test_run, once the member has looked at the check), and
timed until the session's results (what the page draws, sessions.results), read when
the worker's notice arrives on the live channel as the page would, show its verdict. Beside it, the worker's own figure: from claiming the job to the result stored
(the job row's started_at and finished_at)."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REDIS_DB = 13  # not the app's (0) nor the test suite's
LOOK_SECONDS = 0.1
TIMEOUT_SECONDS = 120


def environment(work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"HYPOTHESISLAB_TESTING"}}
    redis = os.environ.get("BENCH_REDIS_URL", f"redis://127.0.0.1:6379/{REDIS_DB}")
    env.update(DJANGO_SETTINGS_MODULE="hypothesislab.settings", DATA_DIR=str(work / "data"),
               SQLITE_PATH=str(work / "db.sqlite3"), REDIS_URL=redis,
               LIVE_BROADCAST_URL=redis, SECRET_KEY="bench-verdict", DEBUG="0",
               PYTHONUNBUFFERED="1")
    env.pop("DATABASE_URL", None)
    return env


def measure(data: Path) -> dict:
    work = Path(tempfile.mkdtemp(prefix="hl-bench-verdict-"))
    try:
        os.environ.update(environment(work))
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("HYPOTHESISLAB_TESTING", None)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        return _with_worker(work, data)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _with_worker(work: Path, data: Path) -> dict:
    from hypothesislab.celery import app
    from tests.celery_worker import stop  # the test suite's way to stop a worker

    app.control.purge()
    log = (work / "worker.log").open("w")
    name = f"bench-verdict-{os.getpid()}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hypothesislab", "worker",
         "--queues", "default,analytics", "--pool", "prefork", "--concurrency", "1",
         "--loglevel", "WARNING", "--hostname", f"{name}@%h", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=environment(work), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5, destination=[f"{name}@{os.uname().nodename}"]):
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{_tail(work / 'worker.log')}")
        return _timed_tests(work, data)
    except Exception as error:
        raise RuntimeError(f"{error}\nworker log:\n{_tail(work / 'worker.log')}") from error
    finally:
        stop(worker)
        log.close()
        app.control.purge()


def _timed_tests(work: Path, data: Path) -> dict:
    from bench.step import CRITERION, NEW_CRITERIA, forget_columns

    session, facilitator = _session(data)
    version = session.dataset.version(1)
    _test(session, facilitator, "Warm-up: the features of the warm table", CRITERION,
          author=_member(session, "warm-up@example.com"))  # three entries each at most
    figures: dict[str, float] = {}
    for kind in ("did_event", "event_count", "property"):
        criterion = NEW_CRITERIA[kind]
        forget_columns(version, criterion)  # never tested before
        seconds, worker_seconds = _test(session, facilitator, f"New: {kind}", criterion)
        figures[kind] = round(seconds, 4)
        figures[f"{kind}_worker"] = round(worker_seconds, 4)
        figures[f"{kind}_ratio"] = round(seconds / worker_seconds, 2)
    kinds = ("did_event", "event_count", "property")
    figures["max_goal_kinds"] = max(figures[k] for k in kinds)
    figures["median"] = statistics.median(figures[k] for k in kinds)
    figures["median_worker"] = statistics.median(figures[f"{k}_worker"] for k in kinds)
    return figures


def _session(data: Path):
    """A team, its facilitator, the benchmark's dataset and a session at the Test step."""
    from dataclasses import asdict

    from accounts.models import Membership, Team, User
    from analytics.models import Dataset
    from analytics.services import success_definition_create
    from bench.step import SUCCESS, version
    from sessions import services, steps
    from sessions.steps import Step

    user = User.objects.create_user(email="bench@example.com", password="bench-verdict-pw")
    team = Team.objects.create(name="Bench", slug="bench")
    Membership.objects.create(team=team, user=user, role=Membership.Role.OWNER)
    dataset = Dataset.objects.create(team=team, name="Bench events")
    dataset.directory.mkdir(parents=True, exist_ok=True)
    (dataset.directory / "v1").symlink_to(version(data).path.resolve())
    Dataset.objects.filter(pk=dataset.pk).update(
        current_version=1, schema=asdict(dataset.version(1).schema()))
    dataset.refresh_from_db()
    success = success_definition_create(team=team, name="Purchased within 14 days",
                                        definition=SUCCESS, created_by=user, dataset=dataset)
    session = services.session_create(team=team, dataset=dataset, success_definition=success,
                                      title="What makes users purchase?", facilitator=user,
                                      hide_entries=False)
    while session.step != Step.TEST:
        session = services.step_move(session=session, by=user,
                                     to=steps.next_step(session.step), expected=session.step)
    return session, user


def _member(session, email: str):
    from accounts.models import Membership, User
    from sessions import services

    user = User.objects.create_user(email=email, password="bench-verdict-pw")
    Membership.objects.create(team=session.team, user=user, role=Membership.Role.MEMBER)
    services.session_join(session=session, user=user)
    return user


def _test(session, user, text: str, criterion: dict, *, author=None) -> tuple[float, float]:
    """Write a hypothesis (as `author`, by default the facilitator `user`), press "Test"
    as `user`, wait for its verdict on the page: the seconds from the press to the
    verdict, and the worker's from its claim to the result stored."""
    import redis

    from analytics.models import JobStatus
    from hypothesislab import broadcast
    from sessions import services
    from sessions.results import session_results

    hypothesis = services.hypothesis_create(session=session, author=author or user, text=text,
                                            criterion=criterion)
    # The page redraws when the worker's notice of the finished job reaches it (the live
    # stream's channel); read the results then, as the page does, and every LOOK_SECONDS
    # whatever happens, in case a notice is missed.
    notices = redis.Redis.from_url(os.environ["REDIS_URL"]).pubsub(
        ignore_subscribe_messages=True)
    notices.subscribe(broadcast.CHANNEL)
    try:
        started = time.perf_counter()
        test = services.hypothesis_test_run(hypothesis=hypothesis, by=user)
        deadline = started + TIMEOUT_SECONDS
        while True:
            row = session_results(session).latest_by_hypothesis().get(hypothesis.pk)
            if row is not None and row.verdict is not None:
                seconds = time.perf_counter() - started
                break
            if row is not None and row.status == JobStatus.FAILED:
                raise RuntimeError(f"the test failed: {row.error}")
            if time.perf_counter() > deadline:
                raise RuntimeError(f"no verdict after {TIMEOUT_SECONDS} s")
            notices.get_message(timeout=LOOK_SECONDS)
    finally:
        notices.close()
    job = type(test.job).objects.get(pk=test.job_id)
    return seconds, (job.finished_at - job.started_at).total_seconds()


def _tail(path: Path, size: int = 3000) -> str:
    try:
        return path.read_text()[-size:]
    except OSError:
        return ""
