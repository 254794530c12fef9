"""A batch of events from the API, written as an NDJSON file in a staging directory: the
importer's own input form, so an appended batch goes through the same checks as a file."""

from __future__ import annotations

import json
from pathlib import Path

from analytics.engine.importer import ColumnMapping
from analytics.services import staging_dir

from .schemas import EventIn

BATCH_FILE_NAME = "api-batch.ndjson"


def stage_batch(events: list[EventIn]) -> list[dict]:
    """Staged-file entries (analytics.services.stage_upload's shape) holding the batch."""
    directory = staging_dir()
    path = directory / f"events-{BATCH_FILE_NAME}"
    with path.open("w", encoding="utf-8") as out:
        for event in events:
            row = {"user_id": event.user_id, "event": event.event,
                   "timestamp": event.timestamp}
            if event.properties:
                row["properties"] = event.properties
            out.write(json.dumps(row, ensure_ascii=False, allow_nan=False))
            out.write("\n")
    return [{"role": "events", "path": str(path), "name": BATCH_FILE_NAME}]


def batch_mapping() -> dict:
    """Batches use definitions.md's own column names."""
    return ColumnMapping().to_dict()


def discard(files: list[dict]) -> None:
    import shutil

    for directory in {Path(f["path"]).parent for f in files}:
        shutil.rmtree(directory, ignore_errors=True)
