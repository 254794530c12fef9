"""The SQL console's sandbox: one read-only SELECT over one dataset version, and nothing else.

Two walls, either of which would stop the known escapes on its own:

1. Before anything runs, the text is parsed with DuckDB's own parser. It must be exactly
   one SELECT (WITH ..., VALUES, DESCRIBE and SUMMARIZE are SELECTs to DuckDB), and every
   table it reads, resolved through the scopes of its CTEs as DuckDB resolves them, must be
   `events`, `users`, `per_user` or one of its own CTEs; a CTE may not take a name DuckDB
   already knows (a catalog view like duckdb_views or pg_settings, a schema, any function),
   so no CTE can stand in front of the catalog. Only a few harmless table functions (range,
   unnest, ...) and no function that reads settings, variables, files or the catalog are
   allowed. So `read_csv('/etc/passwd')`, `FROM '/etc/passwd'`, `duckdb_settings()`,
   `query('...')`, `information_schema.*` and `WITH pg_settings AS (...)` never reach the
   engine.
2. The query runs on a fresh in-memory connection whose three views read this version's
   files only; then external access is switched off (those exact files stay readable through
   `allowed_paths`), extension loading and installing are off, spilling to disk is off, and
   the configuration is locked, so no later statement can undo any of it. In the isolated
   child (console_process) the views name their files relative to the version's directory,
   so their text shows no server path. Memory and threads are small, a timer thread
   interrupts the query at its time limit, and the result is cut to a row cap and a byte
   cap, with long values cut inside DuckDB before they reach Python.

Error messages never show file paths. Nothing here knows of Django."""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import json
import math
import os
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analytics.engine import duck
from analytics.engine.analysis import engine_connection
from analytics.engine.definitions import validate_success
from analytics.engine.peruser import peruser_source
from analytics.engine.peruser_columns import INCLUDED_COLUMN, SUCCESS_COLUMN
from analytics.engine.refusals import Refused
from analytics.engine.storage import DatasetVersion

TABLES = ("events", "users", "per_user")
# Table functions that make rows out of values only; everything else that can appear in a
# FROM clause (read_*, glob, query, duckdb_*, pragma_*, parquet_*...) is refused.
TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest", "json_each", "json_tree"})
# Scalar functions that would tell what the server is: its settings, variables, files.
DENIED_FUNCTIONS = frozenset({
    "current_setting", "getvariable", "getenv", "write_log", "which_secret", "current_query",
    "current_query_id", "json_execute_serialized_sql", "sql_auto_complete", "pg_sleep",
    "sleep_ms",
})
DENIED_PREFIXES = ("duckdb_", "pragma_", "read_", "parquet_", "sniff_", "glob", "query")
# Names no CTE may take, beyond what DuckDB's catalog lists (catalog_names): the families
# of system views and functions, whatever a later DuckDB adds to them.
RESERVED_PREFIXES = ("duckdb_", "pragma_", "read_", "parquet_", "sniff_", "pg_", "sqlite_",
                     "information_schema")
# A CTE is named like a plain identifier: nothing DuckDB could read as a file name.
CTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
# Result types that reach Python as they are; anything else (text, lists, structs, blobs,
# JSON...) is cast to text and cut inside DuckDB, so a huge value never reaches Python.
PLAIN_TYPES = ("boolean", "tinyint", "smallint", "integer", "bigint", "hugeint", "utinyint",
               "usmallint", "uinteger", "ubigint", "uhugeint", "float", "double", "decimal",
               "date", "time", "timestamp", "timestamp with time zone", "timestamp_s",
               "timestamp_ms", "timestamp_ns", "interval", "uuid", "time with time zone")
# Types with an infinity, which Python's dates cannot hold.
INFINITE_TYPES = ("date", "timestamp", "timestamp with time zone", "timestamp_s",
                  "timestamp_ms", "timestamp_ns")
# The per-user table's flags get readable names in the console.
PER_USER_FLAGS = ((SUCCESS_COLUMN, "succeeded"), (INCLUDED_COLUMN, "window_complete"))
# JSON bytes of the rows a result keeps: with 100 columns of 500 characters, 1,000 rows
# would be 50 MB stored and rendered; this keeps a page of results light.
DEFAULT_MAX_RESULT_BYTES = 5_000_000

