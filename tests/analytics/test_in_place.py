"""Files analysed in place (analytics.engine.inplace) against the import path they replace
on the command line: the same JSON, byte for byte, from CSV, Parquet and NDJSON, and the
same refusals, naming the same file, line and column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analytics.cli import to_json
from analytics.engine import duck
from analytics.engine.analysis import EngineSettings, analyze
from analytics.engine.demo_data import write_demo_files
from analytics.engine.discovery import discover
from analytics.engine.importer import ColumnMapping, ImportRefused, import_dataset
from analytics.engine.inplace import files_in_place
from analytics.engine.storage import DatasetVersion

SETTINGS = EngineSettings(memory_limit="512MB", threads=2)
SUCCESS = {"events": ["purchase"], "within_days": 14}
CRITERIA = [
    {"all": [
        {"kind": "event_count", "event": "login", "op": ">=", "value": 3, "within_days": 7},
        {"kind": "did_event", "event": "export"},
        {"kind": "property", "property": "plan", "op": "in", "value": ["pro", "business"]},
    ]},
    {"any": [
        {"kind": "event_property", "event": "purchase", "property": "amount", "agg": "avg",
         "op": ">=", "value": 40},
        {"not": {"kind": "first_event_property", "property": "device", "op": "=",
                 "value": "mobile"}},
    ]},
    {"kind": "session_count", "op": ">=", "value": 3, "within_days": 14},
    {"kind": "time_in_app", "op": ">=", "value": 20, "within_days": 7},
    {"kind": "did_event", "event": "add_to_cart", "within_days": 7,
     "where": [{"property": "device", "op": "=", "value": "mobile"}]},
    {"kind": "event_count", "event": "purchase", "op": ">=", "value": 1,
     "where": [{"property": "coupon", "op": "=", "value": True}]},
]
BREAKDOWNS = [
    {"property": "company_size"},
    {"property": "age", "bins": [25, 35, 50]},
    {"metric": {"kind": "event_count", "event": "login", "within_days": 7}, "bins": [1, 3, 10]},
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, tuple[list[Path], Path]]:
    """The demo generator's events and users, as CSV, as Parquet and as NDJSON (the
    events' properties in a `properties` object, as an NDJSON export carries them)."""
    directory = tmp_path_factory.mktemp("demo")
    events, users = write_demo_files(directory / "csv", n_users=700)
    con = duck.connect(memory_limit="512MB", threads=2)
    try:
        (directory / "parquet").mkdir()
        events_parquet = directory / "parquet" / "events.parquet"
        users_parquet = directory / "parquet" / "users.parquet"
        for source, target in ((events, events_parquet), (users, users_parquet)):
            con.execute("COPY (SELECT * FROM read_csv(?)) TO ? (FORMAT parquet)",
                        [str(source), str(target)])
        # Integer ids, which an import stores as their own `_uid` (no numbering).
        (directory / "integer").mkdir()
        events_integer = directory / "integer" / "events.parquet"
        users_integer = directory / "integer" / "users.csv"
        con.execute("COPY (SELECT * REPLACE (CAST(substr(user_id, 2) AS BIGINT) AS user_id) "
                    "FROM read_csv(?)) TO ? (FORMAT parquet)", [str(events), str(events_integer)])
        con.execute("COPY (SELECT * REPLACE (CAST(substr(user_id, 2) AS BIGINT) AS user_id) "
                    "FROM read_csv(?)) TO ? (HEADER)", [str(users), str(users_integer)])
        (directory / "ndjson").mkdir()
        events_json = directory / "ndjson" / "events.ndjson"
        con.execute("COPY (SELECT user_id, event, CAST(timestamp AS VARCHAR) AS timestamp, "
                    "struct_pack(device, country, tool, plan, amount, coupon, guest_checkout) "
                    "AS properties FROM read_csv(?)) TO ? (FORMAT json)",
                    [str(events), str(events_json)])
    finally:
        con.close()
    return {"csv": ([events], users), "parquet": ([events_parquet], users_parquet),
            "ndjson": ([events_json], users), "integer": ([events_integer], users_integer)}


def imported(tmp_path: Path, events: list[Path], users: Path | None) -> DatasetVersion:
    dest = tmp_path / "imported" / "v1"
    import_dataset(events=events, users=users, mapping=ColumnMapping(), dest=dest,
                   memory_limit=SETTINGS.memory_limit, threads=SETTINGS.threads)
    return DatasetVersion(dest)


