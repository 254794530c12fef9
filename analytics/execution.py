"""Running analytics jobs: claim the row, run the engine, record the outcome. The tasks
(analytics/tasks.py) call these with a job's id; so do commands and demos that must have
a result before they return. Nothing here creates a job: that is analytics/services.py."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Max

from hypothesislab import tasks_runner

from . import jobs, scheduling, selectors
from .models import AnalysisJob, Dataset, DatasetImport, JobStatus
from .staging import discard

# The engine (DuckDB, numpy) is imported where a job runs, not here: web processes import
# this module to queue jobs and never run one under Celery, and each would otherwise hold
# some 45 MB of engine modules it never uses (issue 10: web memory at 200 members).

log = logging.getLogger(__name__)


class NotYetRunnable(Exception):
    """The job must wait for another one (an earlier append of the same dataset)."""


def engine_settings():
    from .engine.analysis import EngineSettings

    return EngineSettings(memory_limit=settings.DUCKDB_MEMORY_LIMIT, threads=settings.DUCKDB_THREADS)


def run_import(import_id: int, *, retry: Callable | None = None) -> None:
    run(DatasetImport, import_id, import_execute, retry=retry)


def run_analysis(job_id: int, *, retry: Callable | None = None) -> None:
    run(AnalysisJob, job_id, analysis_execute, retry=retry,
        claim=scheduling.claim_within_share)


def run(model, job_id: int, execute: Callable, *, retry: Callable | None = None,
        claim: Callable | None = None) -> None:
    """Claim the row and execute it. The row is the truth, so a duplicated or redelivered
    message finds nothing to do, and a job whose worker died is taken over once its
    heartbeat is stale. `retry(countdown=..., max_retries=...)` is the task's own retry
    (it returns the exception to raise); without it (in this process) a job that must
    wait is given back to the queue for the sweeper. `claim(job_id)` may answer
    scheduling.WAIT (its team runs its share): the task then tries again later, under
    Celery or on the embedded pool; called directly (a command), the job runs now."""
    scheduled = (retry is not None and not settings.CELERY_TASK_ALWAYS_EAGER) or (
        tasks_runner.in_pool())
    job = claim(job_id) if claim is not None and scheduled else jobs.claim(model, job_id)
    if job is scheduling.WAIT:
        _again_later(retry, scheduling.WAIT_SECONDS)
        return
    if job is None:
        if (retry is not None and jobs.is_running_elsewhere(model, job_id)
                and not settings.CELERY_TASK_ALWAYS_EAGER):
            # Another worker holds it, or held it and died: look again once its
            # heartbeat would have gone stale.
            raise retry(countdown=jobs.STALE_AFTER.total_seconds() + 1, max_retries=20)
        return
    jobs.job_changed.send(sender=model, job_id=job_id, ended=False)
    try:
        # On the embedded pool too: a fair share counts only jobs with a live heartbeat.
        with jobs.heartbeat(job, enabled=not settings.CELERY_TASK_ALWAYS_EAGER
                            or tasks_runner.in_pool()):
            execute(job)
    except NotYetRunnable:
        jobs.release(job)
        _again_later(retry, 2)
    except SoftTimeLimitExceeded:
        jobs.finish(job, status=JobStatus.FAILED,
                    error=f"Stopped: took longer than {settings.CELERY_TASK_SOFT_TIME_LIMIT} s.")
    except Exception:
        log.exception("%s %s failed", model.__name__, job_id)
        jobs.finish(job, status=JobStatus.FAILED,
                    error="Something went wrong on our side; the error was logged.")
        if settings.CELERY_TASK_EAGER_PROPAGATES:
            raise
    finally:
        jobs.job_changed.send(sender=model, job_id=job_id, ended=True)


def _again_later(retry: Callable | None, seconds: float) -> None:
    """Have the task run again in `seconds`: on the embedded pool, or by its Celery retry
    (which raises)."""
    if tasks_runner.in_pool():
        tasks_runner.run_again_later(seconds)
    elif retry is not None:
        raise retry(countdown=seconds, max_retries=None)


def import_execute(job: DatasetImport) -> None:
    """Run a claimed import: write the version, then publish it on the dataset row. The
    staged files go whatever the outcome (published, refused, or an error), except when
    the import must wait for an earlier one and will run again."""
    try:
        _import_execute(job)
    except NotYetRunnable:
        raise
    except Exception:
        discard(job.files)
        raise
    discard(job.files)


def import_limits(team):
    """The settings' limits on one import, and the room left in the team's quota."""
    from .engine.importing.limits import ImportLimits

    quota = settings.TEAM_STORAGE_QUOTA_BYTES
    room = max(quota - selectors.team_storage_bytes(team), 0) if quota else None
    return ImportLimits(max_bytes=settings.MAX_IMPORT_BYTES or None,
                        max_rows=settings.MAX_IMPORT_ROWS or None, storage_bytes=room)


def _import_execute(job: DatasetImport) -> None:
    from .engine.importer import ColumnMapping, ImportRefused, append_events, import_dataset
    from .engine.importing.errors import hide_paths

    dataset = job.dataset
    target = dataset.version(job.version).path
    events = [Path(f["path"]) for f in job.files if f["role"] == "events"]
    users = next((Path(f["path"]) for f in job.files if f["role"] == "users"), None)
    mapping = ColumnMapping(**job.mapping)
    if target.exists():
        # A previous attempt published the files but died before recording it.
        shutil.rmtree(target)
    engine = {"memory_limit": settings.DUCKDB_MEMORY_LIMIT, "threads": settings.DUCKDB_THREADS,
              "limits": import_limits(dataset.team)}
    try:
        if job.kind == DatasetImport.Kind.APPEND:
            # Appends build one on another, in order: version N is made from the newest
            # published version below N, once no earlier import is still on its way.
            earlier = DatasetImport.objects.filter(dataset=dataset, version__lt=job.version)
            waiting = earlier.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
            # Run now, in this process (a test, a command): nothing else runs meanwhile.
            may_wait = not settings.CELERY_TASK_ALWAYS_EAGER or tasks_runner.in_pool()
            if may_wait and waiting.exists():
                raise NotYetRunnable(f"import {job.pk} waits for an earlier import")
            base_number = earlier.filter(status=JobStatus.DONE).aggregate(v=Max("version"))["v"]
            base_number = base_number or dataset.current_version
            if base_number is None:
                raise ImportRefused("There is no imported data to append to yet.")
            base = dataset.version(base_number)
            schema = append_events(previous=base, events=events, mapping=mapping, dest=target,
                                   **engine)
        else:
            schema = import_dataset(events=events, users=users, mapping=mapping, dest=target,
                                    **engine)
    except ImportRefused as refusal:
        jobs.finish(job, status=JobStatus.FAILED, error=hide_paths(str(refusal)))
        return
    with transaction.atomic():
        if jobs.finish(job, status=JobStatus.DONE):
            Dataset.objects.filter(pk=dataset.pk).update(
                current_version=job.version, schema=asdict(schema)
            )


def analysis_execute(job: AnalysisJob) -> None:
    """Run a claimed analysis job with the engine and record its result."""
    from .engine.definitions import DefinitionError
    from .runners import RUNNERS

    version = job.dataset.version(job.dataset_version)
    try:
        result = RUNNERS[job.kind](version, job, engine_settings())
    except DefinitionError as error:
        jobs.finish(job, status=JobStatus.FAILED, error=str(error))
        return
    # The result stays exactly what the CLI prints; timings live on the row.
    jobs.finish(job, status=JobStatus.DONE, result=result)