if TYPE_CHECKING:
    from analytics.engine.analysis import EngineSettings


class ConsoleRefused(Refused, ValueError):
    """A query that is not allowed or cannot run, with a message for people."""


class ConsoleStopped(ConsoleRefused):
    """A query stopped by one of its limits (time or memory)."""


@dataclass(frozen=True)
class ConsoleLimits:
    seconds: float = 10.0
    memory_limit: str = "256MB"
    threads: int = 1
    max_rows: int = 1000
    max_columns: int = 100
    max_cell_chars: int = 500
    max_sql_chars: int = 20_000
    max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES


@dataclass(frozen=True)
class ConsoleSources:
    """The files behind the three views: one dataset version, nothing else."""

    events_files: tuple[str, ...]
    users_file: str
    per_user_file: str | None = None
    hidden_roots: tuple[str, ...] = field(default=())  # paths never to show in messages
    root: str = ""  # the version's directory, which holds every file above

    @classmethod
    def from_dict(cls, raw: dict) -> ConsoleSources:
        """The sources again from dataclasses.asdict (as the isolated child receives them)."""
        return cls(events_files=tuple(raw["events_files"]), users_file=raw["users_file"],
                   per_user_file=raw.get("per_user_file"),
                   hidden_roots=tuple(raw.get("hidden_roots", ())), root=raw.get("root", ""))

    @classmethod
    def of(cls, version: DatasetVersion, per_user_file: Path | None = None) -> ConsoleSources:
        # Absolute paths: the isolated child runs in another working directory.
        events = tuple(sorted(str(p.absolute()) for p in version.events_dir.glob("*.parquet")))
        root = version.path.absolute()
        return cls(events_files=events, users_file=str(version.users_path.absolute()),
                   per_user_file=str(Path(per_user_file).absolute()) if per_user_file else None,
                   hidden_roots=(str(root.parent), str(root)), root=str(root))

    @classmethod
    def for_success(cls, version: DatasetVersion, success: dict,
                    settings: EngineSettings | None = None) -> ConsoleSources:
        """The sources with the per-user table of this success definition (built once and
        cached like every analysis's, so asking again costs nothing)."""
        schema = version.schema()
        success = validate_success(success, schema)
        with engine_connection(settings) as con:
            source = peruser_source(con, version, schema, success, [])
        # A temporary table (the cache directory was not writable) dies with its connection.
        per_user = Path(source.params[0]) if source.params else None
        return cls.of(version, per_user)

    @property
    def files(self) -> list[str]:
        extra = [self.per_user_file] if self.per_user_file else []
        return [*self.events_files, self.users_file, *extra]

    def relative(self) -> ConsoleSources:
        """The same files named relative to `root`, for a process whose working directory
        is `root`: the views' SQL text (duckdb_views, pg_get_viewdef) then shows
        `events/part-0.parquet`, not where the server keeps its data. A file outside `root`
        (never expected) keeps its absolute name rather than a `../` path."""
        if not self.root:
            return self

        def name(path: str) -> str:
            relative = os.path.relpath(path, self.root)
            return path if relative.startswith("..") or os.path.isabs(relative) else relative

        return replace(self, events_files=tuple(name(p) for p in self.events_files),
                       users_file=name(self.users_file),
                       per_user_file=name(self.per_user_file) if self.per_user_file else None)


# ---------------------------------------------------------------- checking the text


