"""Validation and plain-words descriptions of definitions: no data is read."""

import pytest

from analytics.engine.definitions import (
    DefinitionError,
    criterion_window_days,
    describe_breakdown,
    describe_criterion,
    describe_success,
    validate_breakdown,
    validate_criterion,
    validate_success,
)
from analytics.engine.storage import DatasetSchema

SCHEMA = DatasetSchema(
    n_users=10, n_events=100, data_start="2026-01-01T00:00:00+00:00",
    data_end="2026-03-01T00:00:00+00:00",
    events={"signup": 10, "login": 50, "purchase": 20, "export": 20},
    event_properties={"amount": "float", "device": "text", "coupon": "boolean",
                      "quantity": "integer", "shipped_at": "timestamp"},
    user_properties={"plan": "text", "age": "integer", "trial": "boolean",
                     "signed_up_at": "timestamp", "score": "float"},
)


def error_of(function, definition) -> str:
    with pytest.raises(DefinitionError) as caught:
        function(definition, SCHEMA)
    return str(caught.value)


# ------------------------------------------------------------------ success


def test_success_is_normalized_with_defaults_left_out():
    assert validate_success({"events": ["purchase"]}, SCHEMA) == {
        "events": ["purchase"], "match": "any"}
    assert validate_success({"events": "purchase", "match": "all", "within_days": 14,
                             "where": [{"property": "amount", "op": ">", "value": 0}],
                             "complete_windows": False}, SCHEMA) == {
        "events": ["purchase"], "match": "all", "within_days": 14,
        "where": [{"property": "amount", "op": ">", "value": 0}], "complete_windows": False}


def test_success_normalization_is_idempotent_and_dedupes_events():
    once = validate_success({"events": ["purchase", "export", "purchase"],
                             "complete_windows": True, "where": []}, SCHEMA)
    assert once == {"events": ["purchase", "export"], "match": "any"}
    assert validate_success(once, SCHEMA) == once


def test_success_from_a_user_property():
    assert validate_success({"property": "trial", "op": "=", "value": True}, SCHEMA) == {
        "property": "trial", "op": "=", "value": True}
    assert "plan is text; 3 is not" in error_of(
        validate_success, {"property": "plan", "op": "=", "value": 3})


@pytest.mark.parametrize("success, message", [
    ({"events": ["purchse"]}, "unknown event 'purchse'; did you mean 'purchase'?"),
    ({"events": []}, "non-empty list"),
    ({"events": ["purchase"], "match": "some"}, "'any' or 'all'"),
    ({"events": ["purchase"], "within_days": 0}, "whole number of days"),
    ({"events": ["purchase"], "within_days": 2.5}, "whole number of days"),
    ({"events": ["purchase"], "within_days": True}, "whole number of days"),
    ({"events": ["purchase"], "withn_days": 3}, "did you mean 'within_days'?"),
    ({"events": ["purchase"], "complete_windows": "no"}, "true or false"),
    ({"events": ["purchase"], "where": [{"property": "amout", "op": ">", "value": 1}]},
     "unknown event property 'amout'; did you mean 'amount'?"),
    ({"events": ["purchase"], "where": {"property": "amount"}}, "list of conditions"),
    ({"property": "plam", "op": "=", "value": "pro"}, "did you mean 'plan'?"),
    ("purchase", "JSON object"),
])
def test_bad_success_definitions_say_what_is_wrong(success, message):
    assert message in error_of(validate_success, success)


# ------------------------------------------------------------------ criteria


def test_every_kind_validates_and_normalizes():
    cases = [
        ({"kind": "property", "property": "plan", "op": "=", "value": "pro"}, None),
        ({"kind": "event_count", "event": "login", "op": ">=", "value": 3, "within_days": 7,
          "where": [{"property": "device", "op": "in", "value": ["mobile", "tablet"]}]}, None),
        ({"kind": "did_event", "event": "export", "within_days": 7, "did": True},
         {"kind": "did_event", "event": "export", "within_days": 7}),
        ({"kind": "did_event", "event": "export", "did": False}, None),
        ({"kind": "event_property", "event": "purchase", "property": "amount", "agg": "avg",
          "op": ">=", "value": 50}, None),
        ({"kind": "first_event_property", "property": "device", "op": "=", "value": "mobile"},
         None),
        ({"kind": "session_count", "op": ">=", "value": 2, "within_days": 30,
          "session_gap_minutes": 30}, {"kind": "session_count", "op": ">=", "value": 2,
                                       "within_days": 30}),
        ({"kind": "time_in_app", "op": ">=", "value": 30, "within_days": 7,
          "session_gap_minutes": 10}, None),
        ({"kind": "property", "property": "age", "op": "is_set"}, None),
        ({"kind": "property", "property": "age", "op": "is_not_set", "value": None},
         {"kind": "property", "property": "age", "op": "is_not_set"}),
    ]
    for given, expected in cases:
        normalized = validate_criterion(given, SCHEMA)
        assert normalized == (expected or given)
        assert validate_criterion(normalized, SCHEMA) == normalized


