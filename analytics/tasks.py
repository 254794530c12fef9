"""Thin tasks: take an id, hand it to analytics/execution.py with the task's own retry.
Services enqueue them by name (hypothesislab.tasks_runner), never by importing this."""

from celery import shared_task

from . import execution


@shared_task(name="analytics.run_import", bind=True)
def run_import(self, import_id: int) -> None:
    execution.run_import(import_id, retry=self.retry)


@shared_task(name="analytics.run_analysis", bind=True)
def run_analysis(self, job_id: int) -> None:
    execution.run_analysis(job_id, retry=self.retry)
