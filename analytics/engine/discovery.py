"""discover(): rank characteristics of the users who succeed (or, read from the other side,
who do not) without being told what to look for.

Candidates come from the data: each user property's common values and thresholds at its
quantiles, whether users did each event in the window and how often, the properties of
their first event, their sessions and their time in the app. Every measure they need goes
into one per-user table (discovery_table: one pass over the events), written to the cache
while its columns are profiled to pick values and thresholds and every candidate is
counted (discovery_build): the behaviour measures in numpy (discovery_measured), the
property columns from one count of their values each (discovery_values), anything else
by DuckDB in one scan (discovery_counts). q-values (Benjamini-Hochberg) are taken over
every candidate tried, not only the ones shown, and the rows come strongest evidence
first."""

from __future__ import annotations

import json
import math
from typing import Any

from analytics.engine import analysis, discovery_table, discovery_values, duck, stats
from analytics.engine.analysis import Data, EngineSettings, Population, engine_connection
from analytics.engine.definitions import (
    MAX_TEXT,
    DefinitionError,
    describe_criterion,
    validate_criterion,
    validate_success,
    validate_window,
)
from analytics.engine.discovery_build import discovery_source, finish, measured_of
from analytics.engine.discovery_counts import count_candidates
from analytics.engine.discovery_measured import Measured
from analytics.engine.discovery_rows import event_files
from analytics.engine.discovery_values import Histograms
from analytics.engine.inplace import FilesInPlace
from analytics.engine.peruser import write_atomically
from analytics.engine.peruser_columns import INCLUDED_COLUMN, SUCCESS_COLUMN, Feature
from analytics.engine.sql import Sql
from analytics.engine.storage import DatasetSchema, DatasetVersion

MAX_EVENTS = 30  # the most frequent events get behaviour candidates
MAX_PROPERTY_PAIRS = 40  # (event, numeric property) pairs averaged per user
MAX_VALUES = 10  # most common values per categorical column
FEW_VALUES = 6  # a numeric column with at most this many values is treated as categorical
QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)
MIN_USERS = 5
MIN_SHARE = 0.01  # a candidate's group must hold at least this share of the population
MAX_TOP = 1000
SPARE_EVENTS = 3  # prepare keeps measures of this many more events (see prepared_measures)
CARRIED_FILE = "event-properties.json"  # in the version's cache directory


def discover(version: Data, success: dict, *, within_days: int | None = None,
             top: int = 20, unsuccessful: bool = False,
             settings: EngineSettings | None = None) -> dict:
    schema = version.schema()
    success = validate_success(success, schema)
    days = None if within_days is None else validate_window(within_days, "discovery")
    if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= MAX_TOP:
        raise DefinitionError(f"'top' is a whole number from 0 to {MAX_TOP}, not {top!r}")
    measures = candidate_measures(schema, success, days)
    with engine_connection(settings, version) as con:
        measures = without_empty_pairs(con, version, schema, measures)
        population = population_of(con, version, success,
                                   [Feature.of(m) for m in measures], schema, unsuccessful)
        try:
            # A table built now keeps its behaviour measures in numpy while it is
            # written to the cache: they are profiled and counted there.
            measured = measured_of(con, population.source, unsuccessful)
            # Property columns: one GROUP BY each, for their profiles and candidates.
            histograms = Histograms(con, population)
            profile = Profile(con, population.source, measured, histograms)
            profile.prefetch(columns_with_common_values(schema, success, measures))
            criteria = [validate_criterion(c, schema)
                        for c in candidates(profile, schema, success, measures)]
            summary, rows = count_candidates(con, population, criteria, schema, measured,
                                             histograms)
        finally:
            finish(con, population.source)
    q_values = stats.bh_adjust([row["p_value"] for row in rows])
    ranked = []
    for row, q in zip(rows, q_values, strict=True):
        ranked.append({"criterion": row["criterion"], "label": describe_criterion(row["criterion"]),
                       "group": row["group"], "rest": row["rest"], "diff": row["diff"],
                       "lift": row["lift"], "lift_ci95": row["lift_ci95"],
                       "p_value": row["p_value"], "q_value": q, "test": row["test"]})
    ranked.sort(key=lambda r: (r["p_value"] is None, r["p_value"] or 0.0,
                               -abs(r["diff"] or 0.0), r["label"]))
    return {"population": summary, "characteristics": ranked[:top], "tried": len(rows)}


