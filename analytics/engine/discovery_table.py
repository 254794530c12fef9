"""The per-user table of a discovery run: the same columns, with the same values, as
peruser.peruser_source builds for these features, built a faster way for its width.

A discovery run measures about a hundred things per user (each frequent event's count
and whether it happened, sessions, time in the app, averages of event properties, first
events' properties). As aggregates of one GROUP BY over the events, each event row
updates every one of them in its user's hash-table slot: at 1M users and 50M events on
the benchmark's data that pass ran out of its 1 GB after minutes. Here:

  window rows  the events read file by file into numpy, without a join
               (discovery_rows): the rows inside the longest window as (user index,
               microseconds since first seen, event code), the numeric properties of
               the averaged events, and where each user's first events lie;
  averages     DuckDB's own avg() per user over one event's window rows (a GROUP BY per
               event), so that the values are the ones a per-user table would hold,
               spread into numpy columns of every user;
  counts       numpy: one bincount per event over the rows of its file(s);
  sessions     numpy: the rows sorted by user and time give each event's gap to the
               user's previous one; sessions start at a user's first event and after
               every gap over the limit, and time in the app adds up the other gaps;
  first events DuckDB reads the properties of those rows alone (by row number), min()
               of each property per user;
  the rest     success, the complete-window flag, user properties and any measure not
               listed here come from peruser's query, as for any per-user table.

The user columns, flags and first events' properties go into a table of the engine
database; the numpy columns stay in numpy, and the table's SELECT joins the two.
Counts and gaps are integers, so these are exact; time in the app is the same integer
sum divided the same way (tests/analytics/test_discovery_table.py compares every column
with peruser's query). discovery_build caches the table under the same name and
manifest as peruser's, so an analysis of a discovered characteristic reuses it."""

from __future__ import annotations

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from analytics.engine import discovery_store, duck
from analytics.engine.discovery_rows import (
    DAY_US,
    NAN_PREFIX,
    UserIndex,
    WindowRows,
    read_window_rows,
)
from analytics.engine.discovery_sessions import Sessions, gap_of
from analytics.engine.peruser import _perfect_hash, build_query
from analytics.engine.peruser_columns import (
    Feature,
    PerUserSql,
    distinct_event_hashes,
)
from analytics.engine.sql import Sql
from analytics.engine.storage import DatasetSchema, DatasetVersion

WINDOW_ROWS = "__hl_discovery_rows"  # registered: the averaged events' window rows
MEASURED = "__hl_discovery_measured"  # the numpy columns, registered per connection
USER_ROWS = "__hl_discovery_user_rows"  # registered: each _uid's row in users.parquet
TABLE_PREFIX = "__hl_discovery_table_"  # + a unique suffix: the built table (database)
ROW = "__hl_row"  # in that table: the user's row in users.parquet
# id(connection) -> the tables of the database it built, for _drop
_TABLES: dict[int, list[str]] = {}
FIRSTS = "__hl_discovery_firsts"  # temporary: properties of each user's first event
FIRST_ROWS = "__hl_discovery_first_rows"  # registered: where a file's first events are
MAX_RUNS = 4096  # more runs of consecutive rows than this: reordered row by row
_FIRST_NAME = re.compile(r"__hl_first_[0-9]+")
OUT_OF_LINE = "hypothesislab: the numpy columns are out of line with the discovery table"


def measured_here(measure: dict) -> bool:
    """Whether this module computes the measure (else peruser's query does)."""
    kind = measure["kind"]
    if measure.get("where"):
        return False
    if kind in ("event_count", "did_event", "session_count", "time_in_app",
                "first_event_property"):
        return True
    return kind == "event_property" and measure.get("agg") == "avg"


class Table:
    """A built table: `select` reads it on the connection that built it, from `name` (a
    table of the engine database holding the user columns, the success and window flags
    and the first events' properties, with each user's row in users.parquet as ROW) and
    the numpy columns of the other measures (`arrays`, by column, in the table's stored
    order, `ix` holding each one's ROW; registered as MEASURED). `measured` names the
    features whose column is in `arrays`."""

    def __init__(self, select: Sql, name: str, arrays: dict[str, np.ndarray],
                 measured: list[Feature]):
        self.select = select
        self.name = name
        self.arrays = arrays
        self.measured = measured


