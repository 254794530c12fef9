"""Restoring a team's backup (written by ops/backup.py) on this instance.

Every row gets a new primary key and every foreign key follows it; the JSON values that
hold keys (backup.JSON_REFERENCES) follow too. Values that must be unique across the
instance and were generated (invitation tokens, success definition lineages) are kept
unless this instance already has them, in which case they get fresh ones, so that a team
can also be restored beside itself under another slug. All rows go in one transaction;
dataset files are copied before it commits and removed again if it does not.

Unfinished jobs cannot carry on from where they were: analyses are queued again (the
data is all here), imports are marked failed (their uploaded files were not kept)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import connection, models, transaction
from django.utils import timezone

from analytics.models import JobFields, JobStatus
from hypothesislab.tasks_runner import enqueue

from .backup import (
    DATASET,
    INTERRUPTED,
    JSON_REFERENCES,
    TEAM,
    USER,
    BackupRefused,
    Manifest,
    _foreign_keys,
    _sha256,
    label_of,
    read_manifest,
    team_models,
)
from .sweeper import JOB_TASKS

IMPORT_JOBS = {"analytics.DatasetImport"}  # their staged upload files are not in a backup


@dataclass
class Restored:
    team: models.Model
    counts: dict[str, int] = field(default_factory=dict)
    users_created: int = 0
    users_matched: int = 0
    jobs_requeued: int = 0


def import_team(directory: Path, *, slug: str | None = None,
                name: str | None = None) -> Restored:
    """Restore the backup in `directory` as a new team (under `slug` when given)."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    slug = slug or manifest.team["slug"]
    team_model = apps.get_model(TEAM)
    try:
        validate_slug(slug)
    except ValidationError:
        raise BackupRefused(f"{slug!r} is not a slug: letters, digits, - and _.") from None
    if team_model.objects.filter(slug=slug).exists():
        raise BackupRefused(f"This instance has a team “{slug}” already: restore it under "
                            "another slug with --rename NEW_SLUG.")
    known = {label_of(m): m for m in team_models()}
    sources = {RENAMED.get(label, label): label for label in manifest.models}
    unknown = sorted(set(sources) - set(known))
    if unknown:
        raise BackupRefused(f"This backup holds {', '.join(unknown)}, which this version of "
                            "HypothesisLab does not have: restore it on a newer version.")
    _verify_files(directory, manifest)
    rows = {label: _read_rows(directory, sources[label], label) for label in known
            if label in sources}

    copied: list[Path] = []
    try:
        with transaction.atomic():
            restored = _restore(directory, manifest, rows, known, slug, name, copied)
    except BaseException:
        for path in copied:
            shutil.rmtree(path, ignore_errors=True)
        raise
    return restored


def _restore(directory: Path, manifest: Manifest, rows: dict[str, list], known: dict,
             slug: str, name: str | None, copied: list[Path]) -> Restored:
    team_model = apps.get_model(TEAM)
    team = team_model.objects.create(slug=slug, name=name or manifest.team["name"],
                                     created_at=manifest.team["created_at"])
    restored = Restored(team=team)
    keys: dict[str, dict] = {TEAM: {manifest.team["pk"]: team.pk},
                             USER: _restore_users(directory, manifest, restored)}
    _fresh_identities(rows, known)
    deferred: list[tuple[models.Model, models.Field, object]] = []
    for label, model in known.items():
        if label not in rows:
            continue
        objects = rows[label]
        old_keys = [obj.pk for obj in objects]
        for obj in objects:
            obj.pk = None
            _remap_foreign_keys(obj, label, keys, deferred)
        _settle_unfinished_job(label, objects)
        _insert(model, objects)
        keys[label] = dict(zip(old_keys, (obj.pk for obj in objects), strict=True))
        restored.counts[label] = len(objects)
    _fill_deferred(deferred, keys)
    _remap_json(rows, keys)
    for old, new in keys.get(DATASET, {}).items():
        source = directory / "files" / "datasets" / str(old)
        if source.is_dir():
            target = known[DATASET](pk=new).directory
            if target.exists():
                raise BackupRefused(f"{target} exists already; move it away and retry.")
            copied.append(target)
            shutil.copytree(source, target)
    # Last: the analyses read the files just copied (and are sent once this commits).
    restored.jobs_requeued = _queue_unfinished_analyses(rows)
    return restored