def in_place(tmp_path: Path, events: list[Path], users: Path | None):
    scratch = tmp_path / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    return files_in_place(events=events, users=users, mapping=ColumnMapping(),
                          scratch=scratch, memory_limit=SETTINGS.memory_limit,
                          threads=SETTINGS.threads)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "ndjson", "integer"])
def test_in_place_gives_the_import_paths_json_byte_for_byte(demo, tmp_path, fmt):
    events, users = demo[fmt]
    version = imported(tmp_path, events, users)
    assert version.schema().user_id_type == ("integer" if fmt == "integer" else "text")
    requests = ([{"criterion": c} for c in CRITERIA] + [{"breakdown": b} for b in BREAKDOWNS]
                + [{"criterion": CRITERIA[0], "unsuccessful": True}])
    expected = [to_json(analyze(version, SUCCESS, settings=SETTINGS, **r)) for r in requests]
    with in_place(tmp_path, events, users) as files:
        assert files.schema().events == version.schema().events
        found = [to_json(analyze(files, SUCCESS, settings=SETTINGS, **r)) for r in requests]
    for request, want, got in zip(requests, expected, found, strict=True):
        assert got == want, request
    # The population counts what the import counts, a real share of it in each group.
    groups = [json.loads(text)["group"]["users"] for text in found[:len(CRITERIA)]]
    assert all(0 < n < json.loads(found[0])["population"]["users"] for n in groups)


@pytest.mark.parametrize("fmt", ["parquet", "integer", "csv"])
def test_listed_events_give_the_import_paths_json_byte_for_byte(demo, tmp_path, fmt):
    """Counts of listed events come from the checking pass's lists of times
    (peruser_lists) where the files are columnar; every answer stays the import's."""
    events, users = demo[fmt]
    version = imported(tmp_path, events, users)
    requests = ([{"criterion": c} for c in CRITERIA] + [{"breakdown": b} for b in BREAKDOWNS]
                + [{"criterion": CRITERIA[0], "unsuccessful": True},
                   {"criterion": CRITERIA[0], "population_filter": {
                       "kind": "event_count", "event": "purchase", "op": ">=", "value": 1}}])
    success_any = {"events": ["purchase", "export"], "match": "any", "within_days": 7}
    expected = [to_json(analyze(version, SUCCESS, settings=SETTINGS, **r)) for r in requests]
    expected.append(to_json(analyze(version, success_any, settings=SETTINGS, criterion=CRITERIA[0])))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with files_in_place(events=events, users=users, mapping=ColumnMapping(), scratch=scratch,
                        memory_limit=SETTINGS.memory_limit, threads=SETTINGS.threads,
                        listed_events=["purchase", "login", "export", "no_such_event"]) as files:
        assert sorted(files.listed) == ([] if fmt == "csv" else ["export", "login", "purchase"])
        found = [to_json(analyze(files, SUCCESS, settings=SETTINGS, **r)) for r in requests]
        found.append(to_json(analyze(files, success_any, settings=SETTINGS,
                                     criterion=CRITERIA[0])))
    for request, want, got in zip([*requests, "match any"], expected, found, strict=True):
        assert got == want, request


@pytest.mark.parametrize(("fmt", "in_memory"), [("csv", True), ("ndjson", True),
                                               ("csv", False)])
def test_in_place_discovery_equals_the_import_paths(demo, tmp_path, monkeypatch, fmt,
                                                     in_memory):
    from analytics.engine import inplace

    if not in_memory:  # the per-user table written as Parquet, as a wide one is
        monkeypatch.setattr(inplace, "_TABLE_IN_MEMORY", 0)
    events, users = demo[fmt]
    version = imported(tmp_path, events, users)
    expected = to_json(discover(version, SUCCESS, within_days=7, top=50, settings=SETTINGS))
    with in_place(tmp_path, events, users) as files:
        found = to_json(discover(files, SUCCESS, within_days=7, top=50, settings=SETTINGS))
    assert found == expected
    assert len(json.loads(found)["characteristics"]) == 50


def test_events_alone_and_users_alone(demo, tmp_path):
    events, users = demo["csv"]
    for files_given in ((events, None), ([], users)):
        version = imported(tmp_path / str(len(files_given[0])), *files_given)
        request = ({"criterion": {"kind": "event_count", "event": "login", "op": ">=",
                                  "value": 2}} if files_given[0]
                   else {"breakdown": {"property": "plan"}})
        success = SUCCESS if files_given[0] else {"property": "plan", "op": "=", "value": "pro"}
        want = to_json(analyze(version, success, settings=SETTINGS, **request))
        with in_place(tmp_path / f"p{len(files_given[0])}", *files_given) as files:
            assert to_json(analyze(files, success, settings=SETTINGS, **request)) == want