def build_table(con: duck.Connection, version: DatasetVersion, schema: DatasetSchema,
                success: dict, features: list[Feature]) -> Table:
    """The measures the version keeps (discovery_store) are taken as they are. For the
    others, the window rows first; then, on a thread of their own, the averages (DuckDB,
    on a cursor of their own), the counts and the sessions (numpy), beside the first
    events' properties and the table of the user columns (DuckDB, on this connection):
    both sides let go of Python's lock for most of their work, so on two cores they take
    the time of the longer, not of both."""
    here = [f for f in features if measured_here(f.measure)]
    rest = [f for f in features if not measured_here(f.measure)]
    base = build_query(schema, version, success, rest,
                       hashed_events=distinct_event_hashes(con, schema))
    for statement in base.prepare:
        con.execute(statement.text, statement.params)
    # Measures kept for the version (discovery_store) are taken, the rest computed.
    stored = discovery_store.load(version, here)
    firsts = [f for f in here if f.measure["kind"] == "first_event_property"]
    stored_firsts = bool(firsts) and all(f in stored.firsts for f in firsts)
    computed = [f for f in here if f not in stored.features
                and not (stored_firsts and f in stored.firsts)]
    rows, events = _window_rows(con, version, computed) if computed else (None, [])
    users = rows.users if rows is not None else UserIndex(con, version)
    arrays: dict[str, np.ndarray] = {"_uid": users.uids,
                                     "ix": np.arange(users.count, dtype=np.int64),
                                     **stored.arrays}
    entries = {column: _nan_entry(column, flag) for column, flag in stored.nan_flags.items()}
    name = f"{TABLE_PREFIX}{uuid.uuid4().hex}"
    with ThreadPoolExecutor(max_workers=1) as pool:
        side = (pool.submit(_side_columns, con, computed, events, rows)
                if rows is not None else None)
        if stored_firsts:
            first_columns = _stored_firsts(con, stored, firsts)
        else:
            first_columns = _first_values(con, [f for f in computed if f in firsts],
                                          version, rows) if rows is not None else {}
        _create_table(con, name, base, users, _first_entries(first_columns))
        if side is not None:
            columns, computed_entries = side.result()
            arrays.update(columns)
            entries.update(computed_entries)
    _in_table_order(arrays, _table_order(con, name))
    con.register(MEASURED, arrays)
    columns = "".join(", " + entries.get(f.column, f"n.{duck.quote_identifier(f.column)}")
                      for f in here if f.column in arrays)
    # Our own names and feature columns (quoted) only. Paired by position (a positional
    # scan reads both in stored order), checked on every row.
    select = (f"SELECT p.* EXCLUDE ({ROW}){columns} FROM {name} AS p "  # noqa: S608
              f"POSITIONAL JOIN {MEASURED} AS n "
              f"WHERE CASE WHEN n.ix = p.{ROW} THEN true ELSE error('{OUT_OF_LINE}') END")
    return Table(Sql(select), name, arrays, [f for f in here if f.column in arrays])


