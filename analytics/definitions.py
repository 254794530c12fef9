"""Checking success definitions, criteria and breakdowns (definitions.md sections 2-4)
against a dataset's schema, before anything touches the data.

Every validate_* returns a normalized copy: the same meaning in one canonical spelling
(defaults left out, `events` always a list), so that equal definitions hash equally. Anything
unexpected (an unknown key, a name not in the schema, a value of the wrong type, a
structure too deep or too large) is a DefinitionError whose message a person can act on."""

from __future__ import annotations

import difflib
import math
from datetime import UTC, datetime
from typing import Any

from analytics.storage import DatasetSchema
from analytics.wording import (  # noqa: F401  (re-exported: the public API lives here)
    describe_breakdown,
    describe_criterion,
    describe_success,
)

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
_A_TYPE = {"number": "a number", "text": "text", "boolean": "true or false",
           "timestamp": "a timestamp (ISO 8601 text)"}

# Keys each criterion kind accepts (beyond "kind"); the first group is required.
_WINDOWED = ("within_days",)
CRITERION_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "property": (("property", "op"), ("value",)),
    "event_count": (("event", "op"), ("value", "within_days", "where")),
    "did_event": (("event",), ("within_days", "where", "did")),
    "event_property": (("event", "property", "agg", "op"), ("value", "within_days", "where")),
    "first_event_property": (("property", "op"), ("value",)),
    "session_count": (("op",), ("value", "within_days", "session_gap_minutes")),
    "time_in_app": (("op",), ("value", "within_days", "session_gap_minutes")),
}
COMBINATORS = ("all", "any", "not")
# A metric (breakdown by a per-user measure) is a criterion without its comparison.
METRIC_KINDS = ("event_count", "did_event", "event_property", "first_event_property",
                "session_count", "time_in_app")


class DefinitionError(ValueError):
    """A definition that cannot be run, with a message that says what to change."""


# ---------------------------------------------------------------- public API


def validate_success(success: dict, schema: DatasetSchema) -> dict:
    _check_size(success, "success definition")
    if not isinstance(success, dict):
        raise DefinitionError("the success definition must be a JSON object")
    if "property" in success:
        _check_keys(success, ("property", "op"), ("value",), "a success from a user property")
        return _condition(success, schema.user_properties, "user property")
    _check_keys(success, ("events",), ("match", "within_days", "where", "complete_windows"),
                "a success definition")
    events = success["events"]
    if isinstance(events, str):
        events = [events]
    if not isinstance(events, list) or not events:
        raise DefinitionError("success 'events' must be a non-empty list of event names")
    names: list[str] = []
    for name in events:
        _known(name, schema.events, "event")
        if name not in names:
            names.append(name)
    out: dict[str, Any] = {"events": names, "match": success.get("match", "any")}
    if out["match"] not in ("any", "all"):
        raise DefinitionError(f"success 'match' is 'any' or 'all', not {out['match']!r}")
    if success.get("within_days") is not None:
        out["within_days"] = validate_window(success["within_days"], "success")
    where = _where(success.get("where"), schema)
    if where:
        out["where"] = where
    complete = success.get("complete_windows", True)
    if not isinstance(complete, bool):
        raise DefinitionError("'complete_windows' is true or false")
    if not complete:
        out["complete_windows"] = False
    return out


def validate_criterion(criterion: dict, schema: DatasetSchema) -> dict:
    _check_size(criterion, "criterion")
    return _criterion(criterion, schema, depth=0)


def validate_breakdown(breakdown: dict, schema: DatasetSchema) -> dict:
    _check_size(breakdown, "breakdown")
    if isinstance(breakdown, dict) and set(breakdown) == {"breakdown"}:
        breakdown = breakdown["breakdown"]
    if not isinstance(breakdown, dict):
        raise DefinitionError("a breakdown must be a JSON object")
    if "metric" in breakdown:
        _check_keys(breakdown, ("metric",), ("bins",), "a breakdown by a metric")
        metric = validate_metric(breakdown["metric"], schema)
        out: dict[str, Any] = {"metric": metric}
        value_type = metric_value_type(metric, schema)
        what = "this metric"
    else:
        _check_keys(breakdown, ("property",), ("bins",), "a breakdown")
        name = breakdown["property"]
        _known(name, schema.user_properties, "user property")
        out = {"property": name}
        value_type = VALUE_TYPES[schema.user_properties[name]]
        what = f"{name}"
    if "bins" in breakdown:
        if value_type != "number":
            raise DefinitionError(f"bins need numbers, and {what} is {_A_TYPE[value_type]}")
        out["bins"] = _bins(breakdown["bins"])
    return out


