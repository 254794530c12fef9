"""Writes of Phase 1: mappings, the team's own segments, dashboards and their
computations. The weekly review lives in dashboards/review.py. Views, tasks and the admin
call these; nothing here reads the events: numbers come from AnalysisJobs run by Celery."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Membership, Team, User
from analytics.engine.definitions import DefinitionError, validate_success
from analytics.engine.refusals import Refused
from analytics.engine.weeks import validate_segment
from analytics.models import AnalysisJob, Dataset, JobStatus, SuccessDefinition
from analytics.services import DatasetRefused, analysis_start, analysis_submit
from segments import catalog, mapping_rules
from segments import roles as segment_roles
from segments.models import DatasetMapping, MappingChange

from .models import Dashboard, DashboardSegment, TeamSegment

MAX_SEGMENTS_PER_DASHBOARD = 12


class DashboardRefused(Refused, ValueError):
    """A request about dashboards that cannot be honoured, with a message for people."""


def current_success(definition: SuccessDefinition) -> SuccessDefinition:
    """The current version of a success definition's lineage (itself when it is current)."""
    if definition.is_current:
        return definition
    found = SuccessDefinition.objects.filter(lineage=definition.lineage, is_current=True).first()
    return found or definition


# ---------------------------------------------------------------- mapping


def mapping_start(*, dataset: Dataset) -> DatasetMapping:
    """The dataset's mapping, created with guesses from the names alone, and a profile job
    (the columns' values) queued when the current version has none yet; when it is done,
    the guesses are made again with the values (dashboards.tasks.apply_profile)."""
    if not dataset.is_ready:
        raise DashboardRefused("The dataset has no imported data yet.")
    schema = dataset.schema_object()
    with transaction.atomic():
        row, created = DatasetMapping.objects.select_for_update().get_or_create(
            dataset=dataset)
        if created:
            _set_guesses(row, schema, None)
        job = row.profile_job
        stale = (job is None or job.dataset_version != dataset.current_version
                 or job.status == JobStatus.FAILED)
        if not stale and job.status == JobStatus.DONE and not row.guessed_with_values:
            mapping_apply_profile(row.pk)
        if stale:
            job = analysis_submit(team=dataset.team, dataset=dataset, success={},
                                  kind=AnalysisJob.Kind.PROFILE, start=False)
            row.profile_job = job
            row.save(update_fields=["profile_job"])
            # apply_profile reads row.profile_job: queued only once it is recorded.
            analysis_start(job, then=("dashboards.apply_profile", row.pk))
    return row


def _set_guesses(row: DatasetMapping, schema, profile: dict | None) -> None:
    guesses = segment_roles.guess_mapping(schema, profile)
    row.guesses = {key: {"value": g.value, "reason": g.reason} for key, g in guesses.items()}
    if not row.is_confirmed:
        row.roles = segment_roles.roles_from_guesses(guesses)
    row.guessed_version = row.dataset.current_version
    row.guessed_with_values = profile is not None
    row.updated_at = timezone.now()
    row.save(update_fields=["guesses", "roles", "guessed_version", "guessed_with_values",
                            "updated_at"])


def mapping_apply_profile(mapping_id: int) -> None:
    """Guess again with the profiled values. A confirmed mapping keeps its roles, but
    property roles gain the values just read (the catalog needs them: mobile values...)."""
    row = DatasetMapping.objects.select_related("dataset", "profile_job").filter(
        pk=mapping_id).first()
    if row is None or row.profile_job is None or row.profile_job.status != JobStatus.DONE:
        return
    profile = row.profile_job.result
    schema = row.dataset.schema_object()
    if row.is_confirmed:
        roles = dict(row.roles)
        for key, value in roles.items():
            role = segment_roles.ROLES_BY_KEY.get(key)
            if role and role.kind == "property" and value:
                try:
                    roles[key] = segment_roles.property_ref(value["scope"], value["name"],
                                                            schema, profile)
                except KeyError:
                    continue  # a column the data no longer has: check_roles says so
        changes = mapping_rules.changes_between(row.roles, roles)
        if changes:  # the app changed a confirmed mapping: logged too, with nobody's name
            MappingChange.objects.create(mapping=row, action=MappingChange.Action.REFRESHED,
                                         changes=changes)
        row.roles = roles
    _set_guesses(row, schema, profile)


