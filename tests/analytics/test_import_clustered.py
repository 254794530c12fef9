"""Large imports store events clustered by name (one file per bucket of names), so that
a one-event measure reads that event's file alone. The stored data and every analysis
must be the same as with the events in one file; appends build on clustered versions."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analytics.engine import duck
from analytics.engine.analysis import analyze
from analytics.engine.importer import ColumnMapping, append_events, import_dataset
from analytics.engine.importing import events as importing_events
from analytics.engine.storage import DatasetVersion

T0 = datetime(2026, 2, 1, tzinfo=UTC)
NAMES = ["login", "export", "purchase", "signup", "a name with spaces/and a slash", "été"]
SUCCESS = {"events": ["purchase"], "within_days": 10}
CRITERIA = [
    {"kind": "did_event", "event": "export", "within_days": 3},
    {"kind": "event_count", "event": "login", "op": ">=", "value": 2},
    {"kind": "did_event", "event": "a name with spaces/and a slash"},
    {"kind": "event_property", "event": "purchase", "property": "amount", "agg": "max",
     "op": ">", "value": 40},
    {"kind": "first_event_property", "property": "amount", "op": "is_set"},
    {"kind": "property", "property": "plan", "op": "=", "value": "pro"},
]


def write_sources(directory: Path, *, seed: int = 4, n_users: int = 150) -> tuple[Path, Path]:
    rng = random.Random(seed)
    events, users = directory / "events.csv", directory / "users.csv"
    with events.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["user_id", "event", "timestamp", "amount"])
        for i in range(n_users):
            start = T0 + timedelta(days=rng.randrange(30))
            for _ in range(rng.randrange(1, 9)):
                name = rng.choice(NAMES)
                amount = rng.randrange(1, 80) if name == "purchase" else ""
                moment = start + timedelta(hours=rng.randrange(0, 24 * 15))
                out.writerow([f"user{i}", name, moment.isoformat(), amount])
    with users.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["user_id", "plan"])
        out.writerows([f"user{i}", rng.choice(["free", "pro"])] for i in range(n_users + 5))
    return events, users


def imported(tmp_path: Path, name: str, monkeypatch, *, clustered: bool) -> DatasetVersion:
    monkeypatch.setattr(importing_events, "CLUSTER_MIN_BYTES", 0 if clustered else 2**62)
    events, users = write_sources(tmp_path)
    dest = tmp_path / name / "v1"
    import_dataset(events=[events], users=users, mapping=ColumnMapping(), dest=dest)
    return DatasetVersion(dest)


def stored(glob: str, columns: str = "*") -> list[tuple]:
    con = duck.connect()
    return sorted(con.execute(f"SELECT {columns} FROM read_parquet(?)", [glob]).fetchall(),
                  key=repr)


@pytest.fixture
def pair(tmp_path, monkeypatch) -> tuple[DatasetVersion, DatasetVersion]:
    plain = imported(tmp_path, "plain", monkeypatch, clustered=False)
    clustered = imported(tmp_path, "clustered", monkeypatch, clustered=True)
    return plain, clustered


def test_clustered_events_are_the_same_events_one_file_per_name(pair):
    plain, clustered = pair
    assert [p.name for p in plain.events_dir.iterdir()] == ["part-0.parquet"]
    parts = sorted(clustered.events_dir.glob("*.parquet"))
    assert 1 < len(parts) <= len(NAMES)
    assert not [p for p in clustered.path.rglob("*") if "__hl_bucket" in p.name]
    seen: set[str] = set()
    for part in parts:
        names = {row[0] for row in stored(str(part), "DISTINCT event")}
        assert not names & seen  # all of a name's events are in one file
        seen |= names
    assert seen == set(NAMES)
    assert stored(plain.events_glob) == stored(clustered.events_glob)
    assert stored(str(plain.users_path)) == stored(str(clustered.users_path))
    assert plain.schema() == clustered.schema()


def test_analyses_are_the_same_on_clustered_events(pair):
    plain, clustered = pair
    for criterion in CRITERIA:
        assert (analyze(clustered, SUCCESS, criterion=criterion)
                == analyze(plain, SUCCESS, criterion=criterion)), criterion


def test_an_append_builds_on_clustered_events(pair, tmp_path):
    batch = tmp_path / "batch.csv"
    batch.write_text("user_id,event,timestamp,amount\n"
                     f"user1,export,{(T0 + timedelta(days=1)).isoformat()},\n"
                     f"newcomer,purchase,{(T0 + timedelta(days=2)).isoformat()},12\n")
    versions = []
    for base in pair:
        dest = base.path.parent / "v2"
        append_events(previous=base, events=[batch], mapping=ColumnMapping(), dest=dest)
        versions.append(DatasetVersion(dest))
    plain, clustered = versions
    assert stored(plain.events_glob) == stored(clustered.events_glob)
    for criterion in CRITERIA[:2]:
        assert (analyze(clustered, SUCCESS, criterion=criterion)
                == analyze(plain, SUCCESS, criterion=criterion))
