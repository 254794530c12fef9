"""Reads of the analytics app, always scoped to a team."""

import os
from pathlib import Path

from django.db.models import Q
from django.shortcuts import get_object_or_404

from accounts.models import Team

from .models import AnalysisJob, Dataset, JobStatus, SuccessDefinition


def datasets_of(team: Team):
    return Dataset.objects.filter(team=team).order_by("-created_at")


def ready_datasets_of(team: Team):
    return datasets_of(team).filter(current_version__isnull=False)


def dataset_of(team: Team, dataset_id: int) -> Dataset:
    return get_object_or_404(Dataset, team=team, pk=dataset_id)


def job_of(team: Team, job_id: int) -> AnalysisJob:
    return get_object_or_404(AnalysisJob.objects.select_related("dataset"), team=team, pk=job_id)


def team_storage_bytes(team: Team) -> int:
    """What the team's datasets take on disk: every published version and its caches,
    each file once however many versions share it (an append links the earlier files).
    Imports under way (their hidden working directories) are not counted yet."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dataset in Dataset.objects.filter(team=team).only("pk"):
        for root, dirs, names in os.walk(dataset.directory):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in names:
                try:
                    info = os.lstat(Path(root, name))
                except FileNotFoundError:  # a cache replaced meanwhile
                    continue
                if (info.st_dev, info.st_ino) not in seen:
                    seen.add((info.st_dev, info.st_ino))
                    total += info.st_size
    return total


def latest_import(dataset: Dataset):
    return dataset.imports.order_by("-version").first()


def success_definitions_of(team: Team):
    return SuccessDefinition.objects.filter(team=team, is_current=True).order_by("name")


def success_definition_of(team: Team, definition_id: int):
    return get_object_or_404(SuccessDefinition, team=team, pk=definition_id)


def same_question(dataset: Dataset, kind: str, among: Q, *, limit: int,
                  **asked) -> AnalysisJob | None:
    """The latest of the recent jobs of this kind on the dataset's current version (not
    failed, `among` them) that asked exactly `asked` (field -> value): a quick count or a
    preview asked again is answered by the job made before."""
    recent = (AnalysisJob.objects.filter(among, kind=kind, dataset=dataset,
                                         dataset_version=dataset.current_version)
              .exclude(status=JobStatus.FAILED).order_by("-created_at")[:limit])
    return next((job for job in recent
                 if all(getattr(job, name) == value for name, value in asked.items())), None)


def value_profile_jobs(dataset: Dataset) -> list[AnalysisJob]:
    """The values jobs of the dataset's current version, newest first (one, unless one
    failed and was queued again). Kept on the dataset's instance, which lives for one
    request: a new entry's value check and the form its answer draws both need them."""
    if dataset.current_version is None:
        return []
    kept = getattr(dataset, "_value_profile_jobs", None)
    if kept is None or kept[0] != dataset.current_version:
        jobs = list(_version_jobs(dataset, AnalysisJob.Kind.VALUES))
        kept = dataset._value_profile_jobs = (dataset.current_version, jobs)
    return kept[1]


def value_profile_job(dataset: Dataset) -> AnalysisJob | None:
    """The latest values job of the dataset's current version that did not fail."""
    return next((job for job in value_profile_jobs(dataset)
                 if job.status != JobStatus.FAILED), None)


def latest_job(dataset: Dataset, kind: str) -> AnalysisJob | None:
    """The latest job of this kind on the dataset's current version that did not fail."""
    if dataset.current_version is None:
        return None
    return _version_jobs(dataset, kind).exclude(status=JobStatus.FAILED).first()


def _version_jobs(dataset: Dataset, kind: str):
    return (AnalysisJob.objects.filter(dataset=dataset, kind=kind,
                                       dataset_version=dataset.current_version)
            .order_by("-created_at"))


def value_profile_of(dataset: Dataset | None) -> dict | None:
    """The stored values of the dataset's current version (engine.value_profile), or None
    while its job has not finished. A stored row: no data is read."""
    job = value_profile_job(dataset) if dataset is not None else None
    return job.result if job is not None and job.status == JobStatus.DONE else None


def member_check_of(team: Team, user, job_id: int) -> AnalysisJob:
    """A quick count or a success preview, for the member who asked it (404 otherwise)."""
    return get_object_or_404(
        AnalysisJob, team=team, created_by=user, pk=job_id,
        kind__in=[AnalysisJob.Kind.COUNT, AnalysisJob.Kind.PREVIEW])
