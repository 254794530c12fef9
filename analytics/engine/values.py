"""Values from what people type into forms: the value a criterion compares with, a list
for "in", two ends for "between", typed by the property they compare with.

One set of rules for every form (the success definition's, the explorer's builder, the
session's condition rows):
- a number is an int when written as a whole number ("12", "-3"), a float when written
  with a point or an exponent ("2.5", "1e3"); nothing else is a number (no "inf", "nan"
  or "1_000", which Python's float() would take);
- true or false is written true/yes/1 or false/no/0, in any case;
- text and timestamps are kept as typed, less the spaces around them;
- a list is comma-separated, empty parts left out; a range is two values separated by a
  comma or " and ".
Forms word their own messages from a BadValue; the engine's validation then checks the
value against the schema (definitions.md)."""

from __future__ import annotations

import re
from typing import Any

from analytics.engine.refusals import Refused

# The dataset schema's types and the engine's value type ("number") alike.
NUMBER_KINDS = frozenset({"integer", "float", "number"})
TRUE_WORDS = ("true", "yes", "1")
FALSE_WORDS = ("false", "no", "0")
NO_VALUE_OPERATORS = ("is_set", "is_not_set")
LIST_OPERATORS = ("in", "not_in")

_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_RANGE_SEPARATOR = re.compile(r",| and ")


class BadValue(Refused, ValueError):
    """Typed text that is not a value of the kind asked for. `text` is what was typed
    (stripped) and `expected` is "number", "boolean" or "range"."""

    def __init__(self, message: str, *, text: str, expected: str) -> None:
        super().__init__(message)
        self.text = text
        self.expected = expected


def parse_value(text: str | None, kind: str, *, lenient: bool = False) -> Any:
    """One value for a property of type `kind`. Raises BadValue for a number or a boolean
    that is not one, unless `lenient`: the text is then returned as typed, for the engine's
    validation to name the problem with the property's name."""
    text = (text or "").strip()
    if kind in NUMBER_KINDS:
        if _INTEGER.match(text):
            return int(text)
        if _NUMBER.match(text):
            return float(text)
        if lenient:
            return text
        raise BadValue(f"“{text}” is not a number.", text=text, expected="number")
    if kind == "boolean":
        lowered = text.lower()
        if lowered in TRUE_WORDS:
            return True
        if lowered in FALSE_WORDS:
            return False
        if lenient:
            return text
        raise BadValue(f"“{text}” is not true or false.", text=text, expected="boolean")
    return text


def parse_list(text: str | None, kind: str, *, lenient: bool = False) -> list:
    """Comma-separated values ("free, pro"); empty parts are left out, so the list may be
    empty (the engine refuses an empty "in")."""
    return [parse_value(part, kind, lenient=lenient)
            for part in (text or "").split(",") if part.strip()]


def parse_range(text: str | None, kind: str, *, lenient: bool = False) -> list:
    """The two ends of "between": "10, 50" or "10 and 50"."""
    parts = [part.strip() for part in _RANGE_SEPARATOR.split((text or "").strip())
             if part.strip()]
    if len(parts) != 2:
        raise BadValue("give two values for “between”, e.g. 10, 50", text=(text or "").strip(),
                       expected="range")
    return [parse_value(part, kind, lenient=lenient) for part in parts]


def parse_for_operator(text: str | None, kind: str, op: str, *,
                       lenient: bool = False) -> Any:
    """The value an operator takes: None for is_set/is_not_set, a list for in/not_in,
    two ends for between, else one value."""
    if op in NO_VALUE_OPERATORS:
        return None
    if op in LIST_OPERATORS:
        return parse_list(text, kind, lenient=lenient)
    if op == "between":
        return parse_range(text, kind, lenient=lenient)
    return parse_value(text, kind, lenient=lenient)