# ------------------------------------------------------------------ refusals


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def parquet_from_csv(tmp_path: Path, name: str, text: str, types: dict | None = None) -> Path:
    source = write(tmp_path / "src" / f"{name}.csv", text)
    target = tmp_path / name
    con = duck.connect()
    try:
        reader = "read_csv(?, all_varchar = true)" if types is None else "read_csv(?, types = ?)"
        params = [str(source)] if types is None else [str(source), types]
        con.execute(f"COPY (SELECT * FROM {reader}) TO ? (FORMAT parquet)",  # noqa: S608
                    [*params, str(target)])
    finally:
        con.close()
    return target


def both_refusals(tmp_path: Path, events: list[Path], users: Path | None = None
                  ) -> tuple[str, str]:
    with pytest.raises(ImportRefused) as by_import:
        import_dataset(events=events, users=users, mapping=ColumnMapping(),
                       dest=tmp_path / "refused" / "v1", memory_limit="256MB", threads=1)
    with pytest.raises(ImportRefused) as by_reading:
        with in_place(tmp_path, events, users):
            pass
    return str(by_reading.value), str(by_import.value)


HEADER = "user_id,event,timestamp,amount\n"
GOOD = "".join(f"u{i},login,2024-01-01T00:00:{i % 60:02d}Z,{i}\n" for i in range(30))


@pytest.mark.parametrize(("body", "expected"), [
    (GOOD + "u1,buy,2024-13-45,1\n",
     "events.csv, line 32, column 'timestamp': cannot read '2024-13-45' as a time "
     "(expected ISO 8601 or epoch seconds)"),
    (GOOD + ",login,2024-01-01,1\n", "events.csv, line 32, column 'user_id': the user id is empty"),
    (GOOD + "u1,,2024-01-01,1\nu2,e,bad,1\n",
     "events.csv, line 32, column 'event': the event name is empty"),
    (GOOD + "u1,login,,1\n", "events.csv, line 32, column 'timestamp': the time is empty"),
    (GOOD + "u1,lo\x07gin,2024-01-01,1\n",
     "events.csv, line 32, column 'event': the event name 'lo\\x07gin' contains a control "
     "character (U+0007)"),
    (GOOD + "u1,login,2024-01-01,1,2\n",
     "events.csv, line 32: this row has 5 fields where the header has 4"),
    ("", None),
])
def test_csv_refusals_in_place_name_what_an_import_names(tmp_path, body, expected):
    path = write(tmp_path / "events.csv", HEADER + body if body else "user_id,event,timestamp\n")
    got, want = both_refusals(tmp_path, [path])
    assert got == want
    if expected is not None:
        assert got == expected


def test_a_late_value_widens_a_csv_column_in_place_as_on_import(demo, tmp_path):
    # `amount` reads as a number in DuckDB's sample and as text past it: both paths make
    # it a text property and agree on every count.
    body = GOOD * 800 + "u1,login,2024-01-02T00:00:00Z,lots\n"
    path = write(tmp_path / "events.csv", HEADER + body)
    version = imported(tmp_path, [path], None)
    assert version.schema().event_properties == {"amount": "text"}
    request = {"criterion": {"kind": "event_property", "event": "login", "property": "amount",
                             "agg": "count_distinct", "op": ">=", "value": 2}}
    with in_place(tmp_path, [path], None) as files:
        assert files.schema().event_properties == {"amount": "text"}
        got = to_json(analyze(files, {"events": ["login"]}, settings=SETTINGS, **request))
    assert got == to_json(analyze(version, {"events": ["login"]}, settings=SETTINGS, **request))


def test_parquet_refusals_in_place_name_the_row(tmp_path):
    rows = "user_id,event,timestamp\n" + "".join(
        f"u{i},login,2024-01-01T00:00:00Z\n" for i in range(10))
    empty_id = parquet_from_csv(tmp_path, "a.parquet", rows + ",login,2024-01-02T00:00:00Z\n")
    got, want = both_refusals(tmp_path, [empty_id])
    assert got == want == "a.parquet, row 11, column 'user_id': the user id is empty"
    bad_time = parquet_from_csv(tmp_path, "b.parquet", rows + "u1,login,someday\n")
    got, want = both_refusals(tmp_path, [bad_time])
    assert got == want
    assert got.startswith("b.parquet, row 11, column 'timestamp': cannot read 'someday'")
    not_parquet = write(tmp_path / "c.parquet", "user_id,event\n")
    got, want = both_refusals(tmp_path, [not_parquet])
    assert got == want and got.startswith("c.parquet")


