"""Writes of the analytics app: datasets, imports and analysis jobs. Views, the API and
the CLI call these; the heavy work runs in tasks (analytics/tasks.py), never here."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

from accounts.models import Team, User
from hypothesislab.tasks_runner import enqueue

from . import selectors
from .engine.importing.errors import hide_paths
from .engine.importing.limits import ImportLimits, size_text
from .models import AnalysisJob, Dataset, DatasetImport, JobStatus
from .staging import discard, stage_path, staging_dir

log = logging.getLogger(__name__)


class DatasetRefused(ValueError):
    """A dataset request that cannot be honoured, with a message for people."""


class NotYetRunnable(Exception):
    """The job must wait for another one (an earlier append of the same dataset)."""


def engine_settings():
    from .engine.analysis import EngineSettings

    return EngineSettings(memory_limit=settings.DUCKDB_MEMORY_LIMIT, threads=settings.DUCKDB_THREADS)


def check_storage_quota(team: Team) -> None:
    """Refuse new data while the team's datasets fill its quota (the import itself checks
    that the version it writes fits in what is left)."""
    quota = settings.TEAM_STORAGE_QUOTA_BYTES
    if not quota:
        return
    used = selectors.team_storage_bytes(team)
    if used >= quota:
        raise DatasetRefused(
            f"The team's datasets take {size_text(used)}, all of its {size_text(quota)} "
            "storage quota (TEAM_STORAGE_QUOTA_BYTES): delete a dataset you no longer "
            "need, or ask for a larger quota.")


def import_limits(team: Team) -> ImportLimits:
    """The settings' limits on one import, and the room left in the team's quota."""
    quota = settings.TEAM_STORAGE_QUOTA_BYTES
    room = max(quota - selectors.team_storage_bytes(team), 0) if quota else None
    return ImportLimits(max_bytes=settings.MAX_IMPORT_BYTES or None,
                        max_rows=settings.MAX_IMPORT_ROWS or None, storage_bytes=room)


def dataset_create(*, team: Team, name: str, created_by: User | None, files: list[dict],
                   mapping: dict, description: str = "", is_demo: bool = False,
                   start: bool = True) -> DatasetImport:
    """Create a dataset and queue the import of its staged files (see stage_upload)."""
    name = name.strip()
    if not name:
        raise DatasetRefused("Give the dataset a name.")
    check_storage_quota(team)
    if not any(f["role"] == "events" for f in files) and not any(
        f["role"] == "users" for f in files
    ):
        raise DatasetRefused("Add at least one events file or a users file.")
    try:
        with transaction.atomic():
            dataset = Dataset.objects.create(
                team=team, name=name, description=description, created_by=created_by,
                is_demo=is_demo,
            )
            job = DatasetImport.objects.create(
                dataset=dataset, version=1, mapping=mapping, files=files, created_by=created_by
            )
            if start:
                from .tasks import run_import

                enqueue(run_import, job.pk)
    except IntegrityError as error:
        raise DatasetRefused(f"The team already has a dataset named “{name}”.") from error
    return job


def import_now(*, team: Team, name: str, events: list[Path], users: Path | None, mapping: dict,
               created_by: User | None = None, is_demo: bool = False) -> DatasetImport:
    """Create a dataset from files on this machine and import it in this process (for the
    import_dataset command and the demo), returning the finished import."""
    directory = staging_dir()
    files = [stage_path(directory, path, role="events") for path in events]
    if users is not None:
        files.append(stage_path(directory, users, role="users"))
    job = dataset_create(team=team, name=name, created_by=created_by, files=files,
                         mapping=mapping, is_demo=is_demo, start=False)
    from .tasks import run_import

    run_import(job.pk)
    job.refresh_from_db()
    return job


def dataset_append(*, dataset: Dataset, created_by: User | None, files: list[dict],
                   mapping: dict, idempotency_key: str = "") -> tuple[DatasetImport, bool]:
    """Queue a new version made of the current events plus the staged ones. With an
    idempotency key already used, it returns that key's import and adds nothing: the
    database's unique key decides, so two retries at once cannot both add (callers look
    the key up first, see uploads.events_append)."""
    with transaction.atomic():
        locked = Dataset.objects.select_for_update().get(pk=dataset.pk)
        # A dataset may have versions without import rows (restored, or made by hand).
        last = max(locked.imports.aggregate(last=Max("version"))["last"] or 0,
                   locked.current_version or 0)
        try:
            with transaction.atomic():
                job = DatasetImport.objects.create(
                    dataset=locked, kind=DatasetImport.Kind.APPEND, version=last + 1,
                    mapping=mapping, files=files, created_by=created_by,
                    idempotency_key=idempotency_key,
                )
        except IntegrityError:
            existing = DatasetImport.objects.get(dataset=dataset, idempotency_key=idempotency_key)
            return existing, False
        from .tasks import run_import

        enqueue(run_import, job.pk)
    return job, True


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


def _import_execute(job: DatasetImport) -> None:
    from dataclasses import asdict

    from .engine.importer import ColumnMapping, ImportRefused, append_events, import_dataset
    from .jobs import finish

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
            # In-process, jobs run one at a time in order: there is nothing to wait for.
            if not settings.CELERY_TASK_ALWAYS_EAGER and waiting.exists():
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
        finish(job, status=JobStatus.FAILED, error=hide_paths(str(refusal)))
        return
    with transaction.atomic():
        if finish(job, status=JobStatus.DONE):
            Dataset.objects.filter(pk=dataset.pk).update(
                current_version=job.version, schema=asdict(schema)
            )


def analysis_submit(*, team: Team, dataset: Dataset, success: dict, criterion: dict | None = None,
                    breakdown: dict | None = None, kind: str = AnalysisJob.Kind.ANALYZE,
                    options: dict | None = None, created_by: User | None = None) -> AnalysisJob:
    """Validate the definitions against the dataset's schema (no data is read) and queue
    the job. Raises definitions.DefinitionError with a message for people."""
    from .engine.definitions import validate_breakdown, validate_criterion, validate_success

    if dataset.team_id != team.pk:
        raise DatasetRefused("That dataset belongs to another team.")
    schema = dataset.schema_object()
    if schema is None:
        raise DatasetRefused("The dataset has no imported data yet.")
    options = dict(options or {})
    success = validate_success(success, schema)
    if criterion is not None:
        criterion = validate_criterion(criterion, schema)
    if breakdown is not None:
        breakdown = validate_breakdown(breakdown, schema)
    if options.get("population_filter") is not None:
        options["population_filter"] = validate_criterion(options["population_filter"], schema)
    if kind == AnalysisJob.Kind.ANALYZE and (criterion is None) == (breakdown is None):
        raise DatasetRefused("A test needs either a criterion or a breakdown.")
    with transaction.atomic():
        job = AnalysisJob.objects.create(
            team=team, dataset=dataset, dataset_version=dataset.current_version, kind=kind,
            success=success, criterion=criterion, breakdown=breakdown, options=options,
            created_by=created_by,
        )
        from .tasks import run_analysis

        enqueue(run_analysis, job.pk)
    return job


def analysis_execute(job: AnalysisJob) -> None:
    """Run a claimed analysis job with the engine and record its result."""
    from .engine.definitions import DefinitionError
    from .jobs import finish
    from .runners import RUNNERS

    version = job.dataset.version(job.dataset_version)
    try:
        result = RUNNERS[job.kind](version, job, engine_settings())
    except DefinitionError as error:
        finish(job, status=JobStatus.FAILED, error=str(error))
        return
    # The result stays exactly what the CLI prints; timings live on the row.
    finish(job, status=JobStatus.DONE, result=result)


def success_definition_create(*, team: Team, name: str, definition: dict,
                              created_by: User | None, dataset: Dataset | None = None):
    """Save a named success definition, checked against a dataset's schema when given."""
    from .engine.definitions import describe_success, validate_success
    from .models import SuccessDefinition

    if dataset is not None and dataset.schema_object() is not None:
        definition = validate_success(definition, dataset.schema_object())
    return SuccessDefinition.objects.create(
        team=team, name=name.strip() or "Success", definition=definition,
        description=describe_success(definition)[:500], created_by=created_by,
    )