def validate_metric(metric: Any, schema: DatasetSchema) -> dict:
    if not isinstance(metric, dict):
        raise DefinitionError("a metric must be a JSON object with a 'kind'")
    kind = metric.get("kind")
    if kind not in METRIC_KINDS:
        raise DefinitionError(_unknown_message("metric kind", kind, METRIC_KINDS))
    required, optional = CRITERION_KEYS[kind]
    required = tuple(k for k in required if k not in ("op", "value"))
    optional = tuple(k for k in optional if k not in ("value", "did"))
    _check_keys(metric, ("kind", *required), optional, f"{_a(kind)} metric")
    return _measure(metric, schema)


def criterion_window_days(criterion: dict) -> int | None:
    """The largest behavioural window a criterion uses, or None without one."""
    largest: int | None = None
    stack = [criterion]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        days = node.get("within_days")
        if isinstance(days, int) and not isinstance(days, bool):
            largest = days if largest is None else max(largest, days)
        for key in ("all", "any"):
            if isinstance(node.get(key), list):
                stack.extend(node[key])
        if "not" in node:
            stack.append(node["not"])
    return largest


def value_type_of(criterion: dict, schema: DatasetSchema) -> str:
    """The value type ("number", "text", ...) a leaf criterion or metric compares."""
    if criterion["kind"] == "property":
        return VALUE_TYPES[schema.user_properties[criterion["property"]]]
    return metric_value_type(criterion, schema)


def metric_value_type(metric: dict, schema: DatasetSchema) -> str:
    kind = metric["kind"]
    if kind == "did_event":
        return "boolean"
    if kind == "first_event_property":
        return VALUE_TYPES[schema.event_properties[metric["property"]]]
    if kind == "event_property" and metric["agg"] in ("min", "max"):
        return VALUE_TYPES[schema.event_properties[metric["property"]]]
    return "number"


# ---------------------------------------------------------------- criteria


def _criterion(node: Any, schema: DatasetSchema, depth: int) -> dict:
    if depth > MAX_NESTING:
        raise DefinitionError(f"a criterion may nest all/any/not at most {MAX_NESTING} deep")
    if not isinstance(node, dict):
        raise DefinitionError("a criterion must be a JSON object")
    combinator = [k for k in COMBINATORS if k in node]
    if combinator:
        key = combinator[0]
        _check_keys(node, (key,), (), f"an '{key}' criterion")
        if key == "not":
            return {"not": _criterion(node["not"], schema, depth + 1)}
        parts = node[key]
        if not isinstance(parts, list) or not parts:
            raise DefinitionError(f"'{key}' needs a non-empty list of criteria")
        return {key: [_criterion(p, schema, depth + 1) for p in parts]}
    kind = node.get("kind")
    if kind not in CRITERION_KEYS:
        if kind is None:
            raise DefinitionError(
                "a criterion needs a 'kind' (" + ", ".join(CRITERION_KEYS)
                + ") or is an all/any/not combination")
        raise DefinitionError(_unknown_message("criterion kind", kind, CRITERION_KEYS))
    required, optional = CRITERION_KEYS[kind]
    _check_keys(node, ("kind", *required), optional, f"{_a(kind)} criterion")
    if kind == "property":
        condition = _condition(node, schema.user_properties, "user property")
        return {"kind": "property", **condition}
    out = _measure(node, schema)
    if kind == "did_event":
        did = node.get("did", True)
        if not isinstance(did, bool):
            raise DefinitionError("'did' is true or false")
        if not did:
            out["did"] = False
        return out
    op, value = _operator_and_value(node, metric_value_type(out, schema), _subject(out))
    out["op"] = op
    if op not in NO_VALUE_OPERATORS:
        out["value"] = value
    return out


def _measure(node: dict, schema: DatasetSchema) -> dict:
    """The per-user measure part of a criterion or metric (everything but op/value)."""
    kind = node["kind"]
    out: dict[str, Any] = {"kind": kind}
    if "event" in node:
        out["event"] = _known(node["event"], schema.events, "event")
    if "property" in node:
        out["property"] = _known(node["property"], schema.event_properties, "event property")
    if "agg" in node:
        agg = node["agg"]
        if agg not in AGGREGATES:
            raise DefinitionError(_unknown_message("aggregate", agg, AGGREGATES))
        kind_of_value = VALUE_TYPES[schema.event_properties[out["property"]]]
        if agg in ("sum", "avg") and kind_of_value != "number":
            raise DefinitionError(
                f"{agg} needs a numeric property; {out['property']} is {_A_TYPE[kind_of_value]}")
        if agg in ("min", "max") and kind_of_value == "boolean":
            raise DefinitionError(f"{agg} of true/false property {out['property']} is not defined")
        out["agg"] = agg
    if node.get("within_days") is not None:
        out["within_days"] = validate_window(node["within_days"], kind)
    if "session_gap_minutes" in node:
        gap = node["session_gap_minutes"]
        if not _is_number(gap) or gap <= 0 or gap > 60 * 24 * 366:
            raise DefinitionError("'session_gap_minutes' is a positive number of minutes")
        if gap != 30:
            out["session_gap_minutes"] = gap
    where = _where(node.get("where"), schema)
    if where:
        out["where"] = where
    return out


