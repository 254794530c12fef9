"""The values in the data, for forms that take a property's value: per user property and
event property, its most common values with how many distinct users have each, and for
numbers min, max and quartiles. Made by one job per dataset version and stored with it
(analytics "values" jobs), so a form reads it without touching the data.

analytics.engine.value_warnings then compares the values of a criterion with a stored
profile, in plain Python (no DuckDB: web requests use it).

Profile shape: {"top_limit": TOP_VALUES, "user_properties": {name: info},
"event_properties": {name: info}}, info = {"type", "distinct" (non-null values), "users"
(distinct users with a value), "top": [[value, users], ...] (text, boolean and integer
properties; most users first, then by value), "complete" (whether "top" holds every value)}
plus "min", "max" and "quartiles" [p25, p50, p75] for numbers ("min" and "max" as ISO text
for timestamps). User properties count one row per user; an event property's users are
the distinct users of the events that carry the value, its quartiles are over events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from analytics.engine import duck
from analytics.engine.analysis import EngineSettings, engine_connection
from analytics.engine.storage import UID, DatasetVersion

TOP_VALUES = 50
_LISTED = ("text", "boolean", "integer")
_NUMBERS = ("integer", "float")


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
