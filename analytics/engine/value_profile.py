"""The values in the data, for forms that take a property's value: per user property and
event property, its most common values with how many distinct users have each, and for
numbers min, max and quartiles. Made by one job per dataset version and stored with it
(analytics "values" jobs), so a form reads it without touching the data.

`value_warnings` then compares the values of a criterion with a stored profile, in plain
Python: "'USA' does not occur in country; closest: 'US'". A property with more distinct
values than the profile holds cannot be said to lack a value, only that the value is not
among its common ones.

Profile shape: {"top_limit": TOP_VALUES, "user_properties": {name: info},
"event_properties": {name: info}}, info = {"type", "distinct" (non-null values), "users"
(distinct users with a value), "top": [[value, users], ...] (text, boolean and integer
properties; most users first, then by value), "complete" (whether "top" holds every value)}
plus "min", "max" and "quartiles" [p25, p50, p75] for numbers ("min" and "max" as ISO text
for timestamps). User properties count one row per user; an event property's users are
the distinct users of the events that carry the value, its quartiles are over events."""

from __future__ import annotations

import difflib
from datetime import datetime
from typing import Any

from analytics.engine import duck
from analytics.engine.analysis import EngineSettings, engine_connection
from analytics.engine.storage import UID, DatasetVersion

TOP_VALUES = 50
CLOSEST = 3
CLOSEST_CUTOFF = 0.6
_LISTED = ("text", "boolean", "integer")
_NUMBERS = ("integer", "float")
_EQUALITY_OPERATORS = ("=", "!=", "in", "not_in")


def value_profile(version: DatasetVersion, *, settings: EngineSettings | None = None) -> dict:
    """The profile of every user and event property of a version (see the module)."""
    schema = version.schema()
    with engine_connection(settings) as con:
        users = {name: _profile(con, "read_parquet(?)", [str(version.users_path)], name, kind)
                 for name, kind in schema.user_properties.items()}
        events: dict[str, dict] = {}
        if version.has_events():
            for name, kind in schema.event_properties.items():
                events[name] = _profile(con, "read_parquet(?)", [version.events_glob], name, kind)
    return {"top_limit": TOP_VALUES, "user_properties": users, "event_properties": events}


def _profile(con: duck.Connection, source: str, params: list, name: str, kind: str) -> dict:
    column, uid = duck.quote_identifier(name), duck.quote_identifier(UID)
    distinct, users = con.execute(
        f"SELECT count(DISTINCT {column}), "  # noqa: S608 - identifiers from the schema
        f"count(DISTINCT {uid}) FILTER (WHERE {column} IS NOT NULL) FROM {source}",
        params).fetchone()
    info: dict[str, Any] = {"type": kind, "distinct": int(distinct), "users": int(users or 0)}
    if kind in _LISTED:
        rows = con.execute(
            f"SELECT {column}, count(DISTINCT {uid}) AS users FROM {source} "  # noqa: S608
            f"WHERE {column} IS NOT NULL GROUP BY 1 ORDER BY users DESC, 1 "
            f"LIMIT {TOP_VALUES}", params).fetchall()
        info["top"] = [[_plain(value), int(count)] for value, count in rows]
        info["complete"] = int(distinct) <= TOP_VALUES
    if kind in _NUMBERS:
        low, high, quartiles = con.execute(
            f"SELECT min({column}), max({column}), "  # noqa: S608
            f"quantile_cont({column}, [0.25, 0.5, 0.75]) FROM {source}", params).fetchone()
        info["min"], info["max"] = _number(low), _number(high)
        info["quartiles"] = [_number(q) for q in quartiles] if quartiles else None
    elif kind == "timestamp":
        low, high = con.execute(
            f"SELECT min({column}), max({column}) FROM {source}", params).fetchone()  # noqa: S608
        info["min"], info["max"] = _plain(low), _plain(high)
    return info


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return _number(value)
    return value