def population_of(con: duck.Connection, version: Data, success: dict,
                  features: list[Feature], schema: DatasetSchema,
                  unsuccessful: bool) -> Population:
    """analysis.population_of without a population filter, over the table
    discovery_table builds for a published version (the same table, built faster for
    this width); files analysed in place build theirs as for any analysis."""
    if isinstance(version, FilesInPlace):
        return analysis.population_of(con, version, success, features, None, schema,
                                      unsuccessful)
    source = discovery_source(con, version, schema, success, features)
    flag = duck.quote_identifier(SUCCESS_COLUMN)
    return Population(source, Sql("true"), f"(NOT {flag})" if unsuccessful else flag)


# ------------------------------------------------------------------ what to measure


def candidate_measures(schema: DatasetSchema, success: dict, days: int | None, *,
                       spare_events: int = 0) -> list[dict]:
    """The behavioural measures discovery looks at, each with the discovery window
    (`spare_events`: of that many more events, see prepared_measures)."""
    window = {"within_days": days} if days else {}
    success_events = set(success.get("events", []))
    events = sorted((e for e in schema.events if e not in success_events),
                    key=lambda e: (-schema.events[e], e))[:MAX_EVENTS + spare_events]
    measures: list[dict] = []
    for event in events:
        measures += [{"kind": "event_count", "event": event, **window},
                     {"kind": "did_event", "event": event, **window}]
    if schema.n_events:
        measures += [{"kind": "session_count", **window}, {"kind": "time_in_app", **window}]
    # The average of each numeric event property per event (order value, quantity, ...);
    # pairs where the event never carries the property come out empty and propose nothing.
    numeric = sorted(p for p, kind in schema.event_properties.items()
                     if kind in ("integer", "float"))
    # With spare events, a run's pairs (its events' in order) lie within as many more
    # pairs as the events a run may leave out before its own.
    pairs = [(e, p) for e in events for p in numeric][
        :MAX_PROPERTY_PAIRS + spare_events * len(numeric)]
    measures += [{"kind": "event_property", "event": e, "property": p, "agg": "avg", **window}
                 for e, p in pairs]
    for name, kind in sorted(schema.event_properties.items()):
        if kind in ("text", "boolean", "integer"):
            measures.append({"kind": "first_event_property", "property": name})
    return measures


def prepared_measures(schema: DatasetSchema, days: int | None) -> list[dict]:
    """What discovery.prepare keeps: every measure candidate_measures asks for this
    window, whatever the success definition, as long as it names at most SPARE_EVENTS of
    the most frequent events (they are left out of a run's measures, and the next most
    frequent take their places)."""
    return candidate_measures(schema, {}, days, spare_events=SPARE_EVENTS)


def prepare(version: DatasetVersion, *, within_days: int | None,
            settings: EngineSettings | None = None) -> dict:
    """Compute and keep the version's behaviour measures for discovery runs of this
    window (discovery_store): a run that finds them reads no events. The app prepares
    the window of a working session's runs after each import, in a job of its own."""
    schema = version.schema()
    days = None if within_days is None else validate_window(within_days, "discovery")
    if not schema.n_events:
        return {"within_days": days, "measures": 0}
    with engine_connection(settings, version) as con:
        measures = without_empty_pairs(con, version, schema, prepared_measures(schema, days))
        features = list(dict.fromkeys(Feature.of(m) for m in measures))
        discovery_table.keep_measures(con, version, days, features)
    return {"within_days": days, "measures": len(features)}


def without_empty_pairs(con: duck.Connection, version: Data, schema: DatasetSchema,
                        measures: list[dict]) -> list[dict]:
    """The measures less the averages of a property over an event that never carries it
    (they would come out empty and propose nothing, yet cost the events pass an aggregate
    each: a sixth of its time on the benchmark's data)."""
    if not any(m["kind"] == "event_property" for m in measures):
        return measures
    carried = (version.carried_properties() if isinstance(version, FilesInPlace)
               else carried_properties(con, version, schema))
    return [m for m in measures if m["kind"] != "event_property"
            or m["property"] in carried.get(m["event"], ())]


