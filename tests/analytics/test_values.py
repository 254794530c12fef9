"""The one typed-value parser behind the forms' criterion values."""

from __future__ import annotations

import pytest

from analytics.engine import values


@pytest.mark.parametrize(("text", "kind", "value"), [
    (" 12 ", "integer", 12), ("-3", "number", -3), ("2.5", "float", 2.5),
    ("1e3", "number", 1000.0), (".5", "number", 0.5), ("Yes", "boolean", True),
    ("0", "boolean", False), ("  pro ", "text", "pro"),
    ("2024-05-01", "timestamp", "2024-05-01"),
])
def test_values_are_typed_by_the_property(text, kind, value):
    parsed = values.parse_value(text, kind)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(("text", "kind"), [("inf", "number"), ("nan", "float"),
                                            ("1_000", "integer"), ("", "number"),
                                            ("maybe", "boolean")])
def test_what_is_not_of_the_kind_is_refused_or_kept_as_typed_when_lenient(text, kind):
    with pytest.raises(values.BadValue) as refused:
        values.parse_value(text, kind)
    assert refused.value.status == 400 and text in refused.value.message
    assert values.parse_value(text, kind, lenient=True) == text


def test_lists_ranges_and_operators_without_a_value():
    assert values.parse_list("free, ,pro,", "text") == ["free", "pro"]
    assert values.parse_range("10 and 50", "number") == [10, 50]
    assert values.parse_for_operator("1, 2.5", "number", "between") == [1, 2.5]
    assert values.parse_for_operator("anything", "number", "is_set") is None
    with pytest.raises(values.BadValue, match="two values"):
        values.parse_range("1, 2, 3", "number")
