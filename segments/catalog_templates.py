"""The worksheet's segments as templates: each builder turns a dataset mapping
(segments.roles) into an engine segment (analytics.engine.trends: a breakdown, or
ordered criteria buckets), or raises Unsupported saying why the data cannot support it.
segments.catalog lists them and resolves them against a dataset."""

from __future__ import annotations

from analytics.engine.refusals import Refused
from analytics.engine.wording import format_value

from .roles import NUMERIC, ROLES_BY_KEY

# Behaviours are measured early in a user's life, so that a dashboard reads "what users do
# in their first week" against whether they succeed.
FIRST_WEEK = 7
FIRST_TWO_WEEKS = 14
FIRST_MONTH = 30
STAGE_DAYS = 3


class Unsupported(Refused):
    """The data cannot support a segment; the message says why, in plain words."""


# ---------------------------------------------------------------- building blocks


def _role(mapping: dict, key: str):
    value = mapping.get(key)
    if not value:
        raise Unsupported(_missing(key))
    return value


def _missing(key: str) -> str:
    role = ROLES_BY_KEY[key]
    if role.kind == "event":
        return f"no event is mapped as the {role.label.lower()} event"
    if role.kind == "events":
        return f"no events are mapped as {role.label.lower()}"
    if role.kind == "values":
        return f"no {role.label.lower()} are mapped"
    return f"no column looks like {role.label.lower()}"


def _by_property(ref: dict, bins: list | None = None) -> dict:
    """Split by a property: a user's own, or the one on the user's first event."""
    if ref["scope"] == "user":
        breakdown: dict = {"property": ref["name"]}
    else:
        breakdown = {"metric": {"kind": "first_event_property", "property": ref["name"]}}
    if bins:
        breakdown["bins"] = list(bins)
    return {"breakdown": breakdown}


def _property_is(ref: dict, op: str, value) -> dict:
    if ref["scope"] == "user":
        return {"kind": "property", "property": ref["name"], "op": op, "value": value}
    return {"kind": "first_event_property", "property": ref["name"], "op": op, "value": value}


def by_category(mapping: dict, key: str, bins_key: str | None = None,
                 default_bins: list | None = None, codes: bool = False) -> dict:
    """Split by a property's values, or by bins when it holds numbers (unless the numbers
    are codes, like region 1..9, which split by value)."""
    ref = _role(mapping, key)
    if ref["type"] == "integer" and codes:
        return _by_property(ref)
    if ref["type"] in NUMERIC:
        bins = (mapping.get(bins_key) if bins_key else None) or default_bins
        if not bins:
            raise Unsupported(f"“{ref['name']}” holds numbers; set where to cut them")
        return _by_property(ref, bins)
    if ref["type"] == "timestamp":
        raise Unsupported(f"“{ref['name']}” holds times, not categories")
    return _by_property(ref)


def value_headline(mapping: dict, key: str, value: str | None) -> tuple[str, dict] | None:
    ref = mapping.get(key)
    if not ref or value is None:
        return None
    if ref["type"] in NUMERIC or ref["type"] == "timestamp":
        return None
    typed: object = value
    if ref["type"] == "boolean":
        typed = str(value).lower() == "true"
    return f"{ref['name']} is {value}", _property_is(ref, "=", typed)


def _buckets(pairs: list[tuple[str, dict]], rest: str) -> dict:
    return {"buckets": [{"label": label, "criterion": c} for label, c in pairs], "else": rest}


def _did(event: str, days: int | None = None, **extra) -> dict:
    criterion = {"kind": "did_event", "event": event, **extra}
    if days:
        criterion["within_days"] = days
    return criterion


def _needs_events(schema_events: dict | None) -> None:
    if schema_events is not None and not schema_events:
        raise Unsupported("the dataset has no events, only user properties")


# ---------------------------------------------------------------- SaaS


def logins(m: dict) -> dict:
    login = _role(m, "login_event")
    metric = {"kind": "event_count", "event": login, "within_days": FIRST_WEEK}
    return {"breakdown": {"metric": metric, "bins": [1, 3, 10]}}


def logins_headline(m: dict):
    login = _role(m, "login_event")
    return (f"3 or more {login} events in the first week",
            {"kind": "event_count", "event": login, "op": ">=", "value": 3,
             "within_days": FIRST_WEEK})


def time_in_app(m: dict) -> dict:
    _needs_events(m.get("__events"))
    return {"breakdown": {"metric": {"kind": "time_in_app", "within_days": FIRST_WEEK},
                          "bins": [5, 30, 120]}}


def time_headline(m: dict):
    _needs_events(m.get("__events"))
    return ("30 or more minutes in the app in the first week",
            {"kind": "time_in_app", "op": ">=", "value": 30, "within_days": FIRST_WEEK})


