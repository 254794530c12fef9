"""Success over time, by segment: the engine side of Phase 1's dashboards.

`success_trends` answers "what share of the users first seen in week W succeeded, in each
bucket of each segment", for every week at once, in ONE pass over the cached per-user
table (analytics.engine.peruser): a GROUPING SETS aggregate by (week of first_seen, bucket) for
all segments together lands in a small temporary table, and everything after that reads
only that table. Buckets follow definitions.md section 4 exactly (the same labels, top 20
values, (other), (none)), so a segment's totals over all weeks equal analyze()'s breakdown.

A segment is one of
    {"key": "k", "breakdown": {...}}                 a breakdown (section 4)
    {"key": "k", "criterion": {...}, "label": "..."} in the group vs everyone else
    {"key": "k", "buckets": [{"label", "criterion"}, ...], "else": "..."}
                                                     each user in the first bucket whose
                                                     criterion holds, else in "else"

`week_changes` then compares each bucket's latest complete week with the week before
(stats.change_test, Benjamini-Hochberg over all of them), and `dataset_profile` reads the
values of a dataset's columns so that the dashboards can guess what each column means."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from analytics.engine import duck, stats
from analytics.engine.analysis import EngineSettings, engine_connection, population_summary
from analytics.engine.breakdowns import NONE, OTHER, TOP_VALUES, bin_labels, value_label
from analytics.engine.compiler import bin_bucket, breakdown_value, compile_criterion
from analytics.engine.definitions import (
    DefinitionError,
    parse_timestamp,
    validate_success,
)
from analytics.engine.peruser import peruser_source
from analytics.engine.peruser_columns import INCLUDED_COLUMN, SUCCESS_COLUMN, Feature, features_of
from analytics.engine.sql import Sql
from analytics.engine.storage import DatasetVersion
from analytics.engine.weeks import (  # noqa: F401  (the segment and week API, re-exported)
    ALL_USERS,
    EVERYONE_ELSE,
    MAX_BUCKETS,
    MAX_LABEL,
    MAX_SEGMENTS,
    SIGNIFICANCE,
    latest_complete_week,
    validate_segment,
    week_changes,
)

_TABLE = "__hl_trend_cells"


# ---------------------------------------------------------------- segments


def segment_features(segment: dict) -> list[Feature]:
    if "breakdown" in segment:
        metric = segment["breakdown"].get("metric")
        return [Feature.of(metric)] if metric else []
    return [f for bucket in segment["buckets"] for f in features_of(bucket["criterion"])]


def _bucket_expression(segment: dict, schema) -> Sql:
    """The per-user value a segment groups by: a bucket number, or the raw value."""
    if "buckets" in segment:
        parts: list[Sql] = []
        for index, bucket in enumerate(segment["buckets"]):
            parts.append(compile_criterion(bucket["criterion"], schema)
                         .wrap("WHEN ", f" THEN {index}"))
        whens = Sql.join(parts, " ")
        return whens.wrap("CASE ", f" ELSE {len(segment['buckets'])} END")
    column, _ = breakdown_value(segment["breakdown"], schema)
    if "bins" in segment["breakdown"]:
        return bin_bucket(column, segment["breakdown"]["bins"])
    return Sql(column)


def _fixed_labels(segment: dict) -> list[str] | None:
    if "buckets" in segment:
        return [b["label"] for b in segment["buckets"]] + [segment["else"]]
    if "bins" in segment["breakdown"]:
        return bin_labels(segment["breakdown"]["bins"])
    return None


# ---------------------------------------------------------------- the trend


def success_trends(version: DatasetVersion, success: dict, segments: list[dict], *,
                   settings: EngineSettings | None = None) -> dict:
    """Success rate per week of first_seen, overall and per bucket of each segment.

    Returns {"population", "data_end", "weeks": [{"week" (Monday, ISO date), "users",
    "successes", "excluded_incomplete", "complete"}], "without_week": {"users",
    "successes"}, "segments": [{"key", "kind", "buckets": [{"label", "users", "successes",
    "rate", "ci95", "weeks": [[users, successes], ...]}], "p_value"}]}. Every week from the
    first to the last is listed, empty ones too. "complete" says the week is over in the
    data and none of its users was left out for an unfinished success window."""
    schema = version.schema()
    success = validate_success(success, schema)
    if not isinstance(segments, list) or len(segments) > MAX_SEGMENTS:
        raise DefinitionError(f"a dashboard holds at most {MAX_SEGMENTS} segments")
    segments = [validate_segment(s, schema) for s in segments]
    keys = [s["key"] for s in segments]
    if len(set(keys)) != len(keys):
        raise DefinitionError("two segments have the same key")
    features = list(dict.fromkeys(f for s in segments for f in segment_features(s)))

    with engine_connection(settings) as con:
        source = peruser_source(con, version, schema, success, features)
        _aggregate(con, source, [_bucket_expression(s, schema) for s in segments])
        everyone = _gid(None, len(segments))
        totals = con.execute(
            f"SELECT __w, n, x, e FROM {_TABLE} WHERE __gid = ?",  # noqa: S608
            [everyone]).fetchall()
        by_week = {w: (int(n), int(x), int(e)) for w, n, x, e in totals}
        weeks = _calendar([w for w in by_week if w is not None])
        results = []
        for index, segment in enumerate(segments):
            gid = _gid(index, len(segments))
            labels = _fixed_labels(segment)
            if labels is None:
                buckets = _value_buckets(con, index, gid)
                kind = "values"
            else:
                buckets = _numbered_buckets(con, index, gid, labels)
                kind = "bins" if "breakdown" in segment else "buckets"
            results.append(_segment_result(segment["key"], kind, buckets))

    n = sum(v[0] for v in by_week.values())
    x = sum(v[1] for v in by_week.values())
    excluded = sum(v[2] for v in by_week.values())
    data_end = parse_timestamp(schema.data_end) if schema.data_end else None
    week_rows = []
    for week in weeks:
        users, successes, left_out = by_week.get(week, (0, 0, 0))
        over = data_end is not None and _week_end(week) <= data_end
        week_rows.append({"week": week.isoformat(), "users": users, "successes": successes,
                          "excluded_incomplete": left_out,
                          "complete": bool(over and left_out == 0)})
    nobody = by_week.get(None, (0, 0, 0))
    return _finish_cells({
        "population": population_summary(n, x, excluded),
        "data_end": schema.data_end,
        "weeks": week_rows,
        "without_week": {"users": nobody[0], "successes": nobody[1]},
        "segments": results,
    })


def _gid(index: int | None, count: int) -> int:
    """GROUPING(__b0, ..., __bk-1) of the grouping set (week, __b<index>); None: (week)."""
    everything = (1 << count) - 1
    return everything if index is None else everything & ~(1 << (count - 1 - index))


def _aggregate(con: duck.Connection, source: Sql, expressions: list[Sql]) -> None:
    """The one pass over the per-user table, into a small table of cells."""
    included = duck.quote_identifier(INCLUDED_COLUMN)
    succeeded = duck.quote_identifier(SUCCESS_COLUMN)
    columns = [e.wrap("", f" AS __b{i}") for i, e in enumerate(expressions)]
    select = Sql.join([Sql("CAST(date_trunc('week', _first_seen) AS DATE) AS __w"),
                       Sql(f"{included} AS __inc"), Sql(f"{succeeded} AS __s"), *columns])
    names = [f"__b{i}" for i in range(len(expressions))]
    sets = ", ".join(["(__w)", *(f"(__w, {name})" for name in names)])
    gid = f"GROUPING({', '.join(names)})" if names else "0"
    # Only our own aliases and schema identifiers (quoted by the compiler) are spliced in.
    text = (
        f"CREATE OR REPLACE TEMP TABLE {_TABLE} AS "  # noqa: S608
        f"SELECT {gid} AS __gid, __w, {', '.join([*names, ''])}"
        "count_if(__inc) AS n, count_if(__inc AND __s) AS x, count_if(NOT __inc) AS e "
        f"FROM (SELECT {select.text} FROM {source.text}) "
        f"GROUP BY GROUPING SETS ({sets})"
    )
    con.execute(text, [*select.params, *source.params])


def _calendar(weeks: list[date]) -> list[date]:
    if not weeks:
        return []
    first, last = min(weeks), max(weeks)
    return [first + timedelta(days=7 * i) for i in range((last - first).days // 7 + 1)]


def _week_end(week: date) -> datetime:
    start = parse_timestamp(week.isoformat())
    assert start is not None
    return start + timedelta(days=7)


def _numbered_buckets(con: duck.Connection, index: int, gid: int,
                      labels: list[str]) -> list[tuple[str, dict]]:
    text = f"SELECT __b{index}, __w, n, x FROM {_TABLE} WHERE __gid = ?"  # noqa: S608
    rows = con.execute(text, [gid]).fetchall()
    cells: dict[int, dict] = {}
    for bucket, week, n, x in rows:
        cells.setdefault(int(bucket), {})[week] = (int(n), int(x))
    return [(label, cells.get(i, {})) for i, label in enumerate(labels)]


def _value_buckets(con: duck.Connection, index: int, gid: int) -> list[tuple[str, dict]]:
    # Every value that can still be among the TOP_VALUES with the most users (ties at the
    # edge included) comes back by itself; the others come back summed, per week.
    text = (
        f"WITH r AS (SELECT __w AS w, __b{index} AS v, n, x FROM {_TABLE} "  # noqa: S608
        "WHERE __gid = ?), "
        "t AS (SELECT v, sum(n) AS total FROM r WHERE v IS NOT NULL GROUP BY v), "
        "edge AS (SELECT coalesce((SELECT total FROM t ORDER BY total DESC "
        f"LIMIT 1 OFFSET {TOP_VALUES - 1}), 0) AS m) "
        "SELECT r.w, CASE WHEN r.v IS NULL THEN 0 WHEN t.total >= edge.m THEN 1 ELSE 2 END "
        "AS k, CASE WHEN r.v IS NOT NULL AND t.total >= edge.m THEN r.v END AS v, "
        "sum(r.n), sum(r.x) FROM r LEFT JOIN t ON r.v = t.v CROSS JOIN edge GROUP BY ALL"
    )
    rows = con.execute(text, [gid]).fetchall()
    none: dict = {}
    other: dict = {}
    values: dict[str, dict] = {}
    for week, kind, value, n, x in rows:
        target = none if kind == 0 else other if kind == 2 else values.setdefault(
            value_label(value), {})
        before = target.get(week, (0, 0))
        target[week] = (before[0] + int(n), before[1] + int(x))
    ranked = sorted(values.items(),
                    key=lambda item: (-sum(n for n, _ in item[1].values()), item[0]))
    ranked = [(label, cells) for label, cells in ranked if sum(n for n, _ in cells.values())]
    for _, cells in ranked[TOP_VALUES:]:
        for week, (n, x) in cells.items():
            before = other.get(week, (0, 0))
            other[week] = (before[0] + n, before[1] + x)
    buckets = ranked[:TOP_VALUES]
    if sum(n for n, _ in other.values()):
        buckets.append((OTHER, other))
    if sum(n for n, _ in none.values()):
        buckets.append((NONE, none))
    return buckets


def _segment_result(key: str, kind: str, buckets: list[tuple[str, dict]]) -> dict:
    rows = []
    for label, cells in buckets:
        users = sum(n for n, _ in cells.values())
        successes = sum(x for _, x in cells.values())
        rows.append({"label": label, **stats.side_summary(successes, users), "cells": cells})
    return {"key": key, "kind": kind, "buckets": rows,
            "p_value": stats.chi_square_independence(
                [(r["successes"], r["users"]) for r in rows])}


def _finish_cells(result: dict) -> dict:
    """Turn each bucket's {week: (n, x)} into a list aligned with result["weeks"]."""
    order = [date.fromisoformat(w["week"]) for w in result["weeks"]]
    for segment in result["segments"]:
        for bucket in segment["buckets"]:
            cells = bucket.pop("cells")
            bucket["weeks"] = [list(cells.get(w, (0, 0))) for w in order]
    return result


