"""A Celery worker killed with SIGKILL in the middle of an analysis: the job is delivered
again and finishes exactly once, with the result the engine gives when nothing fails.

Two ways to die: only the pool process that runs the task (the kernel's OOM killer picks
the biggest process), and the whole worker with its parent (a host or container gone).
The first comes back at once (acks_late + reject_on_worker_lost); the second only after
Redis' visibility timeout, through the next worker that starts."""

from __future__ import annotations

import os
import signal
import time

import pytest

from analytics.execution import engine_settings
from analytics.models import AnalysisJob, JobStatus
from analytics.runners import RUNNERS
from analytics.services import analysis_submit
from tests.faults.conftest import waiting
from tests.load import processes
from tests.worksessions.factories import INVITED, make_dataset, make_success

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery_worker,
              pytest.mark.slow]

# Short enough for a test, long enough that a healthy heartbeat (every second) never
# looks stale on a busy machine.
STALE_AFTER = 4
VISIBILITY_TIMEOUT = 3
FAULT_ENV = {
    "FAULT_HOLD_FIRST_ATTEMPT": "1",
    "FAULT_STALE_AFTER": str(STALE_AFTER),
    "FAULT_HEARTBEAT_EVERY": "1",
    "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
}


@pytest.fixture
def job_to_run(team, owner):
    dataset = make_dataset(team, n_users=120)
    success = make_success(team, dataset, by=owner)
    return dataset, success


def submit(team, owner, dataset, success) -> AnalysisJob:
    return analysis_submit(team=team, dataset=dataset, success=success.definition,
                           criterion=INVITED, created_by=owner)


def expected_result(job: AnalysisJob) -> dict:
    """What the engine gives for this job when nothing goes wrong, computed here."""
    job.refresh_from_db()
    return RUNNERS["analyze"](job.dataset.version(job.dataset_version), job, engine_settings())


def held_attempt(journal, job: AnalysisJob) -> dict:
    return processes.wait_until(
        lambda: next(iter(journal.lines(event="holding", job=job.pk)), None),
        timeout=60, what="the first attempt started computing")


def finished(job: AnalysisJob, timeout: float, workers) -> AnalysisJob:
    def done():
        job.refresh_from_db()
        return job.status in (JobStatus.DONE, JobStatus.FAILED)

    try:
        processes.wait_until(done, timeout=timeout, what=f"job {job.pk} finished")
    except AssertionError:
        raise AssertionError(f"job {job.pk} is {job.status} after {job.attempts} attempts\n"
                             f"{workers.logs()}") from None
    return job


def broker_drained(broker) -> None:
    """No copy of the message is left to deliver a third time: queues and the unacked
    index are empty once the task has been acknowledged."""
    def empty() -> bool:
        return (waiting(broker) == "0"
                and broker.command("ZCARD", "unacked_index") == "0")

    processes.wait_until(empty, timeout=15, what="the broker holding no message")


def assert_ran_exactly_once(job: AnalysisJob, journal) -> None:
    assert job.status == JobStatus.DONE, job.error
    assert job.attempts == 2  # the killed one, and the one that finished
    computed = journal.lines(event="computed", job=job.pk)
    assert [line["attempt"] for line in computed] == [2]
    assert job.result == expected_result(job)


def test_the_pool_process_killed_mid_analysis(broker, workers, journal, team, owner,
                                              job_to_run):
    workers.start(**FAULT_ENV)
    job = submit(team, owner, *job_to_run)
    holding = held_attempt(journal, job)
    job.refresh_from_db()
    assert (job.status, job.attempts) == (JobStatus.RUNNING, 1)

    os.kill(holding["pid"], signal.SIGKILL)

    # The parent puts the message back and a new pool process gets it; the row still
    # says running, so it waits for the heartbeat to go stale, then takes over.
    job = finished(job, timeout=60, workers=workers)
    assert_ran_exactly_once(job, journal)
    broker_drained(broker)


def test_the_whole_worker_killed_mid_analysis(broker, workers, journal, team, owner,
                                             job_to_run):
    first = workers.start(**FAULT_ENV)
    job = submit(team, owner, *job_to_run)
    held_attempt(journal, job)

    processes.kill(first)
    # Nobody acknowledged the message: Redis keeps it aside, out of every queue.
    assert broker.command("ZCARD", "unacked_index") == "1"
    assert waiting(broker) == "0"

    # A worker that starts once the visibility timeout has passed puts it back.
    taken_at = float(broker.command("ZRANGE", "unacked_index", "0", "0", "WITHSCORES")
                     .split()[1])
    processes.wait_until(lambda: time.time() > taken_at + VISIBILITY_TIMEOUT + 0.5,
                         timeout=VISIBILITY_TIMEOUT + 5, what="the visibility timeout")
    workers.start(**FAULT_ENV)

    job = finished(job, timeout=60, workers=workers)
    assert_ran_exactly_once(job, journal)
    broker_drained(broker)
