"""Column tables of event counts (did_event, event_count) are computed with numpy
(analytics.engine.event_counts): their results must be those of the whole per-user table,
with dense user numbers and with sparse integer ids (found by binary search), and other
measures must still take the SQL pass."""

import json
import shutil

import pytest

from analytics.engine import duck, event_counts, peruser
from analytics.engine.analysis import analyze, evaluate_criteria
from analytics.engine.definitions import validate_criterion, validate_success
from analytics.engine.peruser_columns import features_of
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


def test_count_columns_pair_with_the_table_by_position_and_check_it(tmp_path):
    version = build_dataset(tmp_path, *make_rows(seed=9))
    criterion = COUNTED[1]
    expected = whole_table(version, criterion=criterion)
    analyze(version, SUCCESS, criterion=WARM_UP)
    con = duck.connect(threads=1)
    schema = version.schema()
    features = features_of(validate_criterion(criterion, schema))
    source = peruser.peruser_source(con, version, schema, validate_success(SUCCESS, schema),
                                    features)
    assert "POSITIONAL JOIN" in source.text
    assert analyze(version, SUCCESS, criterion=criterion) == expected
    # A column table out of line (here: written in reverse) fails loudly, never miscounts.
    column = next(version.cache_dir.glob(f"{peruser.COLUMNS_PREFIX}*.parquet"))
    reversed_ = column.with_name("reversed.parquet")
    con.execute("COPY (SELECT * FROM read_parquet(?) ORDER BY _uid DESC) TO ? (FORMAT parquet)",
                [str(column), str(reversed_)])
    reversed_.replace(column)
    with pytest.raises(duck.Error, match="out of line"):
        analyze(version, SUCCESS, criterion=criterion)
    con.close()


def test_a_table_not_in_uid_order_is_joined_by_uid(tmp_path):
    version = build_dataset(tmp_path, *make_rows(seed=4))
    criterion = COUNTED[2]
    expected = whole_table(version, criterion=criterion)
    analyze(version, SUCCESS, criterion=WARM_UP)
    for manifest in version.cache_dir.glob(f"{peruser.CACHE_PREFIX}*.json"):
        info = json.loads(manifest.read_text())
        info.pop(peruser.UID_ORDER)  # as discovery's tables, or older ones
        manifest.write_text(json.dumps(info))
    assert analyze(version, SUCCESS, criterion=criterion) == expected


def test_the_users_first_seen_times_are_cached_beside_the_tables(tmp_path):
    version = build_dataset(tmp_path, *make_rows(seed=6))
    expected = [whole_table(version, criterion=c) for c in COUNTED[:3]]
    analyze(version, SUCCESS, criterion=WARM_UP)
    assert analyze(version, SUCCESS, criterion=COUNTED[0]) == expected[0]
    cached = version.cache_dir / event_counts.USERS_CACHE
    assert cached.exists()
    assert analyze(version, SUCCESS, criterion=COUNTED[1]) == expected[1]
    cached.write_bytes(b"not an archive")  # damaged: read the users file again
    assert analyze(version, SUCCESS, criterion=COUNTED[2]) == expected[2]
