"""Writes of the analytics app: datasets, imports and analysis jobs. Views, the API and
the CLI call these; every job is created here and queued by task name. The heavy work
runs in analytics/execution.py (from a task), never here."""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q

from accounts.models import Team, User
from analytics.engine.refusals import Refused
from hypothesislab.tasks_runner import enqueue

from . import execution, selectors
from .engine.definitions import (
    describe_success,
    validate_breakdown,
    validate_criterion,
    validate_success,
)
from .engine.importing.limits import size_text
from .engine.weeks import validate_segment
from .models import AnalysisJob, Dataset, DatasetImport, JobStatus, SuccessDefinition
from .scheduling import BACKGROUND_PRIORITY, EXPLORE_PRIORITY
from .staging import stage_path, staging_dir

log = logging.getLogger(__name__)


class DatasetRefused(Refused, ValueError):
    """A dataset request that cannot be honoured, with a message for people."""


# Jobs about the data itself, whatever success is.
VALUE_KINDS = (AnalysisJob.Kind.PROFILE, AnalysisJob.Kind.VALUES, AnalysisJob.Kind.PREPARE)
# The window of a working session's discovery runs (at most: success may come sooner),
# whose behaviour measures each import prepares (discovery_prepare_ensure).
DISCOVERY_WINDOW_DAYS = 7


def _profile_values_after(dataset: Dataset) -> tuple:
    """The task that profiles a dataset's values once an import of it has published."""
    return ("analytics.profile_values", dataset.pk)



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
                enqueue("analytics.run_import", job.pk, then=_profile_values_after(dataset))
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
    execution.run_import(job.pk)
    job.refresh_from_db()
    after_import(job.dataset)
    return job


def after_import(dataset: Dataset) -> None:
    """The jobs each import's version gets: its values for the forms, then its
    discovery measures (behind everyone's jobs)."""
    value_profile_ensure(dataset)
    discovery_prepare_ensure(dataset)


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
        enqueue("analytics.run_import", job.pk, then=_profile_values_after(locked))
    return job, True


def analysis_submit(*, team: Team, dataset: Dataset, success: dict, criterion: dict | None = None,
                    breakdown: dict | None = None, kind: str = AnalysisJob.Kind.ANALYZE,
                    options: dict | None = None, created_by: User | None = None,
                    session=None, dashboard=None, success_definition=None,
                    then: tuple | None = None, start: bool = True,
                    priority: int | None = None) -> AnalysisJob:
    """Validate the definitions against the dataset's schema (no data is read) and queue
    the job: the one way an AnalysisJob is made. `session`, `dashboard` and
    `success_definition` record where it was asked; `then` = (task name, *args) runs
    after it, in the same Celery chain. With start=False the caller queues it with
    analysis_start once it has recorded the job where `then` will look for it.
    `priority` is scheduling.SESSION_PRIORITY for a working session's own jobs (they go
    ahead of the others); by default scheduling.EXPLORE_PRIORITY. Raises
    definitions.DefinitionError or DatasetRefused, with a message for people."""

    if dataset.team_id != team.pk:
        raise DatasetRefused("That dataset belongs to another team.")
    schema = dataset.schema_object()
    if schema is None:
        raise DatasetRefused("The dataset has no imported data yet.")
    options = dict(options or {})
    if kind not in VALUE_KINDS:  # a profile reads values, whatever success is
        success = validate_success(success, schema)
    if criterion is not None:
        criterion = validate_criterion(criterion, schema)
    if breakdown is not None:
        breakdown = validate_breakdown(breakdown, schema)
    if options.get("population_filter") is not None:
        options["population_filter"] = validate_criterion(options["population_filter"], schema)
    if kind == AnalysisJob.Kind.TREND:
        options["segments"] = [validate_segment(s, schema) for s in options.get("segments", [])]
    if kind == AnalysisJob.Kind.ANALYZE and (criterion is None) == (breakdown is None):
        raise DatasetRefused("A test needs either a criterion or a breakdown.")
    with transaction.atomic():
        job = AnalysisJob.objects.create(
            team=team, dataset=dataset, dataset_version=dataset.current_version, kind=kind,
            success=success, criterion=criterion, breakdown=breakdown, options=options,
            created_by=created_by, session=session, dashboard=dashboard,
            success_definition=success_definition,
        )
        if start:
            analysis_start(job, then=then, priority=priority)
    return job