def check_query(sql: str, limits: ConsoleLimits | None = None) -> str:
    """The one SELECT statement of `sql`, or ConsoleRefused saying why not."""
    limits = limits or ConsoleLimits()
    if not isinstance(sql, str) or not sql.strip():
        raise ConsoleRefused("Write a SELECT query.")
    if len(sql) > limits.max_sql_chars:
        raise ConsoleRefused(f"The query is longer than {limits.max_sql_chars:,} characters.")
    if "\x00" in sql:
        raise ConsoleRefused("The query contains a NUL character.")
    parser = _parser_connection()
    try:
        statements = parser.extract_statements(sql)
    except duck.Error as error:
        raise ConsoleRefused(clean_message(str(error))) from None
    if not statements:
        raise ConsoleRefused("Write a SELECT query.")
    if len(statements) > 1:
        raise ConsoleRefused("One statement at a time: remove everything after the first ';'.")
    statement = statements[0]
    kind = str(statement.type).rsplit(".", 1)[-1]
    if kind != "SELECT":
        raise ConsoleRefused(
            f"Only SELECT queries run here; {_statement_word(statement.query, kind)} is "
            "not allowed. The console reads the dataset and changes nothing.")
    try:
        tree_text = parser.execute("SELECT json_serialize_sql(CAST(? AS VARCHAR))",
                                   [statement.query]).fetchone()[0]
    except duck.Error as error:
        raise ConsoleRefused(clean_message(str(error))) from None
    try:
        tree = json.loads(tree_text)
        if tree.get("error"):
            raise ConsoleRefused(clean_message(tree.get("error_message") or "This query "
                                               "cannot be checked, so it does not run."))
        for node in tree.get("statements", []):
            # Every table first (an unknown one is the likelier mistake), then the names
            # the query gives its own CTEs.
            _check_tree(node, frozenset())
            _check_cte_names(node)
    except RecursionError:
        raise ConsoleRefused("The query is nested too deeply to be checked.") from None
    return statement.query.strip().rstrip(";").strip()


_parsers = threading.local()


def _parser_connection() -> duck.Connection:
    """A connection that only parses: no data, locked like the sandbox. One per thread and
    kept, since making one costs a tenth of a second and parsing leaves nothing behind."""
    con = getattr(_parsers, "connection", None)
    if con is None:
        con = duck.connect(memory_limit="64MB", threads=1)
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        _parsers.connection = con
    return con


def _statement_word(text: str, kind: str) -> str:
    words = text.strip().split(None, 2)
    if not words:
        return kind
    first = words[0].upper()
    if first in ("CREATE", "DROP", "ALTER", "EXPORT", "IMPORT") and len(words) > 1:
        return f"{first} {words[1].upper()}"
    return first


@functools.cache
def catalog_names() -> frozenset[str]:
    """Every name DuckDB resolves without the query defining it: functions of any kind
    (scalar, aggregate, table, macros), views and tables of every schema (duckdb_views,
    pg_settings, information_schema's...), schemas and databases. Read from the parsing
    connection, which has the same built-in extensions as the sandbox."""
    rows = _parser_connection().execute(
        "SELECT lower(function_name) FROM duckdb_functions() "
        "UNION SELECT lower(view_name) FROM duckdb_views() "
        "UNION SELECT lower(table_name) FROM duckdb_tables() "
        "UNION SELECT lower(schema_name) FROM duckdb_schemas() "
        "UNION SELECT lower(database_name) FROM duckdb_databases()").fetchall()
    return frozenset(name for (name,) in rows if name)


@functools.cache
def catalog_reading_macros() -> frozenset[str]:
    """Scalar macros whose body is a query (pg_get_viewdef reads duckdb_views()): calling
    one runs a query the checker never sees, so they are refused like the views."""
    rows = _parser_connection().execute(
        "SELECT DISTINCT lower(function_name) FROM duckdb_functions() "
        "WHERE function_type = 'macro' AND macro_definition ILIKE '%select%'").fetchall()
    return frozenset(name for (name,) in rows)


def _check_tree(node: Any, ctes: frozenset[str]) -> None:
    """Walk DuckDB's syntax tree (json_serialize_sql) and refuse what the console does not
    allow. `ctes` are the names of the common table expressions visible at this point."""
    if isinstance(node, list):
        for item in node:
            _check_tree(item, ctes)
        return
    if not isinstance(node, dict):
        return
    cte_map = node.get("cte_map")
    if isinstance(cte_map, dict) and cte_map.get("map"):
        # As DuckDB binds them: a CTE sees the ones before it, and itself only when it is
        # recursive (WITH RECURSIVE and a UNION); the body sees them all. Anything else
        # that names it resolves to the catalog, so it must not count as the CTE here.
        visible = set(ctes)
        for entry in cte_map["map"]:
            name = str(entry.get("key", "")).lower()
            value = entry.get("value")
            body = value.get("query_node") if isinstance(value, dict) else None
            recursive = (isinstance(body, dict) and body.get("type") == "RECURSIVE_CTE_NODE"
                         and str(body.get("cte_name", "")).lower() == name)
            _check_tree(value, frozenset(visible | {name}) if recursive else frozenset(visible))
            visible.add(name)
        ctes = frozenset(visible)
    if "class" in node:
        _check_expression(node)
    else:
        _check_table_ref(node, ctes)
    for key, value in node.items():
        if key != "cte_map" and isinstance(value, dict | list):
            _check_tree(value, ctes)


