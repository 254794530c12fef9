"""Events: from source files to events/part-*.parquet.

When every user id is a plain integer the id is the `_uid`, and each source is read once,
straight into Parquet. Otherwise a first read collects the distinct ids (DuckDB converts
only that column, but still splits every line: a third of a CSV copy), users are
numbered, and the second read writes the events joined to their numbers. With a users
file the importer first tries its users' numbers alone (`may_lack`): one read, unless an
event's user is not in the file, which stops that write at its first such row. While writing, a guard stops at the first row without a user,
an event name or a time, so that a refusal costs little; the sources are then read
again in file order only as far as the first bad row, to name its line. (Events are
not sorted by user: it would make the engine's wide per-user passes 2-4x cheaper, but
costs a quarter more import time, past the import's budget of twice a plain copy.)

An import clusters the events by name instead (write_clustered_events): one file per
bucket of hash(event), so that a measure of one event reads that event's file alone
(a new criterion on 50M events then reads its 1-2M rows, not all). A full sort by name
would cost three times as much as partitioning.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from analytics.engine import duck
from analytics.engine.importing import columns as cols
from analytics.engine.importing.column_mapping import ID_SEPARATOR, ColumnMapping
from analytics.engine.importing.columns import q
from analytics.engine.importing.errors import (
    ImportRefused,
    first_control_character,
    hide_paths,
    quoted_value,
)
from analytics.engine.importing.sources import (
    SAMPLE_ROWS,
    Fragment,
    Source,
    conversion_column,
    conversion_value,
    insertion_order,
    refusal_for,
)
from analytics.engine.importing.written import (
    RETURN_STATS,
    WrittenFile,
    tally,
    time_range,
    written_files,
)
from analytics.engine.storage import RESERVED_EVENT_COLUMNS, UID

NAME_BUCKETS = 1024  # files of clustered events: at most this many (and one per name)
PARTITION_FLUSH_ROWS = 50_000  # see write_clustered_events
_BUCKET = "__hl_bucket"
# Sources (as stored: compressed or not) from this size on are clustered by name; a
# million events is about 50 MB of CSV or 10 MB of Parquet.
CLUSTER_MIN_BYTES = 32 * 2**20
_EVENT_IDS_TABLE = "event_user_ids"  # temporary: the distinct user ids of the events
BAD_ROW = "hypothesislab: an event row lacks a user, an event name or a time"
UNKNOWN_USER = "hypothesislab: the user of an event is not in the users file"
_MAX_TYPE_RETRIES = 20


@dataclass
class SourceColumn:
    name: str  # as the file names it (for messages)
    sql: str  # how to read it from the source aliased `s`
    duck_type: str


@dataclass
class EventSource:
    source: Source
    ids: list[SourceColumn]
    event: SourceColumn | None  # None: every row is mapping.event_name
    time: SourceColumn
    properties: dict[str, SourceColumn] = field(default_factory=dict)  # by stored name
    sniffed_id_types: list[str] = field(default_factory=list)  # before reading ids as text


class NotIntegerIds(Exception):
    """A user id further down than DuckDB's sample is not an integer after all."""


class UnknownUser(Exception):
    """An event's user id is not in the uid map given as possibly incomplete."""


@dataclass
class EventsPlan:
    sources: list[EventSource]
    properties: dict[str, str]  # stored name -> product type, over all sources
    event_name: str | None
    renamed: list[cols.Renamed] = field(default_factory=list)
    # Properties the stored events already have (an append): kept first, types widened.
    base_properties: dict[str, str] = field(default_factory=dict)

    def unify(self) -> None:
        """One type per property over the base and every source, in a stable order."""
        stored: dict[str, list[str]] = {n: [t] for n, t in self.base_properties.items()}
        for es in self.sources:
            for name, column in es.properties.items():
                stored.setdefault(name, []).append(cols.property_type(column.duck_type))
        self.properties = {name: cols.common_type(types) for name, types in stored.items()}