def carried_properties(con: duck.Connection, version: DatasetVersion,
                       schema: DatasetSchema) -> dict[str, list[str]]:
    """event -> the numeric event properties it carries at least once, kept in the
    version's cache (a version never changes). A file of one event name (events are
    stored clustered by name) answers from its Parquet statistics: a property is carried
    where its values outnumber its nulls. Other files are scanned (event names and those
    properties)."""
    cached = version.cache_dir / CARRIED_FILE
    try:
        return json.loads(cached.read_text())
    except (OSError, ValueError):
        pass  # not computed yet, or being replaced
    numeric = sorted(p for p, kind in schema.event_properties.items()
                     if kind in ("integer", "float"))
    if not numeric or not schema.n_events:
        return {}
    found: dict[str, set[str]] = {}
    scanned = []
    counted = _non_null_counts(con, version, numeric)
    for path, name in event_files(con, version):
        values = counted.get(path)
        if name is None or values is None:
            scanned.append(path)
            continue
        found.setdefault(name, set()).update(p for p in numeric if values.get(p, 0) > 0)
    if scanned:
        # Property names come from the schema, quoted; the paths are bound.
        present = ", ".join(f"count({duck.quote_identifier(p)}) > 0" for p in numeric)
        rows = con.execute(f"SELECT event, {present} FROM read_parquet(?) "  # noqa: S608
                           "GROUP BY event", [scanned]).fetchall()
        for event, *flags in rows:
            found.setdefault(event, set()).update(
                p for p, has in zip(numeric, flags, strict=True) if has)
    carried = {event: [p for p in numeric if p in props] for event, props in found.items()}
    try:
        version.cache_dir.mkdir(parents=True, exist_ok=True)
        write_atomically(cached, json.dumps(carried))
    except OSError:
        pass  # a read-only cache costs this work next time, never the answer
    return carried


def _non_null_counts(con: duck.Connection, version: DatasetVersion,
                     properties: list[str]) -> dict[str, dict[str, int]]:
    """path -> property -> its values less its nulls, from each events file's Parquet
    statistics; a file missing a null count is left out (it is scanned instead)."""
    rows = con.execute(
        "SELECT file_name, path_in_schema, sum(num_values) - sum(stats_null_count), "
        "bool_and(stats_null_count IS NOT NULL) FROM parquet_metadata(?) "
        "WHERE list_contains(?, path_in_schema) GROUP BY ALL",
        [version.events_glob, properties]).fetchall()
    counts: dict[str, dict[str, int]] = {}
    unknown = set()
    for path, prop, values, known in rows:
        if known:
            counts.setdefault(path, {})[prop] = int(values)
        else:
            unknown.add(path)
    return {path: found for path, found in counts.items()
            if path not in unknown and len(found) == len(properties)}


# ------------------------------------------------------------------ profiling the table


class Profile:
    """Counts, distinct values, quantiles and common values of per-user-table columns,
    over the users the analysis keeps."""

    def __init__(self, con: duck.Connection, source, measured: Measured | None = None,
                 histograms: Histograms | None = None):
        self.con = con
        self.source = source
        self.measured = measured  # columns profiled in numpy (discovery_measured)
        self.histograms = histograms  # columns profiled from their values' counts
        self.where = duck.quote_identifier(INCLUDED_COLUMN)
        self.users = self._one("count(*)")[0]
        self._present: dict[str, int] = {}

    def _one(self, select: str, params: list | None = None) -> tuple:
        text = f"SELECT {select} FROM {self.source.text} WHERE {self.where}"  # noqa: S608
        return self.con.execute(text, [*(params or []), *self.source.params]).fetchone()

    def prefetch(self, present: list[str]) -> None:
        """Count the values of these columns (what common_values needs besides the values
        themselves) in one scan of the table rather than a query each. (Profiling the
        numeric columns in one query too costs three times their separate queries:
        DuckDB's distinct counts and quantiles side by side are slow.)"""
        present = list(dict.fromkeys(present))
        if present and self.histograms is None:
            row = self._one(", ".join(f"count({column})" for column in present))
            self._present.update(zip(present, row, strict=True))

    def numbers(self, column: str, positive_only: bool, *,
                distinct: bool = True) -> tuple[int, int | None, Any, list]:
        """(users with a value (a positive one if positive_only), distinct values (None
        unless asked for: counting them is a fifth of the query), smallest value,
        quantiles of those values)."""
        if not distinct and self.measured is not None and self.measured.holds(column):
            return self.measured.numbers(column, positive_only, QUANTILES)
        if distinct and not positive_only and self.histograms is not None:
            found = discovery_values.numbers(self.histograms.of(column), QUANTILES)
            if found is not None:
                return found
        where = f"{column} > 0" if positive_only else f"{column} IS NOT NULL"
        marks = ", ".join("?" for _ in QUANTILES)
        different = f"count(DISTINCT {column})" if distinct else "NULL"
        row = self._one(f"count_if({where}), {different}, min({column}), "
                        f"quantile_disc({column}, [{marks}]) FILTER (WHERE {where})",
                        list(QUANTILES))
        # count_if over nothing but nulls is null, not 0
        return (int(row[0] or 0), int(row[1] or 0) if distinct else None, row[2],
                [q for q in (row[3] or []) if q is not None])

    def common_values(self, column: str) -> tuple[int, list[tuple[Any, int]]]:
        """(users without a value, [(value, users), ...] most common first)."""
        if self.histograms is not None:
            found = discovery_values.common_values(self.histograms.of(column), MAX_VALUES)
            if found is not None:
                return self.users - found[0], found[1]
        text = (f"SELECT {column} AS v, count(*) AS n FROM {self.source.text} "  # noqa: S608
                f"WHERE {self.where} GROUP BY 1 ORDER BY v IS NULL, n DESC, v "
                f"LIMIT {MAX_VALUES + 1}")
        rows = self.con.execute(text, self.source.params).fetchall()
        if column not in self._present:
            self._present[column] = self._one(f"count({column})")[0]
        nulls = self.users - self._present[column]
        return int(nulls), [(v, int(n)) for v, n in rows if v is not None][:MAX_VALUES]


