"""Per-user measures derived from the events (a criterion's or metric's behavioural part),
compiled to the SQL that builds the per-user table.

  inner     one aggregation over the events per _uid: count_if(pred), agg(CASE WHEN pred
            THEN x END). When a window is used, each event row carries its user's window
            ends, joined from the users table (which stores `_first_seen`), so a window is
            a plain row predicate `timestamp < first_seen + N*24h`. Rows no measure can
            use are dropped before aggregating: events not named, and (when every measure
            has a window) events past the longest window.
  sessions  sessions and time in app, from the microseconds between each event and the
            user's previous one (lag over the user's events). Only _uid and the time
            travel through that sort, and only the events inside the longest session
            window: a window is a prefix of the user's timeline, so the previous event of
            an event inside it is inside it too, and its gap is the same. It runs as a
            statement of its own into a temporary table (PerUserSql.prepare).
  outer     the users table joined to both: feature values, the success flag and the
            complete-window flag.
Values are bound parameters; identifiers come from the schema."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from analytics.engine import duck, event_counts
from analytics.engine.definitions import VALUE_TYPES, parse_timestamp
from analytics.engine.event_counts import EventCount, EventCountsPass
from analytics.engine.sql import Sql, compile_condition
from analytics.engine.storage import DatasetSchema

FEATURE_PREFIX = "__hl_f_"
SUCCESS_COLUMN = "__hl_success"
INCLUDED_COLUMN = "__hl_included"
# The parts of a criterion that decide a per-user value (op, value and did do not).
MEASURE_KEYS = ("kind", "event", "property", "agg", "within_days", "session_gap_minutes",
                "where")
DEFAULT_GAP_MINUTES = 30
_FIRST_SEEN = "m._first_seen"


def window_end(first_seen: str, days: int) -> Sql:
    """The end of a user's first `days` days from the column `first_seen` (to the
    microsecond, as every per-user table and its counts compare event times with it)."""
    return Sql(f"{first_seen} + to_hours(CAST(? AS BIGINT))", [days * 24])


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


SESSIONS_TABLE = "__hl_sessions"  # temporary, per connection
PERFECT_HASH_RANGE = 2**21  # DuckDB's perfect hash tables cover at most this many ids
PERFECT_HASH_BUDGET = 256 * 2**20  # bytes of aggregate states per thread
STATE_BYTES = 16  # per aggregate and user, a generous average
SKIP_SHARE = 0.5  # named events up to this share of all: skip the others' row groups


@dataclass(frozen=True)
class PerUserSql:
    """The statements that build a per-user table: `prepare` fills temporary tables (run
    first, in order; they live as long as the connection), then `select` reads them."""

    prepare: tuple[Sql, ...]
    select: Sql
    narrow: bool = False  # the statements may group by _uid in a perfect hash table


def distinct_event_hashes(con: duck.Connection, schema: DatasetSchema) -> bool:
    """Whether hash(event) tells this dataset's events apart (schema.events lists every
    event name the data holds), so that PerUserQuery may compare hashes."""
    names = list(schema.events)
    if not names:
        return False
    found = con.execute("SELECT count(DISTINCT hash(n)) FROM unnest(CAST(? AS VARCHAR[])) t(n)",
                        [names]).fetchone()[0]
    return found == len(names)


class PerUserQuery:
    """Builds the SQL of a per-user table: user columns, success, inclusion, features."""

    def __init__(self, schema: DatasetSchema, *, hashed_events: bool = False,
                 inner_prefix: str = "__hl_a"):
        """`hashed_events`: name events by hash(event) (an integer per row) instead of
        comparing text, a fifth less work; only when the hashes of the schema's event
        names are known to be distinct (see distinct_event_hashes). `inner_prefix`
        names the aggregates (see sparse_sql)."""
        self.schema = schema
        self.hashed_events = hashed_events
        self.inner = _Layer(inner_prefix)
        # (what, gap in microseconds, days) -> alias, for the sessions pass
        self.sessions: dict[tuple[str, float, int | None], str] = {}
        self.outer: list[tuple[str, Sql]] = []
        self.events: set[str] = set()
        self.event_windows: set[int | None] = set()  # windows of the named-event measures
        self.first_seen = False  # some measure needs the first-seen time on each row
        self.window_ends: dict[int, str] = {}  # days -> column on each event row
        self.properties: set[str] = set()  # event properties read
        self.counts: dict[str, EventCount] = {}  # alias -> what it counts (counts_pass)
        # alias -> (event names, days) of the aggregates that count a user's events of
        # these names, with no condition on their properties (peruser_lists)
        self.named_counts: dict[str, tuple[tuple[str, ...], int | None]] = {}

    # -- building blocks

    def _event_predicate(self, events: list[str], where: list[dict],
                         days: int | None = None) -> Sql:
        self.events.update(events)
        self.event_windows.add(days)
        parts = [self._named(events), *self._conditions(where)]
        if days is not None:
            parts.append(self._inside(days))
        return Sql.join(parts, " AND ")

    def _conditions(self, where: list[dict]) -> list[Sql]:
        """Row predicates: the conditions on the events' own properties."""
        parts = []
        for condition in where:
            self.properties.add(condition["property"])
            column = "e." + duck.quote_identifier(condition["property"])
            kind = VALUE_TYPES[self.schema.event_properties[condition["property"]]]
            parts.append(compile_condition(column, condition["op"], condition.get("value"), kind))
        return parts

    def _named(self, events: list[str]) -> Sql:
        """Row predicate: the event is one of these."""
        if self.hashed_events:
            marks = ", ".join("hash(CAST(? AS VARCHAR))" for _ in events)
            return Sql(f"e.__hl_eh IN ({marks})", list(events))
        return Sql(f"e.event IN ({', '.join('?' for _ in events)})", list(events))

    def _window_column(self, days: int) -> str:
        if days not in self.window_ends:
            self.window_ends[days] = f"__hl_w{len(self.window_ends)}"
        return self.window_ends[days]

    def _inside(self, days: int) -> Sql:
        """Row predicate: the event lies in its user's first `days` days."""
        return Sql(f"e.timestamp < w.{self._window_column(days)}")

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
            if not success.get("where"):
                self.named_counts[alias] = (tuple(events), days)
            flags.append(Sql(f"coalesce({alias} > 0, false)"))
        self.outer.append((SUCCESS_COLUMN, Sql.join(flags, " AND ")))
        if days is None or not success.get("complete_windows", True) or data_end is None:
            self.outer.append((INCLUDED_COLUMN, Sql("true")))
        else:
            end = window_end(_FIRST_SEEN, days)
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
        return Sql(f"coalesce({self._counted(m, days)} > 0, false)")

    def _event_count(self, m: dict, days: int | None) -> Sql:
        return Sql(f"coalesce({self._counted(m, days)}, 0)")

    def _counted(self, m: dict, days: int | None) -> str:
        """The alias of the count of a user's events of this measure (see counts_pass)."""
        predicate = self._event_predicate([m["event"]], m.get("where", []), days)
        alias = self.inner.add(predicate.wrap("count_if(", ")"))
        if not m.get("where"):
            self.named_counts[alias] = ((m["event"],), days)
        rows = Sql.join([Sql("e.event = ?", [m["event"]]),
                         *self._conditions(m.get("where", []))], " AND ")
        self.counts[alias] = EventCount(alias, rows, days)
        return alias

    def _event_property(self, m: dict, days: int | None) -> Sql:
        predicate = self._event_predicate([m["event"]], m.get("where", []), days)
        self.properties.add(m["property"])
        column, agg = "e." + duck.quote_identifier(m["property"]), m["agg"]
        # agg(CASE WHEN pred THEN x END) is agg(x) FILTER (WHERE pred) (aggregates skip
        # nulls), and cheaper with many aggregates side by side.
        picked = predicate.wrap("CASE WHEN ", f" THEN {column} END")
        if agg == "count_distinct":
            # Null (false) without such events; 0 when they all lack the property.
            seen = self.inner.add(predicate.wrap("count_if(", ")"))
            distinct = self.inner.add(picked.wrap("count(DISTINCT ", ")"))
            return Sql(f"CASE WHEN {seen} > 0 THEN {distinct} END")
        alias = self.inner.add(picked.wrap(f"{agg}(", ")"))
        return Sql(f"CAST({alias} AS DOUBLE)" if agg == "sum" else alias)

    def _first_event_property(self, m: dict, days: int | None) -> Sql:
        # The events at the first-seen time; among several, the smallest value (a value
        # before a null, as min() skips nulls).
        self.first_seen = True
        self.properties.add(m["property"])
        column = "e." + duck.quote_identifier(m["property"])
        return Sql(self.inner.add(
            Sql(f"min(CASE WHEN e.timestamp = w.__hl_fs THEN {column} END)")))

    def _session_count(self, m: dict, days: int | None) -> Sql:
        return Sql(f"coalesce({self._session_measure('starts', m, days)}, 0)")

    def _time_in_app(self, m: dict, days: int | None) -> Sql:
        total = self._session_measure("inside", m, days)
        return Sql(f"CAST(coalesce({total}, 0) AS DOUBLE) / CAST(60000000 AS DOUBLE)")

    def _session_measure(self, what: str, m: dict, days: int | None) -> str:
        """The alias of a sessions aggregate; its SQL is written once every session
        measure is known (which windows the rows must still be tested against)."""
        key = (what, _gap_microseconds(m), days)
        if key not in self.sessions:
            self.sessions[key] = f"__hl_s{len(self.sessions)}"
        return self.sessions[key]

    # -- the query

    def sql(self, version_paths: tuple[str, str], *, columns_only: bool = False) -> PerUserSql:
        """The statements; `columns_only`: the table holds `_uid` and the features only
        (a column table joined to a per-user table that has the rest, see peruser)."""
        users_path, events_glob = version_paths
        return self.sql_over(Sql("read_parquet(?)", [users_path]),
                             Sql("read_parquet(?)", [events_glob]), columns_only=columns_only)

    def sql_over(self, users: Sql, events: Sql, *, columns_only: bool = False) -> PerUserSql:
        """The statements over any FROM items holding a version's users (`_uid`,
        `user_id`, `_first_seen`, properties) and events (`_uid`, `event`, `timestamp`,
        properties): its Parquet files, or files analysed in place (analytics.engine.inplace)."""
        prepare: list[Sql] = []
        joins: list[Sql] = []
        if self.inner.items:
            joins.append(self._events_pass(users, events).wrap(
                "LEFT JOIN (", ") a ON a._uid = m._uid"))
        if self.sessions:
            # Its own statement: run beside the events pass, its sort and that pass's
            # hash table would need memory at the same time.
            sessions = self._sessions_pass(users, events)
            prepare.append(sessions.wrap(f"CREATE OR REPLACE TEMP TABLE {SESSIONS_TABLE} AS ",
                                         ""))
            joins.append(Sql(f"LEFT JOIN {SESSIONS_TABLE} s ON s._uid = m._uid"))
        select = self.outer_select(users, Sql.join(joins, " "), columns_only=columns_only)
        # Grouping by _uid (dense integers) in a perfect hash table costs a sixth less
        # than hashing with events sorted by user, and half as much in file order. Its
        # states (per thread, for the whole _uid range) are outside DuckDB's memory
        # limit, hence only while they stay small.
        uids = (PERFECT_HASH_RANGE if self.schema.user_id_type == "integer"
                else min(self.schema.n_users, PERFECT_HASH_RANGE))
        widest = max(len(self.inner.items), len(self.sessions))
        narrow = uids * widest * STATE_BYTES <= PERFECT_HASH_BUDGET
        return PerUserSql(tuple(prepare), select, narrow)

    def outer_select(self, users: Sql, joins: Sql, *, columns_only: bool = False) -> Sql:
        """The per-user table: each user of `users` (aliased m) with the outer columns,
        over `joins` (the aggregates, aliased a, and the sessions table s)."""
        user_columns = (["_uid"] if columns_only
                        else ["_uid", "user_id", "_first_seen", *self.schema.user_properties])
        outer = Sql.join([
            *(Sql("m." + duck.quote_identifier(c)) for c in user_columns),
            *(Sql(f"{s.text} AS {duck.quote_identifier(name)}", s.params)
              for name, s in self.outer),
        ])
        # Only schema identifiers (quoted) and our own aliases are spliced in; values bind.
        text = f"SELECT {outer.text} FROM {users.text} m {joins.text}"  # noqa: S608
        return Sql(text.rstrip(), [*outer.params, *users.params, *joins.params])

    def can_be_sparse(self) -> bool:
        """Whether every feature is an expression over the events pass's aggregates
        alone (sessions come from a pass of their own)."""
        return not self.sessions and not any(
            name in (SUCCESS_COLUMN, INCLUDED_COLUMN) for name, _ in self.outer)

    def sparse_sql(self, version_paths: tuple[str, str]) -> PerUserSql:
        """The events pass alone: `_uid` and the aggregates, only for users with events
        the features name. Each feature is then `feature_expressions()` over a LEFT JOIN
        of this table to every user (a missing user's aggregates are null, exactly as
        in the whole table's LEFT JOIN)."""
        users_path, events_glob = version_paths
        uids = (PERFECT_HASH_RANGE if self.schema.user_id_type == "integer"
                else min(self.schema.n_users, PERFECT_HASH_RANGE))
        narrow = uids * len(self.inner.items) * STATE_BYTES <= PERFECT_HASH_BUDGET
        return PerUserSql((), self._events_pass(Sql("read_parquet(?)", [users_path]),
                                                Sql("read_parquet(?)", [events_glob])), narrow)

    def counts_pass(self, version_paths: tuple[str, str]) -> EventCountsPass | None:
        """sparse_sql's table computed by event_counts instead, when every aggregate is a
        count of events (did_event, event_count) and their rows fit in memory."""
        if not self.can_be_sparse() or self.first_seen or not self.inner.items:
            return None
        if any(alias not in self.counts for alias, _ in self.inner.items):
            return None
        rows = sum(self.schema.events.get(name, 0) for name in self.events)
        if rows > event_counts.MAX_ROWS:
            return None
        users_path, events_glob = version_paths
        return EventCountsPass(tuple(self.counts[alias] for alias, _ in self.inner.items),
                               users_path, events_glob)

    def feature_expressions(self) -> list[tuple[str, Sql]]:
        """(column, expression over the aggregates) of each feature, in order added."""
        return [(name, sql) for name, sql in self.outer
                if name not in (SUCCESS_COLUMN, INCLUDED_COLUMN)]

    def _events_pass(self, users: Sql, events: Sql) -> Sql:
        """The aggregation of the event-named measures (and first-event properties)."""
        # Every named-event measure has a window: rows past the longest are of no use.
        longest = (max(self.event_windows) if self.event_windows
                   and None not in self.event_windows else None)
        join = Sql("")
        if self.window_ends or self.first_seen:
            ends = [window_end("_first_seen", days).wrap("", f" AS {alias}")
                    for days, alias in self.window_ends.items()]
            columns = Sql.join([Sql("_uid"), Sql("_first_seen AS __hl_fs"), *ends])
            join = Sql(f" JOIN (SELECT {columns.text} FROM {users.text}) AS w "  # noqa: S608
                       "ON w._uid = e._uid", [*columns.params, *users.params])
        keep: list[Sql] = []
        if self.events:
            names = sorted(self.events)
            named = self._named(names)
            if self.hashed_events and self._few_rows(names):
                # Events are stored clustered by name (one name per row group), so a test
                # on the name itself lets DuckDB skip the row groups of other events by
                # their statistics, which the hash cannot.
                named = Sql.join([Sql(f"e.event IN ({', '.join('?' for _ in names)})",
                                      names), named], " AND ")
            if longest is not None:
                named = Sql.join([named, self._inside(longest)], " AND ")
            keep.append(named)
        if self.first_seen:
            keep.append(Sql("e.timestamp = w.__hl_fs"))
        where = (Sql.join([k.wrap("(", ")") for k in keep], " OR ").wrap(" WHERE ", "")
                 if keep else Sql(""))
        inner = self.inner.select()
        # Schema identifiers (quoted) and our own aliases are spliced in; values bind.
        rows = (events.wrap("(SELECT *, hash(event) AS __hl_eh FROM ", ")")  # noqa: S608
                if self.hashed_events else events)
        text = (f"SELECT e._uid, {inner.text} FROM {rows.text} AS e"  # noqa: S608
                f"{join.text}{where.text} GROUP BY e._uid")
        return Sql(text, [*inner.params, *rows.params, *join.params, *where.params])

    def _few_rows(self, names: list[str]) -> bool:
        """Whether these events are a small enough share of all for skipping the others
        to pay (below, the text test on every row kept costs less than what it skips)."""
        total = self.schema.n_events or 0
        named = sum(self.schema.events.get(n, 0) for n in names)
        return total > 0 and named <= total * SKIP_SHARE

    def _sessions_pass(self, users: Sql, events: Sql) -> Sql:
        """The aggregation of sessions and time in app over each event's gap to the
        user's previous event, computed on the events inside the longest window only."""
        windows = [days for _, _, days in self.sessions]
        longest = None if None in windows else max(d for d in windows if d is not None)
        ends = {days: f"__hl_sw{i}"
                for i, days in enumerate(sorted({d for d in windows if d is not None}))}
        aggregates = []
        for (what, gap, days), alias in self.sessions.items():
            if what == "starts":
                # A session starts at a user's first event and after every gap over the
                # limit.
                test, value = Sql("(s.__hl_gap IS NULL OR s.__hl_gap > ?)", [gap]), None
            else:
                # Sessions' lengths add up to the gaps that stay inside a session.
                test, value = Sql("s.__hl_gap <= ?", [gap]), "s.__hl_gap"
            if days is not None and days != longest:
                # The longest window bounds the rows already; shorter ones are tested.
                test = Sql(f"{test.text} AND s.timestamp < s.{ends[days]}", test.params)
            aggregate = (test.wrap("count_if(", ")") if value is None
                         else test.wrap("sum(CASE WHEN ", f" THEN {value} END)"))
            aggregates.append(Sql(f"{aggregate.text} AS {alias}", aggregate.params))
        select = Sql.join(aggregates)
        carried = [f"w.{alias}" for days, alias in ends.items() if days != longest]
        rows = events.wrap("", " AS e")
        if ends:
            columns = Sql.join([Sql("_uid"), *(
                window_end("_first_seen", days).wrap("", f" AS {alias}")
                for days, alias in ends.items())])
            bound = f" WHERE e.timestamp < w.{ends[longest]}" if longest is not None else ""
            rows = Sql(
                f"{events.text} AS e JOIN (SELECT {columns.text} FROM {users.text}) "  # noqa: S608
                f"AS w ON w._uid = e._uid{bound}",
                [*events.params, *columns.params, *users.params])
        # Only _uid and the time (and the shorter windows' ends) travel through the sort
        # by user and time.
        gap = ("epoch_us(e.timestamp) - lag(epoch_us(e.timestamp)) OVER ("
               "PARTITION BY e._uid ORDER BY e.timestamp) AS __hl_gap")
        selected = ", ".join(["e._uid", "e.timestamp", *carried, gap])
        # Our own aliases and column names only; values bind.
        text = (f"SELECT s._uid, {select.text} FROM (SELECT {selected} "  # noqa: S608
                f"FROM {rows.text}) AS s GROUP BY s._uid")
        return Sql(text, [*select.params, *rows.params])


def _gap_microseconds(m: dict) -> float:
    return float(m.get("session_gap_minutes", DEFAULT_GAP_MINUTES)) * 60_000_000
