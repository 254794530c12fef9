"""Success per week of first_seen and segment bucket (analytics/engine/trends.py), on tiny literal
datasets whose counts are worked out by hand, plus agreement with analyze()."""

from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest

from analytics.engine import analysis, peruser, trends
from analytics.engine.definitions import DefinitionError
from tests.analytics.builders import build_dataset

MONDAY = datetime(2026, 3, 2, 9, 0)  # a Monday, UTC


def at(days: float, hours: float = 0) -> str:
    return (MONDAY + timedelta(days=days, hours=hours)).isoformat() + "+00:00"


# Week 1 (Mar 2): ann (pro, 3 logins, subscribes), bob (free, 1 login), cat (pro, no login)
# Week 2 (Mar 9): dan (free, subscribes), eve (no plan, 2 logins, subscribes)
# Week 3 (Mar 16): fay (pro, subscribes on day 10: outside a 7-day window)
# gus: in the users table, no events (no week)
USERS = [
    {"user_id": "ann", "plan": "pro", "age": 31},
    {"user_id": "bob", "plan": "free", "age": 22},
    {"user_id": "cat", "plan": "pro", "age": 45},
    {"user_id": "dan", "plan": "free", "age": None},
    {"user_id": "eve", "plan": None, "age": 19},
    {"user_id": "fay", "plan": "pro", "age": 60},
    {"user_id": "gus", "plan": "free", "age": 33},
]
EVENTS = [
    {"user_id": "ann", "event": "signup", "timestamp": at(0)},
    {"user_id": "ann", "event": "login", "timestamp": at(1)},
    {"user_id": "ann", "event": "login", "timestamp": at(2)},
    {"user_id": "ann", "event": "login", "timestamp": at(3)},
    {"user_id": "ann", "event": "subscribe", "timestamp": at(4)},
    {"user_id": "bob", "event": "signup", "timestamp": at(2)},
    {"user_id": "bob", "event": "login", "timestamp": at(2, 1)},
    {"user_id": "cat", "event": "signup", "timestamp": at(6, 14)},  # Sunday evening
    {"user_id": "dan", "event": "signup", "timestamp": at(7)},
    {"user_id": "dan", "event": "subscribe", "timestamp": at(8)},
    {"user_id": "eve", "event": "signup", "timestamp": at(13)},
    {"user_id": "eve", "event": "login", "timestamp": at(13, 1)},
    {"user_id": "eve", "event": "login", "timestamp": at(13, 2)},
    {"user_id": "eve", "event": "subscribe", "timestamp": at(14)},
    {"user_id": "fay", "event": "signup", "timestamp": at(15)},
    {"user_id": "fay", "event": "subscribe", "timestamp": at(25)},
    {"user_id": "fay", "event": "login", "timestamp": at(40)},  # the data ends here
]
SUBSCRIBED = {"events": ["subscribe"]}
BY_PLAN = {"key": "plan", "breakdown": {"property": "plan"}}
LOGINS = {"kind": "event_count", "event": "login", "within_days": 7}


@pytest.fixture(scope="module")
def version(tmp_path_factory):
    return build_dataset(tmp_path_factory.mktemp("trends"), EVENTS, USERS)


def bucket(result, key, label):
    segment = next(s for s in result["segments"] if s["key"] == key)
    return next(b for b in segment["buckets"] if b["label"] == label)


def test_weeks_are_mondays_in_calendar_order_with_per_week_totals(version):
    result = trends.success_trends(version, SUBSCRIBED, [])
    assert [w["week"] for w in result["weeks"]] == ["2026-03-02", "2026-03-09", "2026-03-16"]
    assert [(w["users"], w["successes"]) for w in result["weeks"]] == [(3, 1), (2, 2), (1, 1)]
    assert result["without_week"] == {"users": 1, "successes": 0}
    assert result["population"]["users"] == 7
    assert result["population"]["successes"] == 4
    assert all(w["complete"] for w in result["weeks"])


def test_property_breakdown_per_week(version):
    result = trends.success_trends(version, SUBSCRIBED, [BY_PLAN])
    segment = result["segments"][0]
    assert segment["kind"] == "values"
    # most users first, ties by label; (none) last
    assert [b["label"] for b in segment["buckets"]] == ["free", "pro", "(none)"]
    assert bucket(result, "plan", "pro")["weeks"] == [[2, 1], [0, 0], [1, 1]]
    # gus has no week but counts in the total, as in analyze()
    assert bucket(result, "plan", "free")["weeks"] == [[1, 0], [1, 1], [0, 0]]
    assert bucket(result, "plan", "free")["users"] == 3
    assert bucket(result, "plan", "(none)")["weeks"] == [[0, 0], [1, 1], [0, 0]]