# ---------------------------------------------------------------- week over week

# ---------------------------------------------------------------- column profile

PROFILE_TOP = 25
PROFILE_SAMPLE = 200_000  # events read to profile event properties
_COUNTABLE = ("text", "boolean", "integer")


def dataset_profile(version: DatasetVersion, *,
                    settings: EngineSettings | None = None) -> dict:
    """What the values of each column look like, for guessing what a column means:
    {"user_properties": {name: info}, "event_properties": {name: info}} where info is
    {"type", "values" (distinct, non-null), "nulls", "top": [[label, users], ...]} plus
    "quantiles" [p25, p50, p75] for numbers, and for event properties "events": {event:
    rows with a value} and numeric "quantiles_by_event". Event properties are read from
    a fixed-seed sample of PROFILE_SAMPLE events, so on big datasets counts are a sample's."""
    schema = version.schema()
    with engine_connection(settings) as con:
        con.execute("CREATE TEMP TABLE __hl_users AS SELECT * FROM read_parquet(?)",
                    [str(version.users_path)])
        users = {name: _column_profile(con, "__hl_users", name, kind)
                 for name, kind in schema.user_properties.items()}
        events: dict[str, dict] = {}
        if schema.event_properties and version.has_events():
            con.execute(
                "CREATE TEMP TABLE __hl_events AS SELECT * FROM read_parquet(?) "  # noqa: S608
                f"USING SAMPLE reservoir({PROFILE_SAMPLE} ROWS) REPEATABLE (7)",
                [version.events_glob])
            for name, kind in schema.event_properties.items():
                info = _column_profile(con, "__hl_events", name, kind)
                info.update(_by_event(con, name, kind))
                events[name] = info
    return {"user_properties": users, "event_properties": events}


