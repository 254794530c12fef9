"""The per-user table: one row per user of the population with its user properties, the
success flag, the complete-window flag and the event-derived features a request needs,
built in one pass over the events and cached as Parquet under the version's cache/.

A version never changes once published, so a cache file keyed by (success definition,
features) never goes stale. A request whose features are a subset of a cached table's
reuses that table. Files are written under a temporary name and renamed, so two workers
building the same table at once both end with a complete file."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from analytics.engine import duck
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
    try:
        manifests = sorted(directory.glob(f"{CACHE_PREFIX}*.json"))
    except OSError:
        return None
    for manifest in manifests:
        try:
            info = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue  # a manifest being replaced or damaged: just not a hit
        table = manifest.with_suffix(".parquet")
        if (info.get("success_key") == skey and wanted <= set(info.get("features", []))
                and table.exists()):
            return table
    return None


def _write_cache(con: duck.Connection, version: DatasetVersion, success: dict,
                 features: list[Feature], query: PerUserSql) -> Path:
    directory = version.cache_dir
    directory.mkdir(parents=True, exist_ok=True)
    key = table_key(success, features)
    final = directory / f"{CACHE_PREFIX}{key}.parquet"
    temporary = directory / f".tmp-{key}-{os.getpid()}-{uuid.uuid4().hex}.parquet"
    try:
        scan_events(con, query, temporary)
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)
    manifest = {"success_key": success_key(success), "features": sorted(f.key for f in features)}
    write_atomically(final.with_suffix(".json"), json.dumps(manifest))
    return final


def scan_events(con: duck.Connection, query: PerUserSql, destination: Path) -> None:
    """The pass over the events (and the users table) that builds a per-user table (in
    two statements when sessions are measured). Tests count calls to this function to
    prove that cached tables are reused."""
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
