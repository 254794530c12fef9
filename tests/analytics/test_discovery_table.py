"""discovery_table builds the per-user table of a discovery run another way (numpy counts
and sessions, averages per user and event): every column must equal what peruser's
straightforward per-user query computes for the same features, value for value."""

from __future__ import annotations

import math
import random
from datetime import timedelta

import pytest

from analytics.engine import discovery, discovery_table, duck, peruser
from analytics.engine.definitions import validate_success
from analytics.engine.peruser_columns import Feature
from tests.analytics.builders import build_dataset
from tests.analytics.test_discovery import SUBSCRIBE, T0, product


def _reference(con, version, schema, success, features) -> dict:
    query = peruser.build_query(schema, version, success, features)
    for statement in query.prepare:
        con.execute(statement.text, statement.params)
    return _rows(con, query.select)


def _new(con, version, schema, success, features) -> dict:
    table = discovery_table.build_table(con, version, schema, success, features)
    try:
        return _rows(con, table.select)
    finally:
        discovery_table._drop(con)


def _rows(con, select) -> dict:
    result = con.execute(f"SELECT * FROM ({select.text}) ORDER BY _uid", select.params)
    names = [d[0] for d in result.description]
    return {name: column for name, column in zip(names, zip(*result.fetchall(), strict=True), strict=True)}


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b and type(a) is type(b)


def assert_equal_tables(version, success, measures):
    schema = version.schema()
    success = validate_success(success, schema)
    features = list(dict.fromkeys(Feature.of(m) for m in measures))
    con = duck.connect(threads=2)
    expected = _reference(con, version, schema, success, features)
    got = _new(con, version, schema, success, features)
    assert set(got) == set(expected)
    for name, column in expected.items():
        mismatches = [(uid, a, b) for uid, a, b in zip(expected["_uid"], column, got[name],
                                                       strict=True) if not _same(a, b)]
        assert not mismatches, (name, mismatches[:5])
    return expected


@pytest.mark.parametrize("seed", [3, 8])
def test_the_discovery_measures_equal_the_per_user_query(tmp_path, seed):
    version = build_dataset(tmp_path, *product(seed=seed, n_users=300))
    schema = version.schema()
    success = validate_success(SUBSCRIBE, schema)
    for days in (7, None):
        measures = discovery.candidate_measures(schema, success, days)
        table = assert_equal_tables(version, SUBSCRIBE, measures)
        # Not vacuous: counts, sessions, time and averages vary between users.
        varied = {m["kind"] for m in measures
                  if len(set(table[Feature.of(m).column])) > 2}
        assert varied >= {"event_count", "session_count", "time_in_app", "event_property"}


def test_windows_gaps_and_ties_equal_the_per_user_query(tmp_path):
    """Several windows and session gaps side by side, events at the same microsecond,
    an event exactly at a window's end, users without events and a float property."""
    rng = random.Random(4)
    events, users = [], []
    for i in range(120):
        user = f"u{i}"
        users.append({"user_id": user, "plan": rng.choice(["a", "b"])})
        if i % 10 == 0:
            continue  # a user with no events
        start = T0 + timedelta(days=rng.randrange(20), microseconds=rng.randrange(10**6))
        moment = start
        for k in range(rng.randrange(1, 25)):
            step = rng.choice([timedelta(0), timedelta(minutes=9, microseconds=1),
                               timedelta(minutes=30), timedelta(minutes=30, microseconds=1),
                               timedelta(hours=5), timedelta(days=1)])
            moment += step
            if k == 3:
                moment = start + timedelta(days=3)  # exactly at a 3-day window's end
            name = rng.choice(["view", "view", "buy", "share"])
            row = {"user_id": user, "event": name, "timestamp": moment}
            if name == "buy":
                row["price"] = rng.choice([None, 0.1, 0.2, 0.7, 19.99, 3.0])
                row["items"] = rng.choice([None, 1, 2, 7])
            events.append(row)
        if rng.random() < 0.4:
            events.append({"user_id": user, "event": "goal",
                           "timestamp": start + timedelta(days=rng.randrange(10))})
    version = build_dataset(tmp_path, events, users)
    measures = []
    for days in (None, 1, 3, 14):
        window = {"within_days": days} if days else {}
        measures += [{"kind": "event_count", "event": "view", **window},
                     {"kind": "did_event", "event": "share", **window},
                     {"kind": "session_count", **window},
                     {"kind": "time_in_app", **window},
                     {"kind": "session_count", "session_gap_minutes": 10, **window},
                     {"kind": "time_in_app", "session_gap_minutes": 10, **window},
                     {"kind": "event_property", "event": "buy", "property": "price",
                      "agg": "avg", **window},
                     {"kind": "event_property", "event": "buy", "property": "items",
                      "agg": "avg", **window}]
    measures += [{"kind": "first_event_property", "property": "price"},
                 {"kind": "event_count", "event": "buy", "where": [
                     {"property": "items", "op": ">=", "value": 2}], "within_days": 3}]
    for success in ({"events": ["goal"], "within_days": 7},
                    {"property": "plan", "op": "=", "value": "a"}):
        assert_equal_tables(version, success, measures)


