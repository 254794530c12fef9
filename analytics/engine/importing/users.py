"""Users: the users file read into a temporary table (users files are small next to the
events), its checks (empty and duplicate ids), and users.parquet for the population."""

from __future__ import annotations

from dataclasses import dataclass, field

from analytics.engine import duck
from analytics.engine.importing import columns as cols
from analytics.engine.importing.column_mapping import ColumnMapping
from analytics.engine.importing.columns import q
from analytics.engine.importing.errors import first_control_character, quoted_value
from analytics.engine.importing.events import (
    SourceColumn,
    find_column,
    force_text,
    id_sql,
    refuse_control_in_name,
)
from analytics.engine.importing.sources import Source, conversion_column, refusal_for
from analytics.engine.storage import FIRST_SEEN, RESERVED_USER_COLUMNS, UID

_USERS_TABLE = "users_source"  # temporary: user_id, _ordinal, properties...
_MAX_TYPE_RETRIES = 20


@dataclass
class UsersTable:
    source: Source
    id_columns: list[str]  # empty when ids are generated
    properties: dict[str, str] = field(default_factory=dict)  # stored name -> product type
    source_names: dict[str, str] = field(default_factory=dict)  # source column -> stored
    renamed: list[cols.Renamed] = field(default_factory=list)
    name: str = _USERS_TABLE  # the temporary table the users were staged in


def stage_users(con: duck.Connection, source: Source, mapping: ColumnMapping) -> UsersTable:
    """Read the users file into a temporary table (user_id, _ordinal, properties...) and refuse
    an empty or repeated id, naming its line. Ids are text here whatever they look like,
    so the parts of a composite id are text properties too."""
    if mapping.generate_user_ids:
        id_columns: list[str] = []
    else:
        id_columns = [find_column(source, n) for n in mapping.users_id_column_list()]
    if source.fmt.kind == "csv":
        for name in id_columns:
            force_text(source, name)
    for _ in range(_MAX_TYPE_RETRIES):
        table = _plan(source, id_columns)
        try:
            _create(con, table)
            break
        except duck.Error as exc:
            column = conversion_column(exc)
            if (source.fmt.kind != "csv" or column not in source.columns
                    or source.overrides.get(column) == "VARCHAR"):
                raise refusal_for(con, source, exc) from None
            force_text(source, column)
    else:
        raise source.refusal("too many columns change type after the first rows")
    for name in table.source_names:
        refuse_control_in_name(con, source, SourceColumn(name, f"s.{q(name)}",
                                                         source.columns[name]))
    _check_ids(con, table)
    _check_times(con, table)
    return table


def _plan(source: Source, id_columns: list[str]) -> UsersTable:
    # A composite id's parts stay properties too (a course is worth segmenting by);
    # a single id column is the user id and nothing else.
    skip = set(id_columns) if len(id_columns) == 1 else set()
    names = [c for c in source.columns if c not in skip]
    stored, renamed = cols.property_names(names, RESERVED_USER_COLUMNS)
    properties = {stored[n]: cols.property_type(source.columns[n]) for n in names}
    return UsersTable(source, id_columns, properties, stored, renamed)


def _create(con: duck.Connection, table: UsersTable) -> None:
    source = table.source
    sql, params = source.table(ordinality=True)
    if table.id_columns:
        ids = [SourceColumn(n, f"s.{q(n)}", source.columns[n]) for n in table.id_columns]
        user_id = id_sql(ids)
    else:
        user_id = "CAST(ordinality AS VARCHAR)"
    columns = [f"{user_id} AS user_id", "ordinality AS _ordinal"]
    for name, stored in table.source_names.items():
        kind = table.properties[stored]
        columns.append(f"{cols.stored_value(f's.{q(name)}', source.columns[name], kind)} "
                       f"AS {q(stored)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table.name} AS "  # noqa: S608
                f"SELECT {', '.join(columns)} FROM {sql} AS s", params)


