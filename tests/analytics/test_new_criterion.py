"""A new criterion on a warm success definition (one with a cached per-user table) is
computed alone, into a column table joined to the cached table: its results must be
exactly those of the whole per-user table built in one pass, for every kind of measure,
with and without windows and conditions, and for users who have no such events."""

import random
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from analytics.engine import peruser
from analytics.engine.analysis import analyze, evaluate_criteria, population_count
from tests.analytics.builders import build_dataset

T0 = datetime(2026, 3, 1, tzinfo=UTC)
SUCCESS = {"events": ["purchase"], "within_days": 14}
WARM_UP = {"kind": "event_count", "event": "login", "op": ">=", "value": 2, "within_days": 7}

NEW_CRITERIA = [
    {"kind": "did_event", "event": "export"},
    {"kind": "did_event", "event": "export", "within_days": 3},
    {"kind": "did_event", "event": "export", "did": False, "within_days": 7},
    # nobody has this event inside a day: the column is false for everyone
    {"kind": "did_event", "event": "rare", "within_days": 1},
    {"kind": "event_count", "event": "login", "op": ">=", "value": 3},
    {"kind": "event_count", "event": "login", "op": "<", "value": 1, "within_days": 5},
    {"kind": "event_count", "event": "export", "op": "=", "value": 0, "within_days": 2},
    {"kind": "event_count", "event": "login", "op": ">=", "value": 1,
     "where": [{"property": "device", "op": "=", "value": "mobile"}], "within_days": 10},
    {"kind": "did_event", "event": "purchase",
     "where": [{"property": "amount", "op": ">", "value": 50}]},
    {"kind": "event_property", "event": "purchase", "property": "amount", "agg": "sum",
     "op": ">=", "value": 60, "within_days": 14},
    {"kind": "event_property", "event": "purchase", "property": "amount",
     "agg": "count_distinct", "op": ">=", "value": 1},
    {"kind": "first_event_property", "property": "device", "op": "=", "value": "mobile"},
    {"kind": "session_count", "op": ">=", "value": 2, "within_days": 7},
    {"kind": "time_in_app", "op": ">=", "value": 30},
    {"kind": "property", "property": "plan", "op": "=", "value": "pro"},
    {"all": [{"kind": "did_event", "event": "export", "within_days": 7},
             {"not": {"kind": "event_count", "event": "login", "op": ">=", "value": 4}},
             {"kind": "property", "property": "age", "op": ">", "value": 30}]},
]


def make_rows(seed: int = 11, n_users: int = 400):
    rng = random.Random(seed)
    events, users = [], []
    for i in range(n_users):
        user = f"u{i}"
        users.append({"user_id": user, "plan": rng.choice(["free", "pro", None]),
                      "age": rng.choice([None, *range(18, 70)])})
        if i % 17 == 0:
            continue  # a user without any event
        start = T0 + timedelta(days=rng.randrange(50), seconds=rng.randrange(86400))
        events.append({"user_id": user, "event": "signup", "timestamp": start,
                       "device": rng.choice(["mobile", "desktop", None])})
        for _ in range(rng.randrange(6)):
            events.append({"user_id": user, "event": "login",
                           "timestamp": start + timedelta(minutes=rng.randrange(1, 60 * 24 * 12)),
                           "device": rng.choice(["mobile", "desktop"])})
        if rng.random() < 0.3:
            events.append({"user_id": user, "event": "export",
                           "timestamp": start + timedelta(hours=rng.randrange(0, 24 * 9))})
        if rng.random() < 0.25:
            events.append({"user_id": user, "event": "purchase",
                           "timestamp": start + timedelta(hours=rng.randrange(1, 24 * 20)),
                           "amount": rng.choice([None, float(rng.randrange(1, 100))])})
        if i % 50 == 1:
            events.append({"user_id": user, "event": "rare",
                           "timestamp": start + timedelta(days=3)})
    events.append({"user_id": "only-events", "event": "export", "timestamp": T0})
    return events, users


@pytest.fixture(scope="module")
def rows():
    return make_rows()


@pytest.fixture
def version(tmp_path, rows):
    return build_dataset(tmp_path, *rows)


def count_scans(monkeypatch) -> list:
    scans: list = []
    real = peruser.scan_events
    monkeypatch.setattr(peruser, "scan_events",
                        lambda *a, **k: scans.append(a[2].name) or real(*a, **k))
    return scans


def whole_table(version, success, **kwargs) -> dict:
    """The result from a per-user table built in one pass with every feature."""
    shutil.rmtree(version.cache_dir, ignore_errors=True)
    result = analyze(version, success, **kwargs)
    shutil.rmtree(version.cache_dir, ignore_errors=True)
    return result


@pytest.mark.parametrize("success", [SUCCESS, {"events": ["purchase", "export"],
                                               "match": "all"}])
