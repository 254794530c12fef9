"""The only module that imports duckdb. Every connection to the analytics database is
made here: a fresh in-memory connection per job, with the worker's share of memory and
threads, and (unless the caller needs to read files by path, like the importer) no
access to anything outside the dataset."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

Connection = duckdb.DuckDBPyConnection
Error = duckdb.Error
InterruptException = duckdb.InterruptException
OutOfMemoryException = duckdb.OutOfMemoryException
PermissionException = duckdb.PermissionException


def connect(*, memory_limit: str = "1GB", threads: int = 2,
            temp_directory: Path | None = None) -> Connection:
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{_checked_size(memory_limit)}'")
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    # The CLI prints one JSON document on stdout and nothing else.
    con.execute("SET enable_progress_bar = false")
    # Every timestamp is stored and compared in UTC; a day is 24 hours of absolute time.
    con.execute("SET TimeZone = 'UTC'")
    if temp_directory is not None:
        con.execute("SET temp_directory = ?", [str(temp_directory)])
    return con


def _checked_size(value: str) -> str:
    # Sizes come from settings, never from users; still, only digits and a unit pass.
    cleaned = value.strip().upper().replace(" ", "")
    number = cleaned.rstrip("KMGTIB")
    if not number.replace(".", "", 1).isdigit():
        raise ValueError(f"not a memory size: {value!r}")
    return cleaned


def quote_identifier(name: str) -> str:
    """Quote a column name taken from a dataset's own schema (never from free text)."""
    return '"' + name.replace('"', '""') + '"'


def sql_list_of_paths(paths: Sequence[Path | str]) -> list[str]:
    return [str(p) for p in paths]