def adoption(m: dict) -> dict:
    core = list(_role(m, "core_events"))[:4]
    if len(core) == 1:
        return _buckets([(f"used {core[0]}", _did(core[0], FIRST_TWO_WEEKS))],
                        f"did not use {core[0]}")
    every = {"all": [_did(e, FIRST_TWO_WEEKS) for e in core]}
    some = {"any": [_did(e, FIRST_TWO_WEEKS) for e in core]}
    return _buckets([(f"used all {len(core)} key actions", every),
                     ("used some of them", some)], "used none of them")


def adoption_headline(m: dict):
    core = list(_role(m, "core_events"))[:4]
    criterion = {"all": [_did(e, FIRST_TWO_WEEKS) for e in core]} if len(core) > 1 else _did(
        core[0], FIRST_TWO_WEEKS)
    return f"did {', '.join(core)} in the first two weeks", criterion


def feature(m: dict) -> dict:
    event = _role(m, "feature_event")
    return _buckets([(f"used {event} in the first week", _did(event, FIRST_WEEK))],
                    f"did not use {event} in the first week")


def feature_headline(m: dict):
    event = _role(m, "feature_event")
    return f"used {event} in the first week", _did(event, FIRST_WEEK)


def plan(m: dict) -> dict:
    return by_category(m, "plan")


# ---------------------------------------------------------------- eComm


def _order_value_metric(m: dict) -> dict:
    order, value = _role(m, "order_event"), _role(m, "order_value")
    if value["type"] not in NUMERIC:
        raise Unsupported(f"the order value “{value['name']}” is not a number")
    return {"kind": "event_property", "event": order, "property": value["name"], "agg": "avg",
            "within_days": FIRST_MONTH}


def aov(m: dict) -> dict:
    metric = _order_value_metric(m)
    bins = m.get("order_value_bins")
    if not bins:
        raise Unsupported("set where to cut average order values in the mapping")
    segment = {"breakdown": {"metric": metric, "bins": list(bins)}}
    if m.get("order_id"):
        segment["note"] = (f"orders are stored as lines ({m['order_id']['name']}): this "
                           "averages the lines' values")
    return segment


