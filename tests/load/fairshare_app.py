"""The real Celery app with one test-only change, for `python -m tests.load.fairshare`:
the console's runner is a stub that waits `options["stub_seconds"]` (the load of a heavy
query, without taking the machine's cores from everyone else) and answers 42. It stops
early once its row is no longer running (the measurement cancels what it no longer needs).
Everything around it (claim, fair share, heartbeat, retry, finish) is the production path."""

from __future__ import annotations

import time

from celery.signals import worker_process_init

from hypothesislab.celery import app

__all__ = ["app", "install_stub"]


def stub_sql(version, job, settings) -> dict:
    from analytics.models import AnalysisJob, JobStatus

    deadline = time.monotonic() + float((job.options or {}).get("stub_seconds", 0))
    while time.monotonic() < deadline:
        time.sleep(0.25)
        if not AnalysisJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).exists():
            break  # cancelled by the measurement
    return {"columns": ["answer"], "rows": [[42]], "truncated": False}


def install_stub() -> None:
    from analytics import runners

    runners.RUNNERS["sql"] = stub_sql


@worker_process_init.connect
def _install(**_kwargs) -> None:
    install_stub()
