"""Thin tasks: take ids, call a service. Named "dashboards.*" (default queue): none of
them reads the data; the trend computations they follow are AnalysisJobs that
analytics.run_analysis runs on the analytics queue, chained before them. Services
enqueue them by name (hypothesislab.tasks_runner), never by importing this."""

from celery import shared_task

from .review import review_all, snapshot_finish
from .services import mapping_apply_profile


@shared_task(name="dashboards.weekly_review")
def weekly_review() -> int:
    """Beat, weekly: snapshot every confirmed dashboard for this ISO week (idempotent)."""
    return len(review_all())


@shared_task(name="dashboards.finish_snapshot")
def finish_snapshot(snapshot_id: int) -> None:
    """After a snapshot's trend job: keep its result, flag moves, send the digest once."""
    snapshot_finish(snapshot_id)


@shared_task(name="dashboards.apply_profile")
def apply_profile(mapping_id: int) -> None:
    """After a dataset's profile job: guess the mapping again with the columns' values."""
    mapping_apply_profile(mapping_id)