def plan_events(con: duck.Connection, sources: list[Source],
                mapping: ColumnMapping) -> EventsPlan:
    """Find the mapped columns in every source (refusing a missing one) and type the
    properties over all sources."""
    if mapping.event_name is not None and not mapping.event_name.strip():
        raise ImportRefused("the event name given for every row is empty")
    if mapping.event_name is not None and first_control_character(mapping.event_name):
        raise ImportRefused("the event name given for every row contains a control "
                            f"character ({first_control_character(mapping.event_name)})")
    planned = [_plan_source(con, s, mapping) for s in sources]
    renamed: list[cols.Renamed] = []
    for event_source in planned:
        raw = event_source.properties
        names, renames = cols.property_names(list(raw), RESERVED_EVENT_COLUMNS)
        renamed.extend(r for r in renames if r not in renamed)
        event_source.properties = {names[n]: c for n, c in raw.items()}
    plan = EventsPlan(planned, {}, mapping.event_name, renamed)
    plan.unify()
    return plan


def _plan_source(con: duck.Connection, source: Source, mapping: ColumnMapping) -> EventSource:
    sniffed = [source.columns[find_column(source, n)] for n in mapping.event_id_columns()]
    if source.fmt.kind == "csv":
        # Ids and event names are text whatever they look like in the first rows.
        for name in mapping.event_id_columns() + (
                [] if mapping.event_name else [mapping.event]):
            force_text(source, find_column(source, name))
    ids = [_column(source, find_column(source, n)) for n in mapping.event_id_columns()]
    event = None if mapping.event_name else _column(source, find_column(source, mapping.event))
    time = _column(source, find_column(source, mapping.timestamp))
    roles = [c.name for c in ids] + [time.name] + ([event.name] if event else [])
    if len(set(roles)) < len(roles):
        twice = next(n for n in roles if roles.count(n) > 1)
        raise source.refusal("one column cannot be two of the user id, the event and the "
                             "time", column=twice)
    used = set(roles)
    properties: dict[str, SourceColumn] = {}
    for name, duck_type in source.columns.items():
        if name in used:
            continue
        if name == "properties" and source.fmt.kind == "json" and duck_type.startswith("STRUCT"):
            properties.update(_struct_fields(con, source, name, set(source.columns)))
        else:
            properties[name] = _column(source, name)
    for column in properties.values():
        refuse_control_in_name(con, source, column)
    return EventSource(source, ids, event, time, properties, sniffed)


def refuse_control_in_name(con: duck.Connection, source: Source,
                           column: SourceColumn) -> None:
    """A property's name becomes a column and a key of the dataset's schema: no control
    characters (PostgreSQL cannot even store a NUL). Names the line of the header, or of
    the first JSON row with that key."""
    found = first_control_character(column.name)
    if found is None:
        return
    line = 1 if source.fmt.kind == "csv" else None
    if source.staged_table is not None:
        ordinal = con.execute(
            f"SELECT min(ordinality) FROM {source.staged_table} AS s "  # noqa: S608
            f"WHERE {column.sql} IS NOT NULL").fetchone()[0]
        line = source.line_of(ordinal) if ordinal is not None else None
    raise source.refusal(f"the column name contains a control character ({found}); "
                         "rename the column", line=line, column=column.name)


def _struct_fields(con: duck.Connection, source: Source, name: str,
                   top_level: set[str]) -> dict[str, SourceColumn]:
    """NDJSON rows' `properties` object: each key is an event property (a key that is
    also a top-level field keeps the `properties.` prefix)."""
    sql, params = source.table()
    rows = con.execute(f"DESCRIBE SELECT unnest({q(name)}) FROM {sql} AS s", params).fetchall()  # noqa: S608
    found = {}
    for key, duck_type, *_ in rows:
        stored = key if key not in top_level else f"{name}.{key}"
        found[stored] = SourceColumn(f"{name}.{key}", f"s.{q(name)}.{q(key)}", duck_type)
    return found


