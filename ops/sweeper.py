"""Jobs whose broker message was lost get a new one.

The job row is the truth and the broker only a doorbell: a Redis restart without
persistence drops every queued message, a task sent while Redis was down never arrives,
and a worker that died with its parent leaves its message aside until the visibility
timeout (an hour). The rows still say queued or running. Every minute the sweeper rings
again for those:

- queued for more than QUEUED_GRACE while their queue is empty (nothing can be waiting
  ahead of them, so their message is gone), or queued for more than QUEUED_LIMIT
  whatever the queue holds;
- running with a heartbeat quiet for more than RUNNING_GRACE (their worker died).

A duplicate message is harmless: the task claims the row with a conditional UPDATE, so a
second delivery finds nothing to do. Still, a job can look forgotten while its message is
only out of sight (a retry waiting in a worker for its countdown, e.g. an import waiting
for the previous one): a cache key (in Redis, beside the messages, so that a restart that
loses them loses it too) lets the sweeper ring at most once per RESEND_EVERY for a job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.apps import apps
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from analytics import jobs
from analytics.models import JobFields, JobStatus

QUEUED_GRACE = timedelta(seconds=60)
QUEUED_LIMIT = timedelta(minutes=30)
RUNNING_GRACE = jobs.STALE_AFTER * 4
RESEND_EVERY = timedelta(minutes=5)
SWEEP_EVERY = timedelta(seconds=60)
BATCH = 500  # rows per model and sweep: a flood is worked through over several sweeps

# The task that runs each kind of job row; tests/ops checks that every job model is here.
JOB_TASKS: dict[str, str] = {
    "analytics.AnalysisJob": "analytics.run_analysis",
    "analytics.DatasetImport": "analytics.run_import",
}


@dataclass
class Sweep:
    requeued: dict[str, list[int]] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(len(ids) for ids in self.requeued.values())


def job_models() -> list[type[JobFields]]:
    """Every concrete model with a job row's fields, in any app."""
    return [m for m in apps.get_models() if issubclass(m, JobFields)]


def requeue_stale_jobs(*, queue_size: Callable[[str], int | None], send: Callable[[str, int], None],
                       now: datetime | None = None) -> Sweep:
    """Send a new message for every job that looks forgotten (see the module's text).

    queue_size(task_name) is the number of messages waiting in that task's queue (None when
    the broker cannot tell); send(task_name, job_id) sends one."""
    now = now or timezone.now()
    sweep = Sweep()
    for model in job_models():
        label = model._meta.label
        task_name = JOB_TASKS[label]
        waiting = queue_size(task_name)
        queued_since = now - (QUEUED_GRACE if waiting == 0 else QUEUED_LIMIT)
        forgotten = (
            Q(status=JobStatus.QUEUED, created_at__lt=queued_since)
            | Q(status=JobStatus.RUNNING, heartbeat_at__lt=now - RUNNING_GRACE)
        )
        ids = list(model.objects.filter(forgotten).order_by("created_at", "pk")
                   .values_list("pk", flat=True)[:BATCH])
        for pk in ids:
            # add() is atomic: two sweepers (two beats by mistake) ring once.
            if not cache.add(_rung_key(label, pk), 1, RESEND_EVERY.total_seconds()):
                continue
            send(task_name, pk)
            sweep.requeued.setdefault(label, []).append(pk)
    return sweep


def _rung_key(label: str, pk: int) -> str:
    return f"ops:requeued:{label}:{pk}"
