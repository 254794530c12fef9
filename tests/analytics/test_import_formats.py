"""Import of tiny literal files in every format: what lands in the stored Parquet form."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analytics.engine import duck
from analytics.engine.importer import ColumnMapping, import_dataset
from analytics.engine.storage import DatasetSchema, DatasetVersion


def write(path: Path, text: str | bytes) -> Path:
    data = text.encode() if isinstance(text, str) else text
    if path.name.endswith(".gz"):
        data = gzip.compress(data)
    path.write_bytes(data)
    return path


def rows(glob: Path | str, sql: str = "SELECT * FROM t ORDER BY ALL") -> list[tuple]:
    con = duck.connect()
    con.execute("CREATE TEMP TABLE t AS SELECT * FROM read_parquet(?)", [str(glob)])
    return con.execute(sql).fetchall()


def columns(glob: Path | str) -> dict[str, str]:
    con = duck.connect()
    found = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(glob)]).fetchall()
    return {r[0]: r[1] for r in found}


def events_of(version: DatasetVersion, sql: str = "SELECT * FROM t ORDER BY ALL") -> list[tuple]:
    return rows(version.events_glob, sql)


def users_of(version: DatasetVersion) -> list[tuple]:
    return rows(version.users_path, "SELECT * FROM t ORDER BY _uid")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def run(tmp_path: Path, events: list[Path], users: Path | None = None,
        **mapping) -> tuple[DatasetSchema, DatasetVersion]:
    dest = tmp_path / "dataset" / "v1"
    schema = import_dataset(events=events, users=users, mapping=ColumnMapping(**mapping),
                            dest=dest, memory_limit="256MB", threads=1)
    return schema, DatasetVersion(dest)


def test_csv_comma_types_times_and_layout(tmp_path):
    csv = write(tmp_path / "events.csv", (
        "user_id,event,timestamp,amount,count,paid,plan,renewal\n"
        "u2,login,2024-01-01T10:00:00Z,1.5,3,true,pro,2024-02-01T00:00:00Z\n"
        "u1,buy,2024-01-01T12:30:00.123456+02:00,2,4,false,free,\n"
        "u2,buy,2024-01-02 08:00:00,,5,,,2024-03-01\n"
    ))
    schema, version = run(tmp_path, [csv])

    assert columns(version.events_glob) == {
        "_uid": "BIGINT", "event": "VARCHAR", "timestamp": "TIMESTAMP WITH TIME ZONE",
        "amount": "DOUBLE", "count": "BIGINT", "paid": "BOOLEAN", "plan": "VARCHAR",
        "renewal": "TIMESTAMP WITH TIME ZONE"}
    assert schema.event_properties == {"amount": "float", "count": "integer",
                                       "paid": "boolean", "plan": "text",
                                       "renewal": "timestamp"}
    # Text ids are numbered densely in id order; offsets honoured, naive times are UTC,
    # sub-seconds kept.
    assert events_of(version, "SELECT _uid, event, timestamp, amount, paid FROM t "
                              "ORDER BY timestamp") == [
        (2, "login", utc(2024, 1, 1, 10), 1.5, True),
        (1, "buy", utc(2024, 1, 1, 10, 30, 0, 123456), 2.0, False),
        (2, "buy", utc(2024, 1, 2, 8), None, None),
    ]
    assert users_of(version) == [(1, "u1", utc(2024, 1, 1, 10, 30, 0, 123456)),
                                 (2, "u2", utc(2024, 1, 1, 10))]
    assert schema.n_users == 2 and schema.n_events == 3
    assert schema.events == {"buy": 2, "login": 1}
    assert schema.data_start == "2024-01-01T10:00:00+00:00"
    assert schema.data_end == "2024-01-02T08:00:00+00:00"
    assert schema.user_id_type == "text"
    assert schema.source_files == ["events.csv"]
    assert DatasetSchema.from_json(version.schema_path.read_text()) == schema
    assert sorted(p.name for p in version.path.iterdir()) == ["events", "schema.json",
                                                             "users.parquet"]


def test_semicolon_quoted_multiline_and_bom(tmp_path):
    csv = write(tmp_path / "events.csv", (
        '\ufeff"user_id";"event";"timestamp";"note"\n'
        '"a";"login";"2024-01-01T00:00:00Z";"x;y"\n'
        '"b";"buy";"2024-01-01T01:00:00Z";"two\nlines"\n'
    ).encode("utf-8"))
    schema, version = run(tmp_path, [csv])
    assert events_of(version, "SELECT event, note FROM t ORDER BY event") == [
        ("buy", "two\nlines"), ("login", "x;y")]
    assert schema.event_properties == {"note": "text"}


def test_tab_separated_with_epoch_seconds_integer_and_fractional(tmp_path):
    tsv = write(tmp_path / "events.tsv", (
        "user_id\tevent\ttimestamp\n"
        "10\tlogin\t1700000000\n"
        "11\tbuy\t1700000000.123456\n"
    ))
    schema, version = run(tmp_path, [tsv])
    assert events_of(version, "SELECT _uid, timestamp FROM t ORDER BY _uid") == [
        (10, utc(2023, 11, 14, 22, 13, 20)),
        (11, utc(2023, 11, 14, 22, 13, 20, 123456)),
    ]
    # Integer ids are their own _uid.
    assert schema.user_id_type == "integer"
    assert users_of(version)[0][:2] == (10, "10")


def test_gzip_csv_and_leading_zero_ids_stay_text(tmp_path):
    gz = write(tmp_path / "events.csv.gz",
               "user_id,event,timestamp\n007,login,2024-01-01\n7,buy,2024-01-02\n")
    schema, version = run(tmp_path, [gz])
    assert schema.user_id_type == "text"
    assert [u[1] for u in users_of(version)] == ["007", "7"]


def test_parquet_events_with_users(tmp_path):
    events = tmp_path / "events.parquet"
    users = tmp_path / "users.parquet"
    con = duck.connect()
    con.execute("COPY (SELECT * FROM (VALUES (1, 'login', TIMESTAMP '2024-01-01 10:00:00', 9.5),"
                " (3, 'buy', TIMESTAMP '2024-01-03 00:00:00', NULL)) "
                "v(household_id, action, ts, value)) TO ? (FORMAT parquet)", [str(events)])
    con.execute("COPY (SELECT * FROM (VALUES (1, 'pro', 30), (2, 'free', 41)) "
                "v(household_id, plan, age)) TO ? (FORMAT parquet)", [str(users)])
    schema, version = run(tmp_path, [events], users, user_id="household_id", event="action",
                          timestamp="ts", users_user_id="household_id")
    # Population: the users table plus users seen only in events; first_seen null
    # without events.
    assert users_of(version) == [
        (1, "1", utc(2024, 1, 1, 10), "pro", 30),
        (2, "2", None, "free", 41),
        (3, "3", utc(2024, 1, 3), None, None),
    ]
    assert schema.n_users == 3 and schema.user_properties == {"plan": "text", "age": "integer"}
    assert schema.source_files == ["events.parquet", "users.parquet"]


def test_ndjson_properties_object_and_mixed_time_forms(tmp_path):
    lines = [
        {"user_id": "a", "event": "view", "timestamp": "2024-01-01T00:00:00+01:00",
         "properties": {"page": "/home", "ms": 120}},
        {"user_id": "b", "event": "buy", "timestamp": 1704067200.5,
         "properties": {"amount": 9.99, "ms": 80}},
        {"user_id": "a", "event": "buy", "timestamp": 1704067201, "device": "ios"},
    ]
    path = write(tmp_path / "events.ndjson", "\n".join(json.dumps(x) for x in lines) + "\n")
    schema, version = run(tmp_path, [path])
    assert schema.event_properties == {"device": "text", "page": "text", "ms": "integer",
                                       "amount": "float"}
    assert events_of(version, "SELECT event, timestamp, page, ms, amount, device FROM t "
                              "ORDER BY timestamp") == [
        ("view", utc(2023, 12, 31, 23), "/home", 120, None, None),
        ("buy", utc(2024, 1, 1, 0, 0, 0, 500000), None, 80, 9.99, None),
        ("buy", utc(2024, 1, 1, 0, 0, 1), None, None, None, "ios"),
    ]


@pytest.mark.parametrize("name", ["events.jsonl", "events.ndjson.gz", "events.json"])
def test_other_json_spellings(tmp_path, name):
    text = ('{"user_id": "a", "event": "x", "timestamp": "2024-01-01T00:00:00Z"}\n'
            '{"user_id": "b", "event": "y", "timestamp": "2024-01-02T00:00:00Z"}\n')
    schema, _ = run(tmp_path, [write(tmp_path / name, text)])
    assert schema.events == {"x": 1, "y": 1}


def test_json_array(tmp_path):
    path = write(tmp_path / "events.json", json.dumps([
        {"user_id": 1, "event": "x", "timestamp": "2024-01-01T00:00:00Z"},
        {"user_id": 2, "event": "y", "timestamp": "2024-01-02T00:00:00Z"}]))
    schema, _ = run(tmp_path, [path])
    assert schema.n_events == 2 and schema.user_id_type == "integer"


def test_several_event_files_of_different_formats(tmp_path):
    first = write(tmp_path / "a.csv", "user_id,event,timestamp,amount\nu1,buy,2024-01-01,5\n")
    second = write(tmp_path / "b.ndjson",
                   '{"user_id": "u2", "event": "buy", "timestamp": "2024-01-02", '
                   '"amount": 2.5, "coupon": true}\n')
    schema, version = run(tmp_path, [first, second])
    assert schema.event_properties == {"amount": "float", "coupon": "boolean"}
    assert events_of(version, "SELECT _uid, amount, coupon FROM t ORDER BY _uid") == [
        (1, 5.0, None), (2, 2.5, True)]
    assert schema.source_files == ["a.csv", "b.ndjson"]


def test_mapping_names_the_columns(tmp_path):
    csv = write(tmp_path / "log.csv",
                "case_id,activity,time,lifecycle\n5,A_SUBMITTED,2024-01-01,COMPLETE\n")
    schema, version = run(tmp_path, [csv], user_id="case_id", event="activity",
                          timestamp="time")
    assert schema.events == {"A_SUBMITTED": 1}
    assert schema.event_properties == {"lifecycle": "text"}
    assert list(columns(version.events_glob)) == ["_uid", "event", "timestamp", "lifecycle"]


def test_delimiter_override(tmp_path):
    csv = write(tmp_path / "events.txt", "user_id|event|timestamp|note\nu|x|2024-01-01|a,b\n")
    schema, version = run(tmp_path, [csv], csv_delimiter="|")
    assert events_of(version, "SELECT note FROM t") == [("a,b",)]


def test_one_event_name_for_every_row(tmp_path):
    csv = write(tmp_path / "transactions.csv", "household_id,when,value\n1,2024-01-01,3\n")
    schema, _ = run(tmp_path, [csv], user_id="household_id", timestamp="when",
                    event_name="purchase")
    assert schema.events == {"purchase": 1}
    assert schema.event_properties == {"value": "integer"}


def test_reserved_names_are_renamed_and_keep_their_spelling(tmp_path):
    csv = write(tmp_path / "events.csv",
                "who,what,when,event,Timestamp,_uid,Amount EUR\nu,x,2024-01-01,e,t2,9,3\n")
    schema, version = run(tmp_path, [csv], user_id="who", event="what", timestamp="when")
    assert list(schema.event_properties) == ["event_original", "Timestamp_original",
                                             "_uid_original", "Amount EUR"]
    assert events_of(version, 'SELECT event, event_original, "Amount EUR" FROM t') == [
        ("x", "e", 3)]


def test_users_only_dataset_with_generated_ids_has_empty_events(tmp_path):
    users = write(tmp_path / "clients.csv", '"age";"job";"y"\n30;"admin.";"no"\n41;"x";"yes"\n')
    schema, version = run(tmp_path, [], users, generate_user_ids=True)
    assert columns(version.events_glob) == {"_uid": "BIGINT", "event": "VARCHAR",
                                            "timestamp": "TIMESTAMP WITH TIME ZONE"}
    assert events_of(version) == []
    assert version.has_events()
    # yes/no stays text: a team writes y = "yes".
    assert users_of(version) == [(1, "1", None, 30, "admin.", "no"),
                                 (2, "2", None, 41, "x", "yes")]
    assert schema.n_events == 0 and schema.data_start is None and schema.events == {}
    assert schema.user_properties == {"age": "integer", "job": "text", "y": "text"}


def test_composite_user_id(tmp_path):
    users = write(tmp_path / "students.csv", (
        "code_module,code_presentation,id_student,result\n"
        "AAA,2013J,11,Pass\nBBB,2013J,11,Fail\n"))
    schema, version = run(tmp_path, [], users,
                          users_id_columns=("code_module", "code_presentation", "id_student"))
    assert [u[1] for u in users_of(version)] == ["AAA/2013J/11", "BBB/2013J/11"]
    assert schema.user_id_type == "text"
    assert "code_module" in schema.user_properties


def test_ids_that_stop_being_integers_after_the_sample(tmp_path):
    body = "".join(f"{i},e,2024-01-01T00:00:00Z\n" for i in range(1, 21001))
    csv = write(tmp_path / "events.csv", "user_id,event,timestamp\n" + body
                + "abc,e,2024-01-02T00:00:00Z\n")
    schema, version = run(tmp_path, [csv])
    assert schema.user_id_type == "text" and schema.n_users == 21001
    # Dense numbering in id order: '1' < '10' < ... < 'abc'.
    assert rows(version.users_path, "SELECT max(_uid), count(DISTINCT _uid) FROM t") == [
        (21001, 21001)]
    assert rows(version.users_path, "SELECT _uid FROM t WHERE user_id = 'abc'") == [(21001,)]


def test_property_that_changes_type_after_the_sample_becomes_text(tmp_path):
    body = "".join(f"u{i % 50},e,2024-01-01T00:00:00Z,{i}\n" for i in range(21000))
    csv = write(tmp_path / "events.csv", "user_id,event,timestamp,code\n" + body
                + "u1,e,2024-01-01T00:00:00Z,X12\n")
    schema, version = run(tmp_path, [csv])
    assert schema.event_properties == {"code": "text"}
    assert rows(version.events_glob, "SELECT count(*) FROM t WHERE code = 'X12'") == [(1,)]


def test_dense_ids_on_request_for_integer_ids(tmp_path):
    csv = write(tmp_path / "events.csv", "user_id,event,timestamp\n500,e,2024-01-01\n20,e,2024-01-02\n")
    dest = tmp_path / "d" / "v1"
    schema = import_dataset(events=[csv], users=None, mapping=ColumnMapping(), dest=dest,
                            dense_ids=True)
    assert schema.user_id_type == "text"
    assert rows(DatasetVersion(dest).users_path, "SELECT _uid, user_id FROM t ORDER BY 1") == [
        (1, "20"), (2, "500")]


def test_no_temporary_directory_is_left_after_success(tmp_path):
    csv = write(tmp_path / "events.csv", "user_id,event,timestamp\nu,e,2024-01-01\n")
    run(tmp_path, [csv])
    assert [p.name for p in (tmp_path / "dataset").iterdir()] == ["v1"]
    assert not (tmp_path / "dataset" / "v1" / "spill").exists()


def test_stored_parquet_is_zstd(tmp_path):
    csv = write(tmp_path / "events.csv", "user_id,event,timestamp\nu,e,2024-01-01\n")
    _, version = run(tmp_path, [csv])
    for path in [*version.events_dir.glob("*.parquet"), version.users_path]:
        assert rows(path, "SELECT 1") and duck.connect().execute(
            "SELECT DISTINCT compression FROM parquet_metadata(?)", [str(path)]
        ).fetchall() == [("ZSTD",)]