# Models that moved to another app since a backup was made: its label -> today's.
RENAMED = {"dashboards.DashboardPin": "worksessions.DashboardPin",
           "dashboards.DatasetMapping": "segments.DatasetMapping"}
# An analysis job's links were ids inside its options before they were foreign keys.
JOB_LINKS_IN_OPTIONS = ("session", "dashboard", "success_definition")


def _read_rows(directory: Path, stored_label: str, label: str) -> list[models.Model]:
    path = directory / "rows" / f"{stored_label}.jsonl"
    with path.open(encoding="utf-8") as source:
        records = [_upgraded(json.loads(line), label) for line in source if line.strip()]
    return [item.object for item in
            serializers.deserialize("python", records, ignorenonexistent=True)]


def _upgraded(record: dict, label: str) -> dict:
    """A row of an older backup in today's form (the same row otherwise)."""
    record["model"] = label.lower()
    fields = record["fields"]
    if label == "analytics.AnalysisJob" and isinstance(fields.get("options"), dict):
        for link in JOB_LINKS_IN_OPTIONS:
            if link in fields["options"] and fields.get(link) is None:
                fields[link] = fields["options"].pop(link)
    return record


def _verify_files(directory: Path, manifest: Manifest) -> None:
    for relative, expected in manifest.files.items():
        path = directory / "files" / relative
        if not path.is_file() or path.stat().st_size != expected["bytes"] \
                or _sha256(path) != expected["sha256"]:
            raise BackupRefused(f"{path} is missing or damaged: this backup cannot be "
                                "restored as it is.")


def _restore_users(directory: Path, manifest: Manifest, restored: Restored) -> dict:
    """old user pk -> pk on this instance: the same email is the same person."""
    user_model = apps.get_model(USER)
    found: dict = {}
    for person in _read_rows(directory, USER, USER):
        existing = user_model._base_manager.filter(email__iexact=person.email).first()
        if existing is not None:
            found[person.pk] = existing.pk
            restored.users_matched += 1
            continue
        user = user_model(
            email=person.email, username=_free_username(person.username or person.email),
            display_name=person.display_name, first_name=person.first_name,
            last_name=person.last_name, is_active=person.is_active,
            date_joined=person.date_joined, last_login=person.last_login,
        )
        if manifest.passwords and person.password:
            user.password = person.password
        else:
            user.set_unusable_password()
        user.save()
        found[person.pk] = user.pk
        restored.users_created += 1
    return found


def _free_username(wanted: str) -> str:
    user_model = apps.get_model(USER)
    candidate, number = wanted, 1
    while user_model._base_manager.filter(username=candidate).exists():
        number += 1
        candidate = f"{wanted}-{number}"
    return candidate


def _remap_foreign_keys(obj, label: str, keys: dict, deferred: list) -> None:
    for key in _foreign_keys(type(obj)):
        old = getattr(obj, key.attname)
        if old is None:
            continue
        target = label_of(key.related_model)
        if target in keys and target != label:
            new = keys[target].get(old)
            if new is None and not key.null:
                raise BackupRefused(f"A {label} row points at {target} {old}, which is not "
                                    "in the backup.")
            setattr(obj, key.attname, new)
        elif key.null:
            # Not restored yet (a cycle, or a row of the same table): filled in at the end.
            setattr(obj, key.attname, None)
            deferred.append((obj, key, old))
        else:
            raise BackupRefused(f"{label}.{key.name} points at {target}, which this backup "
                                "does not restore.")


