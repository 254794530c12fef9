"""The upload service, one for the upload page and the API: which files may be uploaded,
staging them, the column mapping (given, or guessed from the headers), creating the
dataset, and appending a batch of events with its idempotency key. The page and the API
only translate a refusal into a form error or an HTTP status."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from accounts.models import Team, User

from . import services
from .engine.importer import ColumnMapping, ImportRefused, MappingGuess, guess_mapping
from .engine.importing.errors import hide_paths
from .models import Dataset, DatasetImport, JobStatus
from .staging import (
    discard,
    remove_abandoned,
    safe_file_name,
    stage_events,
    stage_upload,
    staging_dir,
)

ACCEPTED_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".ndjson", ".jsonl", ".json")


class UploadRefused(services.DatasetRefused):
    """An upload or a batch that cannot be taken, with a message for people and the HTTP
    status the API answers with: 400 for a bad request, 409 for "not now"."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.status = status


# Which files --------------------------------------------------------------------------

def check_data_file(uploaded: UploadedFile) -> None:
    """A data file by its name, within the size limit (its content is the importer's)."""
    shown = safe_file_name(uploaded.name)
    if not shown.lower().removesuffix(".gz").endswith(ACCEPTED_SUFFIXES):
        raise UploadRefused(f"{shown}: use CSV, Parquet or NDJSON files (optionally gzipped).")
    if uploaded.size > settings.MAX_UPLOAD_BYTES:
        raise UploadRefused(
            f"{shown} is larger than the {settings.MAX_UPLOAD_BYTES // 1024**2:,} MB limit."
        )


def _stage(events: list[UploadedFile], users: UploadedFile | None) -> tuple[Path, list[dict]]:
    """Stream the files into a staging directory of their own, each entry with its role."""
    directory = staging_dir()
    files = [stage_upload(directory, f, role="events") for f in events]
    if users:
        files.append(stage_upload(directory, users, role="users"))
    return directory, files


# The mapping --------------------------------------------------------------------------

def _guess(directory: Path, files: list[dict]) -> MappingGuess:
    """Reads only the files' headers and first rows, never the data as a whole: of a
    gzipped file no more than a bounded prefix, decompressed into the staging directory,
    never the whole file and never into /tmp (decompressing is the import's work, in the
    worker, counted). Files it cannot read are refused here, and their staging directory
    removed."""
    events = [Path(f["path"]) for f in files if f["role"] == "events"]
    users = next((Path(f["path"]) for f in files if f["role"] == "users"), None)
    try:
        return guess_mapping(events, users, scratch=directory)
    except ImportRefused as refusal:
        shutil.rmtree(directory, ignore_errors=True)
        raise UploadRefused(hide_paths(str(refusal))) from None


