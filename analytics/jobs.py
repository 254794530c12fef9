"""Claiming and finishing job rows. A worker owns a job only after a conditional UPDATE
moves it from queued to running (or takes over a running job whose heartbeat has gone
quiet, because its worker died); every later write names the attempt it belongs to, so a
worker that was presumed dead cannot overwrite the result of the one that took over."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import timedelta

from django.db import close_old_connections
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone

from .models import JobStatus

# Sent (sender=the job's model, job_id=..., ended=False when a job starts running, True
# when it has ended), in whatever process runs it: the live session page follows its
# session's jobs by it.
job_changed = Signal()

HEARTBEAT_EVERY = timedelta(seconds=5)
STALE_AFTER = timedelta(seconds=30)
# A job whose worker died this many times (out of memory, killed at the hard time limit)
# is failed instead of being handed to the next worker to kill.
MAX_ATTEMPTS = 3


def claim(model, job_id: int):
    """The job, now running under a new attempt, or None when it is not ours to run."""
    now = timezone.now()
    exhausted = Q(status=JobStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER,
                  attempts__gte=MAX_ATTEMPTS)
    updated = (
        model.objects.filter(pk=job_id)
        .filter(claimable(now)).exclude(exhausted)
        .update(status=JobStatus.RUNNING, started_at=now, heartbeat_at=now,
                attempts=F("attempts") + 1, error="")
    )
    if not updated:
        # Only now, when the claim failed (one query less for every job that starts): a
        # job whose worker died too often is failed instead of being tried again.
        model.objects.filter(exhausted, pk=job_id).update(
            status=JobStatus.FAILED, finished_at=now,
            error=f"Stopped after {MAX_ATTEMPTS} attempts: each time, the worker running it "
                  "died (usually from running out of memory or time).",
        )
        return None
    return model.objects.get(pk=job_id)


def claimable(now) -> Q:
    """The rows a worker may claim: queued, or running under a worker that went quiet."""
    return Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING,
                                          heartbeat_at__lt=now - STALE_AFTER)


def is_running_elsewhere(model, job_id: int) -> bool:
    return model.objects.filter(pk=job_id, status=JobStatus.RUNNING).exists()


def finish(job, *, status: str, **fields) -> bool:
    """Record the outcome if this attempt still owns the job."""
    now = timezone.now()
    updated = type(job).objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts
    ).update(status=status, finished_at=now, heartbeat_at=now, **fields)
    if updated:
        job.status = status
        job.finished_at = now
        for name, value in fields.items():
            setattr(job, name, value)
    return bool(updated)


def release(job) -> bool:
    """Give a claimed job back to the queue (it must wait for another job first)."""
    return bool(type(job).objects.filter(
        pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts
    ).update(status=JobStatus.QUEUED, started_at=None, heartbeat_at=None,
             attempts=F("attempts") - 1))


@contextmanager
def heartbeat(job, *, enabled: bool = True):
    """Keep the job's heartbeat fresh while the body runs, from a side thread."""
    if not enabled:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(HEARTBEAT_EVERY.total_seconds()):
                type(job).objects.filter(
                    pk=job.pk, status=JobStatus.RUNNING, attempts=job.attempts
                ).update(heartbeat_at=timezone.now())
        finally:
            close_old_connections()

    thread = threading.Thread(target=beat, name=f"heartbeat-{job.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