def _check_ids(con: duck.Connection, table: UsersTable) -> None:
    source = table.source
    column = " + ".join(table.id_columns) or None
    n_rows, first_empty, n_distinct, first_control, control_id = con.execute(
        "SELECT count(*), min(_ordinal) FILTER (WHERE user_id IS NULL), "  # noqa: S608
        f"count(DISTINCT user_id), min(_ordinal) FILTER (WHERE {cols.has_control_character('user_id')}), "
        f"arg_min(user_id, _ordinal) FILTER (WHERE {cols.has_control_character('user_id')}) "
        f"FROM {table.name}"
    ).fetchone()
    if n_rows == 0:
        raise source.refusal("the file has a header but no rows")
    if first_empty is not None:
        raise source.refusal("the user id is empty", line=source.line_of(first_empty),
                             column=column)
    if first_control is not None:
        raise source.refusal(
            f"the user id {quoted_value(control_id)} contains a control character "
            f"({first_control_character(control_id)})", line=source.line_of(first_control),
            column=column)
    if n_distinct == n_rows:
        return
    # Only on the way to a refusal: which repeat comes first in the file.
    repeated = con.execute(
        f"SELECT user_id, list(_ordinal ORDER BY _ordinal)[1:2] AS ordinals "  # noqa: S608
        f"FROM {table.name} GROUP BY user_id HAVING count(*) > 1 "
        f"ORDER BY ordinals[2] LIMIT 1").fetchone()
    if repeated is not None:
        user_id, (first, second) = repeated
        first_line, second_line = source.line_of(first), source.line_of(second)
        unit = source.unit
        raise source.refusal(
            f"user id {quoted_value(user_id)} is repeated ({unit}s {first_line} and "
            f"{second_line}); a users file has one row per user", line=second_line,
            column=column)


def _check_times(con: duck.Connection, table: UsersTable) -> None:
    """Time properties within what can be shown (no infinities, no year 294247)."""
    for name, stored in table.source_names.items():
        if table.properties[stored] != "timestamp":
            continue
        first = con.execute(
            f"SELECT min(_ordinal) FROM {table.name} "  # noqa: S608
            f"WHERE NOT coalesce({cols.in_time_range(q(stored))}, true)").fetchone()[0]
        if first is not None:
            raise table.source.refusal(
                f"this time cannot be stored: times go {cols.TIME_RANGE_WORDS}",
                line=table.source.line_of(first), column=name)


@dataclass
class UserProperties:
    """Where users.parquet takes properties from: a FROM item with a `user_id` column."""

    from_sql: str
    params: list
    names: list[str]


def from_users_table(table: UsersTable) -> UserProperties:
    return UserProperties(table.name, [], list(table.properties))


def write_users(con: duck.Connection, out_path: str, *, uid_table: str, first_seen: str | None,
                properties: UserProperties | None) -> int:
    """users.parquet: one row per user of the population (every id in `uid_table`), with
    `_first_seen` (from the `first_seen` table, None when there are no events) and the properties joined
    by user id. Returns the number of users."""
    first_seen = (first_seen or
                  "(SELECT NULL::BIGINT AS _uid, NULL::TIMESTAMPTZ AS first_ts LIMIT 0)")
    params: list = []
    props, join = "", ""
    if properties is not None:
        props = "".join(f", p.{q(name)}" for name in properties.names)
        join = f" LEFT JOIN {properties.from_sql} AS p ON p.user_id = m.user_id"
        params += properties.params
    con.execute(
        f"COPY (SELECT m._uid AS {q(UID)}, m.user_id, f.first_ts AS {q(FIRST_SEEN)}{props} "  # noqa: S608
        f"FROM {uid_table} AS m LEFT JOIN {first_seen} AS f ON f._uid = m._uid{join} "
        f"ORDER BY m._uid) TO ? ({cols.USERS_PARQUET})",
        params + [out_path])
    return con.execute(f"SELECT count(*) FROM {uid_table}").fetchone()[0]  # noqa: S608