def _fill_deferred(deferred: list, keys: dict) -> None:
    by_field: dict[tuple, list] = {}
    for obj, key, old in deferred:
        new = keys.get(label_of(key.related_model), {}).get(old)
        if new is not None:
            setattr(obj, key.attname, new)
            by_field.setdefault((type(obj), key.name), []).append(obj)
    for (model, name), objects in by_field.items():
        model._base_manager.bulk_update(objects, [name], batch_size=500)


def _insert(model, objects: list) -> None:
    if connection.features.can_return_rows_from_bulk_insert:
        model._base_manager.bulk_create(objects, batch_size=500)
    else:
        for obj in objects:
            obj.save(force_insert=True)


def _fresh_identities(rows: dict[str, list], known: dict) -> None:
    """Generated values that must stay unique (tokens, lineages) get new ones only when
    this instance has them already; UUIDs change in the JSON that quotes them too."""
    replaced: dict[str, str] = {}
    for label, objects in rows.items():
        for column in known[label]._meta.concrete_fields:
            generated = column.has_default() and callable(column.default)
            if column.primary_key or not generated or not (
                    column.unique or isinstance(column, models.UUIDField)):
                continue
            values = {getattr(obj, column.attname) for obj in objects} - {None}
            taken = set(known[label]._base_manager.filter(
                **{f"{column.attname}__in": values}).values_list(column.attname, flat=True))
            fresh = {value: column.get_default() for value in taken}
            for obj in objects:
                value = getattr(obj, column.attname)
                if value in fresh:
                    setattr(obj, column.attname, fresh[value])
            if isinstance(column, models.UUIDField):
                replaced.update({str(old): str(new) for old, new in fresh.items()})
    if replaced:
        for label, objects in rows.items():
            for column in known[label]._meta.concrete_fields:
                if isinstance(column, models.JSONField):
                    for obj in objects:
                        setattr(obj, column.attname,
                                _replace_strings(getattr(obj, column.attname), replaced))


def _replace_strings(value, replaced: dict[str, str]):
    if isinstance(value, str):
        return replaced.get(value, value)
    if isinstance(value, list):
        return [_replace_strings(item, replaced) for item in value]
    if isinstance(value, dict):
        return {key: _replace_strings(item, replaced) for key, item in value.items()}
    return value


def _remap_json(rows: dict[str, list], keys: dict) -> None:
    for label, references in JSON_REFERENCES.items():
        objects = rows.get(label) or []
        for column, pointers in references.items():
            changed = []
            for obj in objects:
                value = getattr(obj, column)
                if not isinstance(value, dict):
                    continue
                new_value = dict(value)
                for key, target in pointers.items():
                    if isinstance(value.get(key), int) and not isinstance(value[key], bool):
                        new_value[key] = keys.get(target, {}).get(value[key])
                if new_value != value:
                    setattr(obj, column, new_value)
                    changed.append(obj)
            if changed:
                type(changed[0])._base_manager.bulk_update(changed, [column], batch_size=500)


def _settle_unfinished_job(label: str, objects: list) -> None:
    for obj in objects:
        if not isinstance(obj, JobFields) or obj.is_finished:
            continue
        if label in IMPORT_JOBS:
            obj.status, obj.error, obj.finished_at = JobStatus.FAILED, INTERRUPTED, timezone.now()
        else:
            obj.status, obj.started_at, obj.heartbeat_at = JobStatus.QUEUED, None, None


def _queue_unfinished_analyses(rows: dict[str, list]) -> int:
    queued = 0
    for label, objects in rows.items():
        for obj in objects:
            if isinstance(obj, JobFields) and obj.status == JobStatus.QUEUED:
                enqueue(JOB_TASKS[label], obj.pk)
                queued += 1
    return queued


def manifest_summary(directory: Path) -> str:
    """One line about a backup, for the command's output."""
    manifest = read_manifest(directory)
    rows = sum(manifest.models.values())
    return (f"team “{manifest.team['name']}” ({manifest.team['slug']}): {rows} rows in "
            f"{len(manifest.models)} tables, {manifest.users} people, "
            f"{len(manifest.files)} data files, exported {manifest.exported_at}; "
            f"password hashes {'included' if manifest.passwords else 'left out'}")

