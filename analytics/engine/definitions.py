"""Checking success definitions, criteria and breakdowns (definitions.md sections 2-4)
against a dataset's schema, before anything touches the data.

Every validate_* returns a normalized copy: the same meaning in one canonical spelling
(defaults left out, `events` always a list), so that equal definitions hash equally. Anything
unexpected (an unknown key, a name not in the schema, a value of the wrong type, a
structure too deep or too large) is a DefinitionError whose message a person can act on."""

from __future__ import annotations

from typing import Any

# DefinitionError, parse_timestamp, VALUE_TYPES, ... are imported from here by the rest.
from analytics.engine.definition_checks import (  # noqa: F401
    A_TYPE,
    AGGREGATES,
    MAX_NESTING,
    MAX_TEXT,
    NO_VALUE_OPERATORS,
    OPERATORS,
    VALUE_TYPES,
    DefinitionError,
    an,
    check_keys,
    check_size,
    is_number,
    known_name,
    operator_and_value,
    parse_timestamp,
    unknown_message,
    validate_bins,
    validate_window,
)
from analytics.engine.storage import DatasetSchema
from analytics.engine.wording import (  # noqa: F401  (re-exported: the public API lives here)
    describe_breakdown,
    describe_criterion,
    describe_success,
)

# Keys each criterion kind accepts (beyond "kind"); the first group is required.
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


# ---------------------------------------------------------------- public API


def validate_success(success: dict, schema: DatasetSchema) -> dict:
    check_size(success, "success definition")
    if not isinstance(success, dict):
        raise DefinitionError("the success definition must be a JSON object")
    if "property" in success:
        check_keys(success, ("property", "op"), ("value",), "a success from a user property")
        return _condition(success, schema.user_properties, "user property")
    check_keys(success, ("events",), ("match", "within_days", "where", "complete_windows"),
                "a success definition")
    events = success["events"]
    if isinstance(events, str):
        events = [events]
    if not isinstance(events, list) or not events:
        raise DefinitionError("success 'events' must be a non-empty list of event names")
    names: list[str] = []
    for name in events:
        known_name(name, schema.events, "event")
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
    check_size(criterion, "criterion")
    return _criterion(criterion, schema, depth=0)


def validate_breakdown(breakdown: dict, schema: DatasetSchema) -> dict:
    check_size(breakdown, "breakdown")
    if isinstance(breakdown, dict) and set(breakdown) == {"breakdown"}:
        breakdown = breakdown["breakdown"]
    if not isinstance(breakdown, dict):
        raise DefinitionError("a breakdown must be a JSON object")
    if "metric" in breakdown:
        check_keys(breakdown, ("metric",), ("bins",), "a breakdown by a metric")
        metric = validate_metric(breakdown["metric"], schema)
        out: dict[str, Any] = {"metric": metric}
        value_type = metric_value_type(metric, schema)
        what = "this metric"
    else:
        check_keys(breakdown, ("property",), ("bins",), "a breakdown")
        name = breakdown["property"]
        known_name(name, schema.user_properties, "user property")
        out = {"property": name}
        value_type = VALUE_TYPES[schema.user_properties[name]]
        what = f"{name}"
    if "bins" in breakdown:
        if value_type != "number":
            raise DefinitionError(f"bins need numbers, and {what} is {A_TYPE[value_type]}")
        out["bins"] = validate_bins(breakdown["bins"])
    return out


def validate_metric(metric: Any, schema: DatasetSchema) -> dict:
    if not isinstance(metric, dict):
        raise DefinitionError("a metric must be a JSON object with a 'kind'")
    kind = metric.get("kind")
    if kind not in METRIC_KINDS:
        raise DefinitionError(unknown_message("metric kind", kind, METRIC_KINDS))
    required, optional = CRITERION_KEYS[kind]
    required = tuple(k for k in required if k not in ("op", "value"))
    optional = tuple(k for k in optional if k not in ("value", "did"))
    check_keys(metric, ("kind", *required), optional, f"{an(kind)} metric")
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
        check_keys(node, (key,), (), f"an '{key}' criterion")
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
        raise DefinitionError(unknown_message("criterion kind", kind, CRITERION_KEYS))
    required, optional = CRITERION_KEYS[kind]
    check_keys(node, ("kind", *required), optional, f"{an(kind)} criterion")
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
    op, value = operator_and_value(node, metric_value_type(out, schema), _subject(out))
    out["op"] = op
    if op not in NO_VALUE_OPERATORS:
        out["value"] = value
    return out


def _measure(node: dict, schema: DatasetSchema) -> dict:
    """The per-user measure part of a criterion or metric (everything but op/value)."""
    kind = node["kind"]
    out: dict[str, Any] = {"kind": kind}
    if "event" in node:
        out["event"] = known_name(node["event"], schema.events, "event")
    if "property" in node:
        out["property"] = known_name(node["property"], schema.event_properties, "event property")
    if "agg" in node:
        agg = node["agg"]
        if agg not in AGGREGATES:
            raise DefinitionError(unknown_message("aggregate", agg, AGGREGATES))
        kind_of_value = VALUE_TYPES[schema.event_properties[out["property"]]]
        if agg in ("sum", "avg") and kind_of_value != "number":
            raise DefinitionError(
                f"{agg} needs a numeric property; {out['property']} is {A_TYPE[kind_of_value]}")
        if agg in ("min", "max") and kind_of_value == "boolean":
            raise DefinitionError(f"{agg} of true/false property {out['property']} is not defined")
        out["agg"] = agg
    if node.get("within_days") is not None:
        out["within_days"] = validate_window(node["within_days"], kind)
    if "session_gap_minutes" in node:
        gap = node["session_gap_minutes"]
        if not is_number(gap) or gap <= 0 or gap > 60 * 24 * 366:
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
        check_keys(condition, ("property", "op"), ("value",), "a where condition")
        out.append(_condition(condition, schema.event_properties, "event property"))
    return out


def _condition(node: dict, properties: dict[str, str], what: str) -> dict:
    name = known_name(node["property"], properties, what)
    op, value = operator_and_value(node, VALUE_TYPES[properties[name]], name)
    out = {"property": name, "op": op}
    if op not in NO_VALUE_OPERATORS:
        out["value"] = value
    return out