def find_column(source: Source, wanted: str) -> str:
    """The source's column with this name (exactly, else ignoring case), or a refusal
    that names what the file has."""
    if wanted in source.columns:
        return wanted
    folded = [c for c in source.columns if c.lower() == wanted.lower()]
    if len(folded) == 1:
        return folded[0]
    have = ", ".join(repr(c) for c in list(source.columns)[:30])
    line = 1 if source.fmt.kind == "csv" else None
    raise source.refusal(f"there is no such column (the file has {have})",
                         line=line, column=wanted)


def _column(source: Source, name: str) -> SourceColumn:
    return SourceColumn(name, f"s.{q(name)}", source.columns[name])


def force_text(source: Source, column: str) -> None:
    """Read a CSV column as text (a forced type changes nothing else DuckDB detects)."""
    source.overrides[column] = "VARCHAR"
    source.columns[column] = "VARCHAR"


# --- user ids --------------------------------------------------------------------------

def id_sql(ids: list[SourceColumn]) -> str:
    """The user id as text; NULL when it (or any part of a composite id) is empty."""
    texts = [cols.text_value(c.sql, c.duck_type) for c in ids]
    empty = " OR ".join(f"{t} IS NULL OR trim({t}) = ''" for t in texts)
    joined = f" || '{ID_SEPARATOR}' || ".join(texts)
    return f"CASE WHEN {empty} THEN NULL ELSE {joined} END"


def collect_user_ids(con: duck.Connection, plan: EventsPlan) -> str:
    """A temporary table of the distinct user ids of all sources (`user_id`), whose name
    it returns; refuses the first empty one."""
    parts, params = [], []
    for es in plan.sources:
        sql, p = es.source.table()
        parts.append(f"SELECT {id_sql(es.ids)} AS user_id FROM {sql} AS s")  # noqa: S608
        params += p
    union = " UNION ALL ".join(parts)
    run_reading(con, plan, lambda: con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_EVENT_IDS_TABLE} AS "  # noqa: S608
        f"SELECT DISTINCT user_id FROM ({union})", params))
    has_bad = con.execute(
        f"SELECT count(*) FROM {_EVENT_IDS_TABLE} WHERE user_id IS NULL "  # noqa: S608
        f"OR {cols.has_control_character('user_id')}").fetchone()[0]
    if has_bad:
        raise first_bad_row(con, plan)
    return _EVENT_IDS_TABLE


def integer_ids_likely(con: duck.Connection, plan: EventsPlan) -> bool:
    """Whether every source's user id looks like a plain integer: typed so by the file
    (Parquet) or by DuckDB's sample (CSV, whose sampled ids must also read back the same,
    so that '007' stays text)."""
    for es in plan.sources:
        if len(es.ids) != 1 or cols.property_type(es.sniffed_id_types[0]) != "integer":
            return False
        if es.source.fmt.kind == "csv":
            sql, params = es.source.table()
            column = es.ids[0].sql
            try:
                canonical = con.execute(
                    f"SELECT {cols.all_integer_ids_sql(column)} FROM "  # noqa: S608
                    f"(SELECT {column} FROM {sql} AS s WHERE {column} IS NOT NULL "
                    f"LIMIT {SAMPLE_ROWS}) AS s", params).fetchone()[0]
            except duck.Error:
                return False  # the careful path will say what is wrong
            if not canonical:
                return False
    return True


# --- writing ---------------------------------------------------------------------------

def write_events(con: duck.Connection, plan: EventsPlan, out_path: str, *,
                 integer_ids: bool, uid_table: str | None, may_lack: bool = False) -> None:
    """COPY every source's events into one zstd Parquet file. With integer ids `_uid` is
    the id itself; otherwise it comes from `uid_table` (user_id -> _uid), which, when it
    `may_lack` some events' users, stops the write with UnknownUser at the first."""
    def attempt() -> None:
        select, params = events_select(plan, integer_ids=integer_ids, uid_table=uid_table,
                                       may_lack=may_lack)
        con.execute(f"COPY ({select}) TO ? ({cols.EVENTS_PARQUET})",
                    params + [out_path])
    run_reading(con, plan, attempt, integer_ids=integer_ids)