def _number(value: Any) -> float | int | None:
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


# ---------------------------------------------------------------- checking a criterion


def value_warnings(criterion: dict | None, profile: dict | None) -> list[str]:
    """Warnings, for people, about the values a validated criterion compares with: a text
    value that does not occur (with the closest ones that do), a number outside every
    value. Empty without a profile; nothing here reads data."""
    if not criterion or not profile:
        return []
    warnings: list[str] = []
    for scope, name, op, value in _comparisons(criterion):
        info = (profile.get(f"{scope}_properties") or {}).get(name)
        if not info or op not in _EQUALITY_OPERATORS + ("<", "<=", ">", ">="):
            continue
        wanted = value if isinstance(value, list) else [value]
        if info.get("type") == "text" and op in _EQUALITY_OPERATORS:
            warnings += [_text_warning(name, v, info, profile) for v in wanted
                         if isinstance(v, str) and not _occurs(v, info)]
        elif info.get("type") in _NUMBERS and info.get("min") is not None:
            warnings += _number_warnings(name, op, wanted, info)
    return list(dict.fromkeys(warnings))


def _comparisons(node: Any):
    """(scope, property, op, value) of each comparison with a stored property's value."""
    if not isinstance(node, dict):
        return
    for key in ("all", "any"):
        if isinstance(node.get(key), list):
            for part in node[key]:
                yield from _comparisons(part)
            return
    if "not" in node:
        yield from _comparisons(node["not"])
        return
    kind = node.get("kind")
    if "value" in node:
        if kind == "property":
            yield "user", node.get("property"), node.get("op"), node["value"]
        elif kind == "first_event_property" or (
                kind == "event_property" and node.get("agg") in ("min", "max")):
            yield "event", node.get("property"), node.get("op"), node["value"]
    for where in node.get("where") or []:
        if isinstance(where, dict) and "value" in where:
            yield "event", where.get("property"), where.get("op"), where["value"]


def _occurs(value: str, info: dict) -> bool:
    return any(shown == value for shown, _ in info.get("top") or [])


def closest_values(value: str, candidates: list[str], n: int = CLOSEST) -> list[str]:
    """The candidates most like `value`, ignoring case (so "us" finds "US")."""
    wanted = value.casefold()
    scored = []
    for candidate in candidates:
        ratio = difflib.SequenceMatcher(None, wanted, candidate.casefold()).ratio()
        if ratio >= CLOSEST_CUTOFF:
            scored.append((-ratio, candidate))
    return [candidate for _, candidate in sorted(scored)[:n]]


def _text_warning(name: str, value: str, info: dict, profile: dict) -> str:
    known = [shown for shown, _ in info.get("top") or [] if isinstance(shown, str)]
    closest = closest_values(value, known)
    hint = ("; closest: " + ", ".join(repr(c) for c in closest)) if closest else ""
    if info.get("complete", True):
        return f"{value!r} does not occur in {name}{hint}"
    return (f"{value!r} is not among the {profile.get('top_limit', TOP_VALUES)} most common "
            f"values of {name} (it has {info.get('distinct', 0):,}); it may be among the rarer "
            f"values{hint}")


def _number_warnings(name: str, op: str, wanted: list, info: dict) -> list[str]:
    low, high = info["min"], info["max"]
    numbers = [v for v in wanted if isinstance(v, int | float) and not isinstance(v, bool)]
    if op in ("=", "in"):
        return [f"{v!r} is outside the values of {name} ({low} to {high})"
                for v in numbers if v < low or v > high]
    if not numbers:
        return []
    v = numbers[0]
    if (op == ">" and v >= high) or (op == ">=" and v > high):
        return [f"no value of {name} is above {high}, so no one has {name} {op} {v}"]
    if (op == "<" and v <= low) or (op == "<=" and v < low):
        return [f"no value of {name} is below {low}, so no one has {name} {op} {v}"]
    return []