OWNERS_ONLY = ("The mapping is confirmed: only an owner of the team can change it, since "
               "every dashboard and session of this dataset builds on it. Ask an owner.")


def mapping_can_change(mapping_row: DatasetMapping, user: User) -> bool:
    """Any member confirms a mapping the first time; once confirmed, only owners change it
    (issue 12: a member's empty form once blanked a team's mapping)."""
    if not mapping_row.is_confirmed:
        return True
    return Membership.objects.filter(team_id=mapping_row.dataset.team_id, user=user,
                                     role=Membership.Role.OWNER).exists()


def mapping_confirm(*, mapping_row: DatasetMapping, roles: dict, user: User) -> DatasetMapping:
    """Record the team's mapping, and log what changed (from the guesses, the first time).
    `roles` comes from the mapping form (already in the stored shape); names the data does
    not have, and a mapping without its required roles (segments.mapping_rules), are
    refused; so is a member changing a confirmed mapping (403)."""
    schema = mapping_row.dataset.schema_object()
    with transaction.atomic():
        # Locked, so that two confirmations in a row are judged one after the other.
        row = DatasetMapping.objects.select_for_update().select_related("dataset").get(
            pk=mapping_row.pk)
        if not mapping_can_change(row, user):
            raise DashboardRefused(OWNERS_ONLY, status=403)
        problems = segment_roles.check_roles(roles, schema)
        if problems:
            raise DashboardRefused("; ".join(f"{segment_roles.ROLES_BY_KEY[k].label}: {v}"
                                             for k, v in problems.items()))
        missing = mapping_rules.missing_required(roles)
        if missing:
            raise DashboardRefused(" ".join(missing))
        changes = mapping_rules.changes_between(row.roles, roles)
        if row.is_confirmed and not changes:
            return row  # the same mapping again: nothing to record
        action = (MappingChange.Action.CHANGED if row.is_confirmed
                  else MappingChange.Action.CONFIRMED)
        row.roles = roles
        row.confirmed_by = user
        row.confirmed_at = timezone.now()
        row.updated_at = row.confirmed_at
        row.save(update_fields=["roles", "confirmed_by", "confirmed_at", "updated_at"])
        MappingChange.objects.create(mapping=row, changed_by=user, at=row.confirmed_at,
                                     action=action, changes=changes)
    mapping_row.refresh_from_db()
    return mapping_row


def profile_of(mapping_row: DatasetMapping | None) -> dict | None:
    job = mapping_row.profile_job if mapping_row else None
    return job.result if job is not None and job.status == JobStatus.DONE else None


# ---------------------------------------------------------------- team segments


def team_segment_create(*, team: Team, name: str, definition: dict, dataset: Dataset,
                        user: User | None) -> TeamSegment:
    """A team's own segment, checked against a dataset's schema. `definition` holds one of
    "breakdown", "criterion" (with an optional "label") or "buckets"/"else"."""

    name = " ".join(name.split())
    if not name:
        raise DashboardRefused("Give the segment a name.")
    schema = dataset.schema_object()
    if schema is None:
        raise DashboardRefused("The dataset has no imported data yet.")
    key = "team." + hashlib.sha256(name.encode()).hexdigest()[:10]
    try:
        segment = validate_segment({**definition, "key": key}, schema)
    except DefinitionError as error:
        raise DashboardRefused(str(error)) from error
    try:
        with transaction.atomic():
            return TeamSegment.objects.create(
                team=team, name=name, definition=segment, created_by=user,
                description=catalog.describe_segment(segment)[:500])
    except IntegrityError as error:
        raise DashboardRefused(f"The team already has a segment named “{name}”.") from error