def test_ndjson_refusals_in_place_name_the_line(tmp_path):
    good = "".join(json.dumps({"user_id": f"u{i}", "event": "login",
                               "timestamp": "2024-01-01T00:00:00Z"}) + "\n" for i in range(5))
    no_time = write(tmp_path / "a.ndjson", good + '{"user_id": "u9", "event": "login"}\n')
    got, want = both_refusals(tmp_path, [no_time])
    assert got == want == "a.ndjson, line 6, column 'timestamp': the time is empty"
    broken = write(tmp_path / "b.ndjson", good + '{"user_id": "u9", "event": \n')
    got, want = both_refusals(tmp_path, [broken])
    assert got == want and got.startswith("b.ndjson, line 6")
    control = write(tmp_path / "c.ndjson", good + json.dumps(
        {"user_id": "u\u0001", "event": "login", "timestamp": "2024-01-01T00:00:00Z"}) + "\n")
    got, want = both_refusals(tmp_path, [control])
    assert got == want and got.startswith("c.ndjson, line 6, column 'user_id'")


def test_users_file_refusals_in_place(tmp_path):
    events = write(tmp_path / "events.csv", "user_id,event,timestamp\nu1,login,2024-01-01\n")
    users = write(tmp_path / "users.csv", "user_id,plan\nu1,pro\nu2,free\nu1,free\n")
    got, want = both_refusals(tmp_path, [events], users)
    assert got == want
    assert got.startswith("users.csv, line 4, column 'user_id': user id 'u1' is repeated")


@pytest.mark.parametrize("events_format", ["csv", "parquet"])
def test_a_bad_users_file_is_named_before_bad_events_as_on_import(tmp_path, events_format):
    # The importer's order: the users file is checked before the events are read.
    bad_events = HEADER + GOOD * 400 + ",login,2024-01-01,1\n"
    events = (write(tmp_path / "events.csv", bad_events) if events_format == "csv"
              else parquet_from_csv(tmp_path, "events.parquet", bad_events))
    bad_users = write(tmp_path / "users.csv", "user_id,plan\nu1,pro\nu1,free\n")
    got, want = both_refusals(tmp_path, [events], bad_users)
    assert got == want and got.startswith("users.csv, line 3, column 'user_id'")
    good_users = write(tmp_path / "users2.csv", "user_id,plan\nu1,pro\nu2,free\n")
    got, want = both_refusals(tmp_path, [events], good_users)
    assert got == want and "the user id is empty" in got


# ------------------------------------------------------------------ through the command


def run_cli(*args: str) -> tuple[int, str, str]:
    from io import StringIO

    from analytics.cli import main

    out, err = StringIO(), StringIO()
    code = main(["manage.py", *args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("fmt", ["csv", "parquet", "ndjson"])
def test_the_command_refuses_a_bad_file_of_each_format_with_one_line(tmp_path, fmt):
    rows = [("u1", "login", "2024-01-01T00:00:00Z"), ("u2", "login", "2024-01-02T00:00:00Z"),
            ("u3", "login", "")]
    csv_text = "user_id,event,timestamp\n" + "".join(f"{u},{e},{t}\n" for u, e, t in rows)
    if fmt == "csv":
        path, where = write(tmp_path / "events.csv", csv_text), "line 4"
    elif fmt == "parquet":
        path, where = parquet_from_csv(tmp_path, "events.parquet", csv_text), "row 3"
    else:
        path = write(tmp_path / "events.ndjson", "".join(
            json.dumps({"user_id": u, "event": e, "timestamp": t}) + "\n" for u, e, t in rows))
        where = "line 3"
    code, out, err = run_cli("analyze", "--events", str(path), "--success",
                             json.dumps({"events": ["login"]}), "--criterion",
                             json.dumps({"kind": "did_event", "event": "login"}))
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"CommandError: {path.name}, {where}, column 'timestamp': the time is empty"]


def test_the_command_analyses_gzipped_files_in_place(demo, tmp_path):
    import gzip

    events, users = demo["csv"]
    packed = tmp_path / "events.csv.gz"
    packed.write_bytes(gzip.compress(events[0].read_bytes()))
    request = ["--success", json.dumps(SUCCESS), "--criterion", json.dumps(CRITERIA[0])]
    plain = run_cli("analyze", "--events", str(events[0]), "--users", str(users), *request)
    zipped = run_cli("analyze", "--events", str(packed), "--users", str(users), *request)
    assert plain[0] == zipped[0] == 0
    assert zipped[1] == plain[1]
    version = imported(tmp_path, events, users)
    assert plain[1] == to_json(analyze(version, SUCCESS, criterion=CRITERIA[0]))
