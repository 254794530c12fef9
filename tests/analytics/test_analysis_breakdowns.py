"""Breakdowns: bucket order and labels, (other) and (none), bins with empty buckets, metric
breakdowns, each bucket against all other users, and the k x 2 chi-square."""

from datetime import UTC, datetime, timedelta

import pytest
from scipy.stats import chi2_contingency

from analytics.engine import stats
from analytics.engine.analysis import analyze
from analytics.engine.breakdowns import bin_labels
from tests.analytics.builders import build_dataset

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SUCCESS = {"events": ["purchase"]}


def dataset(tmp_path, users, events_per_user=None):
    """Every user signs up; users whose id is in `buyers` purchase."""
    events = []
    for user in users:
        events.append({"user_id": user["user_id"], "event": "signup", "timestamp": T0})
        for k in range((events_per_user or {}).get(user["user_id"], 0)):
            events.append({"user_id": user["user_id"], "event": "login",
                           "timestamp": T0 + timedelta(hours=k + 1)})
        if user.pop("buys", False):
            events.append({"user_id": user["user_id"], "event": "purchase",
                           "timestamp": T0 + timedelta(days=1)})
    return build_dataset(tmp_path, events, users)


def labels(result):
    return [b["label"] for b in result["buckets"]]


def test_values_most_users_first_ties_by_label_none_last(tmp_path):
    plans = ["pro"] * 3 + ["free"] * 5 + ["basic"] * 3 + [None] * 2
    users = [{"user_id": f"u{i}", "plan": p, "buys": i % 2 == 0} for i, p in enumerate(plans)]
    result = analyze(dataset(tmp_path, users), SUCCESS, breakdown={"property": "plan"})
    assert labels(result) == ["free", "basic", "pro", "(none)"]
    assert [b["users"] for b in result["buckets"]] == [5, 3, 3, 2]
    assert "(other)" not in labels(result)


def test_numbers_are_labelled_without_trailing_zero(tmp_path):
    values = [1.0, 1.0, 2.5, 10.0, None]
    users = [{"user_id": f"u{i}", "score": v, "adult": i % 2 == 0, "visits": 3 if i else 12,
              "buys": i == 1} for i, v in enumerate(values)]
    version = dataset(tmp_path, users)
    assert labels(analyze(version, SUCCESS, breakdown={"property": "score"})) == [
        "1", "10", "2.5", "(none)"]
    assert labels(analyze(version, SUCCESS, breakdown={"property": "adult"})) == [
        "true", "false"]
    assert labels(analyze(version, SUCCESS, breakdown={"property": "visits"})) == ["3", "12"]


def test_past_twenty_values_the_rest_is_other_before_none(tmp_path):
    users = []
    for value in range(25):  # value v has 30 - v users, so 0..19 are the top twenty
        for k in range(30 - value):
            users.append({"user_id": f"u{value}-{k}", "city": f"c{value:02d}", "buys": k < 5})
    users += [{"user_id": f"n{k}", "city": None, "buys": True} for k in range(4)]
    result = analyze(dataset(tmp_path, users), SUCCESS, breakdown={"property": "city"})
    assert labels(result) == [f"c{v:02d}" for v in range(20)] + ["(other)", "(none)"]
    other = result["buckets"][20]
    assert other["users"] == sum(30 - v for v in range(20, 25))
    assert other["successes"] == 5 * 5
    assert sum(b["users"] for b in result["buckets"]) == result["population"]["users"]


def test_ties_at_the_twentieth_place_are_broken_by_label(tmp_path):
    users = [{"user_id": f"u{v}-{k}", "tag": f"t{v:02d}", "buys": k == 0}
             for v in range(30) for k in range(2)]
    result = analyze(dataset(tmp_path, users), SUCCESS, breakdown={"property": "tag"})
    assert labels(result) == [f"t{v:02d}" for v in range(20)] + ["(other)"]
    assert result["buckets"][-1]["users"] == 20


def test_bins_keep_empty_buckets_in_order_and_edges_go_up(tmp_path):
    ages = [17, 18, 24, 25, 60, None, 49.9, 50]
    users = [{"user_id": f"u{i}", "age": a, "buys": i % 3 == 0} for i, a in enumerate(ages)]
    users.append({"user_id": "u-mid", "age": 36.0})
    result = analyze(dataset(tmp_path, users), SUCCESS,
                     breakdown={"property": "age", "bins": [18, 25, 35, 50]})
    assert labels(result) == ["< 18", "18-25", "25-35", "35-50", ">= 50", "(none)"]
    assert [b["users"] for b in result["buckets"]] == [1, 2, 1, 2, 2, 1]
    empty = analyze(dataset(tmp_path / "2", [{"user_id": "a", "age": 5, "buys": True}]),
                    SUCCESS,
                    breakdown={"property": "age", "bins": [10]})
    assert [(b["label"], b["users"]) for b in empty["buckets"]] == [
        ("< 10", 1), (">= 10", 0), ("(none)", 0)]
    assert empty["buckets"][1]["p_value"] is None and empty["buckets"][1]["note"]