def write_clustered_events(con: duck.Connection, plan: EventsPlan, events_dir: Path,
                           scratch: Path, *, integer_ids: bool,
                           uid_table: str | None, may_lack: bool = False,
                           ) -> list[WrittenFile] | None:
    """write_events into `events_dir` as part-<i>.parquet files, each holding the events
    of one bucket of names (all the events of a name in one file), written through
    `scratch` (a directory of the import's own, emptied first). Small sources go into
    one file: reading all of it costs next to nothing, and fewer files read faster.
    Returns what DuckDB reported of the clustered files (for check_reported), None for
    one file."""
    if sum(_size(es.source.read_path) for es in plan.sources) < CLUSTER_MIN_BYTES:
        write_events(con, plan, str(events_dir / "part-0.parquet"), integer_ids=integer_ids,
                     uid_table=uid_table, may_lack=may_lack)
        return None

    reported: list[WrittenFile] = []

    def attempt() -> None:
        shutil.rmtree(scratch, ignore_errors=True)
        select, params = events_select(plan, integer_ids=integer_ids, uid_table=uid_table,
                                       may_lack=may_lack)
        # The bucket is a number (names never become paths) and is not kept in the files.
        result = con.execute(
            f"COPY (SELECT *, hash(event) % {NAME_BUCKETS} AS {_BUCKET} "  # noqa: S608
            f"FROM ({select})) TO ? ({cols.EVENTS_PARQUET}, "
            f"PARTITION_BY ({_BUCKET}), {RETURN_STATS})", params + [str(scratch)])
        reported[:] = written_files(result.fetchall(), result.description)
    # Each open partition buffers rows up to this many before writing them. DuckDB's
    # default (512Ki rows) holds, with thirty names and two threads, more than an
    # import's 1 GB, and the write then fights for memory: at 50M events this statement
    # cost 2.4x the one-file write in CPU, 1.4x with this (1.5x with 100k, the same with
    # 20k). Row groups hold about 90k rows instead of 120k and prune a little finer.
    con.execute(f"SET partitioned_write_flush_threshold = {PARTITION_FLUSH_ROWS}")
    try:
        run_reading(con, plan, attempt, integer_ids=integer_ids)
    finally:
        con.execute("RESET partitioned_write_flush_threshold")
    found = sorted(scratch.rglob("*.parquet"))
    by_path = {w.path.resolve(): w for w in reported}
    moved: list[WrittenFile] = []
    for i, path in enumerate(found):
        target = events_dir / f"part-{i}.parquet"
        written = by_path.get(path.resolve())
        os.replace(path, target)
        if written is not None:
            moved.append(replace(written, path=target))
    shutil.rmtree(scratch, ignore_errors=True)
    if not found:
        # No rows at all (refused afterwards): still a file with the columns.
        write_events(con, plan, str(events_dir / "part-0.parquet"), integer_ids=integer_ids,
                     uid_table=uid_table)
        return None
    # Not a report of every file (never seen): check_written then reads them all.
    return moved if len(moved) == len(found) == len(by_path) else None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def events_select(plan: EventsPlan, *, integer_ids: bool,
                  uid_table: str | None, may_lack: bool = False) -> Fragment:
    parts, params = [], []
    for es in plan.sources:
        sql, p = es.source.table(types=_id_types(es, integer_ids))
        if integer_ids:
            uid, join = f"CAST({es.ids[0].sql} AS BIGINT)", ""
        elif may_lack:
            # An empty id finds no user either: the full path then refuses it by its line.
            uid = f"CASE WHEN m._uid IS NULL THEN error('{UNKNOWN_USER}') ELSE m._uid END"
            join = f" LEFT JOIN {uid_table} AS m ON m.user_id = ({_join_key(es.ids)})"
        else:
            uid = "m._uid"
            join = f" JOIN {uid_table} AS m ON m.user_id = ({_join_key(es.ids)})"
        time = cols.time_value(es.time.sql, es.time.duck_type)
        bad = [cols.not_a_time(time)]
        if integer_ids:
            bad.append(f"({uid}) IS NULL")
        if es.event is None:
            event, event_params = "CAST(? AS VARCHAR)", [plan.event_name]
        else:
            event, event_params = cols.text_value(es.event.sql, es.event.duck_type), []
            bad.append(f"({event}) IS NULL OR trim({event}) = ''")
        # Stop at the first bad row DuckDB meets, so that a refusal costs little; which
        # row is the first in the file is found afterwards (first_bad_row).
        guarded = f"CASE WHEN {' OR '.join(bad)} THEN error('{BAD_ROW}') ELSE {event} END"
        columns = [f"{uid} AS {q(UID)}", f"{guarded} AS event", f"{time} AS timestamp"]
        for name, kind in plan.properties.items():
            column = es.properties.get(name)
            value = (cols.stored_value(column.sql, column.duck_type, kind) if column
                     else f"CAST(NULL AS {cols.STORAGE_TYPE[kind]})")
            if column and kind == "timestamp":
                # An infinite or far-off time would be shown as another date.
                value = (f"CASE WHEN ({value}) IS NULL OR {cols.in_time_range(value)} "
                         f"THEN {value} ELSE error('{BAD_ROW}') END")
            columns.append(f"{value} AS {q(name)}")
        parts.append(f"SELECT {', '.join(columns)} FROM {sql} AS s{join}")  # noqa: S608
        params += event_params + p
    return " UNION ALL ".join(parts), params


