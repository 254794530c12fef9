"""Thin tasks: take an id, claim the row, call a service. The row is the truth, so a
duplicated or redelivered message finds nothing to do, and a job whose worker died is
taken over once its heartbeat is stale."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from . import jobs
from .models import AnalysisJob, DatasetImport, JobStatus
from .services import NotYetRunnable

log = logging.getLogger(__name__)


def _run(task, model, job_id: int, execute) -> None:
    job = jobs.claim(model, job_id)
    if job is None:
        if jobs.is_running_elsewhere(model, job_id) and not settings.CELERY_TASK_ALWAYS_EAGER:
            # Another worker holds it, or held it and died: look again once its
            # heartbeat would have gone stale.
            raise task.retry(countdown=jobs.STALE_AFTER.total_seconds() + 1, max_retries=20)
        return
    try:
        with jobs.heartbeat(job, enabled=not settings.CELERY_TASK_ALWAYS_EAGER):
            execute(job)
    except NotYetRunnable:
        jobs.release(job)
        raise task.retry(countdown=2, max_retries=None) from None
    except SoftTimeLimitExceeded:
        jobs.finish(job, status=JobStatus.FAILED,
                    error=f"Stopped: took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} s.")
    except Exception:
        log.exception("%s %s failed", model.__name__, job_id)
        jobs.finish(job, status=JobStatus.FAILED,
                    error="Something went wrong on our side; the error was logged.")
        if settings.CELERY_TASK_EAGER_PROPAGATES:
            raise


@shared_task(name="analytics.run_import", bind=True)
def run_import(self, import_id: int) -> None:
    from .services import import_execute

    _run(self, DatasetImport, import_id, import_execute)


@shared_task(name="analytics.run_analysis", bind=True)
def run_analysis(self, job_id: int) -> None:
    from .services import analysis_execute

    _run(self, AnalysisJob, job_id, analysis_execute)
