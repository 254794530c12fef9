"""Hostile input to the importer (issue 12, points 4, 5 and 11): decompression bombs and
floods of rows stop at their caps, a team's storage has a quota, times out of range and
control characters are refused with their line, and no message shows a server path."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import duckdb
import pytest

from analytics.engine.importer import (
    ColumnMapping,
    ImportLimits,
    ImportRefused,
    append_events,
    import_dataset,
)
from analytics.engine.importing.column_mapping import guess_mapping
from analytics.engine.importing.files import PEEK_TEXT_BYTES
from analytics.engine.importing.limits import new_bytes
from analytics.engine.storage import DatasetVersion

MB = 1024**2
HEADER = "user_id,event,timestamp\n"


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def gzip_bomb(path: Path, *, expands_to: int, head: bytes = b"") -> Path:
    """A small gzip file (about 1/1000 of `expands_to`) of `head` then zeros, written a
    chunk at a time."""
    chunk = b"\0" * MB
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(head)
        for _ in range(expands_to // MB):
            out.write(chunk)
    return path


def csv_bomb(path: Path, *, expands_to: int) -> Path:
    """Valid CSV that repeats one row until it is `expands_to` bytes."""
    row = b"u1,login,2024-01-01T00:00:00Z\n"
    block = row * (MB // len(row))
    with gzip.open(path, "wb", compresslevel=9) as out:
        out.write(HEADER.encode())
        for _ in range(expands_to // len(block)):
            out.write(block)
    return path


def run_import(tmp_path: Path, events: list[Path], users: Path | None = None, *,
               limits: ImportLimits | None = None, **mapping):
    dest = tmp_path / "datasets" / "1" / "v1"
    return import_dataset(events=events, users=users, mapping=ColumnMapping(**mapping),
                          dest=dest, memory_limit="256MB", threads=1, limits=limits)


def refused(tmp_path: Path, events: list[Path], users: Path | None = None, *,
            limits: ImportLimits | None = None, **mapping) -> ImportRefused:
    with pytest.raises(ImportRefused) as caught:
        run_import(tmp_path, events, users, limits=limits, **mapping)
    # Nothing behind: no version, no decompressed copy, not even the parents it made.
    assert not (tmp_path / "datasets").exists()
    return caught.value


# --- 4. decompression bombs and floods of rows ------------------------------------------

def test_a_gzip_bomb_stops_at_the_byte_cap(tmp_path):
    bomb = csv_bomb(tmp_path / "events.csv.gz", expands_to=40 * MB)
    assert bomb.stat().st_size < 1 * MB
    error = refused(tmp_path, [bomb], limits=ImportLimits(max_bytes=4 * MB))
    assert str(error) == ("events.csv.gz: expands past the 4 MB limit on the data of one "
                          "import (MAX_IMPORT_BYTES)")


def test_a_parquet_gz_of_zeros_stops_at_the_byte_cap(tmp_path):
    bomb = gzip_bomb(tmp_path / "events.parquet.gz", expands_to=30 * MB, head=b"PAR1")
    error = refused(tmp_path, [bomb], limits=ImportLimits(max_bytes=2 * MB))
    assert error.file == "events.parquet.gz" and "(MAX_IMPORT_BYTES)" in error.message


def test_the_byte_cap_counts_every_file_of_the_import(tmp_path):
    body = HEADER + "u1,login,2024-01-01T00:00:00Z\n" * 2000
    first = write(tmp_path / "a.csv", body)
    second = write(tmp_path / "b.csv.gz", gzip.compress(body.encode()))
    cap = ImportLimits(max_bytes=len(body) * 2)
    assert run_import(tmp_path, [first, second], limits=cap).n_events == 4000
    error = refused(tmp_path / "again", [first, second],
                    limits=ImportLimits(max_bytes=len(body) * 2 - 1))
    assert error.file == "b.csv.gz"
    assert "with the import's other files" in error.message


def test_within_the_cap_a_gzip_file_imports_and_leaves_no_copy(tmp_path):
    gz = csv_bomb(tmp_path / "events.csv.gz", expands_to=2 * MB)
    schema = run_import(tmp_path, [gz], limits=ImportLimits(max_bytes=4 * MB))
    assert schema.n_events > 60_000
    version = tmp_path / "datasets" / "1" / "v1"
    assert sorted(p.name for p in version.iterdir()) == ["events", "schema.json",
                                                         "users.parquet"]


@pytest.mark.parametrize("name", ["events.csv", "events.csv.gz", "events.ndjson",
                                  "events.parquet"])
def test_rows_past_the_cap_are_refused(tmp_path, name):
    path = tmp_path / name
    con = duckdb.connect()
    rows = ("SELECT 'u' || (i % 7) AS user_id, 'login' AS event, "
            "TIMESTAMPTZ '2024-01-01' + i * INTERVAL 1 MINUTE AS timestamp FROM range(1001) t(i)")
    plain = path.with_name(name.removesuffix(".gz"))
    fmt = {".csv": "csv", ".ndjson": "json", ".parquet": "parquet"}[plain.suffix]
    con.execute(f"COPY ({rows}) TO '{plain}' (FORMAT {fmt})")
    if name.endswith(".gz"):
        write(path, gzip.compress(plain.read_bytes()))
        plain.unlink()
    error = refused(tmp_path, [path], limits=ImportLimits(max_rows=1000))
    assert str(error) == (f"{name}: has more than the 1,000 rows one import may have "
                          "(MAX_IMPORT_ROWS)")
    assert run_import(tmp_path, [path], limits=ImportLimits(max_rows=1001)).n_events == 1001


def test_rows_are_counted_not_lines(tmp_path):
    """A quoted field may span lines: 3 rows on 7 lines fit a cap of 3."""
    path = write(tmp_path / "events.csv",
                 HEADER.replace("\n", ",note\n")
                 + "".join(f'u{i},e,2024-01-01,"one\ntwo"\n' for i in range(3)))
    assert run_import(tmp_path, [path], limits=ImportLimits(max_rows=3)).n_events == 3


def test_the_users_file_counts_toward_the_row_cap(tmp_path):
    events = write(tmp_path / "events.csv", HEADER + "u1,e,2024-01-01\nu2,e,2024-01-01\n")
    users = write(tmp_path / "users.csv", "user_id,plan\nu1,a\nu2,b\nu3,c\n")
    error = refused(tmp_path, [events], users, limits=ImportLimits(max_rows=4))
    assert error.file == "users.csv" and "(MAX_IMPORT_ROWS)" in error.message


def test_a_version_past_the_room_left_in_the_quota_is_refused(tmp_path):
    events = write(tmp_path / "events.csv", HEADER + "u1,e,2024-01-01\n")
    error = refused(tmp_path, [events], limits=ImportLimits(storage_bytes=100))
    assert "(TEAM_STORAGE_QUOTA_BYTES)" in error.message
    assert "100 bytes left" in error.message


def test_an_append_counts_only_the_files_it_adds(tmp_path):
    events = write(tmp_path / "events.csv",
                   HEADER + "".join(f"u{i},e,2024-01-01\n" for i in range(50_000)))
    run_import(tmp_path, [events])
    first = DatasetVersion(tmp_path / "datasets" / "1" / "v1")
    old_part = sum(p.stat().st_size for p in first.events_dir.iterdir())
    batch = write(tmp_path / "batch.csv", HEADER + "u1,e,2024-02-01\n")
    second = tmp_path / "datasets" / "1" / "v2"
    append_events(previous=first, events=[batch], mapping=ColumnMapping(), dest=second,
                  memory_limit="256MB", threads=1)
    # The earlier events are shared (a hard link), not copied: not the append's bytes.
    total = sum(p.stat().st_size for p in second.rglob("*") if p.is_file())
    assert new_bytes(second) == total - old_part
    with pytest.raises(ImportRefused, match="TEAM_STORAGE_QUOTA_BYTES"):
        append_events(previous=first, events=[batch], mapping=ColumnMapping(),
                      dest=tmp_path / "datasets" / "1" / "v3", memory_limit="256MB",
                      threads=1, limits=ImportLimits(storage_bytes=total - old_part - 1))
    assert append_events(previous=first, events=[batch], mapping=ColumnMapping(),
                         dest=tmp_path / "datasets" / "1" / "v3", memory_limit="256MB",
                         threads=1, limits=ImportLimits(storage_bytes=total - old_part + 1000)
                         ).n_events == 50_001


# --- the mapping guess peeks at a bounded prefix -------------------------------------------

def test_the_guess_reads_a_bounded_prefix_of_a_gzip_file(tmp_path):
    bomb = csv_bomb(tmp_path / "events.csv.gz", expands_to=200 * MB)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    guess = guess_mapping([bomb], None, scratch=scratch)
    assert guess.columns == {"events.csv.gz": ["user_id", "event", "timestamp"]}
    assert list(scratch.iterdir()) == []  # its peek is gone


def test_the_guess_refuses_a_gzipped_parquet_too_large_to_peek_at(tmp_path):
    bomb = gzip_bomb(tmp_path / "events.parquet.gz", expands_to=100 * MB, head=b"PAR1")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(ImportRefused, match="read on upload only up to 64 MB"):
        guess_mapping([bomb], None, scratch=scratch)
    assert list(scratch.iterdir()) == []


def test_the_guess_of_a_small_gzipped_parquet_works(tmp_path):
    plain = tmp_path / "e.parquet"
    duckdb.connect().execute(f"COPY (SELECT 'u1' AS user_id, 'e' AS event, "
                             f"TIMESTAMP '2024-01-01' AS ts) TO '{plain}' (FORMAT parquet)")
    gz = write(tmp_path / "events.parquet.gz", gzip.compress(plain.read_bytes()))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert guess_mapping([gz], None, scratch=scratch).mapping.timestamp == "ts"
    assert list(scratch.iterdir()) == []
    assert PEEK_TEXT_BYTES <= 4 * MB


# --- 5. no server path in a message ------------------------------------------------------

def test_a_broken_ndjson_guess_names_the_file_not_its_path(tmp_path):
    path = write(tmp_path / "events.ndjson", '{"user_id": "u1", "event": "e", '
                 '"timestamp": "2024-01-01"}\n{"user_id": "u1",\n')
    with pytest.raises(ImportRefused) as caught:
        guess_mapping([path], None, scratch=tmp_path)
    assert str(tmp_path) not in str(caught.value)
    assert "events.ndjson" in str(caught.value)


@pytest.mark.parametrize(("name", "body"), [
    ("ragged.csv", HEADER + "".join(f"u{i},e,2024-01-01\n" for i in range(30_000))
     + "u1,e,2024-01-01,x,y\n"),
    ("broken.ndjson", '{"user_id": "u1", "event": "e", "timestamp": "2024-01-01"}\n' * 30_000
     + '{"user_id": tru}\n'),
])
@pytest.mark.parametrize("gz", [False, True])
def test_ragged_rows_and_broken_json_name_no_path(tmp_path, name, body, gz):
    path = tmp_path / (name + (".gz" if gz else ""))
    write(path, gzip.compress(body.encode()) if gz else body)
    error = refused(tmp_path, [path])
    assert error.line is not None
    assert "/" not in str(error), str(error)


# --- 5. times out of range ----------------------------------------------------------------

@pytest.mark.parametrize(("value", "shown"), [
    ("294247-01-10T04:00:54", "294247-01-10"),
    ("-5000-01-01", "5001-01-01 (BC)"),
    ("-infinity", "-infinity"),
    ("infinity", "infinity"),
    ("99999999999999", "99999999999999"),  # epoch seconds past year 9999
])
def test_a_time_out_of_range_is_refused_with_its_column_and_line(tmp_path, value, shown):
    path = write(tmp_path / "events.csv", HEADER + f"u1,e,2024-01-01\nu1,e,{value}\n")
    error = refused(tmp_path, [path])
    assert (error.file, error.line, error.column) == ("events.csv", 3, "timestamp")
    assert shown in error.message
    assert "out of range" in error.message or "cannot read" in error.message


def test_times_at_the_ends_of_the_range_are_kept(tmp_path):
    path = write(tmp_path / "events.csv",
                 HEADER + "u1,e,0001-01-01T00:00:00Z\nu1,e,9999-12-31T23:59:59Z\n")
    schema = run_import(tmp_path, [path])
    assert (schema.data_start, schema.data_end) == ("0001-01-01T00:00:00+00:00",
                                                    "9999-12-31T23:59:59+00:00")


def _parquet_with_time_property(path: Path, value_sql: str) -> Path:
    duckdb.connect().execute(
        f"COPY (SELECT * FROM (VALUES ('u1', 'e', TIMESTAMP '2024-01-01', TIMESTAMP '2024-05-01'), "
        f"('u2', 'e', TIMESTAMP '2024-01-02', {value_sql})) "
        f"AS t(user_id, event, timestamp, renews_at)) TO '{path}' (FORMAT parquet)")
    return path


@pytest.mark.parametrize("value_sql", ["'-infinity'::TIMESTAMP", "'infinity'::TIMESTAMP",
                                       "TIMESTAMP '294247-01-10 04:00:54'"])
def test_an_infinite_time_property_is_refused_not_shown_as_a_date(tmp_path, value_sql):
    """Point 11: '-infinity' would come back as 0001-01-01 from every read."""
    path = _parquet_with_time_property(tmp_path / "events.parquet", value_sql)
    error = refused(tmp_path, [path])
    assert (error.file, error.line, error.column, error.unit) == (
        "events.parquet", 2, "renews_at", "row")
    assert "cannot be stored" in error.message


def test_an_infinite_time_in_the_users_file_is_refused(tmp_path):
    events = write(tmp_path / "events.csv", HEADER + "u1,e,2024-01-01\n")
    users = tmp_path / "users.parquet"
    duckdb.connect().execute(
        "COPY (SELECT * FROM (VALUES ('u1', TIMESTAMP '2024-01-01'), "
        f"('u2', '-infinity'::TIMESTAMP)) AS t(user_id, signed_up)) TO '{users}' "
        "(FORMAT parquet)")
    error = refused(tmp_path, [events], users)
    assert (error.file, error.line, error.column) == ("users.parquet", 2, "signed_up")


# --- 5. control characters in names --------------------------------------------------------

def test_a_nul_in_an_event_name_past_the_first_bytes_is_refused_with_its_line(tmp_path):
    rows = "".join(f"u{i},login,2024-01-01\n" for i in range(5000))  # past the 64 KB prefix
    path = write(tmp_path / "events.csv", HEADER + rows + "u1,log\0in,2024-01-01\n")
    error = refused(tmp_path, [path])
    assert (error.line, error.column) == (5002, "event")
    assert error.message == "the event name 'log\\x00in' contains a control character (U+0000)"
    assert "\0" not in str(error)


def test_a_nul_in_the_first_bytes_is_refused_with_its_line(tmp_path):
    path = write(tmp_path / "events.csv", HEADER + "u1,login,2024-01-01\nu1,lo\0g,2024-01-01\n")
    error = refused(tmp_path, [path])
    assert error.line == 3 and "NUL" in error.message


@pytest.mark.parametrize(("body", "line", "column", "message"), [
    ('{"user_id": "u1", "event": "e", "timestamp": "2024-01-01"}\n'
     '{"user_id": "u1", "event": "bad\\u0000", "timestamp": "2024-01-01"}\n',
     2, "event", "the event name 'bad\\x00' contains a control character (U+0000)"),
    ('{"user_id": "u\\u0007", "event": "e", "timestamp": "2024-01-01"}\n',
     1, "user_id", "the user id 'u\\x07' contains a control character (U+0007)"),
    ('{"user_id": "u1", "event": "e", "timestamp": "2024-01-01"}\n'
     '{"user_id": "u1", "event": "e", "timestamp": "2024-01-01", '
     '"properties": {"pl\\u001ban": "x"}}\n',
     2, "properties.pl\\x1ban", "the column name contains a control character (U+001B); "
                                "rename the column"),
])
def test_control_characters_in_ndjson_names_are_refused_with_the_line(tmp_path, body, line,
                                                                       column, message):
    error = refused(tmp_path, [write(tmp_path / "events.ndjson", body)])
    assert (error.line, error.column, error.message) == (line, column, message)


def test_control_characters_in_a_csv_header_or_users_id(tmp_path):
    header = write(tmp_path / "events.csv", "user_id,event,timestamp,pl\x1ban\nu1,e,2024-01-01,x\n")
    error = refused(tmp_path, [header])
    assert (error.line, error.column) == (1, "pl\\x1ban")
    events = write(tmp_path / "e.csv", HEADER + "u1,e,2024-01-01\n")
    users = write(tmp_path / "users.csv", "user_id,plan\nu1,a\nu\x01,b\n")
    error = refused(tmp_path, [events], users)
    assert (error.file, error.line, error.column) == ("users.csv", 3, "user_id")
    assert "U+0001" in error.message


def test_accents_and_symbols_are_not_control_characters(tmp_path):
    path = write(tmp_path / "events.csv", HEADER + "ü1,é€vent ✓,2024-01-01\n")
    assert run_import(tmp_path, [path]).events == {"é€vent ✓": 1}


def test_the_staged_copy_is_read_once_decompressed(tmp_path):
    """A .gz file is decompressed once, into the import's own directory, which goes."""
    gz = write(tmp_path / "events.ndjson.gz", gzip.compress(
        b'{"user_id": "u1", "event": "e", "timestamp": "2024-01-01"}\n'))
    seen = set(os.listdir(tmp_path))
    run_import(tmp_path, [gz])
    assert set(os.listdir(tmp_path)) == seen | {"datasets"}
