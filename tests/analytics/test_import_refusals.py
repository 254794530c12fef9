"""Bad input is refused as a whole, with a message naming file, line and column, and
nothing of the refused import is left on disk."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import pytest

from analytics.engine import duck
from analytics.engine.importer import ColumnMapping, ImportRefused, import_dataset


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def refused(tmp_path: Path, events: list[Path], users: Path | None = None,
            **mapping) -> ImportRefused:
    dest = tmp_path / "datasets" / "7" / "v1"
    with pytest.raises(ImportRefused) as caught:
        import_dataset(events=events, users=users, mapping=ColumnMapping(**mapping),
                       dest=dest, memory_limit="256MB", threads=1)
    # Nothing behind: no version, no temporary sibling, not even the parents it made.
    assert not dest.exists()
    assert not (tmp_path / "datasets").exists()
    return caught.value


def events_csv(tmp_path: Path, body: str, name: str = "events.csv") -> Path:
    return write(tmp_path / name, "user_id,event,timestamp\n" + body)


def test_message_names_file_line_and_column(tmp_path):
    path = events_csv(tmp_path, "u1,login,2024-01-01\nu2,buy,2024-13-45\n")
    error = refused(tmp_path, [path])
    assert (error.file, error.line, error.column) == ("events.csv", 3, "timestamp")
    assert str(error) == ("events.csv, line 3, column 'timestamp': cannot read '2024-13-45' "
                          "as a time (expected ISO 8601 or epoch seconds)")


def test_first_bad_time_past_the_type_sample_is_named(tmp_path):
    body = "".join(f"u{i},e,2024-01-01T00:00:00Z\n" for i in range(25000))
    path = events_csv(tmp_path, body + "u1,e,yesterday\nu2,e,also bad\n")
    error = refused(tmp_path, [path])
    assert (error.line, error.column) == (25002, "timestamp")
    assert "'yesterday'" in error.message


def test_first_of_several_bad_rows_is_named(tmp_path):
    path = events_csv(tmp_path, "u1,e,2024-01-01\nu2,,2024-01-01\n,e,2024-01-01\nu3,e,x\n")
    error = refused(tmp_path, [path])
    assert (error.line, error.column) == (3, "event")
    assert error.message == "the event name is empty"


def test_empty_user_id(tmp_path):
    error = refused(tmp_path, [events_csv(tmp_path, "u1,e,2024-01-01\n ,e,2024-01-02\n")])
    assert (error.line, error.column, error.message) == (3, "user_id", "the user id is empty")


def test_empty_user_id_among_integer_ids(tmp_path):
    error = refused(tmp_path, [events_csv(tmp_path, "1,e,2024-01-01\n,e,2024-01-02\n")])
    assert (error.line, error.column, error.message) == (3, "user_id", "the user id is empty")


def test_empty_time(tmp_path):
    error = refused(tmp_path, [events_csv(tmp_path, "u1,e,2024-01-01\nu1,e,\n")])
    assert (error.line, error.column, error.message) == (3, "timestamp", "the time is empty")


def test_infinite_time_is_not_a_time(tmp_path):
    error = refused(tmp_path, [events_csv(tmp_path, "u1,e,infinity\n")])
    assert (error.line, error.column) == (2, "timestamp")


def test_missing_column(tmp_path):
    path = write(tmp_path / "events.csv", "user,event,timestamp\nu1,e,2024-01-01\n")
    error = refused(tmp_path, [path])
    assert (error.file, error.line, error.column) == ("events.csv", 1, "user_id")
    assert "'user', 'event', 'timestamp'" in error.message


def test_missing_mapped_column(tmp_path):
    path = events_csv(tmp_path, "u1,e,2024-01-01\n")
    error = refused(tmp_path, [path], timestamp="time")
    assert error.column == "time"


def test_missing_users_id_column(tmp_path):
    users = write(tmp_path / "users.csv", "id,plan\n1,pro\n")
    error = refused(tmp_path, [], users)
    assert (error.file, error.column) == ("users.csv", "user_id")


@pytest.mark.parametrize("content", [b"", b"   \n\n"])
def test_empty_file(tmp_path, content):
    error = refused(tmp_path, [write(tmp_path / "events.csv", content)])
    assert (error.file, error.message) == ("events.csv", "the file is empty")


def test_header_without_rows(tmp_path):
    error = refused(tmp_path, [events_csv(tmp_path, "")])
    assert error.file == "events.csv" and "no rows" in error.message


def test_users_header_without_rows(tmp_path):
    users = write(tmp_path / "users.csv", "user_id,plan\n")
    error = refused(tmp_path, [], users)
    assert error.file == "users.csv" and "no rows" in error.message


def test_not_utf8(tmp_path):
    data = "user_id,event,timestamp\nu1,login,2024-01-01\nu2,café,2024-01-02\n".encode("latin-1")
    error = refused(tmp_path, [write(tmp_path / "events.csv", data)])
    assert (error.file, error.line) == ("events.csv", 3)
    assert error.message.startswith("is not UTF-8 text (byte 0xE9)")


def test_not_utf8_far_into_the_file(tmp_path):
    head = "user_id,event,timestamp\n" + "".join(
        f"u{i},login,2024-01-01\n" for i in range(30000))
    data = head.encode() + "u2,caf\xe9,2024-01-02\n".encode("latin-1")
    error = refused(tmp_path, [write(tmp_path / "events.csv", data)])
    assert (error.line, error.message) == (
        30002, "is not UTF-8 text (byte 0xE9); save the file as UTF-8")


def test_utf16(tmp_path):
    data = "user_id,event,timestamp\nu1,e,2024-01-01\n".encode("utf-16")
    error = refused(tmp_path, [write(tmp_path / "events.csv", data)])
    assert "not UTF-8" in error.message and "UTF-16" in error.message


def test_row_with_too_many_fields(tmp_path):
    error = refused(tmp_path, [events_csv(tmp_path, "u1,e,2024-01-01\nu2,e,2024-01-01,x\n")])
    assert (error.line, error.message) == (3, "this row has 4 fields where the header has 3")


def test_row_with_too_many_fields_past_the_sample(tmp_path):
    body = "".join(f"u{i},e,2024-01-01\n" for i in range(25000))
    error = refused(tmp_path, [events_csv(tmp_path, body + "u2,e,2024-01-01,x\n")])
    assert error.line == 25002


def test_duplicate_users(tmp_path):
    users = write(tmp_path / "users.csv", "user_id,plan\n1,pro\n2,free\n3,x\n2,pro\n")
    error = refused(tmp_path, [events_csv(tmp_path, "1,e,2024-01-01\n")], users)
    assert (error.file, error.line, error.column) == ("users.csv", 5, "user_id")
    assert "'2' is repeated (lines 3 and 5)" in error.message


def test_empty_user_id_in_users(tmp_path):
    users = write(tmp_path / "users.csv", "user_id,plan\n1,pro\n,free\n")
    error = refused(tmp_path, [], users)
    assert (error.file, error.line, error.column) == ("users.csv", 3, "user_id")


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("events.parquet", "user_id,event,timestamp\nu,e,2024-01-01\n",
     "is not a Parquet file (it looks like text)"),
    ("events.csv.gz", "user_id,event,timestamp\nu,e,2024-01-01\n",
     "the name ends in .gz but the file is not gzip-compressed"),
    ("events.csv", gzip.compress(b"user_id,event,timestamp\n"),
     "the file is gzip-compressed but its name does not end in .gz"),
    ("events.ndjson", "user_id,event,timestamp\nu,e,2024-01-01\n",
     "is not JSON (it does not start with '{' or '[')"),
    ("events.xlsx", "whatever",
     "cannot tell the format from the name; use one of .csv, .tsv, .txt, .parquet, "
     ".ndjson, .jsonl, .json (optionally .gz)"),
])
def test_file_that_is_not_what_its_name_says(tmp_path, name, data, expected):
    error = refused(tmp_path, [write(tmp_path / name, data)])
    assert (error.file, error.message) == (name, expected)


def test_parquet_named_csv(tmp_path):
    path = tmp_path / "events.csv"
    duck.connect().execute("COPY (SELECT 1 AS user_id) TO ? (FORMAT parquet)", [str(path)])
    error = refused(tmp_path, [path])
    assert error.message == "is a Parquet file, not CSV as its name says"


def test_malformed_ndjson(tmp_path):
    path = write(tmp_path / "events.ndjson",
                 '{"user_id": "a", "event": "x", "timestamp": "2024-01-01"}\n'
                 '{"user_id": "b", "event": "x", "timestamp": }\n')
    error = refused(tmp_path, [path])
    assert (error.file, error.line) == ("events.ndjson", 2)
    assert error.message.startswith("is not valid JSON")


def test_missing_file(tmp_path):
    error = refused(tmp_path, [tmp_path / "nowhere.csv"])
    assert (error.file, error.message) == ("nowhere.csv", "the file does not exist")


def test_parquet_rows_are_counted_as_rows(tmp_path):
    path = tmp_path / "events.parquet"
    duck.connect().execute(
        "COPY (SELECT * FROM (VALUES ('a', 'x', '2024-01-01'), ('b', 'x', 'soon')) "
        "v(user_id, event, timestamp)) TO ? (FORMAT parquet)", [str(path)])
    error = refused(tmp_path, [path])
    assert str(error) == ("events.parquet, row 2, column 'timestamp': cannot read 'soon' as "
                          "a time (expected ISO 8601 or epoch seconds)")


def test_bad_row_in_the_second_file(tmp_path):
    first = events_csv(tmp_path, "u1,e,2024-01-01\n", name="a.csv")
    second = events_csv(tmp_path, "u2,e,2024-01-01\nu3,e,never\n", name="b.csv")
    error = refused(tmp_path, [first, second])
    assert (error.file, error.line) == ("b.csv", 3)


def test_nothing_to_import(tmp_path):
    error = refused(tmp_path, [])
    assert "needs an events file" in error.message


def test_existing_destination_is_not_overwritten(tmp_path):
    dest = tmp_path / "v1"
    dest.mkdir()
    with pytest.raises(FileExistsError):
        import_dataset(events=[events_csv(tmp_path, "u,e,2024-01-01\n")], users=None,
                       mapping=ColumnMapping(), dest=dest)
    assert list(dest.iterdir()) == []


def test_refusal_survives_pickling_for_celery():
    error = ImportRefused("the time is empty", file="e.csv", line=3, column="ts")
    again = pickle.loads(pickle.dumps(error))
    assert (str(again), again.line, again.column) == (str(error), 3, "ts")


def test_one_column_cannot_play_two_roles(tmp_path):
    error = refused(tmp_path, [events_csv(tmp_path, "u1,e,2024-01-01\n")], event="user_id")
    assert (error.file, error.column) == ("events.csv", "user_id")


def test_parquet_without_rows(tmp_path):
    path = tmp_path / "events.parquet"
    duck.connect().execute(
        "COPY (SELECT 'u' AS user_id, 'e' AS event, now() AS timestamp LIMIT 0) "
        "TO ? (FORMAT parquet)", [str(path)])
    error = refused(tmp_path, [path])
    assert error.file == "events.parquet" and "no rows" in error.message


def test_refusal_beside_published_versions_leaves_no_sibling(tmp_path):
    dataset = tmp_path / "datasets" / "7"
    (dataset / "v1").mkdir(parents=True)
    path = events_csv(tmp_path, "u1,e,2024-01-01\nu2,e,2024-13-45\n")
    with pytest.raises(ImportRefused):
        import_dataset(events=[path], users=None, mapping=ColumnMapping(),
                       dest=dataset / "v2")
    assert [p.name for p in dataset.iterdir()] == ["v1"]