def _column_profile(con: duck.Connection, table: str, name: str, kind: str) -> dict:
    column = duck.quote_identifier(name)
    values, nulls = con.execute(
        f"SELECT count(DISTINCT {column}), count_if({column} IS NULL) FROM {table}"  # noqa: S608
    ).fetchone()
    info: dict[str, Any] = {"type": kind, "values": int(values), "nulls": int(nulls)}
    if kind in _COUNTABLE or values <= PROFILE_TOP:
        rows = con.execute(
            f"SELECT {column}, count(*) AS c FROM {table} WHERE {column} IS NOT NULL "  # noqa: S608
            f"GROUP BY 1 ORDER BY c DESC, 1 LIMIT {PROFILE_TOP}").fetchall()
        info["top"] = [[value_label(v), int(c)] for v, c in rows]
    if kind in ("integer", "float"):
        low, high, quantiles = con.execute(
            f"SELECT min({column}), max({column}), "  # noqa: S608
            f"quantile_cont({column}, [0.25, 0.5, 0.75]) FROM {table}").fetchone()
        info["min"], info["max"] = _number(low), _number(high)
        info["quantiles"] = [_number(q) for q in quantiles] if quantiles else None
    return info


def _by_event(con: duck.Connection, name: str, kind: str) -> dict:
    column = duck.quote_identifier(name)
    numeric = kind in ("integer", "float")
    quantiles = f", quantile_cont({column}, [0.25, 0.5, 0.75])" if numeric else ""
    rows = con.execute(
        f"SELECT event, count(*){quantiles} FROM __hl_events "  # noqa: S608
        f"WHERE {column} IS NOT NULL GROUP BY event ORDER BY 2 DESC, 1").fetchall()
    out: dict[str, Any] = {"events": {row[0]: int(row[1]) for row in rows}}
    if numeric:
        out["quantiles_by_event"] = {row[0]: [_number(q) for q in row[2]] for row in rows}
    return out


def _number(value: Any) -> float | int | None:
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number
