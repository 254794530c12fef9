"""The rules every part of a definition obeys: limits, operators and the values they take,
known names (with close matches when not), allowed keys, and the size of the whole. Errors
are DefinitionError with a message a person can act on."""

from __future__ import annotations

import difflib
import math
from datetime import UTC, datetime
from typing import Any

from analytics.engine.refusals import Refused

MAX_NESTING = 32  # all/any/not levels inside one criterion
MAX_JSON_DEPTH = 2 * MAX_NESTING + 8
MAX_NODES = 20_000  # dicts, lists and scalars in one definition
MAX_TEXT = 10_000  # characters in one string
MAX_LIST = 10_000  # values of one in/not_in
MAX_BINS = 100
MAX_WINDOW_DAYS = 36_500
MAX_INTEGER = 2**63 - 1

COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
OPERATORS = (*COMPARISONS, "in", "not_in", "between", "is_set", "is_not_set", "contains")
NO_VALUE_OPERATORS = ("is_set", "is_not_set")
AGGREGATES = ("sum", "avg", "min", "max", "count_distinct")

# The type a compared value must have, by the property's type in the schema.
VALUE_TYPES = {"integer": "number", "float": "number", "boolean": "boolean",
               "text": "text", "timestamp": "timestamp"}
OPERATORS_BY_TYPE = {
    "number": tuple(op for op in OPERATORS if op != "contains"),
    "timestamp": tuple(op for op in OPERATORS if op != "contains"),
    "text": OPERATORS,
    "boolean": ("=", "!=", "in", "not_in", "is_set", "is_not_set"),
}
A_TYPE = {"number": "a number", "text": "text", "boolean": "true or false",
          "timestamp": "a timestamp (ISO 8601 text)"}


class DefinitionError(Refused, ValueError):
    """A definition that cannot be run, with a message that says what to change."""


# ---------------------------------------------------------------- values


def operator_and_value(node: dict, value_type: str, subject: str) -> tuple[str, Any]:
    op = node["op"]
    if op not in OPERATORS:
        raise DefinitionError(unknown_message("operator", op, OPERATORS))
    if op not in OPERATORS_BY_TYPE[value_type]:
        raise DefinitionError(f"'{op}' does not apply to {subject}, which is "
                              f"{A_TYPE[value_type]}")
    if op in NO_VALUE_OPERATORS:
        if node.get("value") is not None:
            raise DefinitionError(f"'{op}' takes no value")
        return op, None
    if "value" not in node or node["value"] is None:
        raise DefinitionError(f"'{op}' needs a value for {subject}")
    value = node["value"]
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise DefinitionError(f"'{op}' needs a non-empty list of values")
        if len(value) > MAX_LIST:
            raise DefinitionError(f"'{op}' takes at most {MAX_LIST} values")
        return op, [typed_value(v, value_type, subject) for v in value]
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise DefinitionError("'between' needs a list of two values [low, high]")
        low, high = (typed_value(v, value_type, subject) for v in value)
        if _sortable(low, value_type) > _sortable(high, value_type):
            raise DefinitionError(f"'between' needs low <= high, got {low!r} and {high!r}")
        return op, [low, high]
    return op, typed_value(value, value_type, subject)


def typed_value(value: Any, value_type: str, subject: str) -> Any:
    ok = {
        "number": is_number(value),
        "text": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "timestamp": isinstance(value, str) and parse_timestamp(value) is not None,
    }[value_type]
    if not ok:
        raise DefinitionError(f"{subject} is {A_TYPE[value_type]}; {value!r} is not")
    if value_type == "number" and isinstance(value, int) and abs(value) > MAX_INTEGER:
        raise DefinitionError(f"{value} is too large a number")
    return value


def is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not (isinstance(value, float) and not math.isfinite(value))


def parse_timestamp(text: str) -> datetime | None:
    """An aware datetime from ISO 8601 text (naive means UTC), or None."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _sortable(value: Any, value_type: str) -> Any:
    return parse_timestamp(value) if value_type == "timestamp" else value


def validate_window(days: Any, what: str) -> int:
    """A window in whole days (a float like 7.0 is accepted as 7)."""
    if isinstance(days, float) and days.is_integer():
        days = int(days)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_WINDOW_DAYS:
        raise DefinitionError(
            f"'within_days' of {what} is a whole number of days from 1 to {MAX_WINDOW_DAYS}, "
            f"not {days!r}")
    return days


def validate_bins(bins: Any) -> list:
    if not isinstance(bins, list) or not bins:
        raise DefinitionError("'bins' must be a non-empty list of numbers")
    if len(bins) > MAX_BINS:
        raise DefinitionError(f"at most {MAX_BINS} bins")
    for b in bins:
        if not is_number(b):
            raise DefinitionError(f"bins are numbers; {b!r} is not")
    if any(a >= b for a, b in zip(bins, bins[1:], strict=False)):
        raise DefinitionError("bins must be strictly increasing")
    return list(bins)


# ---------------------------------------------------------------- names, keys, size


def known_name(name: Any, known: dict[str, Any], what: str) -> str:
    if not isinstance(name, str) or name not in known:
        raise DefinitionError(unknown_message(what, name, known))
    return name


def unknown_message(what: str, name: Any, known: Any) -> str:
    candidates = [str(k) for k in known]
    message = f"unknown {what} {name!r}"
    close = difflib.get_close_matches(str(name), candidates, n=3, cutoff=0.6)
    if close:
        return message + "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    if not candidates:
        plural = what[:-1] + "ies" if what.endswith("y") else what + "s"
        return message + f"; this dataset has no {plural}"
    shown = sorted(candidates)[:12]
    more = ", ..." if len(candidates) > len(shown) else ""
    return message + f"; known: {', '.join(shown)}{more}"


def an(word: str) -> str:
    """'an event_count', 'a did_event'."""
    return ("an " if word[0] in "aeiou" else "a ") + word


def check_keys(node: dict, required: tuple[str, ...], optional: tuple[str, ...],
                what: str) -> None:
    allowed = (*required, *optional)
    for key in node:
        if key not in allowed:
            raise DefinitionError(unknown_message(f"key in {what}:", key, allowed))
    for key in required:
        if key not in node:
            raise DefinitionError(f"{what} needs '{key}'")


def check_size(definition: Any, what: str) -> None:
    """Refuse structures too deep or too large before anything recurses into them."""
    nodes = 0
    stack: list[tuple[Any, int]] = [(definition, 0)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise DefinitionError(f"the {what} is too large (more than {MAX_NODES} parts)")
        if depth > MAX_JSON_DEPTH:
            raise DefinitionError(f"the {what} is nested too deeply")
        if isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str):
                    raise DefinitionError(f"the {what} has a key that is not text: {key!r}")
                stack.append((value, depth + 1))
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)
        elif isinstance(node, str):
            if len(node) > MAX_TEXT:
                raise DefinitionError(f"a text in the {what} is too long "
                                      f"(more than {MAX_TEXT} characters)")
        elif node is not None and not isinstance(node, bool | int | float):
            raise DefinitionError(f"the {what} holds a {type(node).__name__}, "
                                  "which is not JSON")
