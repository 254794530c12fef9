"""Uploaded files on their way to an import. Each upload gets a directory of its own under
DATA_DIR/staging, which the import removes once it has published the version
(services.import_execute). Files are streamed there, never read whole into memory.

A batch of events from the API is written there as an NDJSON file: the importer's own
input form, so an appended batch goes through the same checks as an uploaded file."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

from django.conf import settings

BATCH_FILE_NAME = "api-batch.ndjson"


def staging_dir() -> Path:
    path = Path(settings.DATA_DIR) / "staging" / uuid.uuid4().hex
    path.mkdir(parents=True)
    return path


def stage_upload(directory: Path, uploaded, *, role: str) -> dict:
    """Stream an uploaded file to the staging directory (never whole into memory)."""
    name = Path(uploaded.name).name or f"{role}.csv"
    target = directory / f"{role}-{uuid.uuid4().hex[:8]}-{name}"
    with target.open("wb") as out:
        for chunk in uploaded.chunks():
            out.write(chunk)
    return {"role": role, "path": str(target), "name": name}


def stage_path(directory: Path, source: Path, *, role: str) -> dict:
    target = directory / f"{role}-{uuid.uuid4().hex[:8]}-{source.name}"
    shutil.copyfile(source, target)
    return {"role": role, "path": str(target), "name": source.name}


def stage_events(events: Iterable[Mapping]) -> list[dict]:
    """Staged-file entries (stage_upload's shape) holding a batch of events, each a mapping
    with user_id, event, timestamp and optional properties (definitions.md section 1)."""
    directory = staging_dir()
    path = directory / f"events-{BATCH_FILE_NAME}"
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
    """Remove the staging directories of files that will not be imported."""
    for directory in {Path(f["path"]).parent for f in files}:
        shutil.rmtree(directory, ignore_errors=True)