def _check_cte_names(node: Any) -> None:
    """Refuse a CTE named like anything DuckDB already knows, at any depth. Shadowing is
    how `WITH pg_settings AS (SELECT * FROM pg_settings)` read the catalog: the name passed
    as the query's own table while DuckDB read the real one inside it."""
    if isinstance(node, list):
        for item in node:
            _check_cte_names(item)
        return
    if not isinstance(node, dict):
        return
    cte_map = node.get("cte_map")
    if isinstance(cte_map, dict):
        for entry in cte_map.get("map") or []:
            _check_cte_name(str(entry.get("key", "")))
    for value in node.values():
        if isinstance(value, dict | list):
            _check_cte_names(value)


def _check_cte_name(name: str) -> None:
    if not CTE_NAME.fullmatch(name):
        raise ConsoleRefused("Name a WITH table with letters, digits and _ only (at most 63 "
                             "characters, not starting with a digit).")
    lowered = name.lower()
    if lowered in TABLES:
        raise ConsoleRefused(f"WITH {name}: {lowered} is already one of the console's tables; "
                             "give your WITH table another name.")
    if lowered in catalog_names() or lowered.startswith(RESERVED_PREFIXES):
        raise ConsoleRefused(f"WITH {name}: DuckDB already uses that name (a system view or "
                             "a function); give your WITH table another name.")


def _check_expression(node: dict) -> None:
    kind = node.get("class")
    if kind == "PARAMETER":
        raise ConsoleRefused("Parameters ($1, ?) have no value here; write the values in.")
    if kind == "FUNCTION":
        name = str(node.get("function_name", "")).lower()
        if node.get("schema") or node.get("catalog"):
            raise ConsoleRefused(f"Call {name}() without a schema name.")
        if (name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES)
                or name in catalog_reading_macros()):
            if name not in TABLE_FUNCTIONS:
                raise ConsoleRefused(f"{name}() is not available in the console: it reads the "
                                     "server, not the dataset.")


def _check_table_ref(node: dict, ctes: frozenset[str]) -> None:
    kind = node.get("type")
    if kind == "BASE_TABLE":
        name = str(node.get("table_name", ""))
        if node.get("schema_name") or node.get("catalog_name"):
            raise ConsoleRefused(f"Only the tables {_tables()} can be read; "
                                 "leave out schema and database names.")
        if name.lower() not in TABLES and name.lower() not in ctes:
            raise ConsoleRefused(f"Unknown table {clean_message(repr(name))}: the console reads "
                                 f"{_tables()}"
                                 " (and your own WITH ... AS tables).")
        if node.get("at_clause"):
            raise ConsoleRefused("AT (time travel) is not available in the console.")
    elif kind == "TABLE_FUNCTION":
        function = node.get("function") or {}
        name = str(function.get("function_name", "")).lower()
        if name not in TABLE_FUNCTIONS:
            raise ConsoleRefused(f"{name}() cannot be used here: the console reads only "
                                 f"{_tables()}; table functions allowed: "
                                 f"{', '.join(sorted(TABLE_FUNCTIONS))}.")
    elif kind == "SHOW_REF":
        if node.get("show_type") not in ("DESCRIBE", "SUMMARY") or not node.get("query"):
            raise ConsoleRefused("Use DESCRIBE events (or users, per_user) to see the columns.")


def _tables() -> str:
    return ", ".join(TABLES)


# ---------------------------------------------------------------- running


