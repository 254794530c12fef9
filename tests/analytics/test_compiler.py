"""Criteria on user properties: every operator, the null rules, all/any/not."""

import pytest

from analytics.engine.definitions import DefinitionError
from tests.analytics.builders import build_dataset, members

USERS = [
    {"user_id": "ann", "plan": "pro", "age": 30, "trial": True, "score": 1.5,
     "joined": "2026-01-10T00:00:00+00:00"},
    {"user_id": "bob", "plan": "free", "age": 18, "trial": False, "score": 2.0,
     "joined": "2026-01-01T00:00:00+00:00"},
    {"user_id": "cat", "plan": "business", "age": 45, "trial": None, "score": None,
     "joined": None},
    {"user_id": "dan", "plan": None, "age": None, "trial": True, "score": -1.0,
     "joined": "2026-02-01T12:00:00+02:00"},
]
EVENTS = [{"user_id": "ann", "event": "signup", "timestamp": "2026-01-10T00:00:00+00:00"}]


@pytest.fixture(scope="module")
def version(tmp_path_factory):
    return build_dataset(tmp_path_factory.mktemp("users"), EVENTS, USERS,
                         user_property_types={"joined": "timestamp"})


def prop(name, op, value=None):
    criterion = {"kind": "property", "property": name, "op": op}
    if value is not None:
        criterion["value"] = value
    return criterion


@pytest.mark.parametrize("criterion, expected", [
    (prop("plan", "=", "pro"), {"ann"}),
    (prop("plan", "!=", "pro"), {"bob", "cat"}),  # dan's null plan: false
    (prop("age", "<", 30), {"bob"}),
    (prop("age", "<=", 30), {"ann", "bob"}),
    (prop("age", ">", 30), {"cat"}),
    (prop("age", ">=", 30), {"ann", "cat"}),
    (prop("age", "=", 30.0), {"ann"}),
    (prop("age", ">", 29.5), {"ann", "cat"}),
    (prop("plan", "in", ["pro", "free"]), {"ann", "bob"}),
    (prop("plan", "not_in", ["pro", "free"]), {"cat"}),
    (prop("age", "between", [18, 30]), {"ann", "bob"}),
    (prop("age", "is_set"), {"ann", "bob", "cat"}),
    (prop("age", "is_not_set"), {"dan"}),
    (prop("plan", "contains", "r"), {"ann", "bob"}),
    (prop("plan", "contains", "e"), {"bob", "cat"}),
    (prop("plan", "contains", "Pro"), set()),  # case-sensitive
    (prop("plan", "<", "g"), {"bob", "cat"}),  # text compares in code-point order
    (prop("trial", "=", True), {"ann", "dan"}),
    (prop("trial", "!=", True), {"bob"}),
    (prop("trial", "is_not_set"), {"cat"}),
    (prop("score", "<", 0), {"dan"}),
    (prop("score", "between", [1.5, 2]), {"ann", "bob"}),
    (prop("joined", ">=", "2026-01-10T00:00:00Z"), {"ann", "dan"}),
    # offsets honoured: 12:00+02:00 is 10:00 UTC
    (prop("joined", "<", "2026-02-01T10:00:00+00:00"), {"ann", "bob"}),
    (prop("joined", "<=", "2026-02-01T10:00:00"), {"ann", "bob", "dan"}),
])
def test_every_operator_on_user_properties(version, criterion, expected):
    assert members(version, criterion) == expected


def test_not_of_a_condition_on_null_is_true(version):
    assert members(version, {"not": prop("plan", "=", "pro")}) == {"bob", "cat", "dan"}
    assert members(version, {"not": prop("plan", "!=", "pro")}) == {"ann", "dan"}
    assert members(version, {"not": prop("age", "is_not_set")}) == {"ann", "bob", "cat"}


def test_all_any_not_combine(version):
    pro_or_old = {"any": [prop("plan", "=", "pro"), prop("age", ">", 40)]}
    assert members(version, pro_or_old) == {"ann", "cat"}
    assert members(version, {"all": [pro_or_old, prop("trial", "=", True)]}) == {"ann"}
    assert members(version, {"not": {"all": [pro_or_old, prop("trial", "=", True)]}}) == {
        "bob", "cat", "dan"}
    assert members(version, {"all": [{"not": pro_or_old}, {"not": {"not": prop(
        "trial", "=", True)}}]}) == {"dan"}


def test_users_only_in_events_have_null_properties(tmp_path):
    version = build_dataset(tmp_path, [*EVENTS, {"user_id": "eve", "event": "signup",
                                                 "timestamp": "2026-01-11T00:00:00Z"}], USERS)
    assert "eve" in members(version, prop("plan", "is_not_set"))
    assert "eve" not in members(version, prop("plan", "!=", "pro"))


def test_values_are_bound_never_spliced(version):
    sneaky = "pro' OR 1=1 --"
    assert members(version, prop("plan", "=", sneaky)) == set()
    assert members(version, prop("plan", "in", [sneaky, "free"])) == {"bob"}


def test_property_names_with_quotes_are_quoted(tmp_path):
    version = build_dataset(tmp_path, EVENTS, [{"user_id": "ann", 'we"ird name': 1},
                                               {"user_id": "bob", 'we"ird name': 2}])
    assert members(version, prop('we"ird name', ">", 1)) == {"bob"}


def test_type_mismatch_is_a_definition_error_not_a_crash(version):
    with pytest.raises(DefinitionError, match="age is a number; 'abc' is not"):
        members(version, prop("age", ">", "abc"))
