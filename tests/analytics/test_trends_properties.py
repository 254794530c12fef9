"""Property test: trends per week and bucket equal a plain Python count of the same rows."""

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.engine import trends
from tests.analytics.builders import build_dataset

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday

users_strategy = st.lists(
    st.fixed_dictionaries({
        "plan": st.sampled_from(["free", "pro", None]),
        "events": st.lists(st.tuples(st.sampled_from(["x", "y"]),
                                     st.integers(0, 30 * 24)), max_size=4),
    }), min_size=1, max_size=25)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(users=users_strategy)
def test_counts_match_plain_python(tmp_path_factory, users):
    users = [*users, {"plan": "pro", "events": [("x", 5)]}]  # the success event exists
    rows, events = [], []
    for i, user in enumerate(users):
        rows.append({"user_id": f"u{i}", "plan": user["plan"]})
        for name, hours in user["events"]:
            events.append({"user_id": f"u{i}", "event": name,
                           "timestamp": START + timedelta(hours=hours)})
    version = build_dataset(tmp_path_factory.mktemp("prop"), events, rows,
                            user_property_types={"plan": "text"})
    segment = {"key": "plan", "breakdown": {"property": "plan"}}
    result = trends.success_trends(version, {"events": ["x"]}, [segment])

    expected: Counter = Counter()
    for user in users:
        if not user["events"]:
            continue
        first = START + timedelta(hours=min(h for _, h in user["events"]))
        week = (first.date() - timedelta(days=first.weekday())).isoformat()
        succeeded = any(name == "x" for name, _ in user["events"])
        label = user["plan"] or "(none)"
        expected[(week, label, "users")] += 1
        expected[(week, label, "successes")] += succeeded
        expected[(week, None, "users")] += 1
        expected[(week, None, "successes")] += succeeded
    got: Counter = Counter()
    for index, week in enumerate(result["weeks"]):
        got[(week["week"], None, "users")] += week["users"]
        got[(week["week"], None, "successes")] += week["successes"]
        for bucket in result["segments"][0]["buckets"]:
            n, x = bucket["weeks"][index]
            got[(week["week"], bucket["label"], "users")] += n
            got[(week["week"], bucket["label"], "successes")] += x
    assert +got == +expected
