"""Discovery reads events file by file (analytics.engine.discovery_rows): a file of one
event name skips reading names and the properties averaged over other events. On events
clustered by name its table must still equal peruser's query, and its result must be the
one on the same events in one file."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from analytics.engine import discovery, discovery_rows, duck
from analytics.engine.definitions import validate_success
from analytics.engine.importer import ColumnMapping, import_dataset
from analytics.engine.importing import events as importing_events
from analytics.engine.storage import DatasetVersion
from tests.analytics.test_discovery_table import assert_equal_tables

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NAMES = ["login", "view", "purchase", "export", "signup", "goal"]
SUCCESS = {"events": ["goal"], "within_days": 10}


def write_sources(directory: Path, user=lambda i: f"u{i}") -> tuple[Path, Path]:
    rng = random.Random(9)
    events, users = directory / "events.csv", directory / "users.csv"
    with events.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["user_id", "event", "timestamp", "amount", "duration", "device"])
        for i in range(160):
            start = T0 + timedelta(days=rng.randrange(20), minutes=rng.randrange(1440))
            out.writerow([user(i), "signup", start.isoformat(), "", "", rng.choice("abc")])
            for _ in range(rng.randrange(1, 12)):
                name = rng.choice(NAMES)
                moment = start + timedelta(minutes=rng.choice([0, 7, 45, 600, 3000, 9000]))
                amount = rng.choice(["", "2.5", "10", "99.9"]) if name == "purchase" else ""
                duration = rng.randrange(1, 300) if name in ("view", "login") else ""
                out.writerow([user(i), name, moment.isoformat(), amount, duration,
                              rng.choice(["a", "b", "c", ""])])
    with users.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["user_id", "plan"])
        out.writerows([user(i), rng.choice(["free", "pro"])] for i in range(170))
    return events, users


def imported(tmp_path: Path, name: str, monkeypatch, *, clustered: bool,
             user=lambda i: f"u{i}") -> DatasetVersion:
    monkeypatch.setattr(importing_events, "CLUSTER_MIN_BYTES", 0 if clustered else 2**62)
    events, users = write_sources(tmp_path, user)
    dest = tmp_path / name / "v1"
    import_dataset(events=[events], users=users, mapping=ColumnMapping(), dest=dest)
    return DatasetVersion(dest)


def test_clustered_events_give_the_same_table_and_discovery(tmp_path, monkeypatch):
    plain = imported(tmp_path, "plain", monkeypatch, clustered=False)
    clustered = imported(tmp_path, "clustered", monkeypatch, clustered=True)
    named = [name for _, name in discovery_rows.event_files(duck.connect(), clustered)]
    assert len(named) > 1 and all(named)  # files of one name each, their names not read
    schema = clustered.schema()
    for days in (3, None):
        measures = discovery.candidate_measures(schema, validate_success(SUCCESS, schema), days)
        assert {m["property"] for m in measures if m["kind"] == "event_property"} == {
            "amount", "duration"}
        assert_equal_tables(clustered, SUCCESS, measures)
        assert (discovery.discover(clustered, SUCCESS, within_days=days, top=1000)
                == discovery.discover(plain, SUCCESS, within_days=days, top=1000))


def test_sparse_integer_ids_give_the_same_table(tmp_path, monkeypatch):
    """Integer user ids are the `_uid` itself: far apart, they are looked up by binary
    search rather than in arrays indexed by id."""
    version = imported(tmp_path, "sparse", monkeypatch, clustered=True,
                       user=lambda i: str(10**12 + 7919 * i))
    schema = version.schema()
    assert schema.user_id_type == "integer"
    assert not discovery_rows.UserIndex(duck.connect(), version).dense
    measures = discovery.candidate_measures(schema, validate_success(SUCCESS, schema), 3)
    assert_equal_tables(version, SUCCESS, measures)


def test_users_numbered_in_order_are_read_as_their_rows(tmp_path, monkeypatch):
    """Text ids are numbered 1, 2, ... in users.parquet's order: an event's user row is
    its `_uid` less the first, subtracted by DuckDB, with no lookup."""
    version = imported(tmp_path, "numbered", monkeypatch, clustered=True)
    users = discovery_rows.UserIndex(duck.connect(), version)
    assert users.first_uid is not None and not users.dense
    schema = version.schema()
    measures = discovery.candidate_measures(schema, validate_success(SUCCESS, schema), 3)
    assert_equal_tables(version, SUCCESS, measures)


def test_dense_integer_ids_out_of_order_give_the_same_table(tmp_path, monkeypatch):
    """Integer ids close together but not 1, 2, ... in the users' order are looked up in
    arrays indexed by `_uid`."""
    version = imported(tmp_path, "dense", monkeypatch, clustered=True,
                       user=lambda i: str(1000 - 3 * i))
    users = discovery_rows.UserIndex(duck.connect(), version)
    assert users.first_uid is None and users.dense
    schema = version.schema()
    measures = discovery.candidate_measures(schema, validate_success(SUCCESS, schema), 3)
    assert_equal_tables(version, SUCCESS, measures)


def test_carried_properties_come_from_statistics_on_clustered_events(tmp_path, monkeypatch):
    """Files of one event name tell which properties that event carries by their null
    counts, without reading a row; the answer is the one a scan of every row gives."""
    plain = imported(tmp_path, "plain", monkeypatch, clustered=False)
    clustered = imported(tmp_path, "clustered", monkeypatch, clustered=True)
    statements: list[str] = []

    class Spy:
        def __init__(self, con):
            self.con = con

        def execute(self, text, params=None):
            statements.append(text)
            return self.con.execute(text, params)

    from_statistics = discovery.carried_properties(Spy(duck.connect()), clustered,
                                                   clustered.schema())
    assert statements and not any("read_parquet" in text for text in statements)
    scanned = discovery.carried_properties(duck.connect(), plain, plain.schema())
    assert from_statistics == scanned
    assert from_statistics["purchase"] == ["amount"] and from_statistics["view"] == [
        "duration"] and from_statistics["signup"] == []


def test_ordered_scans_give_a_files_rows_in_file_order(tmp_path):
    """Discovery takes a row's place in a file's result for its row number: with several
    threads over many row groups the rows must still come in file order, and the setting
    is the database's as before afterwards."""
    path = tmp_path / "rows.parquet"
    con = duck.connect(threads=4)
    con.execute(f"COPY (SELECT range AS n, hash(range) AS h FROM range(300000)) TO '{path}' "
                "(FORMAT parquet, ROW_GROUP_SIZE 2048)")
    with duck.ordered_scans(con):
        read = con.execute("SELECT n, h FROM read_parquet(?)", [str(path)]).fetchnumpy()
    assert (read["n"] == range(300000)).all()
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0] is False


