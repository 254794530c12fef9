"""Tiny datasets for engine tests, written straight into the storage form (analytics/engine/storage.py)
from Python rows, so that engine tests do not depend on the importer."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analytics.engine import duck
from analytics.engine.storage import DatasetSchema, DatasetVersion

_DUCK_TYPES = {
    "integer": "BIGINT",
    "float": "DOUBLE",
    "boolean": "BOOLEAN",
    "text": "VARCHAR",
    "timestamp": "TIMESTAMPTZ",
}


def as_utc(value: datetime | str) -> datetime:
    """An aware datetime from a datetime or an ISO 8601 string; naive means UTC."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _type_of(values: list[Any]) -> str:
    seen = {type(v) for v in values if v is not None}
    if not seen:
        return "text"
    if seen == {bool}:
        return "boolean"
    if seen <= {int}:
        return "integer"
    if seen <= {int, float}:
        return "float"
    if seen <= {datetime}:
        return "timestamp"
    if seen == {str}:
        return "text"
    raise ValueError(f"mixed property types {seen}")


def _property_types(rows: list[dict], reserved: set[str], given: dict[str, str]) -> dict[str, str]:
    names: list[str] = []
    for row in rows:
        for name in row:
            if name not in reserved and name not in names:
                names.append(name)
    for name in given:
        if name not in names:
            names.append(name)
    return {
        name: given.get(name) or _type_of([row.get(name) for row in rows]) for name in names
    }


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "timestamp":
        return as_utc(value)
    if kind == "float":
        return float(value)
    return value


def _write(con: duck.Connection, path: Path, columns: list[tuple[str, str]],
           rows: list[tuple]) -> None:
    # One list per column, unnested side by side: far faster than row-by-row inserts.
    select = ", ".join(f"unnest(CAST(? AS {t}[])) AS {duck.quote_identifier(n)}"
                       for n, t in columns)
    values = [list(column) for column in zip(*rows, strict=True)] if rows else [
        [] for _ in columns]
    con.execute(f"COPY (SELECT {select}) TO '{path}' (FORMAT parquet)", values)


_CONNECTION: list[duck.Connection] = []


def _connection() -> duck.Connection:
    # Opening a DuckDB connection costs ~0.1 s on a busy machine; tests build many datasets.
    if not _CONNECTION:
        _CONNECTION.append(duck.connect(threads=1))
    return _CONNECTION[0]


def build_dataset(tmp_path: Path, events: list[dict], users: list[dict] | None = None, *,
                  event_property_types: dict[str, str] | None = None,
                  user_property_types: dict[str, str] | None = None,
                  name: str = "dataset") -> DatasetVersion:
    """Write version 1 of a dataset under tmp_path/name from Python rows.

    events: dicts with user_id, event, timestamp (aware datetime or ISO string; naive = UTC)
    and any event properties; users: dicts with user_id and user properties. Property types
    are inferred from the values (int -> integer, float -> float, bool -> boolean, str -> text,
    datetime -> timestamp) unless given."""
    users = users or []
    version = DatasetVersion(Path(tmp_path) / name / "v1")
    version.events_dir.mkdir(parents=True, exist_ok=True)

    event_types = _property_types(events, {"user_id", "event", "timestamp"},
                                  event_property_types or {})
    user_types = _property_types(users, {"user_id"}, user_property_types or {})

    uids: dict[str, int] = {}
    for row in [*users, *events]:
        uids.setdefault(str(row["user_id"]), len(uids) + 1)

    first_seen: dict[str, datetime] = {}
    counts: dict[str, int] = {}
    event_rows = []
    for row in events:
        uid = str(row["user_id"])
        moment = as_utc(row["timestamp"])
        first_seen[uid] = min(first_seen.get(uid, moment), moment)
        counts[row["event"]] = counts.get(row["event"], 0) + 1
        event_rows.append((uids[uid], row["event"], moment,
                           *(_cell(row.get(n), t) for n, t in event_types.items())))

    by_user = {str(row["user_id"]): row for row in users}
    user_rows = []
    for uid, number in uids.items():
        row = by_user.get(uid, {})
        user_rows.append((number, uid, first_seen.get(uid),
                          *(_cell(row.get(n), t) for n, t in user_types.items())))

    con = _connection()
    _write(con, version.events_dir / "part-0.parquet",
           [("_uid", "BIGINT"), ("event", "VARCHAR"), ("timestamp", "TIMESTAMPTZ"),
            *((n, _DUCK_TYPES[t]) for n, t in event_types.items())], event_rows)
    _write(con, version.users_path,
           [("_uid", "BIGINT"), ("user_id", "VARCHAR"), ("_first_seen", "TIMESTAMPTZ"),
            *((n, _DUCK_TYPES[t]) for n, t in user_types.items())], user_rows)

    moments = [as_utc(r["timestamp"]) for r in events]
    schema = DatasetSchema(
        n_users=len(uids),
        n_events=len(events),
        data_start=min(moments).isoformat() if moments else None,
        data_end=max(moments).isoformat() if moments else None,
        events=dict(sorted(counts.items())),
        event_properties=event_types,
        user_properties=user_types,
    )
    version.schema_path.write_text(schema.to_json())
    return version