def _join_key(ids: list[SourceColumn]) -> str:
    """An events row's id as the uid map holds it. One column is matched as it stands:
    the map never holds an empty id (users files and collect_user_ids refuse one), so
    an empty id finds no user with or without id_sql's test, which at 50M events cost
    a test and a trim of every row's id."""
    if len(ids) == 1:
        return cols.text_value(ids[0].sql, ids[0].duck_type)
    return id_sql(ids)


def _id_types(es: EventSource, integer_ids: bool) -> dict[str, str] | None:
    if integer_ids and es.source.fmt.kind == "csv":
        # Checked already: every id is a plain integer, so let the CSV reader parse it.
        return {es.ids[0].name: "BIGINT"}
    return None


def run_reading(con: duck.Connection, plan: EventsPlan, action, *,
                integer_ids: bool = False) -> None:
    """Run a query that reads the sources. DuckDB types CSV columns from a sample; when a
    later value does not fit, read that column as text and try again."""
    for _ in range(_MAX_TYPE_RETRIES):
        try:
            action()
            return
        except duck.Error as exc:
            if UNKNOWN_USER in str(exc):
                raise UnknownUser from None
            if BAD_ROW in str(exc):
                raise first_bad_row(con, plan) from None
            source = source_of_error(plan.sources, exc)
            column = conversion_column(exc)
            if integer_ids and source is not None and column in {c.name for c in source.ids}:
                raise NotIntegerIds(column) from None
            if (source is not None and column == source.time.name
                    and not _is_time(con, conversion_value(exc))):
                # A time that is not one in any form: no need to read on, name the first.
                force_text(source.source, column)
                _replan_types(plan, source)
                raise first_bad_row(con, plan) from None
            if source is None or not _can_widen(source, column):
                raise (refusal_for(con, source.source, exc) if source
                       else ImportRefused(f"cannot be read ({hide_paths(str(exc))})")) from None
            force_text(source.source, column)
            _replan_types(plan, source)
    raise ImportRefused("too many columns change type after the first rows",
                        file=plan.sources[0].source.name)


def _is_time(con: duck.Connection, value: str | None) -> bool:
    if value is None:
        return False
    check = cols.not_a_time(cols.time_value("v", "VARCHAR"))
    return not con.execute(f"SELECT {check} FROM (SELECT CAST(? AS VARCHAR) AS v)",  # noqa: S608
                           [value]).fetchone()[0]


def source_of_error(sources: list[EventSource], exc: duck.Error) -> EventSource | None:
    text = str(exc)
    for es in sources:
        if f"file = {es.source.read_path}\n" in text or f'"{es.source.read_path}"' in text:
            return es
    return sources[0] if len(sources) == 1 else None


