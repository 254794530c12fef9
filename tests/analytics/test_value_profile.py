"""The values in the data (analytics/engine/value_profile.py) on a tiny literal dataset,
against a straightforward Python computation; the warnings a criterion's values get from
a stored profile; the quick count against analyze()."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from analytics.engine import analysis, value_profile
from analytics.engine.value_warnings import closest_values, value_warnings
from tests.analytics.builders import build_dataset

START = datetime(2026, 3, 2, 9, 0)
COUNTRIES = ["US", "US", "US", "DE", "DE", "FR", None, "US", "GB", "DE"]
AGES = [31, 22, 45, None, 19, 60, 33, 27, 41, 38]
USERS = [{"user_id": f"u{i}", "country": c, "age": a, "pro": i % 3 == 0}
         for i, (c, a) in enumerate(zip(COUNTRIES, AGES, strict=True))]
# Each user: a signup on their own device; u0..u3 buy once or twice with amounts.
DEVICES = ["ios", "android", "web", "ios", "web", "web", "android", "ios", "web", "ios"]
EVENTS = [{"user_id": f"u{i}", "event": "signup", "device": d,
           "timestamp": (START + timedelta(hours=i)).isoformat() + "+00:00"}
          for i, d in enumerate(DEVICES)]
EVENTS += [{"user_id": f"u{i}", "event": "purchase", "device": DEVICES[i], "amount": amount,
            "timestamp": (START + timedelta(days=1, hours=k)).isoformat() + "+00:00"}
           for k, (i, amount) in enumerate([(0, 10.0), (0, 30.0), (1, 20.0), (2, 5.5),
                                            (3, 99.0)])]


def quartiles(values: list[float]) -> list[float]:
    # DuckDB's quantile_cont interpolates as statistics' "inclusive" method does.
    return statistics.quantiles(values, n=4, method="inclusive")


@pytest.fixture
def version(tmp_path):
    return build_dataset(tmp_path, EVENTS, USERS,
                         event_property_types={"amount": "float", "device": "text"})


def python_top(pairs: list[tuple[str, object]]) -> list[list]:
    users: dict[object, set] = defaultdict(set)
    for uid, value in pairs:
        if value is not None:
            users[value].add(uid)
    return sorted(([v, len(u)] for v, u in users.items()), key=lambda r: (-r[1], r[0]))


def test_profile_equals_a_python_computation(version):
    profile = value_profile.value_profile(version)
    country = profile["user_properties"]["country"]
    assert country["type"] == "text"
    assert country["top"] == python_top([(u["user_id"], u["country"]) for u in USERS])
    assert country["top"][0] == ["US", 4]
    assert country["distinct"] == 4 and country["users"] == 9 and country["complete"]

    age = profile["user_properties"]["age"]
    known = [a for a in AGES if a is not None]
    assert (age["min"], age["max"]) == (min(known), max(known))
    assert age["quartiles"] == pytest.approx(quartiles(known))
    assert age["top"] == python_top([(u["user_id"], u["age"]) for u in USERS])

    pro = profile["user_properties"]["pro"]
    assert pro["top"] == python_top([(u["user_id"], u["pro"]) for u in USERS])

    device = profile["event_properties"]["device"]
    # Distinct users, not events: u0 has three "ios" events and counts once.
    assert device["top"] == python_top([(e["user_id"], e["device"]) for e in EVENTS])
    amount = profile["event_properties"]["amount"]
    amounts = [e["amount"] for e in EVENTS if e.get("amount") is not None]
    assert (amount["min"], amount["max"]) == (5.5, 99)
    assert amount["quartiles"] == pytest.approx(quartiles(amounts))
    assert amount["users"] == 4 and "top" not in amount  # floats are not listed


def test_top_values_are_capped_and_say_so(tmp_path, monkeypatch):
    monkeypatch.setattr(value_profile, "TOP_VALUES", 3)
    version = build_dataset(tmp_path, EVENTS, USERS)
    country = value_profile.value_profile(version)["user_properties"]["country"]
    assert [v for v, _ in country["top"]] == ["US", "DE", "FR"]
    assert not country["complete"]


PROFILE = {"top_limit": 50, "user_properties": {
    "country": {"type": "text", "distinct": 3, "top": [["US", 40], ["DE", 9], ["FR", 2]],
                "complete": True},
    "city": {"type": "text", "distinct": 900, "top": [["Berlin", 40]], "complete": False},
    "age": {"type": "integer", "distinct": 40, "min": 18, "max": 77,
            "quartiles": [25, 31, 44], "top": [[30, 3]], "complete": True},
}, "event_properties": {"device": {"type": "text", "distinct": 2,
                                   "top": [["ios", 5], ["android", 3]], "complete": True}}}


def test_a_value_that_does_not_occur_warns_with_the_closest():
    warnings = value_warnings({"kind": "property", "property": "country", "op": "=",
                               "value": "USA"}, PROFILE)
    assert warnings == ["'USA' does not occur in country; closest: 'US'"]
    assert value_warnings({"kind": "property", "property": "country", "op": "=",
                           "value": "US"}, PROFILE) == []


def test_every_place_a_value_is_compared_is_checked():
    criterion = {"all": [
        {"not": {"kind": "property", "property": "country", "op": "in",
                 "value": ["de", "US", "Spain"]}},
        {"kind": "did_event", "event": "signup",
         "where": [{"property": "device", "op": "=", "value": "iOS"}]},
        {"kind": "first_event_property", "property": "device", "op": "!=", "value": "andriod"},
    ]}
    assert value_warnings(criterion, PROFILE) == [
        "'de' does not occur in country; closest: 'DE'",
        "'Spain' does not occur in country",
        "'iOS' does not occur in device; closest: 'ios'",
        "'andriod' does not occur in device; closest: 'android'",
    ]


def test_a_property_with_rarer_values_is_not_said_to_lack_one():
    [warning] = value_warnings({"kind": "property", "property": "city", "op": "=",
                                "value": "Berlim"}, PROFILE)
    assert "may be among the rarer values" in warning and "does not occur" not in warning
    assert "closest: 'Berlin'" in warning


def test_numbers_outside_the_data_warn():
    assert value_warnings({"kind": "property", "property": "age", "op": "=", "value": 700},
                          PROFILE) == ["700 is outside the values of age (18 to 77)"]
    assert value_warnings({"kind": "property", "property": "age", "op": ">", "value": 80},
                          PROFILE) == ["no value of age is above 77, so no one has age > 80"]
    assert value_warnings({"kind": "property", "property": "age", "op": ">", "value": 40},
                          PROFILE) == []


def test_no_profile_no_warnings():
    assert value_warnings({"kind": "property", "property": "country", "op": "=",
                           "value": "USA"}, None) == []


def test_closest_values_ignore_case():
    assert closest_values("us", ["US", "DE", "USA"]) == ["US", "USA"]
    assert closest_values("zz", ["US", "DE"]) == []


def test_the_quick_count_equals_analyze(version):
    success = {"events": ["purchase"]}
    criterion = {"kind": "property", "property": "country", "op": "=", "value": "US"}
    counted = analysis.population_count(version, success, criterion=criterion)
    analyzed = analysis.analyze(version, success, criterion=criterion)
    assert counted["population"] == analyzed["population"]
    assert counted["group"] == {"users": analyzed["group"]["users"],
                                "successes": analyzed["group"]["successes"]}
    assert counted["group"]["users"] == 4
    none = analysis.population_count(version, success, criterion={
        "kind": "property", "property": "country", "op": "=", "value": "USA"})
    assert none["group"] == {"users": 0, "successes": 0}
    assert analysis.population_count(version, success) == {
        "population": analyzed["population"]}
