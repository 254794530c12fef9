"""A team's backup: every row that belongs to it and its dataset files, in a directory
that `import_team` restores on any instance (new primary keys, foreign keys remapped).

Which rows: every model of every app with a path of foreign keys to Team (a hypothesis
belongs to a session, which belongs to a team), found in the app registry, so a model
added later is covered without touching this file; tests/ops checks that every other
model is in EXCLUDED with a reason. The people come along: the members, and everyone a
row names (authors who have since left, for instance).

Passwords: the users' password hashes are included by default, so that everyone signs
in after a restore exactly as before; the directory is then as sensitive as the database
itself (it is written readable by its owner only). `--without-passwords` leaves them
out: restored people get an unusable password and must have it set again. A person who
already has an account on the target instance (same email) keeps that account as it is.
Staff and superuser flags never travel: a team's backup grants nothing on the instance.

Layout of a backup directory:

    manifest.json                      format, team, counts per model, checksums
    rows/<app_label>.<Model>.jsonl     Django's JSONL serialization, one row a line
    files/datasets/<old pk>/v<N>/...   the published versions (caches left out)
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core import serializers
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from analytics.engine.refusals import Refused

FORMAT = 1
TEAM = "accounts.Team"
USER = "accounts.User"
DATASET = "analytics.Dataset"  # its files live under DATA_DIR/datasets/<pk>

# Models that are not part of a team's backup, and why. A new model with no path to a
# team must be added here (tests/ops fails until it is): decide, then say why.
EXCLUDED: dict[str, str] = {
    TEAM: "the root: written in the manifest",
    USER: "people travel as the team's members and the authors its rows name",
    "admin.LogEntry": "the admin site's own history on this instance",
    "auth.Permission": "built from the code on every instance",
    "auth.Group": "instance-wide admin groups, not a team's",
    "auth.Group_permissions": "instance-wide admin groups, not a team's",
    "accounts.User_groups": "instance-wide admin groups, not a team's",
    "accounts.User_user_permissions": "instance-wide admin rights, never restored",
    "contenttypes.ContentType": "built from the code on every instance",
    "sessions.Session": "sign-ins on this instance; people sign in again after a move",
    "api.ApiToken": "a person's secret for this instance: create a new token after a move",
}

# JSON values that hold a row's primary key (top-level keys only): remapped like foreign
# keys, or set to null when the row is not in the backup. A new reference is better made
# a foreign key (as AnalysisJob's session, dashboard and success definition are).
JSON_REFERENCES: dict[str, dict[str, dict[str, str]]] = {
    "worksessions.SessionEvent": {"data": {"from_id": "analytics.SuccessDefinition",
                                           "to_id": "analytics.SuccessDefinition"}},
    "worksessions.Finding": {"evidence": {"job": "analytics.AnalysisJob"}},
}

USER_FIELDS = ["email", "username", "display_name", "first_name", "last_name", "is_active",
               "date_joined", "last_login"]
VERSION_DIR = re.compile(r"v\d+")
INTERRUPTED = "Interrupted: the team was restored from a backup while this ran. Run it again."


class BackupRefused(Refused, ValueError):
    """A backup or restore that cannot go ahead, with a message for people."""


# ---------------------------------------------------------------------------------------
# Which models, and how each reaches its team.


def label_of(model: type[models.Model]) -> str:
    return model._meta.label


def _foreign_keys(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields
            if f.is_relation and (f.many_to_one or f.one_to_one)]


def team_models() -> list[type[models.Model]]:
    """Every model with a path of foreign keys to Team, each after the models it points to
    (a cycle is broken at a nullable key, filled in once every row is in)."""
    team = apps.get_model(TEAM)
    scoped: set[type[models.Model]] = set()
    candidates = [m for m in apps.get_models(include_auto_created=True) if m is not team]
    changed = True
    while changed:
        changed = False
        for model in candidates:
            if model in scoped:
                continue
            if any(f.related_model is team or f.related_model in scoped
                   for f in _foreign_keys(model)):
                scoped.add(model)
                changed = True
    return _in_dependency_order(scoped)


def _in_dependency_order(scoped: set[type[models.Model]]) -> list[type[models.Model]]:
    def needs(model, *, strict: bool) -> set:
        return {f.related_model for f in _foreign_keys(model)
                if f.related_model in scoped and f.related_model is not model
                and (not strict or not f.null)}

    placed: list[type[models.Model]] = []
    remaining = sorted(scoped, key=label_of)
    while remaining:
        ready = [m for m in remaining if needs(m, strict=False) <= set(placed)]
        if not ready:  # a cycle: place one whose non-null keys are satisfied
            ready = [m for m in remaining if needs(m, strict=True) <= set(placed)][:1]
        if not ready:
            raise BackupRefused("Models point at each other through non-null keys: "
                                f"{', '.join(label_of(m) for m in remaining)}")
        placed += ready
        remaining = [m for m in remaining if m not in ready]
    return placed


def team_lookups(model: type[models.Model]) -> list[str]:
    """The ORM lookups from `model` to its team, one per foreign key that leads there."""
    return _lookups(model, set(team_models()), frozenset())


def _lookups(model, scoped: set, visiting: frozenset) -> list[str]:
    team = apps.get_model(TEAM)
    found = []
    # Non-null keys first: they reach the team for every row.
    for f in sorted(_foreign_keys(model), key=lambda f: f.null):
        target = f.related_model
        if target is team:
            found.append(f.name)
        elif target in scoped and target not in visiting and target is not model:
            inner = _lookups(target, scoped, visiting | {model})
            if inner:
                found.append(f"{f.name}__{inner[0]}")
    return found


def rows_of(model: type[models.Model], team) -> models.QuerySet:
    where = Q()
    for lookup in team_lookups(model):
        where |= Q(**{lookup: team})
    # Forward keys only: the OR of joins never repeats a row.
    return model._base_manager.filter(where).order_by("pk")


# ---------------------------------------------------------------------------------------
# Export.


class ExactEncoder(DjangoJSONEncoder):
    """Django's encoder cuts times to milliseconds; a backup keeps every microsecond (the
    order of rows and the session timer's deadline come back exactly)."""

    def default(self, o):
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