def _can_widen(es: EventSource, column: str | None) -> bool:
    return (es.source.fmt.kind == "csv" and column is not None
            and column in es.source.columns
            and es.source.overrides.get(column) != "VARCHAR")


def _replan_types(plan: EventsPlan, es: EventSource) -> None:
    for column in [*es.ids, es.event, es.time, *es.properties.values()]:
        if column is not None and column.name in es.source.columns:
            column.duck_type = es.source.columns[column.name]
    plan.unify()


# --- checks ----------------------------------------------------------------------------

@dataclass
class EventStats:
    n_events: int
    events: dict[str, int]
    data_start: object
    data_end: object


def check_written(con: duck.Connection, plan: EventsPlan,
                  parquet_glob: str | list[str]) -> EventStats:
    """Counts per event and the time range, from the written events (a glob or a list of
    files); refuses (naming the first bad row) when a user id, an event name or a time is
    missing."""
    rows = con.execute(
        "SELECT event, count(*), count_if(_uid IS NULL OR timestamp IS NULL "
        "OR NOT isfinite(timestamp)), "
        "min(timestamp), max(timestamp) FROM read_parquet(?) GROUP BY event ORDER BY event",
        [parquet_glob]).fetchall()
    if any(r[0] is None or not r[0].strip() or r[2] or first_control_character(r[0])
           for r in rows):
        raise first_bad_row(con, plan)
    starts = [r[3] for r in rows]
    ends = [r[4] for r in rows]
    return EventStats(
        n_events=sum(r[1] for r in rows),
        events={r[0]: r[1] for r in rows},
        data_start=min(starts) if starts else None,
        data_end=max(ends) if ends else None,
    )


def check_reported(con: duck.Connection, plan: EventsPlan,
                   files: list[WrittenFile]) -> EventStats:
    """check_written over the files write_clustered_events reported on: those whose
    statistics prove one event name and no missing user or time are counted from them
    (importing.written), only the others are read."""
    counted = tally(files)
    if not counted.names_are_clean:
        raise first_bad_row(con, plan)
    read = (check_written(con, plan, [str(p) for p in counted.unproven]) if counted.unproven
            else EventStats(0, {}, None, None))
    starts = [read.data_start] if read.data_start is not None else []
    ends = [read.data_end] if read.data_end is not None else []
    if counted.first:
        start, end, finite = time_range(con, counted.first, counted.last)
        if not finite:
            raise first_bad_row(con, plan)
        starts.append(start)
        ends.append(end)
    events = dict(read.events)
    for name, n in counted.events.items():
        events[name] = events.get(name, 0) + n
    return EventStats(n_events=sum(events.values()), events=dict(sorted(events.items())),
                      data_start=min(starts) if starts else None,
                      data_end=max(ends) if ends else None)


def first_bad_row(con: duck.Connection, plan: EventsPlan) -> ImportRefused:
    """Read the sources again, in order, and name the first row with an empty user id,
    an empty event name, a time that cannot be read or stored, or a control character in
    the user id or the event name."""
    for es in plan.sources:
        refusal = _first_bad_row_in(con, es, plan)
        if refusal is not None:
            return refusal
    return ImportRefused("some events have no user, event name or time",
                         file=plan.sources[0].source.name)