def test_a_new_criterion_on_a_warm_definition_equals_the_whole_table(version, success,
                                                                     monkeypatch):
    expected = [whole_table(version, success, criterion=c) for c in NEW_CRITERIA]
    analyze(version, success, criterion=WARM_UP)
    scans = count_scans(monkeypatch)
    for criterion, want in zip(NEW_CRITERIA, expected, strict=True):
        assert analyze(version, success, criterion=criterion) == want, criterion
    # Every criterion with a new event measure cost one pass of its own, into a column
    # table; the user-property criterion none, nor the last one, whose measures (export
    # in 7 days, logins) the third and fifth criteria had already.
    assert len(scans) == len(NEW_CRITERIA) - 2
    assert all(name.startswith(".tmp-") for name in scans)
    assert len(list(version.cache_dir.glob(f"{peruser.COLUMNS_PREFIX}*.parquet"))) == len(scans)
    assert len(list(version.cache_dir.glob(f"{peruser.CACHE_PREFIX}*.parquet"))) == 1


def test_column_tables_serve_every_success_definition(version, monkeypatch):
    criterion = NEW_CRITERIA[1]
    other = {"events": ["login"], "within_days": 3, "complete_windows": False}
    expected = whole_table(version, other, criterion=criterion)
    analyze(version, SUCCESS, criterion=WARM_UP)
    analyze(version, SUCCESS, criterion=criterion)
    analyze(version, other, criterion=WARM_UP)  # warms the other definition
    scans = count_scans(monkeypatch)
    assert analyze(version, other, criterion=criterion) == expected
    assert scans == []  # the column table built for SUCCESS is reused


def test_breakdowns_filters_counts_and_the_unsuccessful_side(version):
    metric = {"kind": "event_count", "event": "login", "within_days": 7}
    cases = [
        {"breakdown": {"metric": metric, "bins": [1, 3]}},
        {"breakdown": {"metric": {"kind": "time_in_app", "within_days": 7}, "bins": [5]}},
        {"criterion": NEW_CRITERIA[0], "population_filter": NEW_CRITERIA[4]},
        {"criterion": NEW_CRITERIA[7], "unsuccessful": True},
    ]
    expected = [whole_table(version, SUCCESS, **case) for case in cases]
    shutil.rmtree(version.cache_dir, ignore_errors=True)
    count = population_count(version, SUCCESS, criterion=NEW_CRITERIA[9],
                             population_filter=NEW_CRITERIA[5])
    analyze(version, SUCCESS, criterion=WARM_UP)
    for case, want in zip(cases, expected, strict=True):
        assert analyze(version, SUCCESS, **case) == want, case
    shutil.rmtree(version.cache_dir, ignore_errors=True)
    analyze(version, SUCCESS, criterion=WARM_UP)
    assert population_count(version, SUCCESS, criterion=NEW_CRITERIA[9],
                            population_filter=NEW_CRITERIA[5]) == count


def test_many_new_criteria_at_once_and_partly_cached(version, monkeypatch):
    criteria = NEW_CRITERIA[:8]
    shutil.rmtree(version.cache_dir, ignore_errors=True)
    expected = evaluate_criteria(version, SUCCESS, criteria)
    shutil.rmtree(version.cache_dir, ignore_errors=True)
    analyze(version, SUCCESS, criterion=WARM_UP)
    analyze(version, SUCCESS, criterion=criteria[2])  # one of them has a column table
    scans = count_scans(monkeypatch)
    assert evaluate_criteria(version, SUCCESS, criteria) == expected
    assert len(scans) == 1  # the others in one pass together
    assert evaluate_criteria(version, SUCCESS, criteria) == expected
    assert len(scans) == 1


def test_the_widest_cached_table_of_the_definition_is_the_base(version, monkeypatch):
    wide = [WARM_UP, NEW_CRITERIA[0], NEW_CRITERIA[4]]
    evaluate_criteria(version, SUCCESS, wide)
    analyze(version, SUCCESS, criterion=NEW_CRITERIA[7])
    scans = count_scans(monkeypatch)
    both = {"any": [NEW_CRITERIA[0], NEW_CRITERIA[7]]}
    expected_cache = set(version.cache_dir.iterdir())
    result = analyze(version, SUCCESS, criterion=both)
    assert scans == []  # one feature from the wide table, one from the column table
    assert set(version.cache_dir.iterdir()) == expected_cache
    assert result == whole_table(version, SUCCESS, criterion=both)


def test_a_cache_that_cannot_be_written_still_answers(version, monkeypatch):
    expected = whole_table(version, SUCCESS, criterion=NEW_CRITERIA[1])
    analyze(version, SUCCESS, criterion=WARM_UP)

    def refuse(*args, **kwargs):
        raise OSError("read-only")

    monkeypatch.setattr(peruser, "_write_columns", refuse)
    assert analyze(version, SUCCESS, criterion=NEW_CRITERIA[1]) == expected