# ---------------------------------------------------------------- dashboards


def dashboard_create(*, team: Team, name: str, dataset: Dataset,
                     success_definition: SuccessDefinition, user: User | None) -> Dashboard:
    name = " ".join(name.split())
    if not name:
        raise DashboardRefused("Give the dashboard a name.")
    if dataset.team_id != team.pk or success_definition.team_id != team.pk:
        raise DashboardRefused("That dataset or definition belongs to another team.")
    if not dataset.is_ready:
        raise DashboardRefused("The dataset has no imported data yet.")
    _check_success(success_definition, dataset)
    try:
        with transaction.atomic():
            return Dashboard.objects.create(team=team, name=name, dataset=dataset,
                                            success_definition=success_definition,
                                            created_by=user)
    except IntegrityError as error:
        raise DashboardRefused(f"The team already has a dashboard named “{name}”.") from error


def _check_success(definition: SuccessDefinition, dataset: Dataset) -> None:
    try:
        validate_success(definition.definition, dataset.schema_object())
    except DefinitionError as error:
        raise DashboardRefused(f"“{definition.name}” does not fit this dataset: {error}") \
            from error


def dashboard_add_catalog_segments(*, dashboard: Dashboard, keys: list[str],
                                   mapping_row: DatasetMapping | None) -> list[DashboardSegment]:
    """Add catalog segments, each built through the dataset's mapping and frozen."""
    if mapping_row is None or not mapping_row.is_confirmed:
        raise DashboardRefused("Confirm the dataset's mapping first: the catalog builds "
                               "its segments from it.")
    schema = dashboard.dataset.schema_object()
    added = []
    with transaction.atomic():
        locked = Dashboard.objects.select_for_update().get(pk=dashboard.pk)
        present = set(locked.segments.values_list("catalog_key", flat=True))
        for key in keys:
            if key in present:
                continue
            if key not in catalog.CATALOG_BY_KEY:
                raise DashboardRefused(f"Unknown catalog segment {key!r}.")
            resolution = catalog.resolve(key, mapping_row.roles, schema)
            if not resolution.supported:
                raise DashboardRefused(f"{resolution.entry.name}: {resolution.explanation}")
            added.append(_add(locked, name=resolution.entry.name, group=resolution.entry.group,
                              definition=resolution.segment, catalog_key=key,
                              explanation=resolution.explanation))
    if added:
        dashboard_compute(dashboard)
    return added


def dashboard_add_team_segment(*, dashboard: Dashboard,
                               team_segment: TeamSegment) -> DashboardSegment:
    if team_segment.team_id != dashboard.team_id:
        raise DashboardRefused("That segment belongs to another team.")

    try:
        validate_segment(team_segment.definition, dashboard.dataset.schema_object())
    except DefinitionError as error:
        raise DashboardRefused(f"“{team_segment.name}” does not fit this dataset: {error}") \
            from error
    with transaction.atomic():
        locked = Dashboard.objects.select_for_update().get(pk=dashboard.pk)
        if locked.segments.filter(team_segment=team_segment).exists():
            raise DashboardRefused(f"“{team_segment.name}” is already on the dashboard.")
        segment = _add(locked, name=team_segment.name, group="Your segments",
                       definition=team_segment.definition, team_segment=team_segment,
                       explanation=team_segment.description)
    dashboard_compute(dashboard)
    return segment


def _add(dashboard: Dashboard, **fields: Any) -> DashboardSegment:
    count = dashboard.segments.count()
    if count >= MAX_SEGMENTS_PER_DASHBOARD:
        raise DashboardRefused(f"A dashboard holds at most {MAX_SEGMENTS_PER_DASHBOARD} "
                               "segments; remove one first.")
    last = dashboard.segments.aggregate(last=Max("position"))["last"]
    return DashboardSegment.objects.create(dashboard=dashboard,
                                           position=0 if last is None else last + 1, **fields)