def aov_headline(m: dict):
    metric = _order_value_metric(m)
    bins = m.get("order_value_bins") or []
    if not bins:
        return None
    cut = bins[len(bins) // 2]
    return (f"average {metric['property']} of {metric['event']} of {format_value(cut)} or "
            "more in the first month", {**metric, "op": ">=", "value": cut})


def _orders_metric(m: dict) -> dict:
    order = _role(m, "order_event")
    order_id = m.get("order_id")
    if order_id and order_id.get("scope") == "event":
        # Orders stored as lines: count distinct orders, not lines.
        return {"kind": "event_property", "event": order, "property": order_id["name"],
                "agg": "count_distinct", "within_days": FIRST_MONTH}
    return {"kind": "event_count", "event": order, "within_days": FIRST_MONTH}


def repeat(m: dict) -> dict:
    metric = _orders_metric(m)
    return _buckets([
        ("2 or more orders in the first month", {**metric, "op": ">=", "value": 2}),
        ("1 order", {**metric, "op": ">=", "value": 1}),
    ], "no order")


def repeat_headline(m: dict):
    return ("2 or more orders in the first month", {**_orders_metric(m), "op": ">=", "value": 2})


def first_time(m: dict) -> dict:
    visitor = m.get("visitor_type")
    if visitor:
        return by_category(m, "visitor_type")
    _needs_events(m.get("__events"))
    once = {"kind": "session_count", "op": "<=", "value": 1, "within_days": FIRST_MONTH}
    return _buckets([("one visit only in the first month", once)], "came back")


def first_time_headline(m: dict):
    visitor = m.get("visitor_type")
    if visitor:
        new = [v for v in visitor.get("values", []) if "new" in v.lower() or "first" in v.lower()]
        return value_headline(m, "visitor_type", new[0] if new else None)
    _needs_events(m.get("__events"))
    return ("one visit only in the first month",
            {"kind": "session_count", "op": "<=", "value": 1, "within_days": FIRST_MONTH})


def guest_criterion(m: dict) -> tuple[str, dict]:
    guest = m.get("guest")
    if guest:
        values = guest.get("values") or []
        if guest["type"] == "boolean":
            value: object = True
        else:
            named = [v for v in values if "guest" in v.lower()]
            if not named:
                raise Unsupported(f"no value of “{guest['name']}” says guest")
            value = named[0]
        if guest["scope"] == "user":
            return "guest shoppers", {"kind": "property", "property": guest["name"], "op": "=",
                                      "value": value}
        order = _role(m, "order_event")
        where = [{"property": guest["name"], "op": "=", "value": value}]
        return "checked out as a guest", _did(order, where=where)
    if m.get("order_event") and m.get("signup_event"):
        return ("ordered without signing up",
                {"all": [_did(m["order_event"]), _did(m["signup_event"], did=False)]})
    raise Unsupported("no column looks like guest checkout, and no signup and order events "
                      "tell guests from members")


def guest(m: dict) -> dict:
    label, criterion = guest_criterion(m)
    return _buckets([(label, criterion)], "everyone else")


# ---------------------------------------------------------------- FinServ


def stage(m: dict) -> dict:
    if m.get("application_stage"):
        return by_category(m, "application_stage")
    stages = list(m.get("stage_events") or [])
    if len(stages) < 2:
        raise Unsupported("no column looks like an application stage, and no events are "
                          "mapped as application stages")
    # Each user in the furthest stage reached in the first days.
    pairs = [(f"reached {s}", _did(s, STAGE_DAYS)) for s in reversed(stages)]
    return _buckets(pairs, "reached none of them")


def stage_headline(m: dict):
    stages = list(m.get("stage_events") or [])
    if m.get("application_stage") or len(stages) < 2:
        return None
    return f"reached {stages[1]} in the first {STAGE_DAYS} days", _did(stages[1], STAGE_DAYS)


def policies(m: dict) -> dict:
    ref = _role(m, "policy_count")
    if ref["type"] not in NUMERIC:
        return by_category(m, "policy_count")
    return _buckets([("2 or more", _property_is(ref, ">=", 2)),
                     ("1", _property_is(ref, "=", 1))], "none or unknown")


def policies_headline(m: dict):
    ref = _role(m, "policy_count")
    if ref["type"] not in NUMERIC:
        return None
    return f"{ref['name']} of 2 or more", _property_is(ref, ">=", 2)


def returning(m: dict) -> dict:
    if m.get("prior_count"):
        ref = m["prior_count"]
        return _buckets([("came before", _property_is(ref, ">=", 1))], "first time")
    if m.get("visitor_type"):
        return by_category(m, "visitor_type")
    if m.get("order_event"):
        return _buckets([("ordered again within 90 days", {
            **_orders_metric(m), "within_days": 90, "op": ">=", "value": 2})], "everyone else")
    raise Unsupported("no column looks like earlier contacts or a visitor type, and no order "
                      "event shows customers coming back")


def returning_headline(m: dict):
    if m.get("prior_count"):
        return f"{m['prior_count']['name']} of 1 or more", _property_is(m["prior_count"], ">=", 1)
    if m.get("visitor_type"):
        values = [v for v in m["visitor_type"].get("values", []) if "return" in v.lower()]
        return value_headline(m, "visitor_type", values[0] if values else None)
    if m.get("order_event"):
        return ("ordered again within 90 days",
                {**_orders_metric(m), "within_days": 90, "op": ">=", "value": 2})
    return None


# ---------------------------------------------------------------- Technographics


def device_is(m: dict, values_key: str) -> tuple[str, dict]:
    device = _role(m, "device")
    values = list(m.get(values_key) or [])
    if not values:
        word = "mobile" if values_key == "mobile_values" else "desktop"
        known = device.get("values") or []
        shown = f" (it holds {', '.join(known[:5])})" if known else ""
        raise Unsupported(f"no value of “{device['name']}” is mapped as {word}{shown}")
    label = " or ".join(values)
    if device["scope"] == "event":
        label += " (first visit)"
    return label, _property_is(device, "in", values)


def mobile(m: dict) -> dict:
    label, criterion = device_is(m, "mobile_values")
    return _buckets([(label, criterion)], "other devices")


def desktop(m: dict) -> dict:
    label, criterion = device_is(m, "desktop_values")
    return _buckets([(label, criterion)], "other devices")


def _tool_metric(m: dict) -> dict:
    tool = _role(m, "tool")
    if tool["scope"] == "user":
        raise Unsupported("the tool is a user property")  # handled by tools
    event = m.get("integration_event") or (tool.get("events") or [None])[0]
    if not event:
        raise Unsupported(f"no event carries “{tool['name']}”")
    return {"kind": "event_property", "event": event, "property": tool["name"],
            "agg": "count_distinct", "within_days": FIRST_TWO_WEEKS}


def tools(m: dict) -> dict:
    tool = _role(m, "tool")
    if tool["scope"] == "user":
        return by_category(m, "tool")
    metric = _tool_metric(m)
    return _buckets([("2 or more tools", {**metric, "op": ">=", "value": 2}),
                     ("1 tool", {**metric, "op": ">=", "value": 1})], "no tool")


def tools_headline(m: dict):
    if _role(m, "tool")["scope"] == "user":
        return None
    return ("connected 2 or more tools in the first two weeks",
            {**_tool_metric(m), "op": ">=", "value": 2})


def integrations(m: dict) -> dict:
    event = _role(m, "integration_event")
    return _buckets([(f"did {event} in the first two weeks", _did(event, FIRST_TWO_WEEKS))],
                    "did not")


def integrations_headline(m: dict):
    event = _role(m, "integration_event")
    return f"did {event} in the first two weeks", _did(event, FIRST_TWO_WEEKS)