def _first_bad_row_in(con: duck.Connection, es: EventSource,
                      plan: EventsPlan) -> ImportRefused | None:
    sql, params = es.source.table(ordinality=True)
    time_raw = cols.text_value(es.time.sql, es.time.duck_type)
    event_raw = cols.text_value(es.event.sql, es.event.duck_type) if es.event else "'x'"
    user_id = id_sql(es.ids)
    checks = {
        "id": f"({user_id}) IS NULL",
        "event": f"({event_raw}) IS NULL OR trim({event_raw}) = ''",
        "time": cols.not_a_time(cols.time_value(es.time.sql, es.time.duck_type)),
        "id_control": f"coalesce({cols.has_control_character(user_id)}, false)",
        "event_control": f"coalesce({cols.has_control_character(event_raw)}, false)",
    }
    # Time properties: the first one out of range, by its position in this list.
    times = [(name, c) for name, c in es.properties.items()
             if plan.properties.get(name) == "timestamp"]
    bad_times = [f"NOT coalesce({cols.in_time_range(cols.stored_value(c.sql, c.duck_type, 'timestamp'))}, true)"
                 for _, c in times]
    checks["property_time"] = (
        "CASE " + " ".join(f"WHEN {bad} THEN {i}" for i, bad in enumerate(bad_times))
        + " END IS NOT NULL" if bad_times else "false")
    which_time = ("CASE " + " ".join(f"WHEN {bad} THEN {i}" for i, bad in enumerate(bad_times))
                  + " END" if bad_times else "NULL")
    select = ", ".join(f"{check} AS bad_{name}" for name, check in checks.items())
    where = " OR ".join(f"({check})" for check in checks.values())
    query = (f"SELECT ordinality, {select}, {time_raw} AS time_raw, {user_id} AS id_raw, "  # noqa: S608
             f"{event_raw} AS event_raw, {which_time} AS which_time FROM {sql} AS s "
             f"WHERE {where}")
    try:
        if es.source.staged_table is not None:
            row = con.execute(f"{query} ORDER BY ordinality LIMIT 1", params).fetchone()
        else:
            # In file order, a plain LIMIT stops reading at the first bad row.
            with insertion_order(con):
                row = con.execute(f"{query} LIMIT 1", params).fetchone()
    except duck.Error as exc:
        return refusal_for(con, es.source, exc)
    if row is None:
        return None
    (ordinal, bad_id, bad_event, bad_time, bad_id_control, bad_event_control, _,
     raw_time, raw_id, raw_event, which_time) = row
    line = es.source.line_of(ordinal)
    id_column = " + ".join(c.name for c in es.ids)
    if bad_id:
        return es.source.refusal("the user id is empty", line=line, column=id_column)
    if bad_event:
        return es.source.refusal("the event name is empty", line=line, column=es.event.name)
    if bad_time:
        return _bad_time(con, es.source, raw_time, line=line, column=es.time.name)
    if bad_id_control:
        return es.source.refusal(
            f"the user id {quoted_value(raw_id)} contains a control character "
            f"({first_control_character(raw_id)})", line=line, column=id_column)
    if bad_event_control:
        column = es.event.name if es.event else None
        return es.source.refusal(
            f"the event name {quoted_value(raw_event)} contains a control character "
            f"({first_control_character(raw_event)})", line=line, column=column)
    name, column = times[which_time]
    raw = con.execute(f"SELECT {cols.text_value(column.sql, column.duck_type)} "  # noqa: S608
                      f"FROM {sql} AS s WHERE ordinality = ?", [*params, ordinal]).fetchone()[0]
    return es.source.refusal(
        f"the time {quoted_value(raw)} cannot be stored: times go {cols.TIME_RANGE_WORDS}",
        line=line, column=column.name)


def _bad_time(con: duck.Connection, source: Source, raw_time, *, line: int,
              column: str) -> ImportRefused:
    if raw_time is None or not str(raw_time).strip():
        return source.refusal("the time is empty", line=line, column=column)
    if _is_out_of_range_time(con, str(raw_time)):
        return source.refusal(
            f"the time {quoted_value(raw_time)} is out of range: times go "
            f"{cols.TIME_RANGE_WORDS}", line=line, column=column)
    return source.refusal(
        f"cannot read {quoted_value(raw_time)} as a time (expected ISO 8601 or epoch "
        "seconds)", line=line, column=column)


def _is_out_of_range_time(con: duck.Connection, text: str) -> bool:
    """Whether a time that is refused reads as a time all the same, only not one that
    can be stored (year 294247, 5001 BC, infinity)."""
    parsed = "try_cast(v AS TIMESTAMPTZ)"
    epoch = "try_cast(v AS DOUBLE)"
    return bool(con.execute(
        f"SELECT {parsed} IS NOT NULL OR {epoch} IS NOT NULL "  # noqa: S608
        "FROM (SELECT CAST(? AS VARCHAR) AS v)", [text.strip()]).fetchone()[0])