def dashboard_remove_segment(*, dashboard: Dashboard, segment_id: int) -> None:
    deleted, _ = DashboardSegment.objects.filter(dashboard=dashboard, pk=segment_id).delete()
    if deleted:
        dashboard_compute(dashboard)


def dashboard_confirm(*, dashboard: Dashboard, user: User) -> Dashboard:
    """The team says the dashboard is set up: from now on the weekly review snapshots it."""
    if not dashboard.segments.exists():
        raise DashboardRefused("Add at least one segment before confirming the dashboard.")
    Dashboard.objects.filter(pk=dashboard.pk).update(confirmed_at=timezone.now(),
                                                     confirmed_by=user)
    dashboard.refresh_from_db()
    return dashboard


def engine_segments(dashboard: Dashboard) -> list[dict]:
    return [segment.definition for segment in dashboard.segments.all()]


def fingerprint(dashboard: Dashboard, success: SuccessDefinition, segments: list[dict]) -> str:
    """What a computation depends on: the data's version, the exact success definition and
    the segments. Equal fingerprints give equal numbers."""
    text = json.dumps({"dataset": dashboard.dataset_id,
                       "version": dashboard.dataset.current_version,
                       "success": success.pk, "definition": success.definition,
                       "segments": segments},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def trend_submit(*, dashboard: Dashboard, success: SuccessDefinition, segments: list[dict],
                 user: User | None = None, then: tuple | None = None) -> AnalysisJob:
    """Queue the trend computation (AnalysisJob kind "trend", validated against the schema
    so that a bad segment is refused now, not in a worker); `then` = (task name, *args)
    runs after the job, in the same Celery chain."""
    try:
        return analysis_submit(team=dashboard.team, dataset=dashboard.dataset,
                               success=success.definition, kind=AnalysisJob.Kind.TREND,
                               options={"segments": segments}, created_by=user,
                               dashboard=dashboard, success_definition=success, then=then)
    except (DefinitionError, DatasetRefused) as error:
        raise DashboardRefused(str(error)) from error


def dashboard_compute(dashboard: Dashboard, *, user: User | None = None,
                      force: bool = False) -> AnalysisJob | None:
    """Make sure a computation of the dashboard as it is now exists or is queued; a
    computation with the same fingerprint is reused unless it failed (or `force`)."""
    with transaction.atomic():
        # Lock only the dashboard row: PostgreSQL refuses FOR UPDATE on the nullable side
        # of the outer join that current_job needs.
        locked = Dashboard.objects.select_for_update(of=("self",)).select_related(
            "dataset", "success_definition", "current_job").get(pk=dashboard.pk)
        segments = engine_segments(locked)
        if not segments:
            Dashboard.objects.filter(pk=locked.pk).update(current_job=None,
                                                          current_fingerprint="")
            return None
        success = current_success(locked.success_definition)
        print_ = fingerprint(locked, success, segments)
        job = locked.current_job
        if (not force and job is not None and locked.current_fingerprint == print_
                and job.status != JobStatus.FAILED):
            return job
        job = trend_submit(dashboard=locked, success=success, segments=segments, user=user)
        Dashboard.objects.filter(pk=locked.pk).update(current_job=job,
                                                      current_fingerprint=print_)
    dashboard.current_job, dashboard.current_fingerprint = job, print_
    return job


def dashboard_is_stale(dashboard: Dashboard) -> bool:
    """Whether the last computation no longer matches the dashboard (read only)."""
    segments = engine_segments(dashboard)
    if not segments:
        return False
    success = current_success(dashboard.success_definition)
    return dashboard.current_fingerprint != fingerprint(dashboard, success, segments)
