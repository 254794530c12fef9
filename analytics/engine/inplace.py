"""Files analysed in place: events and users files (CSV, Parquet, NDJSON) read where they
lie, for the command line, instead of being imported into a temporary dataset first.

What the importer writes and then reads back, this module computes from the files:

  checks    the importer's own steps (analytics/engine/importing): each file opened and
            typed as an import opens it, the users file staged and checked, the mapped
            columns found. Then one pass over the events, with the importer's retries (a
            CSV column typed from a sample and broken by a later value is read as text),
            computes per user the first-seen time and per event the count and time
            range. What an import refuses (an empty user id or event name, a time that
            cannot be read, a control character) shows in what this pass returns: the
            distinct ids and names, and how many rows had a time. A refusal then names
            the first bad row exactly as an import's does (importing.events.first_bad_row).
  schema    the DatasetSchema an import of the same files would publish.
  per-user  peruser_columns.PerUserQuery over the files themselves (the events rows as
            the importer would store them, never written) and the population table of
            this pass, kept in memory (or, when wide, as Parquet in the command's
            scratch directory). When its measures only count events whose times the
            checking pass kept per user (listed events), from those lists instead
            (peruser_lists): the files are then read once.

Users are grouped by their id as text (an import numbers them; the counts are the same:
every id is either text on both paths or a plain integer whose text is canonical).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from analytics.engine import duck
from analytics.engine.importer import _iso, _unexpected
from analytics.engine.importing import columns as cols
from analytics.engine.importing.column_mapping import ColumnMapping
from analytics.engine.importing.columns import q
from analytics.engine.importing.errors import ImportRefused, first_control_character
from analytics.engine.importing.events import (
    BAD_ROW,
    EventSource,
    EventsPlan,
    first_bad_row,
    id_sql,
    plan_events,
    run_reading,
)
from analytics.engine.importing.limits import Allowance
from analytics.engine.importing.sources import Fragment, open_source
from analytics.engine.importing.users import UsersTable, stage_users
from analytics.engine.peruser import scan_events, table_key
from analytics.engine.peruser_columns import Feature, PerUserQuery, distinct_event_hashes
from analytics.engine.peruser_lists import lists_sql
from analytics.engine.sql import Sql
from analytics.engine.storage import DatasetSchema

_PASS = "__hl_files_pass"  # temporary: one row per user with events and one per event
_USERS = "__hl_files_users"  # temporary: the population, as users.parquet holds it
_BY_EVENT = "__hl_by_event"  # 1 on the per-event rows of _PASS
_LIST = "__hl_list_"  # + a number: the times of one listed event, per user, in _PASS
# Listed events' times are kept per user up to this many rows; beyond, the per-user
# table reads the files again. DuckDB's list aggregate grows costly past a few million
# rows within a command's 1 GB: at 1M users / 50M events, 1.5M purchase times saved 8%
# of a breakdown's CPU, while 9.7M times (purchase, login, export) cost a criterion 29%
# more than the second read (and the floor's own lists form took 75 s, its join form 21).
MAX_LISTED_ROWS = 2_000_000
# A per-user table up to this size (users x columns x 8 bytes) stays in memory, a fifth
# cheaper than writing and reading it as Parquet.
_TABLE_IN_MEMORY = 128 * 2**20
_BYTES_PER_VALUE = 8
_NO_EVENTS = Sql("(SELECT NULL::VARCHAR AS _uid, NULL::VARCHAR AS event, "
                 "NULL::TIMESTAMPTZ AS timestamp LIMIT 0)")


@dataclass
class FilesInPlace:
    """Checked files on the connection that checked them: what analyze() and discover()
    take instead of a published DatasetVersion. The connection's temporary tables and the
    scratch directory hold what the analysis reads, so both live as long as this does."""

    connection: duck.Connection
    checked_schema: DatasetSchema
    events: Sql  # FROM item: _uid (the user id as text), event, timestamp, properties
    users: Sql  # FROM item: _uid, user_id, _first_seen, user properties
    scratch: Path
    tables: dict[str, Sql] = field(default_factory=dict)  # per-user tables by key
    carried: dict[str, list[str]] | None = None
    # event name -> its column of times per user in `lists` (see peruser_lists)
    listed: dict[str, str] = field(default_factory=dict)
    lists: Sql = field(default_factory=lambda: Sql(
        f"(SELECT * FROM {_PASS} WHERE {_BY_EVENT} = 0)"))  # noqa: S608

    def schema(self) -> DatasetSchema:
        return self.checked_schema

    def carried_properties(self) -> dict[str, list[str]]:
        """event -> the numeric properties it carries at least once (as
        discovery.carried_properties reads them from a version), for discovery only."""
        if self.carried is None:
            schema = self.checked_schema
            numeric = sorted(p for p, kind in schema.event_properties.items()
                             if kind in ("integer", "float"))
            self.carried = {}
            if numeric and schema.n_events:
                present = ", ".join(f"count({q(p)}) > 0" for p in numeric)
                rows = self.connection.execute(
                    f"SELECT event, {present} FROM {self.events.text} GROUP BY event",  # noqa: S608
                    self.events.params).fetchall()
                self.carried = {event: [p for p, has in zip(numeric, flags, strict=True) if has]
                                for event, *flags in rows}
        return self.carried

    def peruser_source(self, schema: DatasetSchema, success: dict,
                       features: list[Feature]) -> Sql:
        """A per-user table of a validated success definition and these features, as
        peruser.peruser_source gives it for a published version: a temporary table when
        it is small (a test or a breakdown), else Parquet in the scratch directory (a
        discovery's wide table, which memory need not hold)."""
        key = table_key(success, features)
        if key not in self.tables:
            con = self.connection
            query = PerUserQuery(schema, hashed_events=distinct_event_hashes(con, schema))
            query.set_success(success, schema.data_end)
            for feature in features:
                query.add_feature(feature)
            sql = (lists_sql(query, self.users, self.lists, self.listed) if self.listed
                   else None) or query.sql_over(self.users, self.events)
            columns = len(schema.user_properties) + len(features) + 5
            if schema.n_users * columns * _BYTES_PER_VALUE <= _TABLE_IN_MEMORY:
                name = f"__hl_peruser_{key}"
                for statement in sql.prepare:
                    con.execute(statement.text, statement.params)
                con.execute(f"CREATE TEMP TABLE {name} AS {sql.select.text}",
                            sql.select.params)
                self.tables[key] = Sql(name)
            else:
                path = self.scratch / f"peruser-{key}.parquet"
                scan_events(con, sql, path)
                self.tables[key] = Sql("read_parquet(?)", [str(path)])
        return self.tables[key]


@contextmanager
def files_in_place(*, events: list[Path], users: Path | None, mapping: ColumnMapping,
                   scratch: Path, memory_limit: str = "1GB", threads: int = 2,
                   listed_events: Sequence[str] = ()) -> Iterator[FilesInPlace]:
    """Open, check and summarise the files (ImportRefused, as import_dataset would refuse
    them); `scratch` is an empty directory of the caller's that outlives the block.
    `listed_events`: names whose times the checking pass keeps per user, so that a
    per-user table counting only those events reads the files no more (peruser_lists);
    a hint (the names a command's definitions mention), never a check."""
    events = [Path(p) for p in events]
    if not events and users is None:
        raise ImportRefused("an import needs an events file, a users file or both")
    con = duck.engine_cursor(memory_limit=memory_limit, threads=threads)
    try:
        try:
            files = _check(con, events, Path(users) if users else None, mapping, scratch,
                           list(dict.fromkeys(listed_events)))
        except duck.Error as exc:
            raise _unexpected(exc, events + ([Path(users)] if users else [])) from exc
        yield files
    finally:
        con.close()  # its temporary tables go with it


def _check(con: duck.Connection, events: list[Path], users: Path | None,
           mapping: ColumnMapping, scratch: Path, listed: list[str]) -> FilesInPlace:
    # The importer's order: every events file opened, then the users file staged and
    # checked, then the events read.
    allowance = Allowance()
    plan = None
    if events:
        sources = [open_source(con, p, workdir=scratch, delimiter=mapping.csv_delimiter,
                               stage_as=f"staged_events_{i}", allowance=allowance)
                   for i, p in enumerate(events)]
        plan = plan_events(con, sources, mapping)
    table = None
    if users is not None:
        source = open_source(con, users, workdir=scratch, delimiter=mapping.csv_delimiter,
                             stage_as="staged_users", allowance=allowance, sniff_once=True)
        table = stage_users(con, source, mapping)

    summary = _EventsSummary()
    if plan is not None:
        summary = _first_pass(con, plan, listed)
    n_users = _population(con, plan is not None, table, keep_pass=bool(summary.listed))
    schema = DatasetSchema(
        n_users=n_users, n_events=summary.n_events,
        data_start=_iso(summary.data_start), data_end=_iso(summary.data_end),
        events=summary.events,
        event_properties=dict(plan.properties) if plan else {},
        user_properties=dict(table.properties) if table else {},
        source_files=[p.name for p in events] + ([users.name] if users else []),
    )
    rows = Sql(*events_rows(plan)) if plan is not None else _NO_EVENTS
    return FilesInPlace(con, schema, rows.wrap("(", ")"), Sql(_USERS), scratch,
                        listed=summary.listed)


# ------------------------------------------------------------------ the events rows


def events_rows(plan: EventsPlan, *, guard_times: bool = False) -> Fragment:
    """The events as an import stores them (importing.events.events_select), with the user
    id as text for `_uid`. Rows are not checked here (the checking pass counts what an
    import's guard would stop at), except with `guard_times`: a time property that cannot
    be stored stops the query with BAD_ROW, as it stops an import."""
    parts, params = [], []
    for es in plan.sources:
        sql, p = es.source.table()
        columns, event_params = _row_columns(es, plan, guard_times)
        parts.append(f"SELECT {', '.join(columns)} FROM {sql} AS s")  # noqa: S608
        params += event_params + p
    return " UNION ALL ".join(parts), params


def _row_columns(es: EventSource, plan: EventsPlan,
                 guard_times: bool) -> tuple[list[str], list]:
    # One id column is the id as it stands (an empty one is found among the distinct ids
    # the checking pass returns); a composite id is NULL when a part is empty.
    uid = (cols.text_value(es.ids[0].sql, es.ids[0].duck_type) if len(es.ids) == 1
           else id_sql(es.ids))
    time = cols.time_value(es.time.sql, es.time.duck_type)
    if es.event is None:
        event, event_params = "CAST(? AS VARCHAR)", [plan.event_name]
    else:
        event, event_params = cols.text_value(es.event.sql, es.event.duck_type), []
    columns = [f"{uid} AS _uid", f"{event} AS event", f"{time} AS timestamp"]
    for name, kind in plan.properties.items():
        column = es.properties.get(name)
        value = (cols.stored_value(column.sql, column.duck_type, kind) if column
                 else f"CAST(NULL AS {cols.STORAGE_TYPE[kind]})")
        if guard_times and column and kind == "timestamp":
            value = (f"CASE WHEN ({value}) IS NULL OR {cols.in_time_range(value)} "
                     f"THEN {value} ELSE error('{BAD_ROW}') END")
        columns.append(f"{value} AS {q(name)}")
    return columns, event_params


# ------------------------------------------------------------------ the checking pass


@dataclass
class _EventsSummary:
    n_events: int = 0
    events: dict[str, int] = field(default_factory=dict)
    data_start: object = None
    data_end: object = None
    listed: dict[str, str] = field(default_factory=dict)  # event -> its column in _PASS


def _first_pass(con: duck.Connection, plan: EventsPlan, listed: list[str]) -> _EventsSummary:
    """Every events row read once: per user the first-seen time, per event its count and
    time range. What an import's guard stops at is counted instead (checking each row in
    the pass would double its cost): a missing or empty user id or event name shows among
    the distinct ones, an unreadable time as a count of times short of the rows. Either
    way the refusal is the import's: the first bad row, found by reading the files again.

    Where a column is read only when used (Parquet, staged JSON), the per-user and the
    per-event aggregates are two statements: one GROUPING SETS pass computes every
    aggregate for both, and the per-user side needs only the first time (at 300k users
    and 5M events, 0.69 s of CPU against 0.52 s + 0.09 s). A CSV file is parsed whole on
    every read, so it is read once.

    There the per-user statement also keeps the times of each `listed` event present (a
    list per user), when they are not too many: a per-user table counting only those
    events is then built from them (peruser_lists), not from a second read."""
    per_event: list[tuple] = []

    def attempt() -> None:
        rows, params = events_rows(plan, guard_times=True)
        # Reading a property can fail only where DuckDB converts text (a CSV column typed
        # from a sample) or where a time must be in range: those are read in full, as
        # writing them would; every other column stays unread.
        checked = "".join(f", count({q(name)})" for name in plan.properties
                          if _may_fail(plan, name))
        if not _columnar(plan):
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {_PASS} AS SELECT _uid, event, "  # noqa: S608
                f"GROUPING(_uid) AS {_BY_EVENT}, min(timestamp) AS first_ts, "
                f"max(timestamp) AS last_ts, count(*) AS n, count(timestamp) AS timed{checked} "
                f"FROM ({rows}) GROUP BY GROUPING SETS ((_uid), (event))", params)
            per_event[:] = con.execute(
                f"SELECT event, n, first_ts, last_ts, timed FROM {_PASS} "  # noqa: S608
                f"WHERE {_BY_EVENT} = 1 ORDER BY event").fetchall()
            return
        per_event[:] = [row[:5] for row in con.execute(
            f"SELECT event, count(*), min(timestamp), max(timestamp), "  # noqa: S608
            f"count(timestamp){checked} FROM ({rows}) GROUP BY event ORDER BY event",
            params).fetchall()]
        # The per-event counts first: they say whether the listed events' times fit.
        counts = {row[0]: row[1] for row in per_event}
        kept = [e for e in listed if e in counts]
        columns.clear()
        if kept and sum(counts[e] for e in kept) <= MAX_LISTED_ROWS:
            columns.update({e: f"{_LIST}{i}" for i, e in enumerate(kept)})
        lists = "".join(f", list(timestamp) FILTER (WHERE event = ?) AS {column}"
                        for column in columns.values())
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_PASS} AS SELECT _uid, 0 AS {_BY_EVENT}, "  # noqa: S608
            f"min(timestamp) AS first_ts{lists} FROM ({rows}) GROUP BY _uid",
            [*columns, *params])

    columns: dict[str, str] = {}
    run_reading(con, plan, attempt)
    bad_ids = con.execute(
        f"SELECT count(*) FROM {_PASS} WHERE {_BY_EVENT} = 0 AND (_uid IS NULL "  # noqa: S608
        f"OR trim(_uid) = '' OR {cols.has_control_character('_uid')})").fetchone()[0]
    if bad_ids or any(event is None or not event.strip() or first_control_character(event)
                      or timed < n for event, n, _, _, timed in per_event):
        raise first_bad_row(con, plan)
    n_events = sum(r[1] for r in per_event)
    if n_events == 0:
        sources = ", ".join(es.source.name for es in plan.sources)
        raise ImportRefused(f"there are no events in {sources} (a header but no rows)",
                            file=plan.sources[0].source.name)
    return _EventsSummary(
        n_events=n_events,
        events={r[0]: r[1] for r in per_event},
        data_start=min(r[2] for r in per_event),
        data_end=max(r[3] for r in per_event),
        listed=columns,
    )