def run_query(sources: ConsoleSources, sql: str, limits: ConsoleLimits | None = None,
              on_start: Callable[[], None] | None = None) -> dict:
    """Run one checked SELECT in the sandbox. Returns {"columns": [{"name", "type"}],
    "rows": [[...]], "row_count", "truncated", "truncated_by" ("rows", "bytes" or None),
    "bytes", "cut_cells", "elapsed_ms", "limits"}. `on_start` is called when the query
    itself starts, after the connection is ready (the isolated child's parent starts the
    query's clock then). Raises ConsoleRefused (not allowed, or an error in the query) or
    ConsoleStopped."""
    limits = limits or ConsoleLimits()
    statement = check_query(sql, limits)
    started = time.perf_counter()
    con = sandbox_connection(sources, limits)
    timer = threading.Timer(limits.seconds, con.interrupt)
    timer.daemon = True
    try:
        if on_start is not None:
            on_start()
        timer.start()
        try:
            relation = con.sql(statement)
            if relation is None:  # not a query after all; never expected after the check
                raise ConsoleRefused("Only SELECT queries run here.")
            names = list(relation.columns)
            types = [str(t) for t in relation.types]
            if len(names) > limits.max_columns:
                raise ConsoleRefused(f"The result has {len(names)} columns; the console shows "
                                     f"at most {limits.max_columns}. Name the ones you need.")
            shown = relation.project(_projection(types, limits)).limit(limits.max_rows + 1)
            kept = _kept_rows(shown, limits, n_columns=len(names))
        except duck.InterruptException:
            raise ConsoleStopped(f"Stopped: the query took longer than {limits.seconds:g} s. "
                                 "Narrow it down (filter first, join less) and run it again."
                                 ) from None
        except duck.Error as error:
            raise _refusal(error, sources, limits) from None
    finally:
        timer.cancel()
        con.close()
    return {
        "columns": [{"name": n, "type": t} for n, t in zip(names, types, strict=True)],
        "rows": kept.rows,
        "row_count": len(kept.rows),
        "truncated": kept.cut_by is not None,
        "truncated_by": kept.cut_by,
        "bytes": kept.size,
        "cut_cells": kept.cut_cells,
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
        "limits": {"rows": limits.max_rows, "seconds": limits.seconds,
                   "memory": limits.memory_limit, "bytes": limits.max_result_bytes},
    }


@dataclass
class _KeptRows:
    rows: list[list]
    size: int  # JSON bytes of `rows`, as the job's result stores them
    cut_cells: int
    cut_by: str | None  # "rows" or "bytes" when the query returned more than `rows`


def _kept_rows(shown: Any, limits: ConsoleLimits, *, n_columns: int) -> _KeptRows:
    """The rows a result keeps: at most max_rows, and no more than max_result_bytes of
    JSON. Rows come from DuckDB a batch at a time and stop at the first cap, so a wide
    result never sits whole in Python, in the job row or on the page."""
    kept = _KeptRows(rows=[], size=2, cut_cells=0, cut_by=None)  # 2: the list's brackets
    for raw in shown.iter_rows(batch_size=100):
        if len(kept.rows) >= limits.max_rows:
            kept.cut_by = "rows"
            break
        row, cut = _json_row(_with_infinities(raw, n_columns), limits.max_cell_chars)
        # As Django's JSONField writes it (json.dumps, ASCII escapes), with its ", ".
        size = len(json.dumps(row)) + (2 if kept.rows else 0)
        if kept.size + size > limits.max_result_bytes:
            kept.cut_by = "bytes"
            break
        kept.rows.append(row)
        kept.size += size
        kept.cut_cells += cut
    return kept


