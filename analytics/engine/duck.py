"""The only module that imports duckdb. Every connection to the analytics database is
made here, with the worker's share of memory and threads, and (unless the caller needs
to read files by path, like the importer) no access to anything outside the dataset.

Engine jobs share one in-memory database per process (`engine_cursor`): opening a
database costs 30-250 ms on a loaded machine, more than a whole test on a cached
per-user table, while a cursor costs well under a millisecond. A cursor is its own
connection: temporary tables and session settings die with it, so jobs stay isolated.
Settings that belong to the database (memory, threads) are set to the job's before it
runs; a worker process runs one job at a time. Importers and other one-off users still
get a fresh database from `connect`."""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from duckdb import DuckDBPyConnection as Connection

# duckdb itself is imported on first use: a web process imports the engine's modules to
# check definitions and queue jobs, and would otherwise hold some 30 MB of DuckDB it never
# calls (it only parses a console query or sniffs an upload's columns, when asked).
_NAMES = {"Connection": "DuckDBPyConnection", "Error": "Error",
          "InterruptException": "InterruptException",
          "OutOfMemoryException": "OutOfMemoryException",
          "PermissionException": "PermissionException"}


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(_duckdb(), _NAMES[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _duckdb():
    import duckdb

    return duckdb


def load_library() -> None:
    """Import duckdb now rather than on first use (a worker, before it forks its pool:
    analytics.engine.preload)."""
    _duckdb()


def connect(*, memory_limit: str = "1GB", threads: int = 2,
            temp_directory: Path | None = None) -> Connection:
    """A fresh in-memory database of its own (closing it frees everything)."""
    con = _duckdb().connect(":memory:")
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


class _EngineDatabase:
    """This process's engine database, its spill directory and the settings last set."""

    def __init__(self) -> None:
        # Large sorts may spill; without a directory DuckDB would spill into the working
        # directory. One per process; DuckDB creates it when it first spills and removes
        # it when the database closes, so a process that never spills leaves nothing.
        self.spill = (Path(tempfile.gettempdir())
                      / f"hypothesislab-duckdb-{os.getpid()}-{uuid.uuid4().hex[:12]}")
        self.database = _duckdb().connect(":memory:")
        for statement in ("SET GLOBAL TimeZone = 'UTC'",
                          "SET GLOBAL preserve_insertion_order = false"):
            self.database.execute(statement)
        self.database.execute("SET temp_directory = ?", [str(self.spill)])
        self.settings: tuple[str, int] | None = None

    def cursor(self, memory_limit: str, threads: int) -> Connection:
        wanted = (_checked_size(memory_limit), int(threads))
        if wanted != self.settings:
            self.database.execute(f"SET memory_limit = '{wanted[0]}'")
            self.database.execute(f"SET threads = {wanted[1]}")
            self.settings = wanted
        con = self.database.cursor()
        con.execute("SET enable_progress_bar = false")
        return con

    def close(self) -> None:
        self.database.close()
        shutil.rmtree(self.spill, ignore_errors=True)


_engine: _EngineDatabase | None = None
_engine_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _engine, _engine_lock, _ordered
    _engine_lock = threading.Lock()  # it may have been held by a thread left behind
    _ordered = threading.Lock()
    if _engine is not None:
        # A forked child must neither use nor free its parent's database: freeing it
        # waits for the parent's threads, which did not follow into the child, forever
        # (at the latest when the interpreter exits). One reference more keeps it.
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(_engine.database))
        _engine = None


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_engine() -> None:
    global _engine
    with _engine_lock:
        if _engine is not None:
            _engine.close()
        _engine = None


def engine_cursor(*, memory_limit: str = "1GB", threads: int = 2) -> Connection:
    """A new connection to this process's engine database, with these settings. Close
    it when the job is done (its temporary tables go with it)."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = _EngineDatabase()
        return _engine.cursor(memory_limit, threads)


@contextmanager
def _setting(con: Connection, name: str, value: str) -> Iterator[None]:
    """`name` (a setting of ours, never user text) at `value` for the statements inside,
    then as it was: DuckDB's settings belong to the database, not to the connection."""
    before = con.execute("SELECT current_setting(?)", [name]).fetchone()[0]
    con.execute(f"SET {name} = {value}")
    try:
        yield
    finally:
        restored = ("true" if before else "false") if isinstance(before, bool) else int(before)
        con.execute(f"SET {name} = {restored}")


def single_thread(con: Connection):
    """One DuckDB thread for the statements inside, then the setting as it was."""
    return _setting(con, "threads", "1")


_ordered = threading.Lock()  # held while a connection has ordered_scans on


@contextmanager
def ordered_scans(con: Connection) -> Iterator[None]:
    """Results in the order of the rows read for the statements inside (a file's scan
    comes out in file order, whatever the threads), then the setting as it was. One
    holder at a time in this process, so that no other holder turns it off meanwhile;
    statements of other connections only keep their order too, which changes no answer."""
    with _ordered, _setting(con, "preserve_insertion_order", "true"):
        yield


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