def test_bins_keep_every_bucket_in_order(version):
    segment = {"key": "age", "breakdown": {"property": "age", "bins": [20, 40]}}
    result = trends.success_trends(version, SUBSCRIBED, [segment])
    labels = [b["label"] for b in result["segments"][0]["buckets"]]
    assert labels == ["< 20", "20-40", ">= 40", "(none)"]
    assert bucket(result, "age", "< 20")["weeks"] == [[0, 0], [1, 1], [0, 0]]
    assert bucket(result, "age", "20-40")["weeks"] == [[2, 1], [0, 0], [0, 0]]
    assert bucket(result, "age", ">= 40")["weeks"] == [[1, 0], [0, 0], [1, 1]]
    assert bucket(result, "age", "(none)")["weeks"] == [[0, 0], [1, 1], [0, 0]]


def test_metric_breakdown_uses_the_window(version):
    segment = {"key": "logins", "breakdown": {"metric": LOGINS, "bins": [1, 3]}}
    result = trends.success_trends(version, SUBSCRIBED, [segment])
    assert bucket(result, "logins", "< 1")["weeks"] == [[1, 0], [1, 1], [1, 1]]  # cat dan fay
    assert bucket(result, "logins", "1-3")["weeks"] == [[1, 0], [1, 1], [0, 0]]  # bob eve
    assert bucket(result, "logins", ">= 3")["weeks"] == [[1, 1], [0, 0], [0, 0]]  # ann
    assert bucket(result, "logins", "< 1")["users"] == 4  # gus too


def test_criterion_segment_is_the_group_and_everyone_else(version):
    segment = {"key": "engaged", "criterion": {**LOGINS, "op": ">=", "value": 2},
               "label": "2+ logins"}
    result = trends.success_trends(version, SUBSCRIBED, [segment])
    labels = [b["label"] for b in result["segments"][0]["buckets"]]
    assert labels == ["2+ logins", "everyone else"]
    assert bucket(result, "engaged", "2+ logins")["weeks"] == [[1, 1], [1, 1], [0, 0]]
    assert result["segments"][0]["kind"] == "buckets"


def test_criteria_buckets_take_the_first_that_holds(version):
    segment = {"key": "stage", "else": "neither", "buckets": [
        {"label": "subscribed-plan pro", "criterion": {"kind": "property", "property": "plan",
                                                       "op": "=", "value": "pro"}},
        {"label": "any login", "criterion": {"kind": "did_event", "event": "login"}},
    ]}
    result = trends.success_trends(version, SUBSCRIBED, [segment])
    # ann and fay are pro and logged in: the first bucket wins
    assert bucket(result, "stage", "subscribed-plan pro")["users"] == 3
    assert bucket(result, "stage", "any login")["users"] == 2  # bob, eve
    assert bucket(result, "stage", "neither")["users"] == 2  # dan, gus


def test_window_leaves_out_unfinished_users_and_marks_their_week(version):
    # The data ends Apr 11 09:00. With 27 days, eve's window (Mar 15 09:00 + 27 d) ends
    # exactly then, so she is judged; fay's (Mar 17 + 27 d) is not over: she is left out
    # and week 3 is not complete.
    result = trends.success_trends(version, {"events": ["subscribe"], "within_days": 27}, [])
    assert result["weeks"][2]["excluded_incomplete"] == 1
    assert result["weeks"][2]["users"] == 0
    assert [w["complete"] for w in result["weeks"]] == [True, True, False]
    assert result["population"]["excluded_incomplete"] == 1
    within_7 = trends.success_trends(version, {"events": ["subscribe"], "within_days": 7}, [])
    assert [(w["users"], w["successes"]) for w in within_7["weeks"]] == [(3, 1), (2, 2), (1, 0)]


def test_a_week_not_over_in_the_data_is_not_complete(tmp_path):
    events = [{"user_id": "a", "event": "signup", "timestamp": at(0)},
              {"user_id": "b", "event": "signup", "timestamp": at(8)},
              {"user_id": "b", "event": "x", "timestamp": at(10)}]  # data ends mid-week 2
    result = trends.success_trends(build_dataset(tmp_path, events), {"events": ["x"]}, [])
    assert [w["complete"] for w in result["weeks"]] == [True, False]


def test_empty_weeks_in_between_are_listed(tmp_path):
    events = [{"user_id": "a", "event": "signup", "timestamp": at(0)},
              {"user_id": "b", "event": "signup", "timestamp": at(21)},
              {"user_id": "b", "event": "x", "timestamp": at(29)}]
    result = trends.success_trends(build_dataset(tmp_path, events), {"events": ["x"]}, [])
    assert [(w["week"], w["users"]) for w in result["weeks"]] == [
        ("2026-03-02", 1), ("2026-03-09", 0), ("2026-03-16", 0), ("2026-03-23", 1)]
    assert result["weeks"][1]["complete"]  # an empty week that is over is complete