def _columnar(plan: EventsPlan) -> bool:
    """Whether every source reads a column without parsing the others."""
    return all(es.source.fmt.kind == "parquet" or es.source.staged_table is not None
               for es in plan.sources)


def _may_fail(plan: EventsPlan, name: str) -> bool:
    if plan.properties[name] == "timestamp":
        return True
    return any(es.source.fmt.kind == "csv" and name in es.properties
               and es.properties[name].duck_type.upper() != "VARCHAR" for es in plan.sources)


def _population(con: duck.Connection, has_events: bool, table: UsersTable | None, *,
                keep_pass: bool = False) -> int:
    """The population table (_uid = user_id, _first_seen, user properties): every user of
    the events and of the users file. Returns its size. `keep_pass`: the checking pass's
    table stays (it holds listed events' times), otherwise it goes."""
    seen = (f"(SELECT _uid, first_ts FROM {_PASS} WHERE {_BY_EVENT} = 0)" if has_events  # noqa: S608
            else "(SELECT NULL::VARCHAR AS _uid, NULL::TIMESTAMPTZ AS first_ts LIMIT 0)")
    if table is None:
        select = f"SELECT f._uid, f._uid AS user_id, f.first_ts AS _first_seen FROM {seen} f"  # noqa: S608
    else:
        props = "".join(f", p.{q(name)}" for name in table.properties)
        select = (f"SELECT coalesce(f._uid, p.user_id) AS _uid, "  # noqa: S608
                  f"coalesce(f._uid, p.user_id) AS user_id, f.first_ts AS _first_seen{props} "
                  f"FROM {seen} f FULL JOIN {table.name} p ON p.user_id = f._uid")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_USERS} AS {select}")
    if not keep_pass:
        con.execute(f"DROP TABLE IF EXISTS {_PASS}")  # its memory is the analysis's now
    return con.execute(f"SELECT count(*) FROM {_USERS}").fetchone()[0]  # noqa: S608