def test_files_read_in_any_order_give_an_events_rows_in_file_order(tmp_path, monkeypatch):
    """Files are read largest first and taken as they are done; an event's averaged rows
    must still come in file order (DuckDB's avg() of a float adds them in that order), and
    every file's rows must be there once."""
    version = imported(tmp_path, "two", monkeypatch, clustered=False)
    con = duck.connect()
    # The one events file split in two, rows in order: every event in both.
    whole = version.events_dir / "part-0.parquet"
    moved = whole.with_name("whole.parquet")
    whole.rename(moved)
    for k, half in enumerate(("file_row_number % 2 = 0", "file_row_number % 2 = 1")):
        con.execute(f"COPY (SELECT * EXCLUDE (file_row_number) FROM "  # noqa: S608
                    f"read_parquet('{moved}', file_row_number = true) WHERE {half} "
                    f"ORDER BY file_row_number) TO '{whole.with_name(f'part-{k}.parquet')}'")
    moved.unlink()
    files = discovery_rows.event_files(con, version)
    assert len(files) == 2

    monkeypatch.setattr(discovery_rows, "READERS", 1)  # files done in the order started

    def rows_read(order):
        monkeypatch.setattr(discovery_rows, "_largest_first", lambda files: order(files))
        users = discovery_rows.UserIndex(con, version)
        return discovery_rows.read_window_rows(con, version, users, ["view", "purchase"],
                                               {"purchase": ["amount"]}, 3)

    forward = rows_read(lambda files: list(range(len(files))))
    backward = rows_read(lambda files: list(reversed(range(len(files)))))
    for name in ("ix", "since", "amount"):
        assert np.ma.allequal(forward.averaged["purchase"][name],
                              backward.averaged["purchase"][name])
    assert forward.averaged["purchase"]["ix"].tolist() == backward.averaged["purchase"]["ix"].tolist()
    assert sum(len(p.ix) for p in forward.parts) == sum(len(p.ix) for p in backward.parts)
    for code in forward.counted:
        assert forward.counted[code].tolist() == backward.counted[code].tolist()