def test_top_values_then_other_then_none(tmp_path):
    users = [{"user_id": f"u{i}", "city": f"c{i % 23:02d}" if i % 50 else None}
             for i in range(230)]
    events = [{"user_id": f"u{i}", "event": "x" if i % 3 == 0 else "y",
               "timestamp": at(i % 14)} for i in range(230)]
    version = build_dataset(tmp_path, events, users)
    segment = {"key": "city", "breakdown": {"property": "city"}}
    result = trends.success_trends(version, {"events": ["x"]}, [segment])
    expected = analysis.analyze(version, {"events": ["x"]}, breakdown=segment["breakdown"])
    got = result["segments"][0]["buckets"]
    assert [b["label"] for b in got] == [b["label"] for b in expected["buckets"]]
    assert [b["label"] for b in got][-2:] == ["(other)", "(none)"]
    assert len(got) == 22
    for mine, theirs in zip(got, expected["buckets"], strict=True):
        assert (mine["users"], mine["successes"]) == (theirs["users"], theirs["successes"])
        assert sum(n for n, _ in mine["weeks"]) == mine["users"]


@pytest.mark.parametrize("segment", [
    BY_PLAN,
    {"key": "age", "breakdown": {"property": "age", "bins": [25, 50]}},
    {"key": "logins", "breakdown": {"metric": LOGINS, "bins": [1, 2, 3]}},
    {"key": "first", "breakdown": {"metric": {"kind": "time_in_app", "within_days": 7},
                                   "bins": [30, 60]}},
])
def test_totals_over_weeks_equal_analyze_breakdown(version, segment):
    success = {"events": ["subscribe"], "within_days": 14}
    result = trends.success_trends(version, success, [segment])
    expected = analysis.analyze(version, success, breakdown=segment["breakdown"])
    got = result["segments"][0]
    assert [(b["label"], b["users"], b["successes"]) for b in got["buckets"]] == [
        (b["label"], b["users"], b["successes"]) for b in expected["buckets"]]
    assert got["p_value"] == pytest.approx(expected["p_value"])
    assert result["population"] == expected["population"]


def test_many_segments_share_one_per_user_table_and_one_pass(version, monkeypatch):
    statements: list[str] = []
    real = analysis.engine_connection

    class Spy:
        def __init__(self, con):
            self.con = con

        def execute(self, text, params=None):
            statements.append(" ".join([text, *map(str, params or [])]))
            return self.con.execute(text, params or [])

    @contextmanager
    def spying(settings):
        with real(settings) as con:
            yield Spy(con)

    monkeypatch.setattr(trends, "engine_connection", spying)
    scans = []
    real_scan = peruser.scan_events
    monkeypatch.setattr(peruser, "scan_events", lambda *a: scans.append(1) or real_scan(*a))
    segments = [BY_PLAN, {"key": "age", "breakdown": {"property": "age", "bins": [30]}},
                {"key": "logins", "breakdown": {"metric": LOGINS, "bins": [1, 3]}},
                {"key": "sessions", "criterion": {"kind": "session_count", "op": ">=",
                                                  "value": 2, "within_days": 7}}]
    success = {"events": ["subscribe"], "within_days": 21}
    trends.success_trends(version, success, segments)
    assert len(scans) == 1  # one per-user table for every segment
    # the per-user table is read by one statement; the rest read the small cells table
    assert sum("/cache/peruser-" in s for s in statements) == 1
    statements.clear()
    trends.success_trends(version, success, segments)
    assert scans == [1]  # the cached table is reused
    assert sum("/cache/peruser-" in s for s in statements) == 1


def test_bad_segments_are_definition_errors(version):
    with pytest.raises(DefinitionError, match="did you mean 'plan'"):
        trends.success_trends(version, SUBSCRIBED,
                              [{"key": "p", "breakdown": {"property": "plam"}}])
    with pytest.raises(DefinitionError, match="exactly one"):
        trends.success_trends(version, SUBSCRIBED, [{"key": "p"}])
    with pytest.raises(DefinitionError, match="same key"):
        trends.success_trends(version, SUBSCRIBED, [BY_PLAN, BY_PLAN])
    with pytest.raises(DefinitionError, match="labels must differ"):
        trends.validate_segment({"key": "k", "else": "a", "buckets": [
            {"label": "a", "criterion": {"kind": "did_event", "event": "login"}}]},
            version.schema())
