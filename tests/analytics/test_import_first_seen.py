"""Users' first-seen times from the written events: kept in an array indexed by `_uid`
when the ids lie in a small range, a hash aggregate otherwise; the same table either way,
whatever the chunks the events are read in."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analytics.engine import duck
from analytics.engine.importing import first_seen

T0 = datetime(2025, 12, 30, 23, 0, tzinfo=UTC)


def write_events(directory: Path, uids: list[int], *, files: int = 3, seed: int = 1) -> str:
    """Events of these users (a few each, times to the microsecond, some before 1970)
    over several files of row groups of 2,048 rows (DuckDB's smallest); returns their
    glob."""
    rng = random.Random(seed)
    rows = [(uid, T0 - timedelta(days=rng.randrange(-40, 20000), microseconds=rng.randrange(10**6)))
            for uid in uids for _ in range(rng.randrange(1, 5))]
    rng.shuffle(rows)
    con = duck.connect(threads=1)
    con.execute("CREATE TABLE e (_uid BIGINT, event VARCHAR, timestamp TIMESTAMPTZ)")
    con.execute("INSERT INTO e SELECT unnest(CAST(? AS BIGINT[])), 'x', "
                "unnest(CAST(? AS TIMESTAMPTZ[]))", [[r[0] for r in rows], [r[1] for r in rows]])
    for i in range(files):
        con.execute(f"COPY (SELECT * FROM e WHERE hash(_uid, timestamp) % {files} = {i}) "  # noqa: S608
                    f"TO '{directory / f'part-{i}.parquet'}' (FORMAT parquet, ROW_GROUP_SIZE 2048)")
    con.close()
    return str(directory / "*.parquet")


def table(con: duck.Connection, glob: str) -> list[tuple]:
    name = first_seen.compute_first_seen(con, glob)
    return con.execute(f"SELECT _uid, first_ts FROM {name} ORDER BY _uid").fetchall()  # noqa: S608


def expected(glob: str) -> list[tuple]:
    con = duck.connect(threads=1)
    return con.execute("SELECT _uid, min(timestamp) FROM read_parquet(?) GROUP BY _uid "
                       "ORDER BY _uid", [glob]).fetchall()


@pytest.fixture
def small_chunks(monkeypatch):
    # Two row groups a chunk at most: several chunks in a file.
    monkeypatch.setattr(first_seen, "CHUNK_ROWS", 4096)


def test_dense_ids_are_kept_in_an_array_read_in_chunks(tmp_path, monkeypatch, small_chunks):
    glob = write_events(tmp_path, list(range(3, 6000)))
    chunks = []
    real = first_seen._chunks
    monkeypatch.setattr(first_seen, "_chunks", lambda groups: chunks.append(real(groups))
                        or chunks[-1])
    assert table(duck.connect(threads=1), glob) == expected(glob)
    assert len(chunks) == 1 and len(chunks[0]) > 3
    assert all(stop - start <= first_seen.CHUNK_ROWS for _, start, stop in chunks[0])
    # Each chunk is whole row groups of one file, and every row is read once.
    con = duck.connect(threads=1)
    rows = con.execute("SELECT count(*) FROM read_parquet(?)", [glob]).fetchone()[0]
    assert sum(stop - start for _, start, stop in chunks[0]) == rows


def test_sparse_ids_are_hashed(tmp_path, monkeypatch, small_chunks):
    glob = write_events(tmp_path, [1, 2, 10**12, 5 * 10**14])
    monkeypatch.setattr(first_seen, "_first_seen_by_array",
                        lambda *a: pytest.fail("no array for ids this far apart"))
    assert table(duck.connect(threads=1), glob) == expected(glob)


@pytest.mark.parametrize("uids", [list(range(-30, 30)), [2**40 + i for i in range(50)]])
def test_negative_or_large_ids_in_a_small_range(tmp_path, small_chunks, uids):
    glob = write_events(tmp_path, uids)
    assert table(duck.connect(threads=1), glob) == expected(glob)
