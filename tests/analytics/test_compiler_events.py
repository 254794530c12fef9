"""Criteria on behaviour: event counts, did, event properties, windows and their edges,
where clauses, and the success definition with complete windows."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.analytics.builders import build_dataset, feature_values, members, success_flags

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
MICRO = timedelta(microseconds=1)


def ev(user, event, at, **properties):
    return {"user_id": user, "event": event, "timestamp": at, **properties}


# ------------------------------------------------------------------ windows


def test_window_is_first_seen_up_to_but_excluding_n_days(tmp_path):
    version = build_dataset(tmp_path, [
        ev("in", "signup", T0), ev("in", "login", T0 + 7 * DAY - MICRO),
        ev("out", "signup", T0), ev("out", "login", T0 + 7 * DAY),
        ev("first", "login", T0),  # the login that is the first event is inside
        ev("none", "signup", T0),
    ])
    count = {"kind": "event_count", "event": "login", "op": ">=", "value": 1}
    assert members(version, {**count, "within_days": 7}) == {"in", "first"}
    assert members(version, count) == {"in", "out", "first"}
    did = {"kind": "did_event", "event": "login", "within_days": 7}
    assert members(version, did) == {"in", "first"}
    assert members(version, {**did, "did": False}) == {"out", "none"}


def test_windows_honour_offsets_and_keep_microseconds(tmp_path):
    version = build_dataset(tmp_path, [
        ev("a", "signup", "2026-01-01T02:00:00+02:00"),  # 00:00 UTC
        ev("a", "login", "2026-01-08T00:59:59.999999+01:00"),  # 7 days - 1 µs later
        ev("b", "signup", "2026-01-01T02:00:00+02:00"),
        ev("b", "login", "2026-01-08T01:00:00+01:00"),  # exactly 7 days later
        ev("c", "signup", "2025-12-31T19:00:00-05:00"),  # 00:00 UTC, naive below is UTC
        ev("c", "login", "2026-01-01T23:59:59.5"),
    ])
    within = {"kind": "did_event", "event": "login", "within_days": 7}
    assert members(version, within) == {"a", "c"}
    assert members(version, {**within, "within_days": 1}) == {"c"}


# ------------------------------------------------------------------ counts and did


@pytest.fixture(scope="module")
def logins(tmp_path_factory):
    return build_dataset(tmp_path_factory.mktemp("logins"), [
        ev("many", "signup", T0, device="mobile"),
        *(ev("many", "login", T0 + i * DAY, device="mobile" if i % 2 else "desktop")
          for i in range(1, 6)),
        ev("few", "signup", T0), ev("few", "login", T0 + DAY, device=None),
        ev("never", "signup", T0, device="tablet"),
    ], [{"user_id": "ghost", "plan": "free"}])


@pytest.mark.parametrize("op, value, expected", [
    (">=", 3, {"many"}),
    ("=", 0, {"never", "ghost"}),  # no such events (or no events at all) count 0
    ("<", 1, {"never", "ghost"}),
    ("between", [1, 1], {"few"}),
    ("in", [0, 5], {"many", "never", "ghost"}),
    ("not_in", [0, 5], {"few"}),
    ("!=", 5, {"few", "never", "ghost"}),
    ("is_set", None, {"many", "few", "never", "ghost"}),
])
def test_event_count_operators(logins, op, value, expected):
    criterion = {"kind": "event_count", "event": "login", "op": op}
    if value is not None:
        criterion["value"] = value
    assert members(logins, criterion) == expected


def test_event_count_where_and_window_together(logins):
    mobile = [{"property": "device", "op": "=", "value": "mobile"}]
    counts = feature_values(logins, {"kind": "event_count", "event": "login", "where": mobile})
    assert counts == {"many": 3, "few": 0, "never": 0, "ghost": 0}  # null device: not mobile
    windowed = feature_values(logins, {"kind": "event_count", "event": "login",
                                       "where": mobile, "within_days": 4})
    assert windowed["many"] == 2  # days 1 and 3
    not_mobile = [{"property": "device", "op": "!=", "value": "mobile"}]
    assert feature_values(logins, {"kind": "event_count", "event": "login",
                                   "where": not_mobile})["few"] == 0
    did = {"kind": "did_event", "event": "login", "where": [
        {"property": "device", "op": "is_not_set"}]}
    assert members(logins, did) == {"few"}


# ------------------------------------------------------------------ event properties


@pytest.fixture(scope="module")
def purchases(tmp_path_factory):
    return build_dataset(tmp_path_factory.mktemp("purchases"), [
        ev("x", "signup", T0),
        ev("x", "purchase", T0 + DAY, amount=10.0, coupon=True),
        ev("x", "purchase", T0 + 2 * DAY, amount=None, coupon=False),
        ev("x", "purchase", T0 + 9 * DAY, amount=20.0, coupon=True),
        ev("x", "purchase", T0 + 10 * DAY, amount=10.0, coupon=None),
        ev("y", "purchase", T0, amount=5.0, coupon=False),
        ev("n", "purchase", T0, amount=None, coupon=None),
        ev("z", "signup", T0, amount=99.0),
    ])


@pytest.mark.parametrize("agg, window, expected", [
    ("sum", None, {"x": 40.0, "y": 5.0, "n": None, "z": None}),
    ("avg", None, {"x": 40 / 3, "y": 5.0, "n": None, "z": None}),
    ("min", None, {"x": 10.0, "y": 5.0, "n": None, "z": None}),
    ("max", None, {"x": 20.0, "y": 5.0, "n": None, "z": None}),
    ("count_distinct", None, {"x": 2, "y": 1, "n": 0, "z": None}),
    ("sum", 7, {"x": 10.0, "y": 5.0, "n": None, "z": None}),
    ("avg", 7, {"x": 10.0, "y": 5.0, "n": None, "z": None}),
    ("max", 10, {"x": 20.0, "y": 5.0, "n": None, "z": None}),
    ("count_distinct", 7, {"x": 1, "y": 1, "n": 0, "z": None}),
])
def test_event_property_aggregates(purchases, agg, window, expected):
    metric = {"kind": "event_property", "event": "purchase", "property": "amount", "agg": agg}
    if window:
        metric["within_days"] = window
    values = feature_values(purchases, metric)
    assert values == pytest.approx(expected)


def test_event_property_is_null_and_false_without_events(purchases):
    base = {"kind": "event_property", "event": "purchase", "property": "amount", "agg": "sum"}
    assert members(purchases, {**base, "op": "<", "value": 1000}) == {"x", "y"}
    assert members(purchases, {**base, "op": "is_not_set"}) == {"n", "z"}
    assert members(purchases, {"not": {**base, "op": ">", "value": 6}}) == {"y", "n", "z"}
    coupons = {"kind": "event_property", "event": "purchase", "property": "coupon",
               "agg": "count_distinct", "op": "=", "value": 2}
    assert members(purchases, coupons) == {"x"}
    where = {**base, "where": [{"property": "coupon", "op": "=", "value": True}],
             "op": "=", "value": 30}
    assert members(purchases, where) == {"x"}


# ------------------------------------------------------------------ first event


def test_first_event_property_breaks_ties_by_smallest_value(tmp_path):
    version = build_dataset(tmp_path, [
        ev("tie", "signup", T0, device="mobile"), ev("tie", "login", T0, device="desktop"),
        ev("tie", "login", T0 - MICRO + MICRO, device=None),
        ev("late", "login", T0 + MICRO, device="desktop"), ev("late", "signup", T0,
                                                                device="tablet"),
        ev("null", "signup", T0, device=None), ev("null", "login", T0 + DAY, device="mobile"),
        ev("nullfirst", "signup", T0, device=None), ev("nullfirst", "login", T0,
                                                       device="tablet"),
    ], [{"user_id": "ghost"}])
    values = feature_values(version, {"kind": "first_event_property", "property": "device"})
    assert values == {"tie": "desktop", "late": "tablet", "null": None,
                      "nullfirst": "tablet", "ghost": None}
    mobile = {"kind": "first_event_property", "property": "device", "op": "=",
              "value": "mobile"}
    assert members(version, mobile) == set()
    assert members(version, {"not": mobile}) == {"tie", "late", "null", "nullfirst", "ghost"}


# ------------------------------------------------------------------ success


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    end = T0 + 30 * DAY
    return build_dataset(tmp_path_factory.mktemp("shop"), [
        ev("quick", "signup", T0), ev("quick", "purchase", T0 + 14 * DAY - MICRO, amount=5.0),
        ev("slow", "signup", T0), ev("slow", "purchase", T0 + 14 * DAY, amount=5.0),
        ev("free", "signup", T0), ev("free", "purchase", T0 + DAY, amount=0.0),
        ev("both", "signup", T0), ev("both", "purchase", T0 + DAY, amount=1.0),
        ev("both", "subscribe", T0 + 2 * DAY),
        ev("edge", "signup", end - 14 * DAY),  # window ends exactly at data_end: judged
        ev("young", "signup", end - 14 * DAY + MICRO),  # window not over: left out
        ev("young", "purchase", end - 14 * DAY + 2 * DAY, amount=3.0),
        ev("last", "signup", end),
    ], [{"user_id": "ghost", "paying": "yes"}, {"user_id": "quick", "paying": "no"}])


def test_success_any_within_days_and_complete_windows(shop):
    flags = success_flags(shop, {"events": ["purchase"], "within_days": 14})
    assert {u for u, (s, _) in flags.items() if s} == {"quick", "free", "both", "young"}
    assert {u for u, (_, i) in flags.items() if not i} == {"young", "last"}
    everyone = success_flags(shop, {"events": ["purchase"], "within_days": 14,
                                    "complete_windows": False})
    assert all(included for _, included in everyone.values())


def test_success_where_all_and_no_window(shop):
    paid = success_flags(shop, {"events": ["purchase"], "where": [
        {"property": "amount", "op": ">", "value": 0}]})
    assert {u for u, (s, _) in paid.items() if s} == {"quick", "slow", "both", "young"}
    assert all(i for _, i in paid.values())
    both = success_flags(shop, {"events": ["purchase", "subscribe"], "match": "all"})
    assert {u for u, (s, _) in both.items() if s} == {"both"}
    either = success_flags(shop, {"events": ["purchase", "subscribe"], "within_days": 1})
    assert {u for u, (s, _) in either.items() if s} == set()


def test_success_from_a_user_property(shop):
    flags = success_flags(shop, {"property": "paying", "op": "=", "value": "yes"})
    assert {u for u, (s, _) in flags.items() if s} == {"ghost"}
    assert all(i for _, i in flags.values())
