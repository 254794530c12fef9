"""Uploaded files on their way to an import. Each upload gets a directory of its own under
DATA_DIR/staging, and each file a directory of its own in it, so that the file keeps the
name people gave it (normalised and shortened: see safe_file_name). The import removes
the upload's directory whatever its outcome (execution.import_execute). Files are
streamed there, never read whole into memory.

A batch of events from the API is written there as an NDJSON file: the importer's own
input form, so an appended batch goes through the same checks as an uploaded file."""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import unicodedata
import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta
from pathlib import Path

from django.conf import settings

from .models import DatasetImport, JobStatus

BATCH_FILE_NAME = "api-batch.ndjson"
# Bytes of a staged file's name, in UTF-8: well under the 255 a file system allows.
MAX_NAME_BYTES = 120
# The suffixes that say a file's format (analytics.engine.importing.files), kept whole.
_FORMAT_SUFFIX = re.compile(r"(\.(csv|tsv|txt|parquet|ndjson|jsonl|json))?(\.gz)?$",
                            re.IGNORECASE)
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f/\\:*?\"<>|]+")


def staging_root() -> Path:
    return Path(settings.DATA_DIR) / "staging"


def staging_dir() -> Path:
    path = staging_root() / uuid.uuid4().hex
    path.mkdir(parents=True)
    return path


def safe_file_name(name: str, default: str = "file") -> str:
    """A file name people sent, fit to be a file's name and shown in messages: its last
    part only, NFC, no control or path characters, not hidden, and at most
    MAX_NAME_BYTES long with its format suffix (.csv.gz) kept."""
    name = unicodedata.normalize("NFC", str(name or ""))
    name = re.split(r"[/\\]", name)[-1]
    name = " ".join(_UNSAFE.sub("_", name).split()).lstrip(". ")
    if not name:
        return default
    suffix = _FORMAT_SUFFIX.search(name).group()
    stem = name[: len(name) - len(suffix)]
    room = MAX_NAME_BYTES - len(suffix.encode())
    if len(stem.encode()) > room:
        stem = stem.encode()[: room - len("…".encode())].decode(errors="ignore").rstrip()
        stem += "…"
    return (stem + suffix) if stem else default + suffix


def _file_dir(directory: Path, role: str) -> Path:
    path = directory / f"{role}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    return path


def stage_upload(directory: Path, uploaded, *, role: str) -> dict:
    """Stream an uploaded file to the staging directory (never whole into memory)."""
    name = safe_file_name(uploaded.name, default=f"{role}.csv")
    target = _file_dir(directory, role) / name
    with target.open("wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    return {"role": role, "path": str(target), "name": name}


def stage_path(directory: Path, source: Path, *, role: str) -> dict:
    name = safe_file_name(source.name, default=f"{role}.csv")
    target = _file_dir(directory, role) / name
    shutil.copyfile(source, target)
    return {"role": role, "path": str(target), "name": name}


def upload_dir_of(path: str | Path) -> Path | None:
    """The upload's own directory (right under staging_root) that holds a staged file."""
    root = staging_root()
    return next((parent for parent in Path(path).parents if parent.parent == root), None)


def stage_events(events: Iterable[Mapping]) -> list[dict]:
    """Staged-file entries (stage_upload's shape) holding a batch of events, each a mapping
    with user_id, event, timestamp and optional properties (definitions.md section 1)."""
    path = _file_dir(staging_dir(), "events") / BATCH_FILE_NAME
    with path.open("w", encoding="utf-8") as out:
        for event in events:
            row = {"user_id": event["user_id"], "event": event["event"],
                   "timestamp": event["timestamp"]}
            if event.get("properties"):
                row["properties"] = event["properties"]
            out.write(json.dumps(row, ensure_ascii=False, allow_nan=False))
            out.write("\n")
    return [{"role": "events", "path": str(path), "name": BATCH_FILE_NAME}]


def discard(files: list[dict]) -> None:
    """Remove the staging directories of files that will not be (or were) imported. Only
    directories under staging_root: a file staged elsewhere is not ours to remove."""
    for directory in {upload_dir_of(f["path"]) for f in files} - {None}:
        shutil.rmtree(directory, ignore_errors=True)


# An upload whose mapping was never confirmed leaves its files here; after this long
# nobody is coming back for them.
ABANDONED_AFTER = timedelta(hours=24)


def remove_abandoned(*, older_than: timedelta = ABANDONED_AFTER) -> list[Path]:
    """Remove upload directories untouched for `older_than` that no unfinished import
    still needs (an import waiting for an earlier one keeps its files). Returns them."""
    root = staging_root()
    if not root.is_dir():
        return []
    cutoff = _file_system_now(root) - older_than.total_seconds()
    needed = {upload_dir_of(f["path"])
              for files in DatasetImport.objects.filter(
                  status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).values_list("files", flat=True)
              for f in files}
    removed = []
    for directory in root.iterdir():
        if directory.is_dir() and directory not in needed and _last_touched(directory) < cutoff:
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed


def _file_system_now(root: Path) -> float:
    """Now, by the clock that stamps the files: ages are file times against it, whatever
    this process's clock says (time-machine in tests; a host whose clock drifted)."""
    with tempfile.NamedTemporaryFile(dir=root, prefix=".now-") as marker:
        return os.fstat(marker.fileno()).st_mtime


def _last_touched(directory: Path) -> float:
    return max((p.stat().st_mtime for p in directory.rglob("*")),
               default=directory.stat().st_mtime)