def test_bin_labels_are_stable_and_keep_minus_signs():
    assert bin_labels([1, 3, 10]) == ["< 1", "1-3", "3-10", ">= 10", "(none)"]
    assert bin_labels([-5, 0, 2.5]) == ["< -5", "-5 to 0", "0-2.5", ">= 2.5", "(none)"]


def test_metric_breakdown_with_bins(tmp_path):
    logins = {"u0": 0, "u1": 1, "u2": 2, "u3": 3, "u4": 9, "u5": 10}
    users = [{"user_id": u, "buys": n >= 3} for u, n in logins.items()]
    result = analyze(dataset(tmp_path, users, logins), SUCCESS, breakdown={
        "metric": {"kind": "event_count", "event": "login", "within_days": 7},
        "bins": [1, 3, 10]})
    assert [(b["label"], b["users"], b["successes"]) for b in result["buckets"]] == [
        ("< 1", 1, 0), ("1-3", 2, 0), ("3-10", 2, 2), (">= 10", 1, 1), ("(none)", 0, 0)]


def test_metric_breakdown_by_value(tmp_path):
    logins = {"u0": 0, "u1": 1, "u2": 1, "u3": 2}
    users = [{"user_id": u, "buys": u == "u0"} for u in logins]
    result = analyze(dataset(tmp_path, users, logins), SUCCESS,
                     breakdown={"metric": {"kind": "event_count", "event": "login"}})
    assert [(b["label"], b["users"]) for b in result["buckets"]] == [
        ("1", 2), ("0", 1), ("2", 1)]


def test_each_bucket_against_all_other_users_and_chi_square(tmp_path):
    users = []
    for plan, n, buyers in (("free", 120, 20), ("pro", 80, 30), ("team", 3, 1),
                            ("biz", 50, 25)):
        users += [{"user_id": f"{plan}{k}", "plan": plan, "buys": k < buyers}
                  for k in range(n)]
    users += [{"user_id": f"none{k}", "plan": None, "buys": k < 10} for k in range(40)]
    result = analyze(dataset(tmp_path, users), SUCCESS, breakdown={"property": "plan"})
    n_all, x_all = result["population"]["users"], result["population"]["successes"]
    assert (n_all, x_all) == (293, 86)
    for bucket in result["buckets"]:
        n, x = bucket["users"], bucket["successes"]
        expected = stats.compare(x, n, x_all - x, n_all - n)
        assert {k: bucket[k] for k in expected} == expected
        assert bucket["ci95"] == stats.wilson_interval(x, n)
    assert [b["test"] for b in result["buckets"]][-2:] == ["fisher", "z"]  # team, (none)
    table = [[b["successes"], b["users"] - b["successes"]] for b in result["buckets"]]
    assert result["p_value"] == pytest.approx(chi2_contingency(table, correction=False)[1],
                                              rel=1e-9)


def test_chi_square_skips_empty_buckets(tmp_path):
    users = [{"user_id": f"u{i}", "age": 20 + i % 30, "buys": i % 4 == 0} for i in range(120)]
    result = analyze(dataset(tmp_path, users), SUCCESS,
                     breakdown={"property": "age", "bins": [10, 30, 100, 200]})
    rows = [[b["successes"], b["users"] - b["successes"]] for b in result["buckets"]
            if b["users"]]
    assert len(rows) == 2 < len(result["buckets"])
    assert result["p_value"] == pytest.approx(chi2_contingency(rows, correction=False)[1])


def test_one_bucket_has_no_chi_square_and_says_why(tmp_path):
    users = [{"user_id": f"u{i}", "plan": "pro", "buys": i % 2 == 0} for i in range(10)]
    result = analyze(dataset(tmp_path, users), SUCCESS, breakdown={"property": "plan"})
    assert result["p_value"] is None and result["note"]


def test_breakdown_within_a_population_filter_and_unsuccessful(tmp_path):
    users = [{"user_id": f"u{i}", "plan": ["free", "pro"][i % 2], "age": i, "buys": i % 3 == 0}
             for i in range(60)]
    version = dataset(tmp_path, users)
    adults = {"kind": "property", "property": "age", "op": ">=", "value": 18}
    result = analyze(version, SUCCESS, breakdown={"property": "plan"},
                     population_filter=adults)
    assert result["population"]["users"] == 42
    assert sum(b["users"] for b in result["buckets"]) == 42
    failures = analyze(version, SUCCESS, breakdown={"property": "plan"},
                       population_filter=adults, unsuccessful=True)
    for win, lose in zip(result["buckets"], failures["buckets"], strict=True):
        assert lose["successes"] == win["users"] - win["successes"]


def test_breakdown_leaves_out_incomplete_windows(tmp_path):
    events = [{"user_id": "old", "event": "signup", "timestamp": T0},
              {"user_id": "new", "event": "signup", "timestamp": T0 + timedelta(days=10)}]
    version = build_dataset(tmp_path, events, [{"user_id": "old", "plan": "a"},
                                               {"user_id": "new", "plan": "b"}])
    result = analyze(version, {"events": ["signup"], "within_days": 7},
                     breakdown={"property": "plan"})
    assert labels(result) == ["a"]
    assert result["population"]["excluded_incomplete"] == 1
