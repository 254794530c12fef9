"""Column tables of event counts (did_event, event_count) are computed with numpy
(analytics.engine.event_counts): their results must be those of the whole per-user table,
with dense user numbers and with sparse integer ids (found by binary search), and other
measures must still take the SQL pass."""

import shutil

import pytest

from analytics.engine import duck, event_counts, peruser
from analytics.engine.analysis import analyze, evaluate_criteria
from tests.analytics.builders import build_dataset
from tests.analytics.test_new_criterion import NEW_CRITERIA, SUCCESS, WARM_UP, make_rows

COUNTED = [c for c in NEW_CRITERIA if c.get("kind") in ("did_event", "event_count")]


def spread_ids(version) -> None:
    """Give the users sparse integer ids (as an import keeps integer source ids), far
    apart and some negative, in both files."""
    con = duck.connect(threads=1)
    for path in (version.users_path, *version.events_dir.glob("*.parquet")):
        moved = path.with_name(path.name + ".moved")
        con.execute("COPY (SELECT * REPLACE ((_uid - 200) * 1000003 AS _uid) "
                    "FROM read_parquet(?)) TO ? (FORMAT parquet)", [str(path), str(moved)])
        moved.replace(path)
    con.close()


def passes(monkeypatch) -> list:
    kinds: list = []
    real = peruser.scan_events
    monkeypatch.setattr(peruser, "scan_events",
                        lambda *a, **k: kinds.append(type(a[1]).__name__) or real(*a, **k))
    return kinds


def whole_table(version, **kwargs) -> dict:
    shutil.rmtree(version.cache_dir, ignore_errors=True)
    result = analyze(version, SUCCESS, **kwargs)
    shutil.rmtree(version.cache_dir, ignore_errors=True)
    return result


@pytest.mark.parametrize("sparse_ids", [False, True])
def test_counts_equal_the_whole_table(tmp_path, monkeypatch, sparse_ids):
    version = build_dataset(tmp_path, *make_rows(seed=5))
    if sparse_ids:
        spread_ids(version)
    expected = [whole_table(version, criterion=c) for c in COUNTED]
    analyze(version, SUCCESS, criterion=WARM_UP)
    kinds = passes(monkeypatch)
    for criterion, want in zip(COUNTED, expected, strict=True):
        assert analyze(version, SUCCESS, criterion=criterion) == want, criterion
    assert kinds and set(kinds) == {"EventCountsPass"}


def test_several_counts_in_one_table_and_other_measures_in_sql(tmp_path, monkeypatch):
    version = build_dataset(tmp_path, *make_rows(seed=8))
    mixed = NEW_CRITERIA[:10]  # counts, and a sum of a property (SQL)
    shutil.rmtree(version.cache_dir, ignore_errors=True)
    expected = [evaluate_criteria(version, SUCCESS, c) for c in (COUNTED, mixed)]
    shutil.rmtree(version.cache_dir, ignore_errors=True)
    analyze(version, SUCCESS, criterion=WARM_UP)
    kinds = passes(monkeypatch)
    assert evaluate_criteria(version, SUCCESS, COUNTED) == expected[0]
    assert kinds == ["EventCountsPass"]
    shutil.rmtree(version.cache_dir, ignore_errors=True)
    analyze(version, SUCCESS, criterion=WARM_UP)
    kinds.clear()
    assert evaluate_criteria(version, SUCCESS, mixed) == expected[1]
    assert kinds == ["PerUserSql"]


def test_too_many_rows_for_memory_take_the_sql_pass(tmp_path, monkeypatch):
    version = build_dataset(tmp_path, *make_rows(seed=3))
    expected = whole_table(version, criterion=COUNTED[0])
    analyze(version, SUCCESS, criterion=WARM_UP)
    monkeypatch.setattr(event_counts, "MAX_ROWS", 10)
    kinds = passes(monkeypatch)
    assert analyze(version, SUCCESS, criterion=COUNTED[0]) == expected
    assert kinds == ["PerUserSql"]