def test_combinations_validate_recursively():
    leaf = {"kind": "property", "property": "plan", "op": "=", "value": "pro"}
    criterion = {"all": [leaf, {"any": [leaf, {"not": leaf}]}]}
    assert validate_criterion(criterion, SCHEMA) == criterion
    bad = {"all": [leaf, {"any": [{"not": {**leaf, "property": "plna"}}]}]}
    assert "did you mean 'plan'?" in error_of(validate_criterion, bad)


@pytest.mark.parametrize("criterion, message", [
    ({"kind": "property", "property": "age", "op": ">", "value": "abc"},
     "age is a number; 'abc' is not"),
    ({"kind": "property", "property": "age", "op": ">", "value": True},
     "age is a number; True is not"),
    ({"kind": "property", "property": "age", "op": ">", "value": float("nan")}, "is not"),
    ({"kind": "property", "property": "age", "op": "=", "value": 2**70}, "too large"),
    ({"kind": "property", "property": "trial", "op": ">", "value": True}, "does not apply"),
    ({"kind": "property", "property": "age", "op": "contains", "value": "1"},
     "does not apply"),
    ({"kind": "property", "property": "age", "op": "in", "value": 3}, "non-empty list"),
    ({"kind": "property", "property": "age", "op": "in", "value": []}, "non-empty list"),
    ({"kind": "property", "property": "age", "op": "in", "value": [1, "x"]}, "'x' is not"),
    ({"kind": "property", "property": "age", "op": "between", "value": [1]}, "[low, high]"),
    ({"kind": "property", "property": "age", "op": "between", "value": [5, 1]},
     "low <= high"),
    ({"kind": "property", "property": "age", "op": "is_set", "value": 3}, "takes no value"),
    ({"kind": "property", "property": "age", "op": ">"}, "'>' needs a value for age"),
    ({"kind": "property", "property": "age", "op": "=>", "value": 3},
     "unknown operator '=>'; did you mean"),
    ({"kind": "property", "property": "signed_up_at", "op": ">", "value": "yesterday"},
     "a timestamp"),
    ({"kind": "propery", "property": "age", "op": "=", "value": 3},
     "unknown criterion kind 'propery'; did you mean 'property'"),
    ({"property": "age", "op": "=", "value": 3}, "needs a 'kind'"),
    ({"kind": "event_count", "event": "logn", "op": ">=", "value": 3},
     "unknown event 'logn'; did you mean 'login'?"),
    ({"kind": "event_count", "event": "login", "op": ">=", "value": "3"},
     "login is a number; '3' is not"),
    ({"kind": "event_count", "event": "login", "op": ">=", "value": 3, "within": 7},
     "did you mean 'within_days'?"),
    ({"kind": "did_event", "event": "login", "did": "yes"}, "true or false"),
    ({"kind": "event_property", "event": "purchase", "property": "device", "agg": "avg",
      "op": ">", "value": 1}, "avg needs a numeric property; device is text"),
    ({"kind": "event_property", "event": "purchase", "property": "amount", "agg": "mean",
      "op": ">", "value": 1}, "unknown aggregate 'mean'"),
    ({"kind": "event_property", "event": "purchase", "property": "device", "agg": "max",
      "op": ">", "value": 1}, "device is text; 1 is not"),
    ({"kind": "first_event_property", "property": "plan", "op": "=", "value": "x"},
     "unknown event property 'plan'"),
    ({"kind": "session_count", "op": ">=", "value": 2, "session_gap_minutes": 0},
     "positive number of minutes"),
    ({"kind": "session_count", "event": "login", "op": ">=", "value": 2},
     "unknown key in a session_count criterion: 'event'"),
    ({"all": []}, "non-empty list"),
    ({"all": [{"kind": "property", "property": "age", "op": "is_set"}], "kind": "property"},
     "unknown key"),
    ([], "JSON object"),
])
def test_bad_criteria_say_what_is_wrong(criterion, message):
    assert message in error_of(validate_criterion, criterion)


def test_unknown_names_without_close_matches_list_known_ones():
    message = error_of(validate_criterion, {"kind": "did_event", "event": "zzzz"})
    assert "known: export, login, purchase, signup" in message


def test_timestamp_values_accept_iso_with_or_without_offset():
    for value in ("2026-01-01T00:00:00+02:00", "2026-01-01", "2026-01-01T10:00:00Z"):
        criterion = {"kind": "property", "property": "signed_up_at", "op": ">", "value": value}
        assert validate_criterion(criterion, SCHEMA)["value"] == value


def test_integer_property_accepts_float_values():
    criterion = {"kind": "property", "property": "age", "op": ">=", "value": 17.5}
    assert validate_criterion(criterion, SCHEMA) == criterion


