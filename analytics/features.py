"""Per-user measures derived from the events (a criterion's or metric's behavioural part),
compiled to the SQL of the single GROUP BY _uid pass that builds the per-user table.

  inner  one aggregation over the events per _uid: count_if(pred), agg(x) FILTER (pred).
         When a window is used, each event row carries its user's window ends, joined from
         the users table (which stores `_first_seen`), so a window is a plain row predicate
         `timestamp < first_seen + N*24h`. When sessions are used, each row carries the
         microseconds since the user's previous event (lag over the user's events).
  outer  the users table joined to that: feature values, the success flag and the
         complete-window flag.
The events are read once, pruned to the events named when nothing needs them all. Values
are bound parameters; identifiers come from the schema."""

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
        self.outer: list[tuple[str, Sql]] = []
        self.events: set[str] = set()
        self.all_events = False  # some measure reads every event, not only those named
        self.gaps = False  # some measure needs the time since the previous event
        self.first_seen = False  # some measure needs the first-seen time on each row
        self.window_ends: dict[int, str] = {}  # days -> column on each event row
        self.properties: set[str] = set()  # event properties read

    # -- building blocks

    def _event_predicate(self, events: list[str], where: list[dict],
                         days: int | None = None) -> Sql:
        self.events.update(events)
        marks = ", ".join("?" for _ in events)
        parts = [Sql(f"e.event IN ({marks})", list(events))]
        for condition in where:
            self.properties.add(condition["property"])
            column = "e." + duck.quote_identifier(condition["property"])
            kind = VALUE_TYPES[self.schema.event_properties[condition["property"]]]
            parts.append(compile_condition(column, condition["op"], condition.get("value"), kind))
        if days is not None:
            parts.append(self._inside(days))
        return Sql.join(parts, " AND ")

    def _inside(self, days: int) -> Sql:
        """Row predicate: the event lies in its user's first `days` days."""
        if days not in self.window_ends:
            self.window_ends[days] = f"__hl_w{len(self.window_ends)}"
        return Sql(f"e.timestamp < w.{self.window_ends[days]}")

    @staticmethod
    def _window_end(days: int) -> Sql:
        return Sql(f"{_FIRST_SEEN} + to_hours(CAST(? AS BIGINT))", [days * 24])

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
            predicate = self._event_predicate(events, success.get("where", []), days)
            alias = self.inner.add(predicate.wrap("count_if(", ")"))
            flags.append(Sql(f"coalesce({alias} > 0, false)"))
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
        predicate = self._event_predicate([m["event"]], m.get("where", []), days)
        return Sql(f"coalesce({self.inner.add(predicate.wrap('count_if(', ')'))} > 0, false)")

    def _event_count(self, m: dict, days: int | None) -> Sql:
        predicate = self._event_predicate([m["event"]], m.get("where", []), days)
        return Sql(f"coalesce({self.inner.add(predicate.wrap('count_if(', ')'))}, 0)")

    def _event_property(self, m: dict, days: int | None) -> Sql:
        predicate = self._event_predicate([m["event"]], m.get("where", []), days)
        self.properties.add(m["property"])
        column, agg = "e." + duck.quote_identifier(m["property"]), m["agg"]
        if agg == "count_distinct":
            # Null (false) without such events; 0 when they all lack the property.
            seen = self.inner.add(predicate.wrap("count_if(", ")"))
            distinct = self.inner.add(
                predicate.wrap(f"count(DISTINCT {column}) FILTER (WHERE ", ")"))
            return Sql(f"CASE WHEN {seen} > 0 THEN {distinct} END")
        alias = self.inner.add(predicate.wrap(f"{agg}({column}) FILTER (WHERE ", ")"))
        return Sql(f"CAST({alias} AS DOUBLE)" if agg == "sum" else alias)

    def _first_event_property(self, m: dict, days: int | None) -> Sql:
        # The events at the first-seen time; among several, the smallest value (a value
        # before a null, as min() skips nulls).
        self.all_events = self.first_seen = True
        self.properties.add(m["property"])
        column = "e." + duck.quote_identifier(m["property"])
        return Sql(self.inner.add(Sql(f"min({column}) FILTER (WHERE e.timestamp = w.__hl_fs)")))

    def _session_count(self, m: dict, days: int | None) -> Sql:
        # A session starts at a user's first event and after every gap over the limit.
        self.all_events = self.gaps = True
        starts = Sql("(e.__hl_gap IS NULL OR e.__hl_gap > ?)", [_gap_microseconds(m)])
        if days is not None:
            starts = Sql.join([self._inside(days), starts], " AND ")
        return Sql(f"coalesce({self.inner.add(starts.wrap('count_if(', ')'))}, 0)")

    def _time_in_app(self, m: dict, days: int | None) -> Sql:
        # Sessions' lengths add up to the gaps that stay inside a session.
        self.all_events = self.gaps = True
        inside = Sql("e.__hl_gap <= ?", [_gap_microseconds(m)])
        if days is not None:
            inside = Sql.join([self._inside(days), inside], " AND ")
        total = self.inner.add(inside.wrap("sum(e.__hl_gap) FILTER (WHERE ", ")"))
        return Sql(f"CAST(coalesce({total}, 0) AS DOUBLE) / CAST(60000000 AS DOUBLE)")

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
        events = Sql("read_parquet(?)", [events_glob])
        if self.gaps:
            # Only the columns used travel through the sort by user and time.
            used = ", ".join(["_uid", "event", "timestamp",
                              *(duck.quote_identifier(p) for p in sorted(self.properties))])
            events = Sql(
                f"(SELECT {used}, epoch_us(timestamp) - lag(epoch_us(timestamp)) OVER ("  # noqa: S608
                "PARTITION BY _uid ORDER BY timestamp) AS __hl_gap FROM read_parquet(?))",
                [events_glob])
        join = Sql("")
        if self.window_ends or self.first_seen:
            ends = [Sql(f"_first_seen + to_hours(CAST(? AS BIGINT)) AS {alias}", [days * 24])
                    for days, alias in self.window_ends.items()]
            columns = Sql.join([Sql("_uid"), Sql("_first_seen AS __hl_fs"), *ends])
            join = Sql(f" JOIN (SELECT {columns.text} FROM read_parquet(?)) AS w "  # noqa: S608
                       "ON w._uid = e._uid", [*columns.params, users_path])
        where = Sql("")
        if not self.all_events:
            names = sorted(self.events)
            where = Sql(f" WHERE e.event IN ({', '.join('?' for _ in names)})", names)
        inner = self.inner.select()
        # Schema identifiers (quoted) and our own aliases are spliced in; values bind.
        text = (
            f"SELECT {outer.text} FROM read_parquet(?) m LEFT JOIN ("  # noqa: S608
            f"SELECT e._uid, {inner.text} FROM {events.text} AS e{join.text}{where.text} "
            "GROUP BY e._uid) a ON a._uid = m._uid"
        )
        params: list[Any] = [*outer.params, users_path, *inner.params, *events.params,
                             *join.params, *where.params]
        return Sql(text, params)


def _gap_microseconds(m: dict) -> float:
    return float(m.get("session_gap_minutes", DEFAULT_GAP_MINUTES)) * 60_000_000
