"""Per-user measures derived from the events (a criterion's or metric's behavioural part),
compiled to the SQL of the single GROUP BY _uid pass that builds the per-user table.

The query has three layers, so that every scan of the events is one aggregation:
  inner  aggregates over events per _uid (count_if, min(...) FILTER, list(...) FILTER)
  mid    the users table joined to them: windowed lists (x < first_seen + N*24 hours)
  outer  the feature values, the success flag and the complete-window flag.
Windows compare with the users table's `_first_seen`, which the importer stores, so nothing
joins back to the events. Values are bound parameters; identifiers come from the schema."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from analytics import duck
from analytics.definitions import VALUE_TYPES, parse_timestamp
from analytics.sql import Sql, compile_condition
from analytics.storage import DatasetSchema

FEATURE_PREFIX = "__hl_f_"
SUCCESS_COLUMN = "__hl_success"
INCLUDED_COLUMN = "__hl_included"
# The parts of a criterion that decide a per-user value (op, value and did do not).
MEASURE_KEYS = ("kind", "event", "property", "agg", "within_days", "session_gap_minutes",
                "where")
DEFAULT_GAP_MINUTES = 30
_FIRST_SEEN = "m._first_seen"


@dataclass(frozen=True)
class Feature:
    """One per-user measure, identified by its canonical JSON."""

    key: str

    @classmethod
    def of(cls, measure: dict) -> Feature:
        part = {k: measure[k] for k in MEASURE_KEYS if k in measure}
        return cls(json.dumps(part, sort_keys=True, separators=(",", ":")))

    @property
    def measure(self) -> dict:
        return json.loads(self.key)

    @property
    def column(self) -> str:
        return FEATURE_PREFIX + hashlib.sha256(self.key.encode()).hexdigest()[:16]


def features_of(criterion: dict | None) -> list[Feature]:
    """The event-derived measures a validated criterion (or metric) needs, in order."""
    found: list[Feature] = []
    stack = [criterion] if criterion else []
    while stack:
        node = stack.pop()
        for key in ("all", "any"):
            if key in node:
                stack.extend(reversed(node[key]))
        if "not" in node:
            stack.append(node["not"])
        if node.get("kind") not in (None, "property"):
            feature = Feature.of(node)
            if feature not in found:
                found.append(feature)
    return found


@dataclass
class _Layer:
    """Expressions of one query layer, each once, with their parameters in text order."""

    prefix: str
    items: list[tuple[str, Sql]] = field(default_factory=list)
    seen: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, sql: Sql) -> str:
        key = (sql.text, repr(sql.params))
        if key not in self.seen:
            alias = f"{self.prefix}{len(self.items)}"
            self.seen[key] = alias
            self.items.append((alias, sql))
        return self.seen[key]

    def select(self) -> Sql:
        return Sql.join([Sql(f"{s.text} AS {alias}", s.params) for alias, s in self.items])


class PerUserQuery:
    """Builds the SQL of a per-user table: user columns, success, inclusion, features."""

    def __init__(self, schema: DatasetSchema):
        self.schema = schema
        self.inner = _Layer("__hl_a")
        self.mid = _Layer("__hl_m")
        self.outer: list[tuple[str, Sql]] = []
        self.events: set[str] = set()
        self.all_events = False

    # -- building blocks

    def _event_predicate(self, events: list[str], where: list[dict]) -> Sql:
        self.events.update(events)
        marks = ", ".join("?" for _ in events)
        parts = [Sql(f"event IN ({marks})", list(events))]
        for condition in where:
            column = duck.quote_identifier(condition["property"])
            kind = VALUE_TYPES[self.schema.event_properties[condition["property"]]]
            parts.append(compile_condition(column, condition["op"], condition.get("value"), kind))
        return Sql.join(parts, " AND ")

    @staticmethod
    def _window_end(days: int) -> Sql:
        return Sql(f"{_FIRST_SEEN} + to_hours(CAST(? AS BIGINT))", [days * 24])

    def _windowed(self, list_alias: str, days: int | None, element: str = "x") -> Sql:
        """An inner list keeping only the elements inside the window (for the mid layer)."""
        if days is None:
            return Sql(list_alias)
        end = self._window_end(days)
        return Sql(f"list_filter({list_alias}, lambda x: {element} < {end.text})", end.params)

    # -- success and inclusion

    def set_success(self, success: dict, data_end: str | None) -> None:
        if "property" in success:
            kind = VALUE_TYPES[self.schema.user_properties[success["property"]]]
            column = "m." + duck.quote_identifier(success["property"])
            flag = compile_condition(column, success["op"], success.get("value"), kind)
            # Never null: a user without the property did not succeed (and, read from the
            # other side, did not succeed either).
            self.outer.append((SUCCESS_COLUMN, flag.wrap("coalesce(", ", false)")))
            self.outer.append((INCLUDED_COLUMN, Sql("true")))
            return
        groups = ([success["events"]] if success["match"] == "any"
                  else [[e] for e in success["events"]])
        days = success.get("within_days")
        flags = []
        for events in groups:
            predicate = self._event_predicate(events, success.get("where", []))
            alias = self.inner.add(predicate.wrap("min(timestamp) FILTER (WHERE ", ")"))
            if days is None:
                flags.append(Sql(f"{alias} IS NOT NULL"))
            else:
                end = self._window_end(days)
                flags.append(Sql(f"coalesce({alias} < {end.text}, false)", end.params))
        self.outer.append((SUCCESS_COLUMN, Sql.join(flags, " AND ")))
        if days is None or not success.get("complete_windows", True) or data_end is None:
            self.outer.append((INCLUDED_COLUMN, Sql("true")))
        else:
            end = self._window_end(days)
            self.outer.append((INCLUDED_COLUMN, Sql(
                f"({_FIRST_SEEN} IS NULL OR {end.text} <= CAST(? AS TIMESTAMPTZ))",
                [*end.params, parse_timestamp(data_end)])))

    # -- features

    def add_feature(self, feature: Feature) -> None:
        m = feature.measure
        kind, days = m["kind"], m.get("within_days")
        build = getattr(self, f"_{kind}")
        self.outer.append((feature.column, build(m, days)))

    def _did_event(self, m: dict, days: int | None) -> Sql:
        predicate = self._event_predicate([m["event"]], m.get("where", []))
        alias = self.inner.add(predicate.wrap("min(timestamp) FILTER (WHERE ", ")"))
        if days is None:
            return Sql(f"{alias} IS NOT NULL")
        end = self._window_end(days)
        return Sql(f"coalesce({alias} < {end.text}, false)", end.params)

    def _event_count(self, m: dict, days: int | None) -> Sql:
        predicate = self._event_predicate([m["event"]], m.get("where", []))
        if days is None:
            alias = self.inner.add(predicate.wrap("count_if(", ")"))
            return Sql(f"coalesce({alias}, 0)")
        listed = self.inner.add(predicate.wrap("list(timestamp) FILTER (WHERE ", ")"))
        windowed = self.mid.add(self._windowed(listed, days))
        return Sql(f"coalesce(len({windowed}), 0)")

    def _event_property(self, m: dict, days: int | None) -> Sql:
        predicate = self._event_predicate([m["event"]], m.get("where", []))
        column, agg = duck.quote_identifier(m["property"]), m["agg"]
        if days is None:
            if agg == "count_distinct":
                seen = self.inner.add(predicate.wrap("count_if(", ")"))
                distinct = self.inner.add(
                    predicate.wrap(f"count(DISTINCT {column}) FILTER (WHERE ", ")"))
                return Sql(f"CASE WHEN {seen} > 0 THEN {distinct} END")
            alias = self.inner.add(predicate.wrap(f"{agg}({column}) FILTER (WHERE ", ")"))
            return Sql(f"CAST({alias} AS DOUBLE)" if agg == "sum" else alias)
        listed = self.inner.add(predicate.wrap(
            f"list(struct_pack(t := timestamp, v := {column})) FILTER (WHERE ", ")"))
        values = self.mid.add(
            self._windowed(listed, days, "x.t").wrap("list_transform(", ", lambda x: x.v)"))
        function = {"sum": "CAST(list_sum({}) AS DOUBLE)", "avg": "list_avg({})",
                    "min": "list_min({})", "max": "list_max({})",
                    "count_distinct": "list_unique({})"}[agg]
        return Sql(f"CASE WHEN len({values}) > 0 THEN {function.format(values)} END")

    def _first_event_property(self, m: dict, days: int | None) -> Sql:
        # The earliest event; at equal timestamps the smallest value, a value before null.
        self.all_events = True
        column = duck.quote_identifier(m["property"])
        return Sql(self.inner.add(Sql(
            f"arg_min_null({column}, row(timestamp, {column} IS NULL, {column}))")))

    def _ordered_timestamps(self, days: int | None) -> str:
        """Mid column: the user's event timestamps inside the window, in order."""
        self.all_events = True
        listed = self.inner.add(Sql("list(timestamp)"))
        return self.mid.add(self._windowed(listed, days).wrap("list_sort(", ")"))

    def _session_count(self, m: dict, days: int | None) -> Sql:
        ordered = self._ordered_timestamps(days)
        gap = _gap_microseconds(m)
        return Sql(
            f"CASE WHEN len({ordered}) > 0 THEN 1 + len(list_filter("
            f"list_transform(range(1, len({ordered})), lambda i: "
            f"epoch_us({ordered}[i + 1]) - epoch_us({ordered}[i])), lambda g: g > ?)) "
            "ELSE 0 END", [gap])

    def _time_in_app(self, m: dict, days: int | None) -> Sql:
        # Sessions' lengths sum to the gaps that stay inside a session.
        ordered = self._ordered_timestamps(days)
        gap = _gap_microseconds(m)
        return Sql(
            f"CAST(coalesce(list_sum(list_filter(list_transform(range(1, len({ordered})), "
            f"lambda i: epoch_us({ordered}[i + 1]) - epoch_us({ordered}[i])), "
            "lambda g: g <= ?)), 0) AS DOUBLE) / CAST(60000000 AS DOUBLE)", [gap])

    # -- the query

    def sql(self, version_paths: tuple[str, str]) -> Sql:
        users_path, events_glob = version_paths
        user_columns = ["_uid", "user_id", "_first_seen", *self.schema.user_properties]
        outer = Sql.join([
            *(Sql("m." + duck.quote_identifier(c)) for c in user_columns),
            *(Sql(f"{s.text} AS {duck.quote_identifier(name)}", s.params)
              for name, s in self.outer),
        ])
        if not self.inner.items:
            # Only schema identifiers (quoted) and our own aliases are spliced in; values bind.
            text = f"SELECT {outer.text} FROM read_parquet(?) m"  # noqa: S608
            return Sql(text, [*outer.params, users_path])
        mid = self.mid.select()
        mid_text = f", {mid.text}" if self.mid.items else ""
        inner = self.inner.select()
        where = Sql("")
        if not self.all_events:
            events = sorted(self.events)
            where = Sql(f" WHERE event IN ({', '.join('?' for _ in events)})", events)
        # Schema identifiers (quoted) and our own aliases are spliced in; values bind.
        text = (
            f"SELECT {outer.text} FROM ("  # noqa: S608
            f"SELECT m.*, a.* EXCLUDE (_uid){mid_text} FROM read_parquet(?) m "
            f"LEFT JOIN (SELECT _uid, {inner.text} FROM read_parquet(?){where.text} "
            "GROUP BY _uid) a ON a._uid = m._uid) m"
        )
        params: list[Any] = [*outer.params, *mid.params, users_path, *inner.params,
                             events_glob, *where.params]
        return Sql(text, params)


def _gap_microseconds(m: dict) -> float:
    return float(m.get("session_gap_minutes", DEFAULT_GAP_MINUTES)) * 60_000_000