def test_deep_nesting_is_a_clean_error_not_a_recursion_error():
    criterion: dict = {"kind": "property", "property": "age", "op": "is_set"}
    for _ in range(1000):
        criterion = {"not": criterion}
    assert "nested too deeply" in error_of(validate_criterion, criterion)
    shallow: dict = {"kind": "property", "property": "age", "op": "is_set"}
    for _ in range(33):
        shallow = {"not": shallow}
    assert "at most 32 deep" in error_of(validate_criterion, shallow)
    ok: dict = {"kind": "property", "property": "age", "op": "is_set"}
    for _ in range(32):
        ok = {"all": [ok]}
    assert validate_criterion(ok, SCHEMA) == ok


def test_huge_definitions_are_a_clean_error():
    values = [12345] * 2_000_000  # 14 MB of JSON
    criterion = {"kind": "property", "property": "age", "op": "in", "value": values}
    assert "too large" in error_of(validate_criterion, criterion)
    long_text = {"kind": "property", "property": "plan", "op": "=", "value": "x" * 10_000_001}
    assert "too long" in error_of(validate_criterion, long_text)
    assert "too large" in error_of(validate_success, {"events": ["login"] * 30_000})


def test_non_json_values_are_refused():
    criterion = {"kind": "property", "property": "age", "op": "=", "value": {1, 2}}
    assert "not JSON" in error_of(validate_criterion, criterion)


# ------------------------------------------------------------------ breakdowns


def test_breakdowns_validate():
    assert validate_breakdown({"property": "plan"}, SCHEMA) == {"property": "plan"}
    assert validate_breakdown({"breakdown": {"property": "age", "bins": [18, 25]}},
                              SCHEMA) == {"property": "age", "bins": [18, 25]}
    metric = {"metric": {"kind": "event_count", "event": "login", "within_days": 7},
              "bins": [1, 3, 10]}
    assert validate_breakdown(metric, SCHEMA) == metric
    assert validate_breakdown({"metric": {"kind": "first_event_property",
                                          "property": "device"}}, SCHEMA)


@pytest.mark.parametrize("breakdown, message", [
    ({"property": "plan", "bins": [1, 2]}, "bins need numbers, and plan is text"),
    ({"property": "age", "bins": [3, 3]}, "strictly increasing"),
    ({"property": "age", "bins": []}, "non-empty list"),
    ({"property": "age", "bins": ["a"]}, "bins are numbers"),
    ({"property": "agee"}, "did you mean 'age'?"),
    ({"metric": {"kind": "event_count", "event": "login", "op": ">", "value": 1}},
     "unknown key"),
    ({"metric": {"kind": "property", "property": "age"}}, "unknown metric kind"),
    ({"metric": {"kind": "first_event_property", "property": "device"}, "bins": [1]},
     "bins need numbers"),
    ({"property": "age", "bin": [1]}, "did you mean 'bins'?"),
])
def test_bad_breakdowns_say_what_is_wrong(breakdown, message):
    assert message in error_of(validate_breakdown, breakdown)


# ------------------------------------------------------------------ descriptions


def test_descriptions_read_as_plain_words():
    assert describe_success({"events": ["purchase"], "match": "any", "within_days": 14}) == \
        "did purchase within 14 days of first visit"
    assert describe_success({"events": ["signup", "purchase"], "match": "all",
                             "where": [{"property": "amount", "op": ">", "value": 0}]}) == \
        "did signup and purchase (amount > 0)"
    assert describe_criterion({"kind": "event_count", "event": "login", "op": ">=",
                               "value": 3, "within_days": 7}) == \
        "3 or more login events in the first 7 days"
    assert describe_criterion({"kind": "did_event", "event": "export", "did": False,
                               "within_days": 1}) == "did not do export in the first 1 day"
    assert describe_criterion({"any": [
        {"kind": "property", "property": "plan", "op": "in", "value": ["pro", "business"]},
        {"not": {"kind": "time_in_app", "op": ">", "value": 30.0}}]}) == \
        "plan is pro or business or not (more than 30 minutes in the app)"
    assert describe_criterion({"kind": "event_property", "event": "purchase",
                               "property": "amount", "agg": "avg", "op": ">=",
                               "value": 50}) == "average amount of purchase events >= 50"
    assert describe_breakdown({"metric": {"kind": "event_count", "event": "login",
                                          "within_days": 7}, "bins": [1, 3.0]}) == \
        "by number of login events in the first 7 days (bins at 1, 3)"


def test_criterion_window_days_is_the_largest_window():
    assert criterion_window_days({"kind": "property", "property": "age", "op": "is_set"}) \
        is None
    assert criterion_window_days({"all": [
        {"kind": "did_event", "event": "login", "within_days": 7},
        {"not": {"kind": "session_count", "op": ">", "value": 1, "within_days": 30}}]}) == 30
