"""Thin tasks: take an id, hand it to analytics/execution.py with the task's own retry (or,
for profile_values, to the services that queue the jobs made after each import). Services enqueue them by
name (hypothesislab.tasks_runner), never by importing this."""

from celery import shared_task
from celery.signals import worker_init

from . import execution, services
from .engine.preload import preload
from .models import Dataset


@worker_init.connect
def preload_engine(**kwargs) -> None:
    """In the worker's main process, before its pool forks (analytics.engine.preload)."""
    preload()


@shared_task(name="analytics.run_import", bind=True)
def run_import(self, import_id: int) -> None:
    execution.run_import(import_id, retry=self.retry)


@shared_task(name="analytics.run_analysis", bind=True)
def run_analysis(self, job_id: int) -> None:
    execution.run_analysis(job_id, retry=self.retry)


@shared_task(name="analytics.profile_values")
def profile_values(dataset_id: int) -> None:
    """After an import (services.after_import)."""
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is not None:
        services.after_import(dataset)
