"""The per-user table: one row per user of the population with its user properties, the
success flag, the complete-window flag and the event-derived features a request needs,
built in one pass over the events and cached as Parquet under the version's cache/.

A version never changes once published, so a cache file keyed by (success definition,
features) never goes stale. A request whose features are a subset of a cached table's
reuses that table.

A new feature on a success definition that has a cached table (a warm one) costs only its
own work: a column table (_uid and the feature, for every user) is built from the events
the feature names, which the stored layout lets DuckDB read alone (events are clustered
by name, see analytics.engine.storage), and joined to the cached table by _uid. Counts
of events (did_event, event_count) are computed with numpy (analytics.engine.event_counts)
into a table of every user in _uid order, the order per-user tables are written in, so
that it pairs with the cached table by position rather than by a hash join. Column
tables do not depend on the success definition, so any later definition reuses them.
A cold definition still gets one pass for its flags and all its features together.

Files are written under a temporary name and renamed, so two workers building the same
table at once both end with a complete file."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from analytics.engine import duck
from analytics.engine.event_counts import EventCountsPass
from analytics.engine.peruser_columns import (
    Feature,
    PerUserQuery,
    PerUserSql,
    distinct_event_hashes,
)
from analytics.engine.sql import Sql
from analytics.engine.storage import DatasetSchema, DatasetVersion

CACHE_FORMAT = 2
CACHE_PREFIX = "peruser-"
COLUMNS_PREFIX = "columns-"  # column tables: _uid and some features, for any success
UID_ORDER = "uid_order"  # in a manifest: the table holds every user, sorted by _uid
OUT_OF_LINE = "hypothesislab: a column table is out of line with its per-user table"
PERFECT_HASH_BITS = 21  # features.PERFECT_HASH_RANGE


def _digest(value: object) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def success_key(success: dict) -> str:
    return _digest({"format": CACHE_FORMAT, "success": success})


def table_key(success: dict, features: list[Feature]) -> str:
    return _digest({"format": CACHE_FORMAT, "success": success,
                    "features": sorted({f.key for f in features})})


def peruser_source(con: duck.Connection, version: DatasetVersion, schema: DatasetSchema,
                   success: dict, features: list[Feature]) -> Sql:
    """A FROM-clause source (read_parquet(?) or a temporary table) holding the per-user
    table of a validated success definition and these features."""
    cached = find_cached(version, success, features)
    if cached is not None:
        return Sql("read_parquet(?)", [str(cached)])
    base = find_base(version, success, features)
    if base is not None:
        try:
            return joined_source(con, version, schema, base, features)
        except OSError:
            pass  # no room to cache a column table: the whole table, as below
    query = build_query(schema, version, success, features,
                        hashed_events=distinct_event_hashes(con, schema))
    try:
        path = _write_cache(con, version, success, features, query)
    except OSError:
        # A read-only or full cache directory costs speed, never the answer.
        name = f"peruser_{table_key(success, features)}"
        with _perfect_hash(con, query.narrow):
            for statement in query.prepare:
                con.execute(statement.text, statement.params)
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query.select.text}",
                        query.select.params)
        return Sql(name)
    return Sql("read_parquet(?)", [str(path)])


def build_query(schema: DatasetSchema, version: DatasetVersion, success: dict,
                features: list[Feature], *, hashed_events: bool = False) -> PerUserSql:
    query = PerUserQuery(schema, hashed_events=hashed_events)
    query.set_success(success, schema.data_end)
    for feature in features:
        query.add_feature(feature)
    return query.sql((str(version.users_path), version.events_glob))


def find_cached(version: DatasetVersion, success: dict, features: list[Feature]) -> Path | None:
    directory = version.cache_dir
    exact = directory / f"{CACHE_PREFIX}{table_key(success, features)}.parquet"
    if exact.exists():
        return exact
    wanted = {f.key for f in features}
    skey = success_key(success)
    for table, info in _manifests(directory, CACHE_PREFIX):
        if info.get("success_key") == skey and wanted <= set(info.get("features", [])):
            return table
    return None


@dataclass(frozen=True)
class Base:
    """A cached per-user table of a success definition and the features it holds."""

    table: Path
    held: set[str]
    in_uid_order: bool  # its rows are sorted by _uid (see _write_cache)


def find_base(version: DatasetVersion, success: dict, features: list[Feature]) -> Base | None:
    """A cached per-user table of this success definition (a warm one: its population,
    first-seen times and flags are computed), with its features: the one holding most of
    these features, then one in _uid order (see joined_source), then the narrowest."""
    skey = success_key(success)
    wanted = {f.key for f in features}
    best: tuple[tuple[int, bool, int], Base] | None = None
    for table, info in _manifests(version.cache_dir, CACHE_PREFIX):
        if info.get("success_key") != skey:
            continue
        held = set(info.get("features", []))
        in_order = bool(info.get(UID_ORDER))
        rank = (-len(wanted & held), not in_order, len(held))
        if best is None or rank < best[0]:
            best = (rank, Base(table, held, in_order))
    return best[1] if best is not None else None


def _manifests(directory: Path, prefix: str) -> Iterator[tuple[Path, dict]]:
    """(table, manifest) of each complete cached table of this kind."""
    try:
        manifests = sorted(directory.glob(f"{prefix}*.json"))
    except OSError:
        return
    for manifest in manifests:
        try:
            info = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue  # a manifest being replaced or damaged: just not a hit
        table = manifest.with_suffix(".parquet")
        if table.exists():
            yield table, info


def joined_source(con: duck.Connection, version: DatasetVersion, schema: DatasetSchema,
                  base: Base, features: list[Feature]) -> Sql:
    """The per-user table of a warm success definition with features it lacks: the
    cached table joined, by _uid, to column tables holding those features (cached per
    version, whatever the success definition; built in one pass over the events the
    features name when missing). Every table has one row per user of the population,
    so the join adds columns and never changes a count. A column table with every user
    in _uid order (event_counts) is paired with a base in the same order by position,
    which costs a tenth of a hash join of a million users (a check that the two _uids
    agree on every row guards it)."""
    table, held = base.table, base.held
    missing = [f for f in features if f.key not in held]
    columns: dict[Path, list[Feature]] = {}
    unbuilt: list[Feature] = []
    cached = list(_manifests(version.cache_dir, COLUMNS_PREFIX))
    for feature in missing:
        found = next((t for t, info in cached if feature.key in info.get("features", [])),
                     None)
        if found is None:
            unbuilt.append(feature)
        else:
            columns.setdefault(found, []).append(feature)
    if unbuilt:
        columns[_write_columns(con, version, schema, unbuilt)] = unbuilt
    picked = [Sql("b.*")]
    positional: list[Sql] = []
    joins: list[Sql] = []
    for i, (path, its) in enumerate(columns.items()):
        info = json.loads(path.with_suffix(".json").read_text())
        if info.get("sparse"):
            # The aggregates' names are unique to this table (its own prefix), so the
            # features' expressions name them without a table alias.
            query = _columns_query(schema, info["features"], info["prefix"])
            wanted = {f.column for f in its}
            values = [(name, s) for name, s in query.feature_expressions() if name in wanted]
        else:
            values = [(f.column, Sql(f"c{i}.{duck.quote_identifier(f.column)}")) for f in its]
        in_line = base.in_uid_order and info.get(UID_ORDER)
        for name, value in values:
            if in_line:
                value = value.wrap(f"CASE WHEN c{i}._uid = b._uid THEN ",
                                   f" ELSE error('{OUT_OF_LINE}') END")
            picked.append(value.wrap("", f" AS {duck.quote_identifier(name)}"))
        if in_line:
            positional.append(Sql(f"POSITIONAL JOIN read_parquet(?) AS c{i}", [str(path)]))
        else:
            joins.append(Sql(f"LEFT JOIN read_parquet(?) AS c{i} ON c{i}._uid = b._uid",
                             [str(path)]))
    # Positional joins first, straight on the files' scans.
    select, tail = Sql.join(picked), Sql.join([*positional, *joins], " ")
    # Our own aliases and quoted feature columns only; paths bind.
    return Sql(f"(SELECT {select.text} FROM read_parquet(?) AS b {tail.text})",  # noqa: S608
               [*select.params, str(table), *tail.params])


def columns_key(features: list[Feature]) -> str:
    return _digest({"format": CACHE_FORMAT, "columns": sorted({f.key for f in features})})


def _columns_query(schema: DatasetSchema, keys: list[str], prefix: str, *,
                   hashed_events: bool = False) -> PerUserQuery:
    """The query of a column table's features, added in a fixed order so that its
    aggregates get the same names when it is built and when it is read."""
    query = PerUserQuery(schema, hashed_events=hashed_events, inner_prefix=prefix)
    for key in sorted(keys):
        query.add_feature(Feature(key))
    return query


def _write_columns(con: duck.Connection, version: DatasetVersion, schema: DatasetSchema,
                   features: list[Feature]) -> Path:
    """A column table, from one pass over the events these features name (which the
    events' layout lets DuckDB read alone). Sparse when it can be: _uid and the
    aggregates, for the users with such events only, which spares joining and writing
    every user; otherwise (sessions) _uid and the features for every user."""
    key = columns_key(features)
    keys = sorted(f.key for f in features)
    prefix = f"__hl_c{key[:12]}_"
    query = _columns_query(schema, keys, prefix,
                           hashed_events=distinct_event_hashes(con, schema))
    paths = (str(version.users_path), version.events_glob)
    sparse = query.can_be_sparse()
    sql = query.counts_pass(paths) or (query.sparse_sql(paths) if sparse
                                       else query.sql(paths, columns_only=True))
    path = _write_table(con, version, COLUMNS_PREFIX, key, sql)
    counted = isinstance(sql, EventCountsPass)
    write_atomically(path.with_suffix(".json"), json.dumps(
        {"features": keys, "sparse": sparse or counted, "prefix": prefix, UID_ORDER: counted}))
    return path


def _write_table(con: duck.Connection, version: DatasetVersion, prefix: str, key: str,
                 query: PerUserSql | EventCountsPass) -> Path:
    directory = version.cache_dir
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{prefix}{key}.parquet"
    temporary = directory / f".tmp-{key}-{os.getpid()}-{uuid.uuid4().hex}.parquet"
    try:
        scan_events(con, query, temporary)
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)
    return final


def _write_cache(con: duck.Connection, version: DatasetVersion, success: dict,
                 features: list[Feature], query: PerUserSql) -> Path:
    # In _uid order, so that column tables in the same order pair with it by position.
    ordered = replace(query, select=query.select.wrap("SELECT * FROM (", ") ORDER BY _uid"))
    final = _write_table(con, version, CACHE_PREFIX, table_key(success, features), ordered)
    manifest = {"success_key": success_key(success), "features": sorted(f.key for f in features),
                UID_ORDER: True}
    write_atomically(final.with_suffix(".json"), json.dumps(manifest))
    return final


def scan_events(con: duck.Connection, query: PerUserSql | EventCountsPass,
                destination: Path) -> None:
    """The pass over the events (and the users table) that builds a per-user table (in
    two statements when sessions are measured), or a column table of event counts (see
    event_counts). Tests count calls to this function to prove that cached tables are
    reused."""
    if isinstance(query, EventCountsPass):
        query.write(con, destination)
        return
    # zstd level 1: as small as the default level and a fifth cheaper to write.
    copy = (f"COPY ({query.select.text}) TO ? "
            "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)")
    with _perfect_hash(con, query.narrow):
        for statement in query.prepare:
            con.execute(statement.text, statement.params)
        con.execute(copy, [*query.select.params, str(destination)])


@contextmanager
def _perfect_hash(con: duck.Connection, wanted: bool) -> Iterator[None]:
    """Let DuckDB group by a _uid range of up to 2**21 users with a perfect hash table
    (it does so only when the column's statistics give such a range)."""
    if not wanted:
        yield
        return
    con.execute(f"SET perfect_ht_threshold = {PERFECT_HASH_BITS}")
    try:
        yield
    finally:
        con.execute("RESET perfect_ht_threshold")


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".tmp-{path.name}-{os.getpid()}-{uuid.uuid4().hex}")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