@pytest.mark.parametrize("days", [7, None])
def test_discovery_gives_what_the_straightforward_path_gives(tmp_path, monkeypatch, days):
    """The whole result (candidates, counts, p and q values, order) equals that of the
    former path: peruser's per-user query and one profiling query per column."""
    version = build_dataset(tmp_path, *product(seed=21, n_users=400, n_events=9,
                                               n_properties=6))
    fast = discovery.discover(version, SUBSCRIBE, within_days=days, top=1000)
    queries: list[str] = []
    real_one = discovery.Profile._one
    monkeypatch.setattr(discovery.Profile, "_one",
                        lambda self, select, params=None: queries.append(select)
                        or real_one(self, select, params))
    for path in version.cache_dir.glob("peruser-*"):
        path.unlink()
    monkeypatch.setattr(discovery, "discovery_source", peruser.peruser_source)
    monkeypatch.setattr(discovery.Profile, "prefetch", lambda self, present: None)
    reference = discovery.discover(version, SUBSCRIBE, within_days=days, top=1000)
    assert fast == reference
    assert fast["tried"] >= 40 and len(queries) > 10  # the reference profiled column by column



@pytest.mark.parametrize("max_runs", [discovery_table.MAX_RUNS, 0])
def test_a_table_stored_out_of_row_order_gives_the_same_answers(tmp_path, monkeypatch,
                                                                max_runs):
    """The built table is stored in whatever order its joins give, and the numpy columns
    are put in that order (run by run, or row by row past MAX_RUNS runs): every column
    and the whole result stay the same when the table's rows come in an order far from
    the users' (here shuffled on purpose)."""
    monkeypatch.setattr(discovery_table, "MAX_RUNS", max_runs)
    version = build_dataset(tmp_path, *product(seed=21, n_users=400, n_events=9,
                                               n_properties=6))
    expected = discovery.discover(version, SUBSCRIBE, within_days=7, top=1000)
    for path in version.cache_dir.glob("peruser-*"):
        path.unlink()
    real_create, real_order = discovery_table._create_table, discovery_table._table_order
    orders: list = []

    def shuffled(con, name, *args):
        real_create(con, name, *args)
        row = discovery_table.ROW
        con.execute(f"CREATE TABLE {name}_s AS SELECT * FROM {name} ORDER BY hash({row})")
        con.execute(f"DROP TABLE {name}")
        con.execute(f"ALTER TABLE {name}_s RENAME TO {name}")

    monkeypatch.setattr(discovery_table, "_create_table", shuffled)
    monkeypatch.setattr(discovery_table, "_table_order",
                        lambda con, name: orders.append(real_order(con, name)) or orders[-1])
    assert discovery.discover(version, SUBSCRIBE, within_days=7, top=1000) == expected
    schema = version.schema()
    measures = discovery.candidate_measures(schema, validate_success(SUBSCRIBE, schema), 7)
    assert_equal_tables(version, SUBSCRIBE, measures)
    assert orders and all(list(order) != sorted(order) for order in orders)


def test_the_window_rows_stop_at_the_longest_window(tmp_path, monkeypatch):
    """First events' properties have no window, yet must not make the rows kept in memory
    every event of the dataset."""
    version = build_dataset(tmp_path, *product(seed=23, n_users=100))
    kept: list = []
    real = discovery_table.read_window_rows
    monkeypatch.setattr(discovery_table, "read_window_rows",
                        lambda con, v, users, events, averaged, longest:
                        kept.append(longest) or real(con, v, users, events, averaged, longest))
    discovery.discover(version, SUBSCRIBE, within_days=7)
    assert kept == [7]