def analysis_start(job: AnalysisJob, *, then: tuple | None = None,
                   priority: int | None = None) -> None:
    """Queue a job made by analysis_submit(start=False) (sent once the transaction
    commits); `then` = (task name, *args) runs after it, in the same Celery chain."""
    enqueue("analytics.run_analysis", job.pk, then=then,
            priority=EXPLORE_PRIORITY if priority is None else priority)


def success_definition_create(*, team: Team, name: str, definition: dict,
                              created_by: User | None, dataset: Dataset | None = None):
    """Save a named success definition, checked against a dataset's schema when given."""

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
        if relation.related_model is AnalysisJob:
            # A job records the version it was asked with (its own copy of the definition
            # is in job.success); a question in the explorer does not freeze it.
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


# ---------------------------------------------------------------- checks before a test


def value_profile_ensure(dataset: Dataset) -> AnalysisJob | None:
    """The values job (engine.value_profile) of the dataset's current version: made after
    each import and on demand by a form that finds none."""
    return _version_job_ensure(dataset, AnalysisJob.Kind.VALUES)


def discovery_prepare_ensure(dataset: Dataset) -> AnalysisJob | None:
    """The job that keeps the discovery measures of the dataset's current version
    (engine.discovery.prepare), made after each import so that a session's discovery
    reads no events. It waits behind everyone's jobs."""
    return _version_job_ensure(dataset, AnalysisJob.Kind.PREPARE,
                               options={"within_days": DISCOVERY_WINDOW_DAYS},
                               priority=BACKGROUND_PRIORITY)


def _version_job_ensure(dataset: Dataset, kind: str, **submit) -> AnalysisJob | None:
    """The dataset's current version's job of this kind, queued when there is none yet or
    the last one failed: one per version. None while the dataset has no data."""
    with transaction.atomic():
        # One at a time per dataset, so two forms opened at once make one job.
        locked = Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        if locked is None or not locked.is_ready:
            return None
        job = selectors.latest_job(locked, kind)
        if job is None:
            job = analysis_submit(team=locked.team, dataset=locked, success={}, kind=kind,
                                  **submit)
    return job


def _same_job(*, kind: str, dataset: Dataset, created_by: User | None,
              anyones_done: bool = False, **fields):
    """A member's recent job of this kind asking the same thing of the same version (not
    failed), so that checking twice, or a preview of an unchanged form, makes one job.
    `anyones_done`: a finished one by anyone of the team will do too (same question, same
    version: the same answer), looked for in the same query."""
    mine = Q(created_by=created_by)
    if anyones_done:
        return selectors.same_question(dataset, kind, mine | Q(status=JobStatus.DONE),
                                       limit=50, **fields)
    return selectors.same_question(dataset, kind, mine, limit=20, **fields)


def group_count_submit(*, team: Team, dataset: Dataset, success: dict, criterion: dict,
                       population_filter: dict | None = None, created_by: User | None,
                       session=None, priority: int | None = None,
                       anyones_done: bool = False) -> AnalysisJob:
    """A quick count of a criterion's group (engine.analysis.population_count), shown to
    the member before the test is queued. Validates like analysis_submit. `anyones_done`:
    a finished count of the same question by anyone of the team is returned instead of a
    new one (for a count asked only to be known later, never shown as the member's own)."""
    schema = dataset.schema_object()
    if schema is not None:
        success = validate_success(success, schema)
        criterion = validate_criterion(criterion, schema)
    options = {"population_filter": population_filter} if population_filter else {}
    found = _same_job(kind=AnalysisJob.Kind.COUNT, dataset=dataset, created_by=created_by,
                      anyones_done=anyones_done, success=success, criterion=criterion,
                      options=options)
    return found or analysis_submit(
        team=team, dataset=dataset, success=success, criterion=criterion, options=options,
        kind=AnalysisJob.Kind.COUNT, created_by=created_by, session=session, priority=priority)


def success_preview_submit(*, team: Team, dataset: Dataset, success: dict,
                           created_by: User | None) -> AnalysisJob:
    """The population a success definition gives on a dataset (users, successes, rate,
    excluded_incomplete), while the definition is being edited."""
    schema = dataset.schema_object()
    if schema is not None:
        success = validate_success(success, schema)
    found = _same_job(kind=AnalysisJob.Kind.PREVIEW, dataset=dataset, created_by=created_by,
                      success=success)
    return found or analysis_submit(team=team, dataset=dataset, success=success,
                                    kind=AnalysisJob.Kind.PREVIEW, created_by=created_by)