def _subject(measure: dict) -> str:
    return measure.get("property") or measure.get("event") or measure["kind"]


def _where(where: Any, schema: DatasetSchema) -> list[dict]:
    if where is None:
        return []
    if not isinstance(where, list):
        raise DefinitionError("'where' must be a list of conditions on event properties")
    out = []
    for condition in where:
        if not isinstance(condition, dict):
            raise DefinitionError("each 'where' condition must be a JSON object")
        _check_keys(condition, ("property", "op"), ("value",), "a where condition")
        out.append(_condition(condition, schema.event_properties, "event property"))
    return out


def _condition(node: dict, properties: dict[str, str], what: str) -> dict:
    name = _known(node["property"], properties, what)
    op, value = _operator_and_value(node, VALUE_TYPES[properties[name]], name)
    out = {"property": name, "op": op}
    if op not in NO_VALUE_OPERATORS:
        out["value"] = value
    return out


# ---------------------------------------------------------------- values


def _operator_and_value(node: dict, value_type: str, subject: str) -> tuple[str, Any]:
    op = node["op"]
    if op not in OPERATORS:
        raise DefinitionError(_unknown_message("operator", op, OPERATORS))
    if op not in OPERATORS_BY_TYPE[value_type]:
        raise DefinitionError(f"'{op}' does not apply to {subject}, which is "
                              f"{_A_TYPE[value_type]}")
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
        return op, [_typed(v, value_type, subject) for v in value]
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise DefinitionError("'between' needs a list of two values [low, high]")
        low, high = (_typed(v, value_type, subject) for v in value)
        if _sortable(low, value_type) > _sortable(high, value_type):
            raise DefinitionError(f"'between' needs low <= high, got {low!r} and {high!r}")
        return op, [low, high]
    return op, _typed(value, value_type, subject)


def _typed(value: Any, value_type: str, subject: str) -> Any:
    ok = {
        "number": _is_number(value),
        "text": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "timestamp": isinstance(value, str) and parse_timestamp(value) is not None,
    }[value_type]
    if not ok:
        raise DefinitionError(f"{subject} is {_A_TYPE[value_type]}; {value!r} is not")
    if value_type == "number" and isinstance(value, int) and abs(value) > MAX_INTEGER:
        raise DefinitionError(f"{value} is too large a number")
    return value


def _is_number(value: Any) -> bool:
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


def _bins(bins: Any) -> list:
    if not isinstance(bins, list) or not bins:
        raise DefinitionError("'bins' must be a non-empty list of numbers")
    if len(bins) > MAX_BINS:
        raise DefinitionError(f"at most {MAX_BINS} bins")
    for b in bins:
        if not _is_number(b):
            raise DefinitionError(f"bins are numbers; {b!r} is not")
    if any(a >= b for a, b in zip(bins, bins[1:], strict=False)):
        raise DefinitionError("bins must be strictly increasing")
    return list(bins)


# ---------------------------------------------------------------- names, keys, size


def _known(name: Any, known: dict[str, Any], what: str) -> str:
    if not isinstance(name, str) or name not in known:
        raise DefinitionError(_unknown_message(what, name, known))
    return name


def _unknown_message(what: str, name: Any, known: Any) -> str:
    candidates = [str(k) for k in known]
    message = f"unknown {what} {name!r}"
    close = difflib.get_close_matches(str(name), candidates, n=3, cutoff=0.6)
    if close:
        return message + "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    if not candidates:
        return message + f"; this dataset has no {what}s"
    shown = sorted(candidates)[:12]
    more = ", ..." if len(candidates) > len(shown) else ""
    return message + f"; known: {', '.join(shown)}{more}"


def _a(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def _check_keys(node: dict, required: tuple[str, ...], optional: tuple[str, ...],
                what: str) -> None:
    allowed = (*required, *optional)
    for key in node:
        if key not in allowed:
            raise DefinitionError(_unknown_message(f"key in {what}:", key, allowed))
    for key in required:
        if key not in node:
            raise DefinitionError(f"{what} needs '{key}'")


def _check_size(definition: Any, what: str) -> None:
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