def _create_table(con: duck.Connection, name: str, base: PerUserSql, users: UserIndex,
                  first_entries: list[str]) -> None:
    """The table `name` of the database (not of this connection, so that another cursor
    can write it to the cache while this one profiles it; _drop drops it): the user
    columns and flags of peruser's query, the first events' properties, and each user's
    row in users.parquet as ROW (the `_uid` less the first when users are numbered in
    order, else looked up)."""
    _TABLES.setdefault(id(con), []).append(name)
    params: list = []
    if users.first_uid is not None:
        row, joins, params = "b._uid - ?", "", [users.first_uid]
    else:
        con.register(USER_ROWS, {"_uid": users.uids,
                                 "ix": np.arange(users.count, dtype=np.int64)})
        row, joins = "r.ix", f" LEFT JOIN {USER_ROWS} AS r ON r._uid = b._uid"
    firsts = "".join(", " + c for c in first_entries)
    if first_entries:
        joins += f" LEFT JOIN {FIRSTS} AS {FIRSTS} ON {FIRSTS}.ix = {row}"
    # Stored in whatever order the joins give (the numpy columns are then put in that
    # order: sorting the table by ROW cost a third of building it).
    with _perfect_hash(con, base.narrow):
        # Our own names and schema column names (quoted) only; values bind.
        con.execute(f"CREATE TABLE {name} AS SELECT b.*{firsts}, {row} AS {ROW} "  # noqa: S608
                    f"FROM ({base.select.text}) AS b{joins}",
                    [*params, *base.select.params, *(params if first_entries else [])])
    con.unregister(USER_ROWS)
    con.execute(f"DROP TABLE IF EXISTS {FIRSTS}")


def _table_order(con: duck.Connection, name: str) -> np.ndarray:
    """Each of the table's rows, in its stored order, as the user's row (ROW)."""
    with duck.ordered_scans(con):
        # Our own names only.
        return np.asarray(con.execute(f"SELECT {ROW} FROM {name}").fetchnumpy()[ROW])  # noqa: S608


def _in_table_order(arrays: dict[str, np.ndarray], order: np.ndarray) -> None:
    """Every numpy column (by user row) put in the table's order, in place, so that a
    positional join pairs them; `ix` becomes that order, which the join checks on every
    row (a hash join of a million users to them cost a fifth of writing the table)."""
    if np.array_equal(order, arrays["ix"]):
        return
    arrays["_uid"] = arrays["_uid"].copy()  # the user index's own, not to be reordered
    # The joins leave the users' row groups in runs of consecutive rows (9 runs at 1M
    # users): moved run by run, through one buffer per type (new arrays cost as much
    # again in page faults), rather than a million rows picked one by one.
    starts = np.concatenate(([0], np.flatnonzero(np.diff(order) != 1) + 1))
    ends = [*starts[1:].tolist(), len(order)]
    runs = [(a, b, int(order[a])) for a, b in zip(starts.tolist(), ends, strict=True)]
    buffers: dict[np.dtype, np.ndarray] = {}
    done: set[int] = set()
    for values in list(arrays.values()):
        parts = [values]
        if isinstance(values, np.ma.MaskedArray):  # no mask at all: nothing to move
            parts = [values.data, *([] if values.mask is np.ma.nomask else [values.mask])]
        for part in parts:
            if part.ctypes.data in done:
                continue  # memory shared by two columns (views: ids are not kept)
            done.add(part.ctypes.data)
            if len(runs) > MAX_RUNS:
                part[:] = part[order]
                continue
            buffer = buffers.setdefault(part.dtype, np.empty_like(part))
            buffer[:] = part
            for start, end, first in runs:
                part[start:end] = buffer[first:first + end - start]


