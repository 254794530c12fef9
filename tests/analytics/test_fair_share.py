"""Fair share (issue 12, problem 3): one team's long jobs never take every worker, and a
working session's jobs go ahead of the explorer's. The decision is made from the job rows
when a job is claimed; these tests call it with rows, deterministically."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from celery import Signature
from django.utils import timezone

from accounts.models import Team
from analytics import execution, jobs, runners, scheduling
from analytics.models import AnalysisJob, Dataset, JobStatus
from hypothesislab import tasks_runner
from hypothesislab.celery import ANALYTICS_QUEUE, HIGH_PRIORITY, NORMAL_PRIORITY, app


@pytest.fixture
def other_team(db) -> Team:
    return Team.objects.create(name="Other Growth", slug="other-growth")


def job(team, *, status=JobStatus.QUEUED, heartbeat_age: timedelta | None = timedelta(0),
        kind=AnalysisJob.Kind.SQL) -> AnalysisJob:
    dataset, _ = Dataset.objects.get_or_create(team=team, name="Events",
                                               defaults={"current_version": 1})
    now = timezone.now()
    running = status == JobStatus.RUNNING
    return AnalysisJob.objects.create(
        team=team, dataset=dataset, dataset_version=1, kind=kind, success={},
        options={"sql": "SELECT 42"}, status=status, attempts=1 if running else 0,
        started_at=now if running else None,
        heartbeat_at=now - heartbeat_age if running and heartbeat_age is not None else None)


def test_a_team_running_its_share_waits_while_another_team_goes_ahead(settings, team,
                                                                      other_team):
    settings.TEAM_MAX_RUNNING_JOBS = 1
    job(team, status=JobStatus.RUNNING)
    second, third = job(team), job(team)
    small = job(other_team)

    assert scheduling.must_wait(second) and scheduling.must_wait(third)
    assert not scheduling.must_wait(small)
    assert scheduling.claim_within_share(second.pk) is scheduling.WAIT
    claimed = scheduling.claim_within_share(small.pk)
    assert claimed.pk == small.pk and claimed.status == JobStatus.RUNNING
    second.refresh_from_db()
    # The waiting job's row is untouched: still queued, no attempt spent.
    assert (second.status, second.attempts, second.started_at) == (JobStatus.QUEUED, 0, None)


def test_the_share_is_a_number_of_jobs_and_zero_means_no_limit(settings, team):
    job(team, status=JobStatus.RUNNING)
    queued = job(team)
    settings.TEAM_MAX_RUNNING_JOBS = 2
    assert not scheduling.must_wait(queued)
    job(team, status=JobStatus.RUNNING)
    assert scheduling.must_wait(queued)
    settings.TEAM_MAX_RUNNING_JOBS = 0
    assert not scheduling.must_wait(queued)
    assert scheduling.claim_within_share(queued.pk).status == JobStatus.RUNNING


def test_a_job_whose_worker_died_holds_no_place(settings, team):
    settings.TEAM_MAX_RUNNING_JOBS = 1
    job(team, status=JobStatus.RUNNING, heartbeat_age=jobs.STALE_AFTER + timedelta(seconds=1))
    job(team, status=JobStatus.DONE)
    assert not scheduling.must_wait(job(team))


def test_the_last_place_is_claimed_once(settings, team):
    settings.TEAM_MAX_RUNNING_JOBS = 1
    first, second = job(team), job(team)
    assert scheduling.claim_within_share(first.pk).status == JobStatus.RUNNING
    assert scheduling.claim_within_share(second.pk) is scheduling.WAIT
    # A duplicate message of the running job is not ours to run, share or not.
    assert scheduling.claim_within_share(first.pk) is None


def test_a_celery_task_of_a_team_at_its_share_retries_soon_and_keeps_its_row(settings, team):
    settings.TEAM_MAX_RUNNING_JOBS = 1
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as in a worker
    job(team, status=JobStatus.RUNNING)
    waiting = job(team)
    asked = []

    class Retry(Exception):
        pass

    def retry(**options):
        asked.append(options)
        return Retry()

    with pytest.raises(Retry):
        execution.run_analysis(waiting.pk, retry=retry)
    assert asked == [{"countdown": scheduling.WAIT_SECONDS, "max_retries": None}]
    waiting.refresh_from_db()
    assert waiting.status == JobStatus.QUEUED and waiting.attempts == 0


def test_a_command_runs_its_job_now_whatever_the_share(settings, team, monkeypatch):
    # manage.py analyze and the demos call execution directly and need the result.
    settings.TEAM_MAX_RUNNING_JOBS = 1
    job(team, status=JobStatus.RUNNING)
    direct = job(team)
    monkeypatch.setitem(runners.RUNNERS, "sql", lambda version, job, settings: {"rows": []})
    execution.run_analysis(direct.pk)
    direct.refresh_from_db()
    assert direct.status == JobStatus.DONE


def test_a_sessions_tests_are_sent_ahead_of_explorer_questions(team, owner, teammate,
                                                               monkeypatch):
    from sessions import services
    from sessions.steps import Step
    from tests.worksessions.factories import INVITED, make_session, move_to

    sent: list[Signature] = []
    monkeypatch.setattr(tasks_runner, "_send", sent.append)
    session = move_to(make_session(team, owner, members=(teammate,)), Step.HYPOTHESES)
    entry = services.hypothesis_create(session=session, author=teammate, text="Inviters buy",
                                       criterion=INVITED)
    move_to(session, Step.TEST)
    services.hypothesis_test_run(hypothesis=entry, by=teammate)
    from analytics.services import analysis_submit

    analysis_submit(team=team, dataset=session.dataset, success={"events": ["purchase"]},
                    kind=AnalysisJob.Kind.SQL, options={"sql": "SELECT 42"})
    priorities = [(s.task, s.options.get("priority")) for s in sent]
    assert priorities == [("analytics.run_analysis", HIGH_PRIORITY),
                          ("analytics.run_analysis", NORMAL_PRIORITY)]
    assert scheduling.SESSION_PRIORITY < scheduling.EXPLORE_PRIORITY  # Redis: lower first


def test_analytics_messages_without_a_priority_are_routed_normal():
    route = app.amqp.router.route({}, "analytics.run_analysis")
    assert route["queue"].name == ANALYTICS_QUEUE and route["priority"] == NORMAL_PRIORITY
    explicit = app.amqp.router.route({"priority": HIGH_PRIORITY}, "analytics.run_analysis")
    assert explicit["priority"] == HIGH_PRIORITY
    steps = app.conf.broker_transport_options["priority_steps"]
    assert HIGH_PRIORITY in steps and NORMAL_PRIORITY in steps


# The embedded pool: the same order without Redis.

def task(name: str, priority: int | None = None) -> Signature:
    options = {} if priority is None else {"priority": priority}
    return Signature(name, options=options)


def test_the_pool_takes_high_priority_first_then_in_order_and_retries_deferred_ones(
        monkeypatch):
    ran: list[str] = []
    hold, busy, done = threading.Event(), threading.Event(), threading.Event()
    deferred_once: set[str] = set()

    def run(signature):
        ran.append(signature.task)
        if signature.task == "first":
            busy.set()
            hold.wait(10)
        if signature.task == "over-share" and signature.task not in deferred_once:
            deferred_once.add(signature.task)
            return 30.0  # asks to wait; the next task to finish wakes it early
        if len(ran) == 6:
            done.set()
        return None

    monkeypatch.setattr(tasks_runner, "_run", run)
    pool = tasks_runner.Pool(1)
    pool.submit(task("first"))
    assert busy.wait(10)  # the pool's one thread is taken: the rest wait in the pool
    pool.submit(task("over-share"))
    pool.submit(task("explore"))
    pool.submit(task("session", HIGH_PRIORITY))
    pool.submit(task("import"))
    hold.set()
    assert done.wait(10), ran
    assert ran == ["first", "session", "over-share", "explore", "over-share", "import"]


def test_the_embedded_default_runs_a_small_pool(settings):
    assert settings.TASKS_BACKGROUND_THREADS >= 2
    assert settings.TEAM_MAX_RUNNING_JOBS == 1


def test_the_share_comes_from_the_environment_and_is_documented(monkeypatch):
    import importlib
    from pathlib import Path

    import hypothesislab.settings as module

    monkeypatch.setenv("TEAM_MAX_RUNNING_JOBS", "3")
    monkeypatch.setenv("TASKS_BACKGROUND_THREADS", "4")
    reloaded = importlib.reload(module)
    try:
        assert (reloaded.TEAM_MAX_RUNNING_JOBS, reloaded.TASKS_BACKGROUND_THREADS) == (3, 4)
    finally:
        monkeypatch.delenv("TEAM_MAX_RUNNING_JOBS")
        monkeypatch.delenv("TASKS_BACKGROUND_THREADS")
        importlib.reload(module)
    documented = (Path(module.BASE_DIR) / ".env.example").read_text().splitlines()
    assert "TEAM_MAX_RUNNING_JOBS=1" in documented and "TASKS_BACKGROUND_THREADS=2" in documented