@dataclass
class Manifest:
    team: dict
    models: dict[str, int]
    files: dict[str, dict]
    passwords: bool
    exported_at: str
    format: int = FORMAT
    users: int = 0
    order: list[str] = field(default_factory=list)


def export_team(team, directory: Path, *, passwords: bool = True) -> Manifest:
    """Write the team's backup into `directory`, which must not exist yet. It appears
    complete or not at all (written beside it, then renamed)."""

    directory = Path(directory)
    if directory.exists():
        raise BackupRefused(f"{directory} exists already: name a new directory.")
    partial = directory.with_name(f".{directory.name}.partial-{uuid.uuid4().hex[:8]}")
    old_umask = os.umask(0o077)
    try:
        (partial / "rows").mkdir(parents=True)
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if connection.vendor == "postgresql" and outermost:
                # One consistent picture of every table, even while the team works.
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            counts, user_ids, datasets = _write_rows(team, partial / "rows")
            _write_users(user_ids, partial / "rows", passwords=passwords)
        files = _copy_dataset_files(datasets, Path(settings.DATA_DIR), partial / "files")
        manifest = Manifest(
            team={"pk": team.pk, "slug": team.slug, "name": team.name,
                  "created_at": team.created_at.isoformat()},
            models=counts, files=files, passwords=passwords,
            exported_at=timezone.now().isoformat(), users=len(user_ids),
            order=list(counts),
        )
        (partial / "manifest.json").write_text(json.dumps(manifest.__dict__, indent=1))
        partial.rename(directory)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        os.umask(old_umask)
    return manifest


def _write_rows(team, rows_dir: Path) -> tuple[dict[str, int], set[int], list[tuple[int, Path]]]:
    user_model = apps.get_model(USER)
    user_ids = set(team.memberships.values_list("user_id", flat=True))
    counts: dict[str, int] = {}
    datasets: list[tuple[int, Path]] = []
    for model in team_models():
        rows = rows_of(model, team)
        user_keys = [f.attname for f in _foreign_keys(model) if f.related_model is user_model]
        count = 0
        with (rows_dir / f"{label_of(model)}.jsonl").open("w", encoding="utf-8") as out:
            for chunk in _chunks(rows.iterator(chunk_size=1000), 1000):
                serializers.serialize("jsonl", chunk, stream=out, cls=ExactEncoder)
                count += len(chunk)
                for row in chunk:
                    user_ids.update(getattr(row, key) for key in user_keys)
                    if label_of(model) == DATASET:
                        datasets.append((row.pk, row.directory))
        counts[label_of(model)] = count
    user_ids.discard(None)
    return counts, user_ids, datasets


def _write_users(user_ids: set[int], rows_dir: Path, *, passwords: bool) -> None:
    user_model = apps.get_model(USER)
    fields = USER_FIELDS + (["password"] if passwords else [])
    people = user_model._base_manager.filter(pk__in=user_ids).order_by("pk")
    with (rows_dir / f"{USER}.jsonl").open("w", encoding="utf-8") as out:
        serializers.serialize("jsonl", people, stream=out, fields=fields, cls=ExactEncoder)


def _copy_dataset_files(datasets: list[tuple[int, Path]], data_dir: Path,
                        files_dir: Path) -> dict[str, dict]:
    """Copy each dataset's published versions (immutable once published, so copying
    outside the transaction is safe); checksums go into the manifest."""
    files: dict[str, dict] = {}
    for pk, source in datasets:
        if not source.is_dir():
            continue
        for version in sorted(p for p in source.iterdir()
                              if p.is_dir() and VERSION_DIR.fullmatch(p.name)):
            target = files_dir / "datasets" / str(pk) / version.name
            shutil.copytree(version, target, ignore=shutil.ignore_patterns("cache"))
    for path in sorted(p for p in files_dir.rglob("*") if p.is_file()):
        files[path.relative_to(files_dir).as_posix()] = {"bytes": path.stat().st_size,
                                                         "sha256": _sha256(path)}
    return files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _chunks(items: Iterable, size: int):
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_manifest(directory: Path) -> Manifest:
    path = Path(directory) / "manifest.json"
    if not path.is_file():
        raise BackupRefused(f"{directory} is not a team backup (no manifest.json).")
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT:
        raise BackupRefused(f"This backup has format {data.get('format')}; this version of "
                            f"HypothesisLab reads format {FORMAT}.")
    return Manifest(**data)
