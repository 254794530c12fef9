"""The sweeper rings again for jobs whose message was lost, and only for those."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from analytics.models import AnalysisJob, Dataset, DatasetImport, JobStatus
from hypothesislab.celery import app
from ops import sweeper
from ops.tasks import requeue_stale_jobs

NOW = timezone.now()


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def dataset(team, owner):
    return Dataset.objects.create(team=team, name="Events", created_by=owner)


def analysis(dataset, *, age: timedelta, status=JobStatus.QUEUED, heartbeat_age=None):
    return AnalysisJob.objects.create(
        team=dataset.team, dataset=dataset, dataset_version=1, success={"events": ["x"]},
        status=status, created_at=NOW - age,
        heartbeat_at=None if heartbeat_age is None else NOW - heartbeat_age,
    )


class Broker:
    """A fake broker: how many messages each queue holds, and what was sent."""

    def __init__(self, waiting: int | None = 0):
        self.waiting = waiting
        self.sent: list[tuple[str, int]] = []

    def queue_size(self, task_name: str) -> int | None:
        return self.waiting

    def send(self, task_name: str, job_id: int) -> None:
        self.sent.append((task_name, job_id))

    def sweep(self, now=NOW):
        return sweeper.requeue_stale_jobs(queue_size=self.queue_size, send=self.send, now=now)


def test_a_queued_job_behind_an_empty_queue_is_sent_again_after_the_grace(dataset):
    lost = analysis(dataset, age=sweeper.QUEUED_GRACE + timedelta(seconds=1))
    analysis(dataset, age=sweeper.QUEUED_GRACE - timedelta(seconds=1))
    broker = Broker(waiting=0)
    sweep = broker.sweep()
    assert broker.sent == [("analytics.run_analysis", lost.pk)]
    assert sweep.requeued == {"analytics.AnalysisJob": [lost.pk]}


def test_a_busy_queue_holds_its_jobs_until_the_limit_then_they_are_sent_once(dataset):
    waiting = analysis(dataset, age=timedelta(minutes=10))
    lost = analysis(dataset, age=sweeper.QUEUED_LIMIT + timedelta(seconds=1))
    broker = Broker(waiting=7)
    broker.sweep()
    broker.sweep(now=NOW + sweeper.SWEEP_EVERY)
    assert broker.sent == [("analytics.run_analysis", lost.pk)]
    assert waiting.pk not in [pk for _, pk in broker.sent]


def test_a_job_is_sent_again_at_most_once_per_resend_period(dataset):
    lost = analysis(dataset, age=timedelta(minutes=2))
    broker = Broker(waiting=0)
    broker.sweep()
    broker.sweep(now=NOW + sweeper.SWEEP_EVERY)  # its retry may be waiting in a worker
    assert broker.sent == [("analytics.run_analysis", lost.pk)]
    cache.clear()  # Redis restarted: the messages and the marks are gone together
    broker.sweep(now=NOW + 2 * sweeper.SWEEP_EVERY)
    assert broker.sent == [("analytics.run_analysis", lost.pk)] * 2


def test_a_broker_that_cannot_tell_its_queue_size_counts_as_busy(dataset):
    analysis(dataset, age=timedelta(minutes=10))
    broker = Broker(waiting=None)
    broker.sweep()
    assert broker.sent == []


def test_a_running_job_is_sent_again_only_once_its_heartbeat_has_gone_quiet(dataset):
    analysis(dataset, age=timedelta(hours=1), status=JobStatus.RUNNING,
             heartbeat_age=timedelta(seconds=5))
    dead = analysis(dataset, age=timedelta(hours=1), status=JobStatus.RUNNING,
                    heartbeat_age=sweeper.RUNNING_GRACE + timedelta(seconds=1))
    broker = Broker(waiting=0)
    broker.sweep()
    assert broker.sent == [("analytics.run_analysis", dead.pk)]


def test_finished_jobs_are_never_sent(dataset):
    for status in (JobStatus.DONE, JobStatus.FAILED):
        analysis(dataset, age=timedelta(days=1), status=status,
                 heartbeat_age=timedelta(days=1))
    broker = Broker(waiting=0)
    broker.sweep()
    assert broker.sent == []


def test_imports_are_swept_with_their_own_task(dataset):
    stuck = DatasetImport.objects.create(dataset=dataset, version=1,
                                         created_at=NOW - timedelta(minutes=5))
    broker = Broker(waiting=0)
    broker.sweep()
    assert broker.sent == [("analytics.run_import", stuck.pk)]


def test_every_job_model_has_a_registered_task(db):
    app.loader.import_default_modules()
    labels = {model._meta.label for model in sweeper.job_models()}
    assert labels == set(sweeper.JOB_TASKS)
    for task_name in sweeper.JOB_TASKS.values():
        assert task_name in app.tasks


def test_beat_sweeps_every_minute():
    entries = [e for e in app.conf.beat_schedule.values()
               if e["task"] == "ops.requeue_stale_jobs"]
    assert len(entries) == 1
    assert entries[0]["schedule"] == sweeper.SWEEP_EVERY.total_seconds()
    assert entries[0]["options"]["expires"] < entries[0]["schedule"]


def test_without_a_broker_there_is_nothing_to_sweep(dataset, monkeypatch):
    analysis(dataset, age=timedelta(hours=1))
    sent = []
    monkeypatch.setattr("ops.tasks.send", lambda *args: sent.append(args))
    assert requeue_stale_jobs() == 0
    assert sent == []
