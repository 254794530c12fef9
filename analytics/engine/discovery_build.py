"""discovery_source(): a discovery run's per-user table, from the cache or built.

A built table (discovery_table) is written to the cache on a thread and a cursor of its
own while the run profiles it and counts its candidates: writing about a hundred columns
of a million users to Parquet takes as long as all of that work, and on two cores the two
overlap. The run reads the user columns, flags and first events' properties from the
built table of the engine database, and the behaviour measures from their numpy columns
(discovery_measured). finish() waits for the cache and frees the table; a run calls it
before it returns, so the cache is complete when its result is."""

from __future__ import annotations

import json
import os
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analytics.engine import discovery_table, duck
from analytics.engine.discovery_measured import Measured
from analytics.engine.discovery_table import MEASURED, ROW, Table, _drop
from analytics.engine.peruser import (
    CACHE_PREFIX,
    find_cached,
    success_key,
    table_key,
    write_atomically,
)
from analytics.engine.peruser_columns import INCLUDED_COLUMN, SUCCESS_COLUMN, Feature
from analytics.engine.sql import Sql
from analytics.engine.storage import DatasetSchema, DatasetVersion


@dataclass(frozen=True)
class Built(Sql):
    """A source naming the built table (its user columns, flags and first events'
    properties), with the table and its cache write under way."""

    table: Table | None = field(default=None, compare=False)
    writing: Future | None = field(default=None, compare=False)


def discovery_source(con: duck.Connection, version: DatasetVersion, schema: DatasetSchema,
                     success: dict, features: list[Feature]) -> Sql:
    """A FROM-clause source holding the per-user table of a validated success definition
    and these features, as peruser.peruser_source would give it: the cached table, or a
    Built one whose behaviour measures are read through measured_of (its source holds
    the other columns). Call finish() when done with it."""
    cached = find_cached(version, success, features)
    if cached is not None:
        return Sql("read_parquet(?)", [str(cached)])
    try:
        # Through the module, so that tests can count builds.
        table = discovery_table.build_table(con, version, schema, success, features)
        writing = _write_in_background(con, version, success, features, table)
    except BaseException:
        _drop(con)  # the built table is the database's: it would outlive the connection
        raise
    return Built(table.name, [], table=table, writing=writing)


def measured_of(con: duck.Connection, source: Sql, unsuccessful: bool) -> Measured | None:
    """The numpy columns of a built table with the flags that count them (None for any
    other source)."""
    if not isinstance(source, Built):
        return None
    table = source.table
    users = len(table.arrays["ix"])
    included, outcome = np.zeros(users, dtype=bool), np.zeros(users, dtype=bool)
    flags = con.execute(f"SELECT {ROW} AS ix, {duck.quote_identifier(INCLUDED_COLUMN)} AS i, "  # noqa: S608
                        f"{duck.quote_identifier(SUCCESS_COLUMN)} AS s "
                        f"FROM {table.name}").fetchnumpy()
    # The numpy columns are in the table's order: each user's row -> its place there.
    place = np.empty(users, dtype=np.int64)
    place[table.arrays["ix"]] = np.arange(users, dtype=np.int64)
    rows = place[np.asarray(flags["ix"])]
    # count_if counts a true flag only: a null is neither included nor a success, and
    # NOT null is no failure either.
    included[rows] = np.ma.filled(flags["i"], False)
    succeeded = np.ma.getdata(flags["s"])
    known = ~np.ma.getmaskarray(flags["s"])
    outcome[rows] = known & (~succeeded if unsuccessful else succeeded)
    columns = {duck.quote_identifier(f.column): table.arrays[f.column] for f in table.measured}
    return Measured(included, outcome, columns)


def finish(con: duck.Connection, source: Sql) -> None:
    """Wait for a built table's cache write and free the table (nothing for others)."""
    if not isinstance(source, Built):
        return
    try:
        source.writing.result()
    except OSError:
        pass  # a read-only or full cache directory costs speed next time, never the answer
    finally:
        _drop(con)


def _write_in_background(con: duck.Connection, version: DatasetVersion, success: dict,
                         features: list[Feature], table: Table) -> Future:
    writer = con.cursor()
    try:
        writer.register(MEASURED, table.arrays)
        pool = ThreadPoolExecutor(max_workers=1)
        writing = pool.submit(_write_then_close, writer, version, success, features, table)
        pool.shutdown(wait=False)
        return writing
    except BaseException:
        writer.close()
        raise


def _write_then_close(writer: duck.Connection, version: DatasetVersion, success: dict,
                      features: list[Feature], table: Table) -> Path:
    try:
        return _write_cache(writer, version, success, features, table)
    finally:
        writer.close()


def _write_cache(con: duck.Connection, version: DatasetVersion, success: dict,
                 features: list[Feature], table: Table) -> Path:
    """As peruser writes a per-user table: under a temporary name, then renamed, then its
    manifest, so that peruser.find_cached finds it."""
    directory = version.cache_dir
    directory.mkdir(parents=True, exist_ok=True)
    key = table_key(success, features)
    final = directory / f"{CACHE_PREFIX}{key}.parquet"
    temporary = directory / f".tmp-{key}-{os.getpid()}-{uuid.uuid4().hex}.parquet"
    try:
        # One thread (the database's setting, so the run's own queries meanwhile take
        # the other core): writing the wide table took as long with one thread as with
        # two and 40% less CPU (at 1M users 2.6-3.2 s against 4.2-6.6 s).
        with duck.single_thread(con):
            con.execute(f"COPY ({table.select.text}) TO ? "
                        "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)",
                        [*table.select.params, str(temporary)])
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)
    manifest = {"success_key": success_key(success), "features": sorted(f.key for f in features)}
    write_atomically(final.with_suffix(".json"), json.dumps(manifest))
    return final