def _side_columns(con: duck.Connection, features: list[Feature], events: list[str],
                  rows: WindowRows) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The averages (on a cursor of their own; their rows are then let go), the counts
    of events, then the sessions and times in the app: (columns, the select entries of
    those holding a NaN average)."""
    averages = [f for f in features if f.measure["kind"] == "event_property"]
    columns: dict[str, np.ndarray] = {}
    entries: dict[str, str] = {}
    if averages:
        cursor = con.cursor()
        try:
            entries = _averages(cursor, averages, rows.users.count, rows.averaged, columns)
        finally:
            cursor.close()
    rows.averaged = {}
    columns.update(_numpy_columns(features, events, rows))
    return columns, entries


def _numpy_columns(features: list[Feature], events: list[str],
                   rows: WindowRows) -> dict[str, np.ndarray]:
    """The counts of events, then the sessions and times in the app, by column (the
    rows' parts are let go as the sessions' sort takes them in)."""
    columns: dict[str, np.ndarray] = {}
    counted: dict[tuple[str, int | None], np.ndarray] = {}
    for feature in features:
        m = feature.measure
        if m["kind"] in ("event_count", "did_event"):
            key = (m["event"], m.get("within_days"))
            if key not in counted:
                counted[key] = rows.counts(events.index(m["event"]) + 1, key[1])
            column = counted[key]
            columns[feature.column] = column > 0 if m["kind"] == "did_event" else column
    del counted
    timed = [f for f in features if f.measure["kind"] in ("session_count", "time_in_app")]
    if not timed:
        return columns
    # The rows' times are kept only for a window shorter than the one they were read
    # with.
    narrower = any(not rows.holds_only(f.measure.get("within_days")) for f in timed)
    sessions = Sessions(rows.parts, rows.users.count, rows.longest, keep_times=narrower)
    for feature in timed:
        m = feature.measure
        if m["kind"] == "session_count":
            columns[feature.column] = sessions.starts(gap_of(m), m.get("within_days"))
        else:
            columns[feature.column] = sessions.minutes(gap_of(m), m.get("within_days"))
    return columns


def _window_rows(con: duck.Connection, version: DatasetVersion,
                 features: list[Feature]) -> tuple[WindowRows, list[str]]:
    """The events inside the longest window of these features (discovery_rows), with the
    properties averaged over each event; and the events measured, in the order of their
    codes in the rows (1 + their place)."""
    measures = [f.measure for f in features]
    events = sorted({m["event"] for m in measures if "event" in m})
    averaged: dict[str, list[str]] = {}
    for m in measures:
        if m["kind"] == "event_property" and m["property"] not in averaged.get(m["event"], []):
            averaged.setdefault(m["event"], []).append(m["property"])
    # First events' properties come from a statement of their own, not the window rows.
    windows = {m.get("within_days") for m in measures if m["kind"] != "first_event_property"}
    longest = None if None in windows else max(windows, default=0)
    rows = read_window_rows(con, version, UserIndex(con, version), events, averaged, longest)
    return rows, events


def _averages(con: duck.Connection, features: list[Feature], users: int,
              rows: dict[str, dict[str, np.ndarray]],
              arrays: dict[str, np.ndarray]) -> dict[str, str]:
    """avg() of each property per user, event and window over the window rows of that
    event (`rows`): whole numbers in numpy (_whole_average: a DuckDB GROUP BY per event
    cost several times as much), others by DuckDB (one GROUP BY per event and window: a
    third of the time of one GROUP BY over (user, event)). Each result is a column of
    every user in `arrays` (null for users without a value), which the table reads with
    the counts: a join per event onto the table cost more than the GROUP BYs themselves.
    Returns the select entry of each column holding a NaN average (numpy hands NaN to
    DuckDB as null, so those rows are flagged and the entry puts the NaN back)."""
    by_event: dict[tuple[str, int | None], list[Feature]] = {}
    for feature in features:
        m = feature.measure
        by_event.setdefault((m["event"], m.get("within_days")), []).append(feature)
    entries: dict[str, str] = {}
    for (event, days), group in by_event.items():
        props = sorted({f.measure["property"] for f in group})
        inside = None if days is None else rows[event]["since"] < days * DAY_US
        averaged = {p: _whole_average(rows[event]["ix"], rows[event][p], inside, users)
                    for p in props}
        by_duckdb = [p for p in props if averaged[p] is None]
        if by_duckdb:
            averaged.update(_duckdb_averages(con, rows[event], by_duckdb, days, users))
        for feature in group:
            arrays[feature.column] = values = averaged[feature.measure["property"]]
            nulls = np.ma.getmaskarray(values)
            values = np.ma.getdata(values)
            nan = np.isnan(values) & ~nulls
            if nan.any():
                flag = NAN_PREFIX + feature.column
                arrays[flag] = nan
                entries[feature.column] = _nan_entry(feature.column, flag)
    return entries


def _nan_entry(column: str, flag: str) -> str:
    """The select entry of an average holding NaN for the users `flag` marks."""
    return (f"CASE WHEN n.{duck.quote_identifier(flag)} THEN CAST('NaN' AS DOUBLE) "
            f"ELSE n.{duck.quote_identifier(column)} END AS {duck.quote_identifier(column)}")


def _duckdb_averages(con: duck.Connection, rows: dict[str, np.ndarray], props: list[str],
                     days: int | None, users: int) -> dict[str, np.ndarray]:
    """avg() of these properties per user by DuckDB over one event's window rows
    (registered as WINDOW_ROWS), each spread into a column of every user."""
    aggs = ", ".join(_average(p, rows) for p in props)
    where, params = "", []
    if days is not None:
        where, params = " WHERE since < ?", [days * DAY_US]
    con.register(WINDOW_ROWS, rows)
    # An ordinary hash table: a perfect one over every user was no faster here.
    # Schema column names (quoted) and our own aliases only; values bind.
    found = con.execute(f"SELECT ix, {aggs} FROM {WINDOW_ROWS}{where} "  # noqa: S608
                        "GROUP BY ix", params).fetchnumpy()
    con.unregister(WINDOW_ROWS)
    ix = np.asarray(found["ix"])
    columns = {}
    for prop in props:
        values = np.zeros(users, dtype=np.float64)
        values[ix] = np.ma.getdata(found[prop])
        nulls = np.ones(users, dtype=bool)
        nulls[ix] = np.ma.getmaskarray(found[prop])
        columns[prop] = np.ma.MaskedArray(values, mask=nulls)
    return columns


def _whole_average(ix: np.ndarray, values: np.ndarray, inside: np.ndarray | None,
                   users: int) -> np.ndarray | None:
    """avg() of a BIGINT property per user, in numpy, as DuckDB computes it: the exact sum
    over the count, divided in long double and rounded to double (its average of
    BIGINT). None for any other type, or values whose sums a double may not hold
    exactly (DuckDB averages those)."""
    data = np.ma.getdata(values)
    if data.dtype != np.int64:
        return None
    valid = ~np.ma.getmaskarray(values)
    if inside is not None:
        valid &= inside
    data, ix = data[valid], ix[valid]
    largest = max(-int(data.min()), int(data.max())) if len(data) else 0
    if largest * len(data) >= 2**53:
        return None
    counts = np.bincount(ix, minlength=users)
    sums = np.bincount(ix, weights=data, minlength=users)  # exact: bounded above
    held = counts > 0
    averages = np.zeros(users, dtype=np.float64)
    averages[held] = (sums[held].astype(np.longdouble)
                      / counts[held].astype(np.longdouble)).astype(np.float64)
    return np.ma.MaskedArray(averages, mask=~held)


def _average(prop: str, rows: dict[str, np.ndarray]) -> str:
    """avg() of a property, NaN for users with a NaN value (as over the events)."""
    column = duck.quote_identifier(prop)
    if NAN_PREFIX + prop not in rows:
        return f"avg({column}) AS {column}"
    flag = duck.quote_identifier(NAN_PREFIX + prop)
    # Quoted schema names only.
    return (f"CASE WHEN bool_or({flag}) THEN CAST('NaN' AS DOUBLE) ELSE avg({column}) END "
            f"AS {column}")


def _first_values(con: duck.Connection, features: list[Feature], version: DatasetVersion,
                  rows: WindowRows) -> dict[Feature, str]:
    """Each property on the user's first event: among events at the first-seen time, the
    smallest value (min() skips nulls), as the per-user query takes it. The window rows
    name those events' places in their files; DuckDB reads the properties of those rows
    alone (a join on the row number, which it pushes into the scan: a third of the cost
    of joining every event to its user's first-seen time). They go into the temporary
    table FIRSTS (`ix`, then one column per property); returns each feature's column."""
    if not features:
        return {}
    firsts = sorted({f.measure["property"] for f in features})
    props = ", ".join(f"e.{duck.quote_identifier(p)} AS __hl_first_{k}"
                      for k, p in enumerate(firsts))
    aggs = ", ".join(f"min(__hl_first_{k}) AS __hl_first_{k}" for k in range(len(firsts)))
    columns = ", ".join(f"__hl_first_{k}" for k in range(len(firsts)))
    found = f"{FIRSTS}_rows"
    create = f"CREATE OR REPLACE TEMP TABLE {found} AS"
    # Users with several events at their first-seen time (ties: a few in a thousand) are
    # the only ones whose values need min(); the others' rows are their values.
    every = np.concatenate([ix for _, _, ix in rows.firsts]) if rows.firsts else []
    tied = np.bincount(every, minlength=rows.users.count) > 1
    for path, positions, ix in rows.firsts:
        con.register(FIRST_ROWS, {"pos": positions, "ix": ix, "tied": tied[ix]})
        # Schema column names (quoted) and our own aliases only; the path binds.
        con.execute(f"{create} SELECT p.ix, p.tied, {props} "  # noqa: S608
                    "FROM read_parquet(?, file_row_number = true) AS e "
                    f"JOIN {FIRST_ROWS} AS p ON p.pos = e.file_row_number", [path])
        con.unregister(FIRST_ROWS)
        create = f"INSERT INTO {found}"
    if not rows.firsts:  # no events at all: the columns' types, no rows
        con.execute(f"{create} SELECT CAST(0 AS UINTEGER) AS ix, false AS tied, "  # noqa: S608
                    f"{props} FROM read_parquet(?) AS e LIMIT 0", [version.events_glob])
    # An ordinary hash table for the ties: in a perfect one (every user's slot, per
    # thread) the states of min() over text cost 500 MB more at 1M users, and more time.
    # Our own aliases only.
    con.execute(f"CREATE OR REPLACE TEMP TABLE {FIRSTS} AS "  # noqa: S608
                f"SELECT ix, {columns} FROM {found} WHERE NOT tied UNION ALL "
                f"SELECT ix, {aggs} FROM {found} WHERE tied GROUP BY ix")
    con.execute(f"DROP TABLE {found}")
    return {f: f"__hl_first_{firsts.index(f.measure['property'])}" for f in features}


def _stored_firsts(con: duck.Connection, stored: discovery_store.Stored,
                   features: list[Feature]) -> dict[Feature, str]:
    """The first events' properties of a store, as _first_values leaves them."""
    names = sorted({stored.firsts[f] for f in features})
    # Our own names only (as the store's manifest holds them: checked); the path binds.
    if not all(_FIRST_NAME.fullmatch(n) for n in names):
        raise ValueError("hypothesislab: unexpected column in a discovery store")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {FIRSTS} AS "  # noqa: S608
                f"SELECT ix, {', '.join(names)} FROM read_parquet(?)", [stored.firsts_path])
    return {f: stored.firsts[f] for f in features}