def success_definition_is_used(definition) -> bool:
    """Whether anything (a session, a dashboard, a snapshot...) points at this version."""
    # Reverse relations include the hidden ones (related_name="+").
    relations = [f for f in definition._meta.get_fields(include_hidden=True)
                 if f.auto_created and not f.concrete and f.is_relation]
    for relation in relations:
        if relation.related_model is type(definition):
            continue
        if relation.related_model._default_manager.filter(
            **{relation.field.name: definition}
        ).exists():
            return True
    return False


def success_definition_revise(*, current, definition: dict, name: str | None = None,
                              created_by: User | None, dataset: Dataset | None = None):
    """Change a definition. Once something used it, the change is a new version and the
    old row stays for the results that used it; until then it is edited in place."""
    from .engine.definitions import describe_success, validate_success
    from .models import SuccessDefinition

    if dataset is not None and dataset.schema_object() is not None:
        definition = validate_success(definition, dataset.schema_object())
    with transaction.atomic():
        locked = SuccessDefinition.objects.select_for_update().get(pk=current.pk)
        if not locked.is_current:
            raise DatasetRefused("Someone changed this definition meanwhile; reload and retry.")
        if not success_definition_is_used(locked):
            locked.definition = definition
            locked.name = (name or locked.name).strip()
            locked.description = describe_success(definition)[:500]
            locked.save(update_fields=["definition", "name", "description"])
            return locked
        SuccessDefinition.objects.filter(pk=locked.pk).update(is_current=False)
        return SuccessDefinition.objects.create(
            team=locked.team, lineage=locked.lineage, version=locked.version + 1,
            name=(name or locked.name).strip(), definition=definition,
            description=describe_success(definition)[:500], created_by=created_by,
        )
