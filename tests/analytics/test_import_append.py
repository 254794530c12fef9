"""append_events: a new version = the previous events plus a batch, users kept."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analytics.engine import duck
from analytics.engine.importer import ColumnMapping, ImportRefused, append_events, import_dataset
from analytics.engine.storage import DatasetSchema, DatasetVersion


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def rows(glob: Path | str, sql: str) -> list[tuple]:
    con = duck.connect()
    con.execute("CREATE TEMP TABLE t AS SELECT * FROM read_parquet(?)", [str(glob)])
    return con.execute(sql).fetchall()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def first(tmp_path) -> DatasetVersion:
    events = write(tmp_path / "events.csv", (
        "user_id,event,timestamp,amount\n"
        "bob,login,2024-01-02T00:00:00Z,1\n"
        "ann,buy,2024-01-03T00:00:00Z,2\n"))
    users = write(tmp_path / "users.csv", "user_id,plan\nann,pro\nbob,free\ncid,pro\n")
    import_dataset(events=[events], users=users, mapping=ColumnMapping(),
                   dest=tmp_path / "ds" / "v1")
    return DatasetVersion(tmp_path / "ds" / "v1")


def append(tmp_path: Path, previous: DatasetVersion, lines: list[dict],
           name: str = "batch.ndjson") -> tuple[DatasetSchema, DatasetVersion]:
    batch = write(tmp_path / name, "".join(json.dumps(x) + "\n" for x in lines))
    dest = tmp_path / "ds" / "v2"
    schema = append_events(previous=previous, events=[batch], mapping=ColumnMapping(),
                           dest=dest)
    return schema, DatasetVersion(dest)


def test_append_keeps_uids_and_adds_users(tmp_path, first):
    schema, version = append(tmp_path, first, [
        {"user_id": "bob", "event": "buy", "timestamp": "2024-01-01T00:00:00Z", "amount": 5},
        {"user_id": "dan", "event": "login", "timestamp": "2024-01-04T00:00:00Z"},
    ])
    assert rows(version.users_path, "SELECT _uid, user_id, _first_seen, plan FROM t "
                                    "ORDER BY _uid") == [
        (1, "ann", utc(2024, 1, 3), "pro"),
        (2, "bob", utc(2024, 1, 1), "free"),  # an earlier event moves first_seen
        (3, "cid", None, "pro"),
        (4, "dan", utc(2024, 1, 4), None),  # new user: the next number
    ]
    assert schema.n_events == 4 and schema.n_users == 4
    assert schema.events == {"buy": 2, "login": 2}
    assert schema.data_start == "2024-01-01T00:00:00+00:00"
    assert schema.data_end == "2024-01-04T00:00:00+00:00"
    assert schema.source_files == ["events.csv", "users.csv", "batch.ndjson"]
    assert schema.user_properties == {"plan": "text"}
    assert DatasetSchema.from_json(version.schema_path.read_text()) == schema
    assert rows(version.events_glob, "SELECT _uid, event, amount FROM t ORDER BY timestamp") == [
        (2, "buy", 5), (2, "login", 1), (1, "buy", 2), (4, "login", None)]


def test_same_layout_shares_the_earlier_files(tmp_path, first):
    _, version = append(tmp_path, first, [
        {"user_id": "ann", "event": "buy", "timestamp": "2024-02-01T00:00:00Z", "amount": 3}])
    old = first.events_dir / "part-0.parquet"
    assert (version.events_dir / "part-0.parquet").stat().st_ino == old.stat().st_ino
    assert sorted(p.name for p in version.events_dir.iterdir()) == ["part-0.parquet",
                                                                   "part-1.parquet"]


def test_new_property_and_wider_type_rewrite_the_earlier_events(tmp_path, first):
    schema, version = append(tmp_path, first, [
        {"user_id": "ann", "event": "buy", "timestamp": "2024-02-01T00:00:00Z",
         "amount": 2.5, "properties": {"coupon": "X"}}])
    assert schema.event_properties == {"amount": "float", "coupon": "text"}
    # Every file of the version has the same columns, so a glob reads them all.
    for part in version.events_dir.glob("*.parquet"):
        assert [c[0] for c in duck.connect().execute(
            "DESCRIBE SELECT * FROM read_parquet(?)", [str(part)]).fetchall()] == [
            "_uid", "event", "timestamp", "amount", "coupon"]
    assert rows(version.events_glob, "SELECT amount, coupon FROM t ORDER BY timestamp") == [
        (1.0, None), (2.0, None), (2.5, "X")]


def test_text_ids_after_integer_ids_renumber_everyone(tmp_path):
    events = write(tmp_path / "events.csv", "user_id,event,timestamp\n10,a,2024-01-01\n"
                                            "20,a,2024-01-02\n")
    import_dataset(events=[events], users=None, mapping=ColumnMapping(),
                   dest=tmp_path / "ds" / "v1")
    previous = DatasetVersion(tmp_path / "ds" / "v1")
    assert previous.schema().user_id_type == "integer"
    schema, version = append(tmp_path, previous, [
        {"user_id": "x9", "event": "b", "timestamp": "2024-01-03T00:00:00Z"},
        {"user_id": "20", "event": "b", "timestamp": "2024-01-04T00:00:00Z"}])
    assert schema.user_id_type == "text"
    users = dict(rows(version.users_path, "SELECT user_id, _uid FROM t"))
    assert users == {"10": 1, "20": 2, "x9": 3}
    # The earlier events follow their users to the new numbers.
    assert rows(version.events_glob, "SELECT _uid, event FROM t ORDER BY timestamp") == [
        (1, "a"), (2, "a"), (3, "b"), (2, "b")]


def test_integer_ids_stay_their_own_uid(tmp_path):
    events = write(tmp_path / "events.csv", "user_id,event,timestamp\n10,a,2024-01-01\n")
    import_dataset(events=[events], users=None, mapping=ColumnMapping(),
                   dest=tmp_path / "ds" / "v1")
    schema, version = append(tmp_path, DatasetVersion(tmp_path / "ds" / "v1"), [
        {"user_id": 7, "event": "b", "timestamp": "2024-01-03T00:00:00Z"}])
    assert schema.user_id_type == "integer"
    assert rows(version.users_path, "SELECT _uid, user_id FROM t ORDER BY 1") == [
        (7, "7"), (10, "10")]


def test_append_to_a_users_only_dataset(tmp_path):
    users = write(tmp_path / "users.csv", "user_id,plan\nann,pro\n")
    import_dataset(events=[], users=users, mapping=ColumnMapping(),
                   dest=tmp_path / "ds" / "v1")
    schema, version = append(tmp_path, DatasetVersion(tmp_path / "ds" / "v1"), [
        {"user_id": "ann", "event": "login", "timestamp": "2024-01-03T00:00:00Z"}])
    assert schema.n_events == 1 and schema.n_users == 1
    assert rows(version.users_path, "SELECT user_id, _first_seen, plan FROM t") == [
        ("ann", utc(2024, 1, 3), "pro")]


def test_refused_batch_leaves_nothing_and_the_previous_version_intact(tmp_path, first):
    before = sorted(p.name for p in (tmp_path / "ds").iterdir())
    with pytest.raises(ImportRefused) as caught:
        append(tmp_path, first, [
            {"user_id": "ann", "event": "buy", "timestamp": "2024-02-01T00:00:00Z"},
            {"user_id": "", "event": "buy", "timestamp": "2024-02-01T00:00:00Z"}])
    assert (caught.value.file, caught.value.line, caught.value.column) == (
        "batch.ndjson", 2, "user_id")
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == before == ["v1"]
    assert first.schema().n_events == 2


def test_batch_that_widens_a_type_past_the_sample(tmp_path, first):
    body = "".join(f"ann,buy,2024-02-01T00:00:00Z,{i}\n" for i in range(21000))
    batch = write(tmp_path / "batch.csv", "user_id,event,timestamp,amount\n" + body
                  + "bob,buy,2024-02-02T00:00:00Z,lots\n")
    dest = tmp_path / "ds" / "v2"
    schema = append_events(previous=first, events=[batch], mapping=ColumnMapping(), dest=dest)
    version = DatasetVersion(dest)
    assert schema.event_properties == {"amount": "text"}
    for part in version.events_dir.glob("*.parquet"):
        assert dict(duck.connect().execute(
            "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))",
            [str(part)]).fetchall())["amount"] == "VARCHAR"
    assert rows(version.events_glob, "SELECT count(*), count_if(amount = 'lots'), "
                                     "count_if(amount = '1') FROM t") == [(21003, 1, 2)]