def members(version: DatasetVersion, criterion: dict, success: dict | None = None) -> set[str]:
    """The user_ids for whom a criterion is true (complete-window exclusions aside), read
    straight from the per-user table the engine builds."""
    from analytics.engine.compiler import compile_criterion
    from analytics.engine.definitions import validate_criterion

    schema = version.schema()
    criterion = validate_criterion(criterion, schema)
    return _user_ids(version, success, criterion, lambda: compile_criterion(criterion, schema))


def success_flags(version: DatasetVersion, success: dict) -> dict[str, tuple[bool, bool]]:
    """user_id -> (succeeded, included by the complete-window rule)."""
    from analytics.engine.peruser_columns import INCLUDED_COLUMN, SUCCESS_COLUMN

    rows = _rows(version, success, None,
                 f"{duck.quote_identifier(SUCCESS_COLUMN)}, "
                 f"{duck.quote_identifier(INCLUDED_COLUMN)}")
    return {uid: (bool(s), bool(i)) for uid, s, i in rows}


def feature_values(version: DatasetVersion, metric: dict) -> dict[str, Any]:
    """user_id -> the value of a metric (a criterion's measure) in the per-user table."""
    return {uid: values[0] for uid, values in feature_table(version, [metric]).items()}


def feature_table(version: DatasetVersion, metrics: list[dict]) -> dict[str, list]:
    """user_id -> the values of these metrics, from one per-user table built in one pass."""
    from analytics.engine.definitions import validate_metric
    from analytics.engine.peruser_columns import Feature

    metrics = [validate_metric(m, version.schema()) for m in metrics]
    columns = ", ".join(duck.quote_identifier(Feature.of(m).column) for m in metrics)
    return {uid: list(values) for uid, *values in _rows(version, None, {"all": metrics},
                                                       columns)}


def _user_ids(version, success, criterion, compile_) -> set[str]:
    expression = compile_()
    rows = _rows(version, success, criterion, "", expression)
    return {row[0] for row in rows}


def _rows(version, success, measure, columns, condition=None) -> list[tuple]:
    from analytics.engine.definitions import validate_success
    from analytics.engine.peruser import peruser_source
    from analytics.engine.peruser_columns import features_of

    schema = version.schema()
    if success is None:
        success = {"events": sorted(schema.events)[:1]} if schema.events else {
            "property": next(iter(schema.user_properties)), "op": "is_set"}
    success = validate_success(success, schema)
    con = _connection()
    source = peruser_source(con, version, schema, success, features_of(measure))
    select = "user_id" + (f", {columns}" if columns else "")
    where = f" WHERE {condition.text}" if condition is not None else ""
    params = [*source.params, *(condition.params if condition is not None else [])]
    return con.execute(f"SELECT {select} FROM {source.text}{where}", params).fetchall()
