"""What one import may take: uncompressed bytes and rows over all its files, and the room
left in the team's storage quota for the version it writes. The service fills these from
the settings named in the messages; None means no limit (the engine's own tests and
tools). An Allowance counts what an import has taken so far and refuses past a limit."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from analytics.engine.importing.errors import ImportRefused


@dataclass(frozen=True)
class ImportLimits:
    max_bytes: int | None = None  # uncompressed bytes of all the import's files
    max_rows: int | None = None  # rows of all the import's files
    storage_bytes: int | None = None  # bytes the new version's own files may add


def size_text(n: int) -> str:
    """2147483648 -> "2 GB" (binary units, as the upload limit is written)."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if n >= factor:
            return f"{n / factor:,.3g} {unit}".replace(".0 ", " ")
    return f"{n:,} bytes"


@dataclass
class Allowance:
    limits: ImportLimits = field(default_factory=ImportLimits)
    bytes_taken: int = 0
    rows_taken: int = 0

    @property
    def bytes_left(self) -> int | None:
        if self.limits.max_bytes is None:
            return None
        return max(self.limits.max_bytes - self.bytes_taken, 0)

    @property
    def rows_left(self) -> int | None:
        if self.limits.max_rows is None:
            return None
        return max(self.limits.max_rows - self.rows_taken, 0)

    def take_bytes(self, n: int, *, file: str, compressed: bool) -> None:
        left = self.bytes_left
        if left is not None and n > left:
            raise self.bytes_refusal(file=file, compressed=compressed)
        self.bytes_taken += n

    def bytes_refusal(self, *, file: str, compressed: bool) -> ImportRefused:
        limit = size_text(self.limits.max_bytes or 0)
        what = "expands past" if compressed else "goes past"
        together = " (with the import's other files)" if self.bytes_taken else ""
        return ImportRefused(f"{what} the {limit} limit on the data of one import{together} "
                             "(MAX_IMPORT_BYTES)", file=file)

    def take_rows(self, n: int, *, file: str) -> None:
        left = self.rows_left
        if left is not None and n > left:
            together = " (with the import's other files)" if self.rows_taken else ""
            raise ImportRefused(
                f"has more than the {self.limits.max_rows:,} rows one import may have"
                f"{together} (MAX_IMPORT_ROWS)", file=file)
        self.rows_taken += n

    def check_storage(self, version_dir: Path, *, skip: tuple[Path, ...] = ()) -> None:
        """Refuse a written version whose own files (not those shared with an earlier
        version) do not fit in the room left in the team's quota."""
        room = self.limits.storage_bytes
        if room is None:
            return
        added = new_bytes(version_dir, skip=skip)
        if added > room:
            raise ImportRefused(
                f"the new version takes {size_text(added)}, more than the "
                f"{size_text(room)} left in the team's storage quota "
                "(TEAM_STORAGE_QUOTA_BYTES); delete a dataset you no longer need, or ask "
                "for a larger quota")


def new_bytes(directory: Path, *, skip: tuple[Path, ...] = ()) -> int:
    """Bytes of the files under `directory` that no other directory shares (a file an
    append shares with the previous version is a hard link, with a link count above 1)."""
    total = 0
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if Path(root, d) not in skip]
        for name in names:
            info = os.lstat(Path(root, name))
            if info.st_nlink == 1:
                total += info.st_size
    return total