def sandbox_connection(sources: ConsoleSources, limits: ConsoleLimits) -> duck.Connection:
    """A fresh connection with the three views, locked down (see the module's docstring)."""
    con = duck.connect(memory_limit=limits.memory_limit, threads=limits.threads)
    try:
        # An empty temp directory means no spilling: the memory limit is a hard stop, and
        # no query can fill the disk.
        con.execute("SET temp_directory = ''")
        con.execute("SET preserve_insertion_order = true")  # ORDER BY survives the row cap
        if sources.events_files:
            con.read_parquet(list(sources.events_files)).create_view("events")
        con.read_parquet(sources.users_file).create_view("users")
        if sources.per_user_file:
            relation = con.read_parquet(sources.per_user_file)
            columns = list(relation.columns)
            renames = [(old, new) for old, new in PER_USER_FLAGS
                       if old in columns and new not in columns]
            if renames:
                # Our own constant names only; no user text reaches this projection.
                exclude = ", ".join(duck.quote_identifier(old) for old, _ in renames)
                renamed = ", ".join(f"{duck.quote_identifier(old)} AS {new}"
                                    for old, new in renames)
                relation = relation.project(f"* EXCLUDE ({exclude}), {renamed}")
            relation.create_view("per_user")
        con.execute("SET allowed_paths = ?", [sources.files])
        for statement in (
            "SET autoinstall_known_extensions = false",
            "SET autoload_known_extensions = false",
            "SET allow_community_extensions = false",
            "SET allow_extension_repositories = 'forbidden'",
            "SET allow_persistent_secrets = false",
            "SET python_enable_replacements = false",
            "SET enable_external_access = false",
            "SET lock_configuration = true",
        ):
            con.execute(statement)
    except BaseException:
        con.close()
        raise
    return con


def _projection(types: list[str], limits: ConsoleLimits) -> str:
    """Columns by position: plain types as they are, the rest as text cut to one character
    more than shown (so that we know it was cut). Only our own text goes in here.

    Dates and times also carry, after every column, their text when they are infinite:
    DuckDB hands Python '-infinity' as 0001-01-01 and 'infinity' as 9999-12-31, which
    a person would read as real dates (and 9999-12-31 is a real date in some data)."""
    parts, infinities = [], []
    for i, kind in enumerate(types, start=1):
        base = kind.lower().split("(", 1)[0].strip()
        if base in PLAIN_TYPES:
            parts.append(f"#{i}")
        else:
            parts.append(f"left(CAST(#{i} AS VARCHAR), {int(limits.max_cell_chars) + 1})")
        infinities.append(f"CASE WHEN isinf(#{i}) THEN CAST(#{i} AS VARCHAR) END"
                          if base in INFINITE_TYPES else "NULL")
    return ", ".join(parts + infinities)


def _with_infinities(raw: tuple, n_columns: int) -> tuple:
    """The row's own values, an infinite date or time as its text ("infinity")."""
    values, infinite = raw[:n_columns], raw[n_columns:]
    return tuple(text if text is not None else value
                 for value, text in zip(values, infinite, strict=True))


def _refusal(error: Exception, sources: ConsoleSources, limits: ConsoleLimits) -> ConsoleRefused:
    if isinstance(error, duck.OutOfMemoryException) or str(error).startswith("Out of Memory"):
        return ConsoleStopped(f"Stopped: the query needed more than {limits.memory_limit} of "
                              "memory. Aggregate or filter before collecting so much.")
    if isinstance(error, duck.PermissionException):
        return ConsoleRefused("Not allowed: the console reads only this dataset's tables "
                              f"({_tables()}), no other files, no network, no settings.")
    return ConsoleRefused(clean_message(str(error), sources.hidden_roots))


# Absolute paths as DuckDB writes them in messages, quoted or not.
_QUOTED_PATH = re.compile(r"""(["'])/[^"'\n]*\1""")
_BARE_PATH = re.compile(r"(?<![\w)\]])/(?:[\w.\-~]+/)+[\w.\-*~]*")


def clean_message(message: str, hidden: tuple[str, ...] = ()) -> str:
    """A DuckDB message without any file path, and without its internal hints."""
    for root in sorted(hidden, key=len, reverse=True):
        if root:
            message = message.replace(root, "<dataset>")
    message = _QUOTED_PATH.sub(lambda m: f"{m.group(1)}<path>{m.group(1)}", message)
    message = _BARE_PATH.sub("<path>", message)
    return message.strip()[:2000]


def _json_row(row: tuple, max_chars: int) -> tuple[list, int]:
    values, cut = [], 0
    for value in row:
        value = _json_value(value)
        if isinstance(value, str) and len(value) > max_chars:
            value = value[:max_chars] + "…"
            cut += 1
        values.append(value)
    return values, cut


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        number = float(value)
        return number if math.isfinite(number) else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta | uuid.UUID):
        return str(value)
    return str(value)


def result_csv_rows(result: dict) -> list[list[Any]]:
    """The header and the rows of a console result, for a CSV file."""
    return [[c["name"] for c in result["columns"]], *result["rows"]]
