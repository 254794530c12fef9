"""Atomic publication of a dataset version: everything is written under a temporary
sibling of the destination, checked, then renamed into place. A refusal (or any error)
removes the temporary directory, so nothing of a failed import is ever visible."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from analytics.engine.storage import DatasetSchema, DatasetVersion

SPILL_DIR = "spill"  # DuckDB's temp_directory, inside the import's own directory
INPUTS_DIR = "inputs"  # decompressed copies of gzipped sources, removed before publishing


class Publication:
    """`with Publication(dest) as work:` gives the temporary version directory; leaving
    the block without error publishes it as `dest`, otherwise removes it."""

    def __init__(self, dest: Path) -> None:
        self.dest = Path(dest)
        if self.dest.exists():
            raise FileExistsError(f"dataset version {self.dest} already exists")
        self._created_parent: Path | None = None
        self.work = self.dest.parent / f".{self.dest.name}.importing-{uuid.uuid4().hex[:12]}"

    @property
    def version(self) -> DatasetVersion:
        return DatasetVersion(self.work)

    @property
    def spill_dir(self) -> Path:
        return self.work / SPILL_DIR

    @property
    def inputs_dir(self) -> Path:
        return self.work / INPUTS_DIR

    @property
    def scratch_dirs(self) -> tuple[Path, ...]:
        """What is not part of the version (removed before it is published)."""
        return self.spill_dir, self.inputs_dir

    def __enter__(self) -> Publication:
        if not self.dest.parent.exists():
            self._created_parent = _first_missing(self.dest.parent)
            self.dest.parent.mkdir(parents=True)
        self.work.mkdir()
        self.version.events_dir.mkdir()
        self.spill_dir.mkdir()
        self.inputs_dir.mkdir()
        return self

    def write_schema(self, schema: DatasetSchema) -> None:
        self.version.schema_path.write_text(schema.to_json())

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._discard()
            return
        try:
            for scratch in self.scratch_dirs:
                shutil.rmtree(scratch, ignore_errors=True)
            if self.dest.exists():
                raise FileExistsError(f"dataset version {self.dest} appeared meanwhile")
            os.rename(self.work, self.dest)
        except BaseException:
            self._discard()
            raise

    def _discard(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        if self._created_parent is not None:
            # Remove only the directories this import created, and only if still empty.
            for path in [self.dest.parent, *self.dest.parent.parents]:
                try:
                    path.rmdir()
                except OSError:
                    break
                if path == self._created_parent:
                    break


def _first_missing(path: Path) -> Path:
    missing = path
    while not missing.parent.exists():
        missing = missing.parent
    return missing