def mapping_from_json(text: str) -> ColumnMapping | None:
    """A mapping sent as a JSON object of ColumnMapping's keys; None when none was sent."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        raise UploadRefused("mapping must be a JSON object.") from None
    if not isinstance(data, dict):
        raise UploadRefused("mapping must be a JSON object.")
    known = ColumnMapping().to_dict()
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise UploadRefused(f"Unknown mapping keys: {', '.join(unknown)}; known keys: "
                            f"{', '.join(known)}.")
    for key, value in data.items():
        default = known[key]
        if isinstance(default, list):
            ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        elif isinstance(default, bool):
            ok = isinstance(value, bool)
        else:
            ok = (value is None and default is None) or (isinstance(value, str) and value)
            ok = ok or (value is None and key in ("event_name", "csv_delimiter"))
        if not ok:
            raise UploadRefused(f"mapping {key!r} has the wrong type.")
    return ColumnMapping.from_dict(data)


def _columns_by_role(guess: MappingGuess, files: list[dict]) -> dict[str, list[str]]:
    """The columns found in the events files and in the users file."""
    found = {"events": [], "users": []}
    for f in files:
        for key, names in guess.columns.items():
            if str(key) in (f["path"], Path(f["path"]).name, f["role"]):
                for name in names:
                    if name not in found[f["role"]]:
                        found[f["role"]].append(name)
    return found


# Creating a dataset -------------------------------------------------------------------

@dataclass
class UploadDraft:
    """Staged files and the guessed mapping, waiting for the team to confirm the mapping."""

    files: list[dict]
    mapping: dict
    columns: dict[str, list[str]]  # "events" and "users": the columns found in the files
    notes: list[str]


def upload_begin(*, events: list[UploadedFile], users: UploadedFile | None) -> UploadDraft:
    """The upload page's first step: stage the (already checked) files and guess the
    mapping for the team to confirm; upload_finish then creates the dataset."""
    # Where no beat runs (the embedded default), earlier abandoned drafts go here.
    remove_abandoned()
    directory, files = _stage(events, users)
    guess = _guess(directory, files)
    return UploadDraft(files=files, mapping=guess.mapping.to_dict(),
                       columns=_columns_by_role(guess, files),
                       notes=list(guess.notes))


def upload_finish(*, team: Team, name: str, created_by: User | None, files: list[dict],
                  mapping: dict, description: str = "") -> DatasetImport:
    """Create the dataset from staged files with the confirmed mapping and queue its
    import. The staged files stay on a refusal, so that the request may be corrected."""
    try:
        return services.dataset_create(team=team, name=name, description=description,
                                       created_by=created_by, files=files, mapping=mapping)
    except services.DatasetRefused as refusal:
        raise UploadRefused(str(refusal)) from None


def upload_create(*, team: Team, name: str, created_by: User | None,
                  events: list[UploadedFile] | None, users: UploadedFile | None,
                  mapping: str = "", description: str = "") -> DatasetImport:
    """Both steps at once, for the API: check the files and the mapping (JSON, guessed
    when left out), stage the files and create the dataset; nothing is left on a
    refusal."""
    events = [f for f in (events or []) if f]
    if not events and users is None:
        raise UploadRefused("Add at least one events file or a users file.")
    chosen = mapping_from_json(mapping)
    for uploaded in [*events, *([users] if users else [])]:
        check_data_file(uploaded)
    directory, files = _stage(events, users)
    if chosen is None:
        chosen = _guess(directory, files).mapping
    try:
        return upload_finish(team=team, name=name.strip(), description=description.strip(),
                             created_by=created_by, files=files, mapping=chosen.to_dict())
    except UploadRefused:
        shutil.rmtree(directory, ignore_errors=True)
        raise


# Appending a batch --------------------------------------------------------------------

def idempotency_key_from(header: str | None, field: str | None) -> str:
    """The key of an API call, sent as the Idempotency-Key header or the idempotency_key
    field; both is fine as long as they agree."""
    header, field = (header or "").strip(), (field or "").strip()
    if header and field and header != field:
        raise UploadRefused("The Idempotency-Key header and the idempotency_key field "
                            "differ: send one of them.")
    return header or field


def batch_mapping() -> dict:
    """Batches use definitions.md's own column names."""
    return ColumnMapping().to_dict()


def events_append(*, dataset: Dataset, created_by: User | None, events: Iterable[Mapping],
                  idempotency_key: str = "") -> tuple[DatasetImport, bool]:
    """Append a batch of events as a new version of the dataset. Returns the import and
    whether it is new: a key seen before returns that key's import and adds nothing, even
    while it runs, so that a client may retry until it hears back."""
    if idempotency_key:
        earlier = DatasetImport.objects.filter(dataset=dataset,
                                               idempotency_key=idempotency_key).first()
        if earlier is not None:
            return earlier, False
    if not dataset.is_ready:
        raise UploadRefused("The dataset has no imported data yet: wait until its status "
                            "is ready, then append.", status=409)
    # Each version is built on the current one when its import runs: two imports running
    # side by side would each miss the other's events. One at a time, then.
    if DatasetImport.objects.filter(dataset=dataset,
                                    status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists():
        raise UploadRefused("The dataset's previous import is still running: retry in a "
                            "few seconds (with the same idempotency key).", status=409)
    try:
        services.check_storage_quota(dataset.team)
    except services.DatasetRefused as refusal:
        raise UploadRefused(str(refusal)) from None
    files = stage_events(events)
    job, created = services.dataset_append(dataset=dataset, created_by=created_by,
                                           files=files, mapping=batch_mapping(),
                                           idempotency_key=idempotency_key)
    if not created:
        discard(files)
    return job, created