def nan_prices(tmp_path):
    """A dataset whose float property `price` of "buy" holds NaN for some users."""
    events, users = [], []
    for i in range(40):
        user = f"u{i}"
        users.append({"user_id": user})
        start = T0 + timedelta(hours=i)
        for k in range(3):
            price = [1.5, None, math.nan, 2.0][(i + k) % 4] if i % 5 else 1.0
            events.append({"user_id": user, "event": "buy", "price": price,
                           "timestamp": start + timedelta(hours=k)})
        if i % 3 == 0:
            events.append({"user_id": user, "event": "goal", "timestamp": start})
    return build_dataset(tmp_path, events, users)


def test_nan_values_average_as_over_the_events(tmp_path):
    """A float property holding NaN: the average of a user with one is NaN, as the per-user
    query computes it (numpy hands NaN to DuckDB as null, which avg() would skip)."""
    version = nan_prices(tmp_path)
    measures = [{"kind": "event_property", "event": "buy", "property": "price", "agg": "avg",
                 **window} for window in ({}, {"within_days": 1})]
    table = assert_equal_tables(version, {"events": ["goal"]}, measures)
    column = table[Feature.of(measures[0]).column]
    assert any(isinstance(v, float) and math.isnan(v) for v in column)


def test_numpy_columns_out_of_line_with_the_table_are_an_error(tmp_path):
    """The table and its numpy columns are paired by position; a row whose user differs
    stops the read rather than pairing one user's measures with another's properties."""
    version = build_dataset(tmp_path, *product(seed=3, n_users=50))
    schema = version.schema()
    success = validate_success(SUBSCRIBE, schema)
    measures = discovery.candidate_measures(schema, success, 7)
    con = duck.connect(threads=2)
    table = discovery_table.build_table(con, version, schema, success,
                                        [Feature.of(m) for m in measures])
    con.register(discovery_table.MEASURED, {**table.arrays, "ix": table.arrays["ix"][::-1].copy()})
    with pytest.raises(Exception, match="out of line"):
        con.execute(table.select.text, table.select.params).fetchall()
    discovery_table._drop(con)


def test_whole_averages_in_numpy_equal_duckdbs_to_the_bit(tmp_path):
    """Averages of BIGINT properties are worked out in numpy as DuckDB's avg() works
    them out (the exact sum over the count, divided in long double): negative values,
    nulls and a window, bit for bit; values a double cannot sum exactly, and other
    types, are left to DuckDB."""
    import numpy as np

    rng = np.random.default_rng(7)
    users = 300
    ix = rng.integers(0, users - 20, 20_000).astype(np.uint32)  # the last 20 have none
    since = rng.integers(0, 10 * discovery_table.DAY_US, len(ix))
    data = rng.integers(-(2**35), 2**35, len(ix))
    data[::7] = rng.integers(0, 600, len(data[::7]))
    nulls = rng.random(len(ix)) < 0.2
    nulls[ix == 5] = True  # a user whose values are all null
    values = np.ma.MaskedArray(data, mask=nulls)
    con = duck.connect(threads=2)
    con.register("v", {"ix": ix, "since": since, "p": values})
    for days in (None, 3):
        inside = None if days is None else since < days * discovery_table.DAY_US
        where = "" if days is None else f" WHERE since < {days * discovery_table.DAY_US}"
        found = con.execute(f"SELECT ix, avg(p) AS a FROM v{where} GROUP BY ix").fetchnumpy()
        expected = np.ma.masked_all(users, dtype=np.float64)
        expected[np.asarray(found["ix"])] = found["a"]
        got = discovery_table._whole_average(ix, values, inside, users)
        assert np.array_equal(np.ma.getmaskarray(got), np.ma.getmaskarray(expected))
        held = ~np.ma.getmaskarray(expected)
        assert held[:-20].sum() > 200 and not held[-20:].any() and not held[5]
        assert np.array_equal(got.data[held].view(np.int64),
                              np.ma.getdata(expected)[held].view(np.int64))
        # Not vacuous: averages of many values, not whole, of either sign.
        assert (got.data[held] < 0).any() and (got.data[held] % 1 != 0).any()
    big = np.ma.MaskedArray(np.full(len(ix), 2**62), mask=nulls)
    assert discovery_table._whole_average(ix, big, None, users) is None
    assert discovery_table._whole_average(ix, values.astype(np.float64), None, users) is None
