"""`_uid`: the integer each user is grouped by. When every source id is a plain integer
the id itself is the `_uid` (no join while writing the events); otherwise users are
numbered densely in the order of their ids. An append keeps every earlier `_uid`."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.engine import duck
from analytics.engine.importing.columns import all_integer_ids_sql, q
from analytics.engine.storage import UID

_UID_MAP = "uid_map"  # temporary table: user_id VARCHAR, _uid BIGINT
_OLD_UIDS = "renumbered_uids"  # after a renumbering: old_uid BIGINT, _uid BIGINT


@dataclass(frozen=True)
class UidAssignment:
    integer_ids: bool
    renumbered: bool = False  # earlier events need their `_uid` rewritten (old_uids)
    numbered: bool = True  # uid_map is filled (otherwise it comes from the events)
    uid_map: str = _UID_MAP  # the temporary table of user_id -> _uid, once filled
    old_uids: str | None = None  # after a renumbering: old_uid -> _uid


def assign_uids(con: duck.Connection, id_tables: list[str], *,
                previous_users: str | None = None, previous_integer: bool = False,
                force_dense: bool = False) -> UidAssignment:
    """Fill the uid map (user_id -> _uid) for the population: the ids of `id_tables` (temporary tables with a
    `user_id` column) plus, for an append, the previous version's users."""
    new_ids = " UNION ".join(f"SELECT user_id FROM {t}" for t in id_tables) or (  # noqa: S608
        "SELECT NULL::VARCHAR AS user_id LIMIT 0")
    con.execute(f"CREATE OR REPLACE TEMP TABLE new_ids AS {new_ids}")
    integer = con.execute(f"SELECT {all_integer_ids_sql('user_id')} FROM new_ids").fetchone()[0]  # noqa: S608
    if previous_users is None:
        integer = bool(integer) and not force_dense
        numbering = ("CAST(user_id AS BIGINT)" if integer
                     else "row_number() OVER (ORDER BY user_id)")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_UID_MAP} AS "  # noqa: S608
                    f"SELECT user_id, {numbering} AS _uid FROM new_ids")
        return UidAssignment(integer_ids=integer)

    con.execute("CREATE OR REPLACE TEMP TABLE previous_uids AS "  # noqa: S608
                f"SELECT user_id, {q(UID)} AS _uid FROM read_parquet(?)", [previous_users])
    if previous_integer and integer:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_UID_MAP} AS "  # noqa: S608
                    "SELECT user_id, CAST(user_id AS BIGINT) AS _uid FROM "
                    "(SELECT user_id FROM previous_uids UNION SELECT user_id FROM new_ids)")
        return UidAssignment(integer_ids=True)
    if not previous_integer:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_UID_MAP} AS "  # noqa: S608
            "SELECT user_id, _uid FROM previous_uids UNION ALL "
            "SELECT user_id, (SELECT coalesce(max(_uid), 0) FROM previous_uids) "
            "+ row_number() OVER (ORDER BY user_id) FROM "
            "(SELECT user_id FROM new_ids EXCEPT SELECT user_id FROM previous_uids)")
        return UidAssignment(integer_ids=False)
    # Integer ids before, text ids now: number everyone afresh and remember the old ids.
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_UID_MAP} AS "  # noqa: S608
                "SELECT user_id, row_number() OVER (ORDER BY user_id) AS _uid FROM "
                "(SELECT user_id FROM previous_uids UNION SELECT user_id FROM new_ids)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_OLD_UIDS} AS SELECT p._uid AS old_uid, "  # noqa: S608
                f"m._uid FROM previous_uids AS p JOIN {_UID_MAP} AS m USING (user_id)")
    return UidAssignment(integer_ids=False, renumbered=True, old_uids=_OLD_UIDS)


def ids_are_integers(con: duck.Connection, id_table: str) -> bool:
    return bool(con.execute(
        f"SELECT {all_integer_ids_sql('user_id')} FROM {id_table}").fetchone()[0])  # noqa: S608


def integer_uids_from_events(con: duck.Connection, first_seen_table: str,
                             id_tables: list[str]) -> str:
    """The uid map when the events were written with their integer ids as `_uid`: the users
    with events, plus those of `id_tables` (already known to be integers)."""
    others = "".join(f" UNION SELECT CAST(user_id AS BIGINT) FROM {t}" for t in id_tables)  # noqa: S608
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_UID_MAP} AS "  # noqa: S608
                "SELECT CAST(_uid AS VARCHAR) AS user_id, _uid FROM "
                f"(SELECT _uid FROM {first_seen_table}{others})")
    return _UID_MAP
