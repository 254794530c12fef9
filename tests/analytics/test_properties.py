"""Property tests: random small datasets and random definitions, the engine's counts
against a straightforward plain-Python reading of definitions.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.engine.analysis import analyze, evaluate_criteria
from tests.analytics.builders import build_dataset, feature_table

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
EVENTS = ("login", "export", "purchase")
EVENT_TYPES = {"amount": "integer", "device": "text"}
USER_TYPES = {"plan": "text", "age": "integer", "trial": "boolean"}
PROPERTY_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                             suppress_health_check=[HealthCheck.too_slow,
                                                    HealthCheck.function_scoped_fixture])

# Offsets on every edge the contract names (30-minute gaps, 1 and 7-day windows), often
# exactly, sometimes a microsecond either side.
MINUTES = st.sampled_from([0, 10, 30, 60, 90, 1440, 1440, 1470, 10080, 10080])
MICROS = st.sampled_from([0, 0, 0, 0, 1, -1])
PLANS = st.sampled_from([None, "free", "pro", "pro plus"])
DEVICES = st.sampled_from([None, "mobile", "desktop"])


@st.composite
def datasets(draw) -> tuple[list[dict], list[dict]]:
    events = []
    for user in range(draw(st.integers(0, 6))):
        start = T0 + timedelta(days=draw(st.integers(0, 10)))
        for k in range(draw(st.integers(1, 8))):
            offset = 0 if k == 0 else draw(MINUTES)
            micro = 0 if offset == 0 else draw(MICROS)
            events.append({
                "user_id": f"u{user}", "event": draw(st.sampled_from(EVENTS)),
                "timestamp": start + timedelta(minutes=offset, microseconds=micro),
                "amount": draw(st.one_of(st.none(), st.integers(0, 5))),
                "device": draw(DEVICES)})
    users = [{"user_id": f"u{i}", "plan": draw(PLANS),
              "age": draw(st.one_of(st.none(), st.integers(15, 25))),
              "trial": draw(st.one_of(st.none(), st.booleans()))}
             for i in range(draw(st.integers(0, 9)))]
    return events, users


def conditions(names: dict[str, str]):
    """A condition on one of these properties (name -> type)."""
    def for_property(name: str):
        kind = names[name]
        values = {"text": st.sampled_from(["free", "pro", "mobile", "desktop", "o"]),
                  "integer": st.integers(0, 25), "boolean": st.booleans()}[kind]
        ops = {"text": ["=", "!=", "<", "in", "not_in", "contains", "is_set", "is_not_set"],
               "integer": ["=", "!=", "<", "<=", ">", ">=", "in", "not_in", "between",
                           "is_set", "is_not_set"],
               "boolean": ["=", "!=", "is_set", "is_not_set"]}[kind]
        return st.sampled_from(ops).flatmap(lambda op: _with_value(name, op, values))
    return st.sampled_from(sorted(names)).flatmap(for_property)


def _with_value(name: str, op: str, values):
    if op in ("is_set", "is_not_set"):
        return st.just({"property": name, "op": op})
    if op in ("in", "not_in"):
        return st.lists(values, min_size=1, max_size=3).map(
            lambda v: {"property": name, "op": op, "value": v})
    if op == "between":
        return st.tuples(values, values).map(
            lambda v: {"property": name, "op": op, "value": sorted(v)})
    return values.map(lambda v: {"property": name, "op": op, "value": v})


SMALL_COUNTS = st.integers(0, 6)


def numeric(op_values=SMALL_COUNTS):
    ops = st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "between", "in"])
    return ops.flatmap(lambda op: _with_value("_", op, op_values)).map(
        lambda c: {k: v for k, v in c.items() if k != "property"})


WINDOWS = st.sampled_from([None, 1, 7])
WHERE = st.one_of(st.just([]), st.lists(conditions(EVENT_TYPES), min_size=1, max_size=2))


def _window(days):
    return {"within_days": days} if days else {}


def _where(where):
    return {"where": where} if where else {}


LEAVES = st.one_of(
    st.builds(lambda e, w, d, cond: {"kind": "event_count", "event": e, **_window(d),
                                     **_where(w), **cond},
              st.sampled_from(EVENTS), WHERE, WINDOWS, numeric()),
    st.builds(lambda e, w, d, did: {"kind": "did_event", "event": e, **_window(d),
                                    **_where(w), **({} if did else {"did": False})},
              st.sampled_from(EVENTS), WHERE, WINDOWS, st.booleans()),
    st.builds(lambda e, agg, d, cond: {"kind": "event_property", "event": e,
                                       "property": "amount", "agg": agg, **_window(d),
                                       **cond},
              st.sampled_from(EVENTS), st.sampled_from(["sum", "avg", "min", "max",
                                                        "count_distinct"]),
              WINDOWS, numeric(st.sampled_from([0, 1, 2, 2.5, 4, 8]))),
    st.builds(lambda d, cond: {"kind": "event_property", "event": "login",
                               "property": "device", "agg": "max", **_window(d),
                               **{k: v for k, v in cond.items() if k != "property"}},
              WINDOWS, conditions({"device": "text"})),
    conditions(EVENT_TYPES).map(lambda c: {"kind": "first_event_property", **c}),
    st.builds(lambda kind, d, gap, cond: {"kind": kind, **_window(d), **cond,
                                          **({"session_gap_minutes": gap} if gap else {})},
              st.sampled_from(["session_count", "time_in_app"]), WINDOWS,
              st.sampled_from([None, 10, 60]),
              numeric(st.sampled_from([0, 1, 2, 10, 29.5, 30, 31, 60]))),
    conditions(USER_TYPES).map(lambda c: {"kind": "property", **c}),
)
CRITERIA = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, min_size=1, max_size=3).map(lambda c: {"all": c}),
    st.lists(inner, min_size=1, max_size=3).map(lambda c: {"any": c}),
    inner.map(lambda c: {"not": c})), max_leaves=3)
SUCCESSES = st.one_of(
    st.builds(lambda events, match, d, where, complete: {
        "events": events, "match": match, **_window(d), **_where(where),
        **({} if complete else {"complete_windows": False})},
        st.lists(st.sampled_from(EVENTS), min_size=1, max_size=2, unique=True),
        st.sampled_from(["any", "all"]), WINDOWS, WHERE, st.booleans()),
    conditions(USER_TYPES),
)


# ------------------------------------------------------------------ the plain reading


def holds(value: Any, condition: dict) -> bool:
    op, target = condition["op"], condition.get("value")
    if op == "is_set":
        return value is not None
    if op == "is_not_set":
        return value is None
    if value is None:
        return False
    if op == "in":
        return value in target
    if op == "not_in":
        return value not in target
    if op == "between":
        return target[0] <= value <= target[1]
    if op == "contains":
        return target in value
    return {"=": value == target, "!=": value != target, "<": value < target,
            "<=": value <= target, ">": value > target, ">=": value >= target}[op]


class Person:
    def __init__(self, properties: dict, events: list[dict]):
        self.properties = properties
        self.events = sorted(events, key=lambda e: e["timestamp"])
        self.first_seen = self.events[0]["timestamp"] if self.events else None

    def within(self, days: int | None) -> list[dict]:
        if days is None:
            return self.events
        return [e for e in self.events if e["timestamp"] < self.first_seen + days * DAY]

    def matching(self, node: dict, events: tuple[str, ...] | None = None) -> list[dict]:
        names = events or (node["event"],)
        return [e for e in self.within(node.get("within_days")) if e["event"] in names
                and all(holds(e.get(c["property"]), c) for c in node.get("where", []))]

    def measure(self, node: dict) -> Any:
        kind = node["kind"]
        if kind == "event_count":
            return len(self.matching(node))
        if kind == "event_property":
            found = self.matching(node)
            values = [e[node["property"]] for e in found if e[node["property"]] is not None]
            if not found:
                return None
            if node["agg"] == "count_distinct":
                return len(set(values))
            if not values:
                return None
            return {"sum": sum, "min": min, "max": max,
                    "avg": lambda v: sum(v) / len(v)}[node["agg"]](values)
        if kind == "first_event_property":
            first = [e[node["property"]] for e in self.events
                     if e["timestamp"] == self.first_seen and e[node["property"]] is not None]
            return min(first) if first else None
        moments = [e["timestamp"] for e in self.within(node.get("within_days"))]
        gap = timedelta(minutes=node.get("session_gap_minutes", 30))
        steps = [b - a for a, b in zip(moments, moments[1:], strict=False)]
        if kind == "session_count":
            return (1 + sum(s > gap for s in steps)) if moments else 0
        inside = sum(s // timedelta(microseconds=1) for s in steps if s <= gap)
        return inside / 60_000_000

    def satisfies(self, node: dict) -> bool:
        if "all" in node:
            return all(self.satisfies(c) for c in node["all"])
        if "any" in node:
            return any(self.satisfies(c) for c in node["any"])
        if "not" in node:
            return not self.satisfies(node["not"])
        if node["kind"] == "property":
            return holds(self.properties.get(node["property"]), node)
        if node["kind"] == "did_event":
            return bool(self.matching(node)) == node.get("did", True)
        return holds(self.measure(node), node)

    def succeeded(self, success: dict) -> bool:
        if "property" in success:
            return holds(self.properties.get(success["property"]), success)
        groups = ([tuple(success["events"])] if success["match"] == "any"
                  else [(e,) for e in success["events"]])
        return all(self.matching(success, group) for group in groups)

    def included(self, success: dict, data_end: datetime | None) -> bool:
        days = success.get("within_days")
        if "property" in success or days is None or not success.get("complete_windows", True):
            return True
        return self.first_seen is None or self.first_seen + days * DAY <= data_end


def people(events: list[dict], users: list[dict]) -> list[Person]:
    by_user: dict[str, list] = {u["user_id"]: [] for u in users}
    for e in events:
        by_user.setdefault(e["user_id"], []).append(e)
    properties = {u["user_id"]: u for u in users}
    return [Person(properties.get(uid, {}), evs) for uid, evs in by_user.items()]


def build(tmp_path_factory, events, users):
    return build_dataset(tmp_path_factory.mktemp("random"), events, users,
                         event_property_types=EVENT_TYPES, user_property_types=USER_TYPES)


def _schema_has(version, success) -> bool:
    known = version.schema().events
    return "property" in success or all(e in known for e in success["events"])


# ------------------------------------------------------------------ the properties


@PROPERTY_SETTINGS
@given(data=datasets(), success=SUCCESSES,
       criteria=st.lists(CRITERIA, min_size=1, max_size=12))
def test_group_and_rest_counts_match_a_plain_reading(tmp_path_factory, data, success,
                                                     criteria):
    events, users = data
    version = build(tmp_path_factory, events, users)
    if not _schema_has(version, success):
        success = {"property": "plan", "op": "is_set"}
    everyone = people(events, users)
    data_end = max((e["timestamp"] for e in events), default=None)
    # Only names the dataset has are valid; unknown ones are refused (tested elsewhere).
    known = set(version.schema().events)
    criteria = [c for c in criteria if _names_known(c, known)] or [
        {"kind": "property", "property": "age", "op": "is_set"}]

    population, rows = evaluate_criteria(version, success, criteria)

    kept = [p for p in everyone if p.included(success, data_end)]
    assert population["excluded_incomplete"] == len(everyone) - len(kept)
    assert population["users"] == len(kept)
    assert population["successes"] == sum(p.succeeded(success) for p in kept)
    for criterion, row in zip(criteria, rows, strict=True):
        group = [p for p in kept if p.satisfies(criterion)]
        assert row["group"]["users"] == len(group), criterion
        assert row["group"]["successes"] == sum(p.succeeded(success) for p in group), criterion
        assert row["rest"]["users"] == len(kept) - len(group)


def _names_known(criterion: dict, known: set[str]) -> bool:
    for key in ("all", "any"):
        if key in criterion:
            return all(_names_known(c, known) for c in criterion[key])
    if "not" in criterion:
        return _names_known(criterion["not"], known)
    return criterion.get("event", EVENTS[0]) in known or "event" not in criterion


@settings(PROPERTY_SETTINGS, max_examples=25)
@given(data=datasets(), bins=st.lists(st.integers(14, 26), min_size=1, max_size=3,
                                      unique=True).map(sorted),
       by_metric=st.booleans(), population_filter=st.one_of(st.none(), LEAVES))
def test_breakdown_buckets_match_a_plain_reading(tmp_path_factory, data, bins, by_metric,
                                                  population_filter):
    events, users = data
    version = build(tmp_path_factory, events, users)
    success = {"property": "trial", "op": "=", "value": True}
    known = set(version.schema().events)
    if population_filter is not None and not _names_known(population_filter, known):
        population_filter = None
    metric = {"kind": "session_count", "session_gap_minutes": 10}
    breakdown = ({"metric": metric, "bins": [b - 14 for b in bins]} if by_metric
                 else {"property": "age", "bins": bins})
    result = analyze(version, success, breakdown=breakdown, population_filter=population_filter)

    kept = [p for p in people(events, users)
            if population_filter is None or p.satisfies(population_filter)]
    edges = breakdown["bins"]
    expected = [[0, 0] for _ in range(len(edges) + 2)]
    for person in kept:
        value = person.measure(metric) if by_metric else person.properties.get("age")
        index = (len(edges) + 1 if value is None
                 else sum(value >= edge for edge in edges))
        expected[index][0] += 1
        expected[index][1] += person.succeeded(success)
    assert [[b["users"], b["successes"]] for b in result["buckets"]] == expected


MEASURES = [
    {"kind": kind, **_window(days), **({"session_gap_minutes": gap} if gap else {})}
    for kind in ("session_count", "time_in_app") for days in (None, 1, 7)
    for gap in (None, 10, 60)
] + [
    {"kind": "event_count", "event": event, **_window(days), **_where(where)}
    for event in EVENTS for days in (None, 1, 7)
    for where in ([], [{"property": "device", "op": "!=", "value": "mobile"}])
] + [
    {"kind": "event_property", "event": "purchase", "property": "amount", "agg": agg,
     **_window(days)}
    for agg in ("sum", "avg", "min", "max", "count_distinct") for days in (None, 1)
] + [
    {"kind": "event_property", "event": "login", "property": "device", "agg": "min"},
    {"kind": "first_event_property", "property": "device"},
    {"kind": "first_event_property", "property": "amount"},
] + [{"kind": "did_event", "event": event, **_window(days)}
     for event in EVENTS for days in (None, 1, 7)]


@PROPERTY_SETTINGS
@given(data=datasets())
def test_every_measure_matches_a_plain_reading(tmp_path_factory, data):
    events, users = data
    version = build(tmp_path_factory, events, users)
    known = set(version.schema().events)
    measures = [m for m in MEASURES if m.get("event", EVENTS[0]) in known or "event" not in m]
    table = feature_table(version, measures)
    everyone = {p.properties.get("user_id") or p.events[0]["user_id"]: p
                for p in people(events, users)}
    assert set(table) == set(everyone)
    for user, values in table.items():
        person = everyone[user]
        for measure, value in zip(measures, values, strict=True):
            if measure["kind"] == "did_event":
                expected = bool(person.matching(measure))
            else:
                expected = person.measure(measure)
            if isinstance(expected, float):
                assert value == pytest.approx(expected, rel=1e-12), (user, measure)
            else:
                assert value == expected, (user, measure)
