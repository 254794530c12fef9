"""Week-over-week moves (trends.week_changes) against scipy/statsmodels, and the column
profile (trends.dataset_profile) that the mapping guesses read."""

import pytest
from scipy.stats import fisher_exact
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from analytics.engine import trends
from tests.analytics.builders import build_dataset


def result_with(weeks, segments):
    return {"weeks": weeks, "segments": segments}


def week(name, users, successes, complete=True):
    return {"week": name, "users": users, "successes": successes,
            "excluded_incomplete": 0, "complete": complete}


WEEKS = [week("2026-01-05", 900, 180), week("2026-01-12", 1000, 200),
         week("2026-01-19", 1000, 260), week("2026-01-26", 800, 100, complete=False)]
SEGMENTS = [
    {"key": "device", "buckets": [
        {"label": "mobile", "weeks": [[400, 60], [500, 70], [500, 130], [400, 40]]},
        {"label": "desktop", "weeks": [[500, 120], [500, 130], [500, 130], [400, 60]]},
    ]},
    {"key": "tiny", "buckets": [
        {"label": "few", "weeks": [[3, 0], [4, 1], [5, 4], [0, 0]]},
        {"label": "empty", "weeks": [[0, 0], [0, 0], [0, 0], [0, 0]]},
    ]},
]


def test_latest_complete_week_against_the_one_before():
    changes = trends.week_changes(result_with(WEEKS, SEGMENTS))
    assert changes["week"] == "2026-01-19" and changes["previous_week"] == "2026-01-12"
    rows = {(r["segment"], r["bucket"]): r for r in changes["rows"]}
    assert list(rows)[0] == (trends.ALL_USERS, "all users")

    mobile = rows[("device", "mobile")]
    _, p = proportions_ztest([130, 70], [500, 500])
    assert mobile["test"] == "z" and mobile["p_value"] == pytest.approx(p, rel=1e-9)
    assert mobile["diff"] == pytest.approx(130 / 500 - 70 / 500)
    assert mobile["now"]["users"] == 500 and mobile["before"]["successes"] == 70

    few = rows[("tiny", "few")]
    assert few["test"] == "fisher"
    assert few["p_value"] == pytest.approx(fisher_exact([[4, 1], [1, 3]])[1], rel=1e-9)

    empty = rows[("tiny", "empty")]
    assert empty["p_value"] is None and empty["note"] and not empty["flagged"]

    tested = [r for r in changes["rows"] if r["p_value"] is not None]
    _, q, _, _ = multipletests([r["p_value"] for r in tested], method="fdr_bh")
    assert [r["q_value"] for r in tested] == pytest.approx(list(q), rel=1e-9)
    assert changes["tests"] == len(tested) == 4
    for row in changes["rows"]:
        assert row["flagged"] == (row["q_value"] is not None and row["q_value"] < 0.05)
    assert mobile["flagged"] and not rows[("device", "desktop")]["flagged"]
    assert changes["flagged"] == sum(r["flagged"] for r in changes["rows"])


def test_flags_use_q_not_p():
    # A move with p just under 0.05 among many null comparisons is not flagged.
    segments = [{"key": f"s{i}", "buckets": [
        {"label": "b", "weeks": [[1000, 200], [1000, 200 if i else 240]]}]} for i in range(20)]
    changes = trends.week_changes(result_with(WEEKS[:2], segments))
    moved = next(r for r in changes["rows"] if r["segment"] == "s0")
    assert moved["p_value"] < 0.05
    assert not moved["flagged"]


def test_empty_weeks_at_the_end_are_not_the_latest():
    weeks = [*WEEKS[:3], week("2026-01-26", 0, 0), week("2026-02-02", 0, 0, complete=False)]
    assert trends.latest_complete_week(result_with(weeks, [])) == 2


def test_nothing_to_compare_says_why():
    none_complete = trends.week_changes(result_with(
        [week("2026-01-05", 10, 1, complete=False)], []))
    assert none_complete["rows"] == [] and "no week is complete" in none_complete["note"]
    first_only = trends.week_changes(result_with([week("2026-01-05", 10, 1)], []))
    assert "no earlier week" in first_only["note"]


def test_a_chosen_week():  # the review page can look back at any week
    changes = trends.week_changes(result_with(WEEKS, SEGMENTS), week=1)
    assert changes["week"] == "2026-01-12"


def test_profile_reads_values_of_users_and_events(tmp_path):
    users = [{"user_id": f"u{i}", "device": ["mobile", "desktop", "tablet"][i % 3],
              "age": 20 + i, "vip": i % 2 == 0} for i in range(30)]
    events = [{"user_id": f"u{i}", "event": "purchase" if i % 2 else "login",
               "timestamp": f"2026-01-{1 + i % 20:02d}T10:00:00+00:00",
               "amount": float(i) if i % 2 else None, "channel": "web"} for i in range(30)]
    version = build_dataset(tmp_path, events, users)
    profile = trends.dataset_profile(version)
    device = profile["user_properties"]["device"]
    assert device["type"] == "text" and device["values"] == 3 and device["nulls"] == 0
    assert device["top"] == [["desktop", 10], ["mobile", 10], ["tablet", 10]]
    age = profile["user_properties"]["age"]
    assert (age["min"], age["max"]) == (20, 49)
    assert age["quantiles"] == [pytest.approx(27.25), pytest.approx(34.5), pytest.approx(41.75)]
    assert profile["user_properties"]["vip"]["top"] == [["false", 15], ["true", 15]]
    amount = profile["event_properties"]["amount"]
    assert amount["events"] == {"purchase": 15}
    assert amount["quantiles_by_event"]["purchase"][1] == pytest.approx(15.0)
    assert profile["event_properties"]["channel"]["events"] == {"login": 15, "purchase": 15}