def columns_with_common_values(schema: DatasetSchema, success: dict,
                               measures: list[dict]) -> list[str]:
    """The columns candidates() asks Profile.common_values about."""
    columns = [duck.quote_identifier(name)
               for name, kind in sorted(schema.user_properties.items())
               if name != success.get("property") and kind != "timestamp"]
    return columns + [duck.quote_identifier(Feature.of(m).column) for m in measures
                      if m["kind"] == "first_event_property"]


# ------------------------------------------------------------------ the candidates


def candidates(profile: Profile, schema: DatasetSchema, success: dict,
               measures: list[dict]) -> list[dict]:
    fewest = max(MIN_USERS, math.ceil(MIN_SHARE * profile.users))
    most = profile.users - fewest

    def splits(users: int) -> bool:
        return fewest <= users <= most

    found: list[dict] = []
    for name, kind in sorted(schema.user_properties.items()):
        if name == success.get("property") or kind == "timestamp":
            continue
        base = {"kind": "property", "property": name}
        found += _column_candidates(profile, duck.quote_identifier(name), base, kind, splits)
    for measure in measures:
        column = duck.quote_identifier(Feature.of(measure).column)
        kind = measure["kind"]
        if kind == "did_event":
            continue  # proposed with its event's count below
        if kind == "first_event_property":
            value_kind = schema.event_properties[measure["property"]]
            found += _column_candidates(profile, column, measure, value_kind, splits,
                                        with_nulls=False)
            continue
        users, _, lowest, quantiles = profile.numbers(
            column, positive_only=kind != "event_property", distinct=False)
        if kind == "event_count":
            if splits(users):
                found.append({"kind": "did_event", "event": measure["event"],
                              **_window_of(measure)})
            thresholds = sorted({int(q) for q in quantiles if q >= 2})
        elif kind == "session_count":
            thresholds = sorted({int(q) for q in quantiles if q >= 2})
        elif kind == "event_property":
            thresholds = sorted({q for q in quantiles if q != lowest and _usable(q)})
        else:
            thresholds = sorted({_nice(q) for q in quantiles if q > 0})
        found += [{**measure, "op": ">=", "value": t} for t in thresholds]
    return _deduplicated(found)


def _column_candidates(profile: Profile, column: str, base: dict, kind: str, splits,
                       with_nulls: bool = True) -> list[dict]:
    found: list[dict] = []
    nulls, values = profile.common_values(column)
    if with_nulls and nulls and splits(nulls):
        found.append({**base, "op": "is_not_set"})
    numeric = kind in ("integer", "float")
    if numeric:
        _, distinct, smallest, quantiles = profile.numbers(column, positive_only=False)
        if distinct > FEW_VALUES:
            return found + [{**base, "op": ">=", "value": q} for q in sorted(set(quantiles))
                            if q != smallest and _usable(q)]
    if not nulls and len(values) == 2:
        values = values[:1]  # "= b" would only be "not = a": the same test again
    for value, users in values:
        if splits(users) and _usable(value):
            found.append({**base, "op": "=", "value": value})
    return found


def _usable(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return len(value) <= MAX_TEXT
    return isinstance(value, bool | int)


def _nice(minutes: float) -> float | int:
    """A threshold people can read: two significant digits, rounded down."""
    digits = 1 - math.floor(math.log10(minutes))
    factor = 10.0**digits
    nice = math.floor(minutes * factor) / factor
    return int(nice) if nice.is_integer() else round(nice, max(digits, 0))


def _window_of(measure: dict) -> dict:
    return {"within_days": measure["within_days"]} if "within_days" in measure else {}


def _deduplicated(criteria: list[dict]) -> list[dict]:
    seen: set[str] = set()
    out = []
    for criterion in criteria:
        key = repr(sorted(criterion.items()))
        if key not in seen:
            seen.add(key)
            out.append(criterion)
    return out
