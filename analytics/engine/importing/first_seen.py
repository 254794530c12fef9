"""Every user's earliest event (first-seen time), from the written events.

`GROUP BY _uid` with `min(timestamp)` is a hash aggregate into a million groups at a
million users: at 50M events about 5 s of CPU, an eighth of a whole import. When the
`_uid`s lie in a small range (users numbered 1..N, or small integer ids), the earliest
time of each is kept in an array indexed by `_uid` instead (numpy's minimum.at), fed
with the two columns a few row groups at a time: about 3 s of CPU, most of it DuckDB
reading the two columns, and no more memory than one chunk and the array. Otherwise the
hash aggregate it is.
"""

from __future__ import annotations

from analytics.engine import duck
from analytics.engine.importing.columns import q
from analytics.engine.storage import UID

FIRST_SEEN_TABLE = "first_seen"  # temporary: _uid, first_ts
_ARRAYS = "__hl_first_seen_arrays"  # the arrays, registered for one statement
# The array's largest span of `_uid`s (8 bytes each: 256 MB at most)...
ARRAY_MAX_SPAN = 32 * 2**20
# ...and at most this many entries per row of events (sparse ids are hashed instead).
ARRAY_MAX_SPAN_PER_ROW = 4
CHUNK_ROWS = 2_000_000  # rows fetched at once (32 MB of the two columns)
_NONE = 2**63 - 1  # no event yet (the largest int64)


def compute_first_seen(con: duck.Connection, events_glob: str) -> str:
    """A temporary table of every user with events and their earliest one (_uid,
    first_ts); returns its name."""
    groups = _row_groups(con, events_glob)
    span = _uid_span(groups)
    if span is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {FIRST_SEEN_TABLE} AS SELECT "  # noqa: S608
                    f"{q(UID)} AS _uid, min(timestamp) AS first_ts FROM read_parquet(?) "
                    "GROUP BY ALL", [events_glob])
    else:
        _first_seen_by_array(con, groups, *span)
    return FIRST_SEEN_TABLE


def _row_groups(con: duck.Connection, events_glob: str) -> list[tuple]:
    """(file, rows, smallest _uid, largest _uid) of each row group, in file order, from
    the files' footers."""
    return con.execute(
        "SELECT file_name, row_group_num_rows, CAST(stats_min_value AS BIGINT), "
        "CAST(stats_max_value AS BIGINT) FROM parquet_metadata(?) "
        "WHERE path_in_schema = ? ORDER BY file_name, row_group_id",
        [events_glob, UID]).fetchall()


def _uid_span(groups: list[tuple]) -> tuple[int, int] | None:
    """(smallest, largest) `_uid` when an array over them is small enough, else None."""
    rows = sum(g[1] for g in groups)
    if not rows or any(g[2] is None or g[3] is None for g in groups if g[1]):
        return None
    low = min(g[2] for g in groups if g[1])
    high = max(g[3] for g in groups if g[1])
    span = high - low + 1
    if span > ARRAY_MAX_SPAN or span > ARRAY_MAX_SPAN_PER_ROW * rows:
        return None
    return low, high


def _first_seen_by_array(con: duck.Connection, groups: list[tuple], low: int,
                         high: int) -> None:
    # Imported here: the command line loads this module and, on files, never imports.
    import numpy as np

    first = np.full(high - low + 1, _NONE, dtype=np.int64)
    for path, start, stop in _chunks(groups):
        # Rows without a user or a time never reach here (the import refuses them before);
        # skipping them keeps the arrays plain (not masked).
        columns = con.execute(
            f"SELECT {q(UID)} AS u, epoch_us(timestamp) AS t "  # noqa: S608
            "FROM read_parquet(?, file_row_number = true) WHERE file_row_number >= ? "
            f"AND file_row_number < ? AND {q(UID)} IS NOT NULL AND timestamp IS NOT NULL",
            [path, start, stop]).fetchnumpy()
        np.minimum.at(first, np.asarray(columns["u"]) - low, np.asarray(columns["t"]))
    seen = np.flatnonzero(first != _NONE)
    con.register(_ARRAYS, {"_uid": seen + low, "first_us": first[seen]})
    try:
        # make_timestamp reads microseconds since the epoch; the connection's zone is UTC.
        con.execute(f"CREATE OR REPLACE TEMP TABLE {FIRST_SEEN_TABLE} AS SELECT _uid, "  # noqa: S608
                    f"CAST(make_timestamp(first_us) AS TIMESTAMPTZ) AS first_ts FROM {_ARRAYS}")
    finally:
        con.unregister(_ARRAYS)


def _chunks(groups: list[tuple]) -> list[tuple[str, int, int]]:
    """(file, first row, row after the last) ranges of whole row groups, about CHUNK_ROWS
    rows each (DuckDB skips the row groups outside a file_row_number range)."""
    chunks: list[tuple[str, int, int]] = []
    offsets: dict[str, int] = {}
    for path, rows, *_ in groups:
        start = offsets.get(path, 0)
        offsets[path] = start + rows
        last = chunks[-1] if chunks else None
        if last is not None and last[0] == path and last[2] == start \
                and last[2] - last[1] + rows <= CHUNK_ROWS:
            chunks[-1] = (path, last[1], start + rows)
        else:
            chunks.append((path, start, start + rows))
    return chunks
