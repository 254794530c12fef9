"""The worksheet's segment catalog, as templates.

Each catalog segment turns a dataset mapping (dashboards.mapping) into a segment the
engine understands (analytics.trends: a breakdown, a criterion, or ordered criteria
buckets), or says why the data cannot support it ("no column looks like company size"),
so that nothing silently disappears from the catalog."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analytics.definitions import DefinitionError
from analytics.storage import DatasetSchema
from analytics.wording import describe_breakdown, describe_criterion, format_value

from .mapping import DEFAULT_AGE_BINS, DEFAULT_COMPANY_SIZE_BINS, NUMERIC, ROLES_BY_KEY

# Behaviours are measured early in a user's life, so that a dashboard reads "what users do
# in their first week" against whether they succeed.
FIRST_WEEK = 7
FIRST_TWO_WEEKS = 14
FIRST_MONTH = 30
STAGE_DAYS = 3


class Unsupported(Exception):
    """The data cannot support a segment; the message says why, in plain words."""


@dataclass(frozen=True)
class CatalogSegment:
    key: str
    group: str
    name: str
    question: str
    needs: tuple[str, ...]  # mapping roles it reads
    build: Callable[[dict], dict]
    headline: Callable[[dict], tuple[str, dict] | None] | None = None


@dataclass
class Resolution:
    """A catalog segment for one dataset: the engine segment, or why there is none."""

    entry: CatalogSegment
    segment: dict | None
    explanation: str  # how it is built, or why it cannot be

    @property
    def supported(self) -> bool:
        return self.segment is not None

    @property
    def key(self) -> str:
        return self.entry.key


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


def _by_category(mapping: dict, key: str, bins_key: str | None = None,
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


def _value_headline(mapping: dict, key: str, value: str | None) -> tuple[str, dict] | None:
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


def _logins(m: dict) -> dict:
    login = _role(m, "login_event")
    metric = {"kind": "event_count", "event": login, "within_days": FIRST_WEEK}
    return {"breakdown": {"metric": metric, "bins": [1, 3, 10]}}


def _logins_headline(m: dict):
    login = _role(m, "login_event")
    return (f"3 or more {login} events in the first week",
            {"kind": "event_count", "event": login, "op": ">=", "value": 3,
             "within_days": FIRST_WEEK})


def _time_in_app(m: dict) -> dict:
    _needs_events(m.get("__events"))
    return {"breakdown": {"metric": {"kind": "time_in_app", "within_days": FIRST_WEEK},
                          "bins": [5, 30, 120]}}


def _time_headline(m: dict):
    _needs_events(m.get("__events"))
    return ("30 or more minutes in the app in the first week",
            {"kind": "time_in_app", "op": ">=", "value": 30, "within_days": FIRST_WEEK})


def _adoption(m: dict) -> dict:
    core = list(_role(m, "core_events"))[:4]
    if len(core) == 1:
        return _buckets([(f"used {core[0]}", _did(core[0], FIRST_TWO_WEEKS))],
                        f"did not use {core[0]}")
    every = {"all": [_did(e, FIRST_TWO_WEEKS) for e in core]}
    some = {"any": [_did(e, FIRST_TWO_WEEKS) for e in core]}
    return _buckets([(f"used all {len(core)} key actions", every),
                     ("used some of them", some)], "used none of them")


def _adoption_headline(m: dict):
    core = list(_role(m, "core_events"))[:4]
    criterion = {"all": [_did(e, FIRST_TWO_WEEKS) for e in core]} if len(core) > 1 else _did(
        core[0], FIRST_TWO_WEEKS)
    return f"did {', '.join(core)} in the first two weeks", criterion


def _feature(m: dict) -> dict:
    event = _role(m, "feature_event")
    return _buckets([(f"used {event} in the first week", _did(event, FIRST_WEEK))],
                    f"did not use {event} in the first week")


def _feature_headline(m: dict):
    event = _role(m, "feature_event")
    return f"used {event} in the first week", _did(event, FIRST_WEEK)


def _plan(m: dict) -> dict:
    return _by_category(m, "plan")


# ---------------------------------------------------------------- eComm


def _order_value_metric(m: dict) -> dict:
    order, value = _role(m, "order_event"), _role(m, "order_value")
    if value["type"] not in NUMERIC:
        raise Unsupported(f"the order value “{value['name']}” is not a number")
    return {"kind": "event_property", "event": order, "property": value["name"], "agg": "avg",
            "within_days": FIRST_MONTH}


def _aov(m: dict) -> dict:
    metric = _order_value_metric(m)
    bins = m.get("order_value_bins")
    if not bins:
        raise Unsupported("set where to cut average order values in the mapping")
    segment = {"breakdown": {"metric": metric, "bins": list(bins)}}
    if m.get("order_id"):
        segment["note"] = (f"orders are stored as lines ({m['order_id']['name']}): this "
                           "averages the lines' values")
    return segment


def _aov_headline(m: dict):
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


def _repeat(m: dict) -> dict:
    metric = _orders_metric(m)
    return _buckets([
        ("2 or more orders in the first month", {**metric, "op": ">=", "value": 2}),
        ("1 order", {**metric, "op": ">=", "value": 1}),
    ], "no order")


def _repeat_headline(m: dict):
    return ("2 or more orders in the first month", {**_orders_metric(m), "op": ">=", "value": 2})


def _first_time(m: dict) -> dict:
    visitor = m.get("visitor_type")
    if visitor:
        return _by_category(m, "visitor_type")
    _needs_events(m.get("__events"))
    once = {"kind": "session_count", "op": "<=", "value": 1, "within_days": FIRST_MONTH}
    return _buckets([("one visit only in the first month", once)], "came back")


def _first_time_headline(m: dict):
    visitor = m.get("visitor_type")
    if visitor:
        new = [v for v in visitor.get("values", []) if "new" in v.lower() or "first" in v.lower()]
        return _value_headline(m, "visitor_type", new[0] if new else None)
    _needs_events(m.get("__events"))
    return ("one visit only in the first month",
            {"kind": "session_count", "op": "<=", "value": 1, "within_days": FIRST_MONTH})


def _guest_criterion(m: dict) -> tuple[str, dict]:
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


def _guest(m: dict) -> dict:
    label, criterion = _guest_criterion(m)
    return _buckets([(label, criterion)], "everyone else")


# ---------------------------------------------------------------- FinServ


def _stage(m: dict) -> dict:
    if m.get("application_stage"):
        return _by_category(m, "application_stage")
    stages = list(m.get("stage_events") or [])
    if len(stages) < 2:
        raise Unsupported("no column looks like an application stage, and no events are "
                          "mapped as application stages")
    # Each user in the furthest stage reached in the first days.
    pairs = [(f"reached {s}", _did(s, STAGE_DAYS)) for s in reversed(stages)]
    return _buckets(pairs, "reached none of them")


def _stage_headline(m: dict):
    stages = list(m.get("stage_events") or [])
    if m.get("application_stage") or len(stages) < 2:
        return None
    return f"reached {stages[1]} in the first {STAGE_DAYS} days", _did(stages[1], STAGE_DAYS)


def _policies(m: dict) -> dict:
    ref = _role(m, "policy_count")
    if ref["type"] not in NUMERIC:
        return _by_category(m, "policy_count")
    return _buckets([("2 or more", _property_is(ref, ">=", 2)),
                     ("1", _property_is(ref, "=", 1))], "none or unknown")


def _policies_headline(m: dict):
    ref = _role(m, "policy_count")
    if ref["type"] not in NUMERIC:
        return None
    return f"{ref['name']} of 2 or more", _property_is(ref, ">=", 2)


def _returning(m: dict) -> dict:
    if m.get("prior_count"):
        ref = m["prior_count"]
        return _buckets([("came before", _property_is(ref, ">=", 1))], "first time")
    if m.get("visitor_type"):
        return _by_category(m, "visitor_type")
    if m.get("order_event"):
        return _buckets([("ordered again within 90 days", {
            **_orders_metric(m), "within_days": 90, "op": ">=", "value": 2})], "everyone else")
    raise Unsupported("no column looks like earlier contacts or a visitor type, and no order "
                      "event shows customers coming back")


def _returning_headline(m: dict):
    if m.get("prior_count"):
        return f"{m['prior_count']['name']} of 1 or more", _property_is(m["prior_count"], ">=", 1)
    if m.get("visitor_type"):
        values = [v for v in m["visitor_type"].get("values", []) if "return" in v.lower()]
        return _value_headline(m, "visitor_type", values[0] if values else None)
    if m.get("order_event"):
        return ("ordered again within 90 days",
                {**_orders_metric(m), "within_days": 90, "op": ">=", "value": 2})
    return None


# ---------------------------------------------------------------- Technographics


def _device_is(m: dict, values_key: str) -> tuple[str, dict]:
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


def _mobile(m: dict) -> dict:
    label, criterion = _device_is(m, "mobile_values")
    return _buckets([(label, criterion)], "other devices")


def _desktop(m: dict) -> dict:
    label, criterion = _device_is(m, "desktop_values")
    return _buckets([(label, criterion)], "other devices")


def _tool_metric(m: dict) -> dict:
    tool = _role(m, "tool")
    if tool["scope"] == "user":
        raise Unsupported("the tool is a user property")  # handled by _tools
    event = m.get("integration_event") or (tool.get("events") or [None])[0]
    if not event:
        raise Unsupported(f"no event carries “{tool['name']}”")
    return {"kind": "event_property", "event": event, "property": tool["name"],
            "agg": "count_distinct", "within_days": FIRST_TWO_WEEKS}


def _tools(m: dict) -> dict:
    tool = _role(m, "tool")
    if tool["scope"] == "user":
        return _by_category(m, "tool")
    metric = _tool_metric(m)
    return _buckets([("2 or more tools", {**metric, "op": ">=", "value": 2}),
                     ("1 tool", {**metric, "op": ">=", "value": 1})], "no tool")


def _tools_headline(m: dict):
    if _role(m, "tool")["scope"] == "user":
        return None
    return ("connected 2 or more tools in the first two weeks",
            {**_tool_metric(m), "op": ">=", "value": 2})


def _integrations(m: dict) -> dict:
    event = _role(m, "integration_event")
    return _buckets([(f"did {event} in the first two weeks", _did(event, FIRST_TWO_WEEKS))],
                    "did not")


def _integrations_headline(m: dict):
    event = _role(m, "integration_event")
    return f"did {event} in the first two weeks", _did(event, FIRST_TWO_WEEKS)


# ---------------------------------------------------------------- the catalog


def _category(key: str, bins_key: str | None = None, default: list | None = None,
              codes: bool = False):
    return lambda m: _by_category(m, key, bins_key, default, codes)


CATALOG: tuple[CatalogSegment, ...] = (
    CatalogSegment("saas.logins", "SaaS", "Number of logins",
                   "Do users who come back often in their first week succeed more?",
                   ("login_event",), _logins, _logins_headline),
    CatalogSegment("saas.time_in_app", "SaaS", "Time spent in the app",
                   "Minutes in the app in the first week, from the events' sessions.",
                   (), _time_in_app, _time_headline),
    CatalogSegment("saas.adoption", "SaaS", "Product adoption",
                   "How many of the key product actions users tried in two weeks.",
                   ("core_events",), _adoption, _adoption_headline),
    CatalogSegment("saas.feature", "SaaS", "Specific feature usage",
                   "Users who used one feature in their first week.",
                   ("feature_event",), _feature, _feature_headline),
    CatalogSegment("saas.plan", "SaaS", "Plan", "The plan or tier an account is on.",
                   ("plan",), _plan),
    CatalogSegment("ecomm.aov", "eComm", "Average order value",
                   "Average value of a user's orders in the first month.",
                   ("order_event", "order_value", "order_value_bins"), _aov, _aov_headline),
    CatalogSegment("ecomm.first_time", "eComm", "First-time visitors",
                   "Users who visit once against those who come back.",
                   ("visitor_type",), _first_time, _first_time_headline),
    CatalogSegment("ecomm.repeat", "eComm", "Repeat shoppers",
                   "Orders in the first month: none, one, or more.",
                   ("order_event", "order_id"), _repeat, _repeat_headline),
    CatalogSegment("ecomm.guest", "eComm", "Guest shoppers",
                   "Users who bought without an account.",
                   ("guest", "order_event", "signup_event"), _guest, _guest_criterion),
    CatalogSegment("finserv.stage", "FinServ", "Application stage",
                   "How far an application got.", ("application_stage", "stage_events"),
                   _stage, _stage_headline),
    CatalogSegment("finserv.policies", "FinServ", "Single vs. multiple policy holders",
                   "Customers holding one policy against several.", ("policy_count",),
                   _policies, _policies_headline),
    CatalogSegment("finserv.returning", "FinServ", "Returning customers",
                   "Customers who came before against first-timers.",
                   ("prior_count", "visitor_type", "order_event"), _returning,
                   _returning_headline),
    CatalogSegment("demo.age", "Demographics", "Age", "Age bands.", ("age", "age_bins"),
                   _category("age", "age_bins", DEFAULT_AGE_BINS)),
    CatalogSegment("demo.gender", "Demographics", "Gender", "Gender.", ("gender",),
                   _category("gender")),
    CatalogSegment("demo.education", "Demographics", "Education", "Highest education.",
                   ("education",), _category("education")),
    CatalogSegment("demo.location", "Demographics", "Location", "Country, region or city.",
                   ("location",), _category("location", codes=True)),
    CatalogSegment("tech.mobile", "Technographics", "Mobile users",
                   "Users on a phone against everyone else.",
                   ("device", "mobile_values"), _mobile, lambda m: _device_is(m, "mobile_values")),
    CatalogSegment("tech.desktop", "Technographics", "Desktop users",
                   "Users on a computer against everyone else.",
                   ("device", "desktop_values"), _desktop, lambda m: _device_is(m, "desktop_values")),
    CatalogSegment("tech.tools", "Technographics", "3rd-party tools",
                   "How many other tools users connected in two weeks.",
                   ("tool", "integration_event"), _tools, _tools_headline),
    CatalogSegment("tech.integrations", "Technographics", "Integrations",
                   "Users who connected an integration in two weeks.",
                   ("integration_event",), _integrations, _integrations_headline),
    CatalogSegment("firmo.company_size", "Firmographics", "Company size",
                   "Size of the user's company.", ("company_size", "company_size_bins"),
                   _category("company_size", "company_size_bins", DEFAULT_COMPANY_SIZE_BINS)),
    CatalogSegment("firmo.organization_type", "Firmographics", "Organization type",
                   "Industry or kind of organization.", ("organization_type",),
                   _category("organization_type")),
    CatalogSegment("firmo.ownership", "Firmographics", "Ownership",
                   "Private, public, nonprofit...", ("ownership",), _category("ownership")),
    CatalogSegment("firmo.growth", "Firmographics", "Growth trends",
                   "Whether the user's company is growing.", ("growth_trend",),
                   _category("growth_trend")),
)
CATALOG_BY_KEY = {entry.key: entry for entry in CATALOG}
GROUPS = tuple(dict.fromkeys(entry.group for entry in CATALOG))
CATEGORY_ROLES = {"saas.plan": "plan", "demo.age": "age", "demo.gender": "gender",
                  "demo.education": "education", "demo.location": "location",
                  "firmo.company_size": "company_size",
                  "firmo.organization_type": "organization_type",
                  "firmo.ownership": "ownership", "firmo.growth": "growth_trend",
                  "finserv.stage": "application_stage", "ecomm.first_time": "visitor_type"}


def _with_schema(mapping: dict, schema: DatasetSchema | None) -> dict:
    return {**mapping, "__events": dict(schema.events) if schema is not None else None}


def resolve(key: str, mapping: dict, schema: DatasetSchema | None = None) -> Resolution:
    """One catalog segment for a dataset's mapping. With the schema, the segment is also
    checked against the data (a name that is gone makes it unsupported, saying why)."""
    entry = CATALOG_BY_KEY[key]
    try:
        segment = {"key": key, **entry.build(_with_schema(mapping, schema))}
    except Unsupported as why:
        return Resolution(entry, None, _sentence(str(why)))
    note = segment.pop("note", None)
    if schema is not None:
        from analytics.trends import validate_segment

        try:
            segment = validate_segment(segment, schema)
        except DefinitionError as error:
            return Resolution(entry, None, _sentence(f"the data does not fit: {error}"))
    explanation = describe_segment(segment)
    return Resolution(entry, segment, f"{explanation} ({note})" if note else explanation)


def resolve_all(mapping: dict, schema: DatasetSchema | None = None) -> list[Resolution]:
    return [resolve(entry.key, mapping, schema) for entry in CATALOG]


def segment_criterion(segment_key: str, mapping: dict, *, value: str | None = None
                      ) -> dict | None:
    """The criterion a Phase 2 hypothesis can start from: the segment's headline group
    (e.g. "3 or more login events in the first week"), or, for a segment that splits by a
    property's values (age, plan, company size...), the users with `value`. None when the
    mapping cannot support it or a value is needed and missing."""
    result = segment_hypothesis(segment_key, mapping, value=value)
    return result["criterion"] if result else None


def segment_hypothesis(segment_key: str, mapping: dict, *, value: str | None = None
                       ) -> dict | None:
    """{"text": "Users who ... succeed more often", "criterion": {...}} or None."""
    entry = CATALOG_BY_KEY.get(segment_key)
    if entry is None:
        return None
    mapping = _with_schema(mapping, None)
    try:
        if value is not None and segment_key in CATEGORY_ROLES:
            found = _value_headline(mapping, CATEGORY_ROLES[segment_key], value)
        elif entry.headline is not None:
            found = entry.headline(mapping)
        else:
            found = None
    except Unsupported:
        return None
    if found is None:
        return None
    label, criterion = found
    return {"text": f"Users whose {label} succeed more often" if " is " in label
            else f"Users who {_as_clause(label)} succeed more often", "criterion": criterion,
            "label": label}


def _as_clause(label: str) -> str:
    for prefix in ("used ", "did ", "reached ", "connected ", "ordered ", "checked "):
        if label.startswith(prefix):
            return label
    return f"have {label}"


def bucket_values(segment_key: str, mapping: dict) -> list[str]:
    """The values a hypothesis can pick for a segment that splits by a property."""
    role = CATEGORY_ROLES.get(segment_key)
    ref = mapping.get(role) if role else None
    if not ref or ref.get("type") in NUMERIC or ref.get("type") == "timestamp":
        return []
    return list(ref.get("values") or [])


def describe_segment(segment: dict) -> str:
    """How a segment splits users, in plain words."""
    if "breakdown" in segment:
        return "split " + describe_breakdown(segment["breakdown"])
    buckets = segment["buckets"]
    if len(buckets) == 1:
        return f"{describe_criterion(buckets[0]['criterion'])}, against everyone else"
    return "first that applies: " + "; ".join(b["label"] for b in buckets) + \
        f"; else {segment['else']}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
