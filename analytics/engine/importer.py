"""Dataset import: events and users files (CSV, Parquet, NDJSON) to the stored Parquet
form of analytics.engine.storage, checked and published atomically.

    schema = import_dataset(events=[Path("events.csv")], users=None,
                            mapping=ColumnMapping(user_id="case_id", event="activity"),
                            dest=dataset_dir / "v1")

Bad input raises ImportRefused (naming file, line and column) and leaves nothing behind.
The work is split over analytics/engine/importing/: files (what a file is), sources (reading it
with DuckDB), columns (types and names), events, users, uids and publish.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from analytics.engine import duck
from analytics.engine.importing import columns as cols
from analytics.engine.importing.column_mapping import ColumnMapping, MappingGuess, guess_mapping
from analytics.engine.importing.columns import q
from analytics.engine.importing.errors import ImportRefused, hide_paths
from analytics.engine.importing.events import (
    EventsPlan,
    EventStats,
    NotIntegerIds,
    UnknownUser,
    check_reported,
    check_written,
    collect_user_ids,
    integer_ids_likely,
    plan_events,
    write_clustered_events,
    write_events,
)
from analytics.engine.importing.first_seen import compute_first_seen
from analytics.engine.importing.limits import Allowance, ImportLimits
from analytics.engine.importing.publish import Publication
from analytics.engine.importing.sources import Source, open_source
from analytics.engine.importing.uids import (
    UidAssignment,
    assign_uids,
    ids_are_integers,
    integer_uids_from_events,
)
from analytics.engine.importing.users import (
    UserProperties,
    from_users_table,
    stage_users,
    write_users,
)
from analytics.engine.importing.written import WrittenFile
from analytics.engine.storage import (
    RESERVED_EVENT_COLUMNS,
    RESERVED_USER_COLUMNS,
    UID,
    DatasetSchema,
    DatasetVersion,
)

__all__ = ["ColumnMapping", "ImportLimits", "ImportRefused", "MappingGuess",
           "append_events", "guess_mapping", "import_dataset"]

log = logging.getLogger(__name__)


def import_dataset(*, events: Sequence[Path], users: Path | None, mapping: ColumnMapping,
                   dest: Path, memory_limit: str = "1GB", threads: int = 2,
                   dense_ids: bool = False,
                   limits: ImportLimits | None = None) -> DatasetSchema:
    """Import events and/or users into the new version directory `dest` (which must not
    exist), within `limits`. `dense_ids` numbers users densely even when every id is an
    integer (only for measuring; the id itself is faster)."""
    events = [Path(p) for p in events or ()]
    if not events and users is None:
        raise ImportRefused("an import needs an events file, a users file or both")
    with Publication(Path(dest)) as pub:
        con = duck.connect(memory_limit=memory_limit, threads=threads,
                           temp_directory=pub.spill_dir)
        allowance = Allowance(limits or ImportLimits())
        try:
            schema = _import(con, pub, events, Path(users) if users else None, mapping,
                             dense_ids, allowance)
        except duck.Error as exc:
            raise _unexpected(exc, events + ([Path(users)] if users else [])) from exc
        finally:
            con.close()
        pub.write_schema(schema)
        allowance.check_storage(pub.work, skip=pub.scratch_dirs)
    return schema


def _import(con: duck.Connection, pub: Publication, events: list[Path],
            users: Path | None, mapping: ColumnMapping, dense_ids: bool,
            allowance: Allowance) -> DatasetSchema:
    version = pub.version
    plan = _open_events(con, pub, events, mapping, allowance) if events else None
    table = None
    if users is not None:
        source = open_source(con, users, workdir=pub.inputs_dir,
                             delimiter=mapping.csv_delimiter, stage_as="staged_users",
                             allowance=allowance, sniff_once=True)
        table = stage_users(con, source, mapping)
        _log_renames(table.renamed, "users")
    user_tables = [table.name] if table else []

    part = str(version.events_dir / "part-0.parquet")
    stats = EventStats(0, {}, None, None)
    writing = _Writing(version.events_dir, pub.spill_dir / "events-by-name")
    if plan is None:
        _write_no_events(con, part)
        assignment = assign_uids(con, user_tables, force_dense=dense_ids)
    elif (not dense_ids and integer_ids_likely(con, plan)
            and all(ids_are_integers(con, t) for t in user_tables)):
        assignment = _write_with_integer_ids(con, plan, writing, user_tables)
    else:
        assignment = _write_with_numbered_ids(con, plan, writing, user_tables, dense_ids)
    uid_map, first_seen = assignment.uid_map, None
    if plan is not None:
        stats = _checked_stats(con, plan, version.events_glob, writing.reported)
        first_seen = compute_first_seen(con, version.events_glob)
        if not assignment.numbered:
            uid_map = integer_uids_from_events(con, first_seen, user_tables)
    n_users = write_users(con, str(version.users_path), uid_table=uid_map,
                          first_seen=first_seen,
                          properties=from_users_table(table) if table else None)
    return DatasetSchema(
        n_users=n_users, n_events=stats.n_events,
        data_start=_iso(stats.data_start), data_end=_iso(stats.data_end),
        events=stats.events,
        event_properties=dict(plan.properties) if plan else {},
        user_properties=dict(table.properties) if table else {},
        user_id_type="integer" if assignment.integer_ids else "text",
        source_files=[p.name for p in events] + ([users.name] if users else []),
    )


@dataclass
class _Writing:
    """Where an import writes its events, clustered by name (importing.events), and what
    DuckDB reported of the files it wrote (None: one file, or no report)."""

    events_dir: Path
    scratch: Path
    reported: list[WrittenFile] | None = None


def _write_with_integer_ids(con: duck.Connection, plan: EventsPlan, writing: _Writing,
                            user_tables: list[str]) -> UidAssignment:
    """Integer ids are their own `_uid`: one read of the events, no join. The users are
    listed from the written events afterwards (the uid map is not filled here)."""
    try:
        writing.reported = write_clustered_events(con, plan, writing.events_dir,
                                                  writing.scratch, integer_ids=True,
                                                  uid_table=None)
    except NotIntegerIds:
        # An id past DuckDB's sample is text after all: number the users instead.
        return _write_with_numbered_ids(con, plan, writing, user_tables, dense_ids=False)
    return UidAssignment(integer_ids=True, numbered=False)


def _write_with_numbered_ids(con: duck.Connection, plan: EventsPlan, writing: _Writing,
                             user_tables: list[str], dense_ids: bool) -> UidAssignment:
    """Collect every user id first, fill the uid map, then write the events with it.
    With a users file, which usually names every user of the events, try its users'
    numbers first: the events are then read once instead of twice (the read that
    collects their ids costs a third of a CSV copy at 50M events)."""
    if user_tables:
        assignment = assign_uids(con, user_tables, force_dense=dense_ids)
        if not assignment.integer_ids:
            try:
                writing.reported = write_clustered_events(
                    con, plan, writing.events_dir, writing.scratch, integer_ids=False,
                    uid_table=assignment.uid_map, may_lack=True)
                return assignment
            except UnknownUser:
                pass  # some events' users are not in the users file: number them all
    event_ids = collect_user_ids(con, plan)
    assignment = assign_uids(con, [event_ids, *user_tables], force_dense=dense_ids)
    writing.reported = write_clustered_events(
        con, plan, writing.events_dir, writing.scratch,
        integer_ids=assignment.integer_ids, uid_table=assignment.uid_map)
    return assignment


def append_events(*, previous: DatasetVersion, events: Sequence[Path],
                  mapping: ColumnMapping, dest: Path, memory_limit: str = "1GB",
                  threads: int = 2, limits: ImportLimits | None = None) -> DatasetSchema:
    """A new version `dest` = the previous version's events plus these events, with the
    same checks. Users and their properties are kept (earlier `_uid`s too, unless integer
    ids are followed by text ids); users seen for the first time are added."""
    events = [Path(p) for p in events or ()]
    if not events:
        raise ImportRefused("an append needs at least one events file")
    before = previous.schema()
    with Publication(Path(dest)) as pub:
        con = duck.connect(memory_limit=memory_limit, threads=threads,
                           temp_directory=pub.spill_dir)
        allowance = Allowance(limits or ImportLimits())
        try:
            schema = _append(con, pub, previous, before, events, mapping, allowance)
        except duck.Error as exc:
            raise _unexpected(exc, events) from exc
        finally:
            con.close()
        pub.write_schema(schema)
        allowance.check_storage(pub.work, skip=pub.scratch_dirs)
    return schema


def _append(con: duck.Connection, pub: Publication, previous: DatasetVersion,
            before: DatasetSchema, events: list[Path], mapping: ColumnMapping,
            allowance: Allowance) -> DatasetSchema:
    version = pub.version
    plan = _open_events(con, pub, events, mapping, allowance)
    event_ids = collect_user_ids(con, plan)
    assignment = assign_uids(con, [event_ids], previous_users=str(previous.users_path),
                             previous_integer=before.user_id_type == "integer")
    old_parts = sorted(previous.events_dir.glob("*.parquet"))
    old_columns = _parquet_columns(con, previous.events_glob) if old_parts else {}
    old_properties = {n: t for n, t in old_columns.items() if n not in RESERVED_EVENT_COLUMNS}
    plan.base_properties = {n: cols.property_type(t) for n, t in old_properties.items()}
    plan.unify()
    # The new events first: reading them may still widen a type (a late text value),
    # which decides whether the earlier files can be shared as they are.
    new_part = version.events_dir / _new_part_name(old_parts)
    write_events(con, plan, str(new_part), integer_ids=assignment.integer_ids,
                 uid_table=assignment.uid_map)
    added = _checked_stats(con, plan, str(new_part))
    unified = plan.properties
    same_layout = (not assignment.renumbered and list(unified) == list(old_properties)
                   and all(cols.STORAGE_TYPE[unified[n]] == _storage_name(t)
                           for n, t in old_properties.items()))
    if same_layout:
        for part in old_parts:
            _link(part, version.events_dir / part.name)
    elif old_parts:
        _rewrite_old_events(con, previous.events_glob, old_properties, unified,
                            assignment, str(version.events_dir / "part-0.parquet"))

    old_user_columns = _parquet_columns(con, str(previous.users_path))
    user_properties = [n for n in old_user_columns if n not in RESERVED_USER_COLUMNS]
    first_seen = compute_first_seen(con, version.events_glob)
    n_users = write_users(
        con, str(version.users_path), uid_table=assignment.uid_map, first_seen=first_seen,
        properties=UserProperties("read_parquet(?)", [str(previous.users_path)],
                                  user_properties))
    counts = dict(before.events)
    for name, n in added.events.items():
        counts[name] = counts.get(name, 0) + n
    starts = [t for t in (before.data_start, _iso(added.data_start)) if t]
    ends = [t for t in (before.data_end, _iso(added.data_end)) if t]
    return DatasetSchema(
        n_users=n_users, n_events=before.n_events + added.n_events,
        data_start=min(starts, key=datetime.fromisoformat) if starts else None,
        data_end=max(ends, key=datetime.fromisoformat) if ends else None,
        events=dict(sorted(counts.items())), event_properties=unified,
        user_properties=dict(before.user_properties),
        user_id_type="integer" if assignment.integer_ids else "text",
        source_files=list(before.source_files) + [p.name for p in events],
    )


def _open_events(con: duck.Connection, pub: Publication, paths: list[Path],
                 mapping: ColumnMapping, allowance: Allowance) -> EventsPlan:
    sources: list[Source] = [
        open_source(con, p, workdir=pub.inputs_dir, delimiter=mapping.csv_delimiter,
                    stage_as=f"staged_events_{i}", allowance=allowance)
        for i, p in enumerate(paths)]
    plan = plan_events(con, sources, mapping)
    _log_renames(plan.renamed, "events")
    return plan


def _checked_stats(con: duck.Connection, plan: EventsPlan, part: str,
                   reported: list[WrittenFile] | None = None) -> EventStats:
    stats = (check_reported(con, plan, reported) if reported is not None
             else check_written(con, plan, part))
    if stats.n_events == 0:
        names = ", ".join(es.source.name for es in plan.sources)
        raise ImportRefused(f"there are no events in {names} (a header but no rows)",
                            file=plan.sources[0].source.name)
    return stats


def _write_no_events(con: duck.Connection, part: str) -> None:
    # A users-only dataset still has an events file, with the required columns.
    con.execute(f"COPY (SELECT NULL::BIGINT AS {q(UID)}, NULL::VARCHAR AS event, "
                f"NULL::TIMESTAMPTZ AS timestamp LIMIT 0) TO ? ({cols.EVENTS_PARQUET})",
                [part])


def _rewrite_old_events(con: duck.Connection, old_glob: str, old: dict[str, str],
                        unified: dict[str, str], assignment: UidAssignment,
                        out: str) -> None:
    """Earlier events in the new layout: new property columns (null), widened types,
    and new `_uid`s after a renumbering."""
    uid, join = f"e.{q(UID)}", ""
    if assignment.renumbered:
        uid, join = "r._uid", f" JOIN {assignment.old_uids} AS r ON r.old_uid = e.{q(UID)}"
    columns = [f"{uid} AS {q(UID)}", "e.event", "e.timestamp"]
    for name, kind in unified.items():
        value = (cols.stored_value(f"e.{q(name)}", old[name], kind) if name in old
                 else f"CAST(NULL AS {cols.STORAGE_TYPE[kind]})")
        columns.append(f"{value} AS {q(name)}")
    con.execute(f"COPY (SELECT {', '.join(columns)} FROM read_parquet(?) AS e{join}) "  # noqa: S608
                f"TO ? ({cols.EVENTS_PARQUET})", [old_glob, out])


def _parquet_columns(con: duck.Connection, glob: str) -> dict[str, str]:
    rows = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [glob]).fetchall()
    return {r[0]: r[1] for r in rows}


def _storage_name(duck_type: str) -> str:
    return "TIMESTAMPTZ" if duck_type == "TIMESTAMP WITH TIME ZONE" else duck_type


def _new_part_name(old_parts: list[Path]) -> str:
    # Distinct from every earlier part, which may be shared into the same directory;
    # "part-0" stays free for the earlier events when they are rewritten instead.
    taken = {p.name for p in old_parts} | {"part-0.parquet"}
    n = len(old_parts)
    while f"part-{n}.parquet" in taken:
        n += 1
    return f"part-{n}.parquet"


def _link(src: Path, dst: Path) -> None:
    # Published versions never change, so a new version may share their files.
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _unexpected(exc: duck.Error, paths: list[Path]) -> ImportRefused:
    """A DuckDB error no check foresaw: still a refusal with a message, never a crash
    (and logged in full, since it may be ours)."""
    log.exception("import: unexpected DuckDB error")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    first = hide_paths(first, {p: p.name for p in paths})
    names = ", ".join(p.name for p in paths)
    return ImportRefused(f"the files could not be imported ({first})",
                         file=names or None)


def _log_renames(renamed: list[cols.Renamed], what: str) -> None:
    for r in renamed:
        log.info("import: %s", r.note(what))