def _first_entries(columns: dict[Feature, str]) -> list[str]:
    return [f"{FIRSTS}.{name} AS {duck.quote_identifier(f.column)}"
            for f, name in columns.items()]


def keep_measures(con: duck.Connection, version: DatasetVersion, days: int | None,
                  features: list[Feature]) -> Path:
    """Compute these measures (each one measured_here) as build_table does and keep them
    for the version's later runs (discovery_store)."""
    rows, events = _window_rows(con, version, features)
    firsts = [f for f in features if f.measure["kind"] == "first_event_property"]
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            side = pool.submit(_side_columns, con, features, events, rows)
            first_columns = _first_values(con, firsts, version, rows)
            columns, entries = side.result()
        nan_flags = {column: NAN_PREFIX + column for column in entries}
        return discovery_store.save(con, version, days,
                                    [f for f in features if f not in first_columns],
                                    columns, nan_flags, FIRSTS, first_columns)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {FIRSTS}")


def _drop(con: duck.Connection) -> None:
    """Free this run's tables, rows and arrays now rather than when the connection closes
    (the tables of the database would outlive it)."""
    for name in _TABLES.pop(id(con), []):
        con.execute(f"DROP TABLE IF EXISTS {name}")
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary "
        "AND starts_with(table_name, ?)", [FIRSTS]).fetchall()]
    for name in names:
        con.execute(f"DROP TABLE IF EXISTS {duck.quote_identifier(name)}")
    for name in (MEASURED, WINDOW_ROWS, FIRST_ROWS, USER_ROWS):
        con.unregister(name)
