"""The window rows of a discovery run, read file by file into numpy without a join.

Every event row needs its user's place in users.parquet (its row, `ix`) and its time since
the user's first event. Joining 50M events to 1M users for that in DuckDB costs about
three times reading the two columns (`_uid`, timestamp) alone; here DuckDB only reads
them, file by file, into numpy arrays: users numbered in order (as the importer numbers
text ids) are read as their rows, DuckDB subtracting the first `_uid`; other ids are
looked up in arrays indexed by `_uid` (dense ids) or by binary search. Files are read in
file order, so where each user's first events lie (their row numbers) is their place in
the result, and their properties can be read alone afterwards.

Two files are read side by side on threads of their own, each row's time since its
user's first event worked out there, while the caller keeps the rows inside the window
and counts each user's events of the file.

Events are stored clustered by name (analytics.engine.storage): most files hold one event
name, which their Parquet statistics tell, so the name is not read at all; a file with
several names (or without exact statistics) has its names read and coded. The layout
only saves time: any file is read correctly."""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from analytics.engine import duck
from analytics.engine.storage import DatasetVersion

DAY_US = 86_400_000_000
DENSE_SLACK = 4  # an id range up to this many times the users is looked up by index
READERS = 2  # files read side by side (one's conversion to numpy beside the other's scan)
NAN_PREFIX = "__hl_nan_"  # averaged rows: + a property's name, whether its value is NaN


@dataclass
class Part:
    """One file's rows inside the window: ix (the user's row in users.parquet), since
    (microseconds since the user's first event) and code (1 + the event's place in the
    measured events, 0 for any other): one for the whole file, or one per row."""

    ix: np.ndarray
    since: np.ndarray
    code: int | np.ndarray


class WindowRows:
    """The events inside the longest window, file by file; `averaged`: for each event with
    averaged properties, its rows as numpy columns (ix, since and those properties, nulls
    masked, and NAN_PREFIX + property where a float property has NaN values)."""

    def __init__(self, parts: list[Part], averaged: dict[str, dict[str, np.ndarray]],
                 users: UserIndex, firsts: list[tuple[str, np.ndarray, np.ndarray]],
                 longest: int | None = None, counted: dict[int, np.ndarray] | None = None):
        self.parts = parts
        self.longest = longest  # the window the rows were read with (None: every row)
        # code -> each user's rows of that code, counted as the files were read
        self.counted = counted or {}
        self.averaged = averaged
        self.users = users
        # (path, positions in the file, users' rows) of each user's events at its
        # first-seen time, file by file
        self.firsts = firsts

    def counts(self, code: int, days: int | None) -> np.ndarray:
        """How many events of this code each user did in the first `days` days."""
        if self.holds_only(days):
            found = self.counted.get(code)
            return found if found is not None else np.zeros(self.users.count, dtype=np.int64)
        total = None
        for part in self.parts:
            if isinstance(part.code, int):
                if part.code != code:
                    continue
                keep = None
            else:
                keep = part.code == code
            if not self.holds_only(days):
                inside = part.since < days * DAY_US
                keep = inside if keep is None else keep & inside
            rows = part.ix if keep is None else part.ix[keep]
            counted = np.bincount(rows, minlength=self.users.count)
            if total is None:
                total = counted  # events clustered by name: mostly the only part
            else:
                total += counted
        return total if total is not None else np.zeros(self.users.count, dtype=np.int64)

    def holds_only(self, days: int | None) -> bool:
        """Whether every row is inside a window of `days` days (None: no window), so
        that it need not be checked row by row."""
        return days is None or (self.longest is not None and days >= self.longest)


class UserIndex:
    """users.parquet in file order: each user's row by `_uid`, and first-seen times."""

    def __init__(self, con: duck.Connection, version: DatasetVersion):
        users = con.execute("SELECT _uid, coalesce(epoch_us(_first_seen), 0) AS fs "
                        "FROM read_parquet(?, file_row_number = true) ORDER BY file_row_number",
                            [str(version.users_path)]).fetchnumpy()
        self.uids = np.asarray(users["_uid"])
        self.first_seen = np.asarray(users["fs"])
        self.count = len(self.uids)
        self._dense: tuple[np.ndarray, np.ndarray] | None = None
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None
        self.dense = False  # every _uid is below 2**32, an index into arrays
        # The importer numbers users 1, 2, ... in the order it writes them: then a user's
        # row is its `_uid` less the first one, which DuckDB subtracts as it reads, and
        # no row needs looking up (a random read per event row otherwise).
        self.first_uid: int | None = None
        if self.count and self.count < 2**32 and self.uids[0] >= 0 and np.array_equal(
                self.uids, np.arange(self.uids[0], self.uids[0] + self.count)):
            self.first_uid = int(self.uids[0])
        elif self.count and 0 <= self.uids.min() and self.uids.max() < DENSE_SLACK * self.count + 1024:
            # Arrays indexed by _uid: a user's row, and its first-seen time (looked up on
            # every event row, so without going through the row).
            rows = np.zeros(int(self.uids.max()) + 1, dtype=np.uint32)
            rows[self.uids] = np.arange(self.count, dtype=np.uint32)
            first_seen = np.zeros(len(rows), dtype=np.int64)
            first_seen[self.uids] = self.first_seen
            self._dense = (rows, first_seen)
            self.dense = True
        else:
            order = np.argsort(self.uids, kind="stable")
            self._sorted = (self.uids[order], order.astype(np.uint32))

    def read_as(self) -> tuple[str, list]:
        """The expression (and its parameters) that reads an event's `_uid` as what
        rows_of and first_seen_of take: the user's row itself when users are numbered in
        order, else the `_uid` (in 4 bytes when dense: half the bytes to hand over from
        DuckDB to numpy)."""
        if self.first_uid is not None:
            return "CAST(_uid - ? AS UINTEGER)", [self.first_uid]
        return ("CAST(_uid AS UINTEGER)" if self.dense else "_uid"), []

    def rows_of(self, uids: np.ndarray) -> np.ndarray:
        """The users' rows (every event's `_uid` is a user of users.parquet), from what
        read_as reads."""
        if self.first_uid is not None:
            return uids
        if self._dense is not None:
            return self._dense[0][uids]
        ordered, rows = self._sorted
        return rows[np.searchsorted(ordered, uids)]

    def first_seen_of(self, uids: np.ndarray) -> np.ndarray:
        """The users' first-seen times, in microseconds, from what read_as reads."""
        if self.first_uid is not None:
            return self.first_seen[uids]
        if self._dense is not None:
            return self._dense[1][uids]
        return self.first_seen[self.rows_of(uids)]


def event_files(con: duck.Connection, version: DatasetVersion) -> list[tuple[str, str | None]]:
    """(path, the one event name the file holds, or None when it may hold several)."""
    rows = con.execute(
        "SELECT file_name, min(stats_min_value), max(stats_max_value), "
        "bool_and(coalesce(min_is_exact AND max_is_exact, false)), "
        "bool_and(stats_min_value IS NOT NULL AND stats_max_value IS NOT NULL) "
        "FROM parquet_metadata(?) WHERE path_in_schema = 'event' GROUP BY file_name "
        "ORDER BY file_name", [version.events_glob]).fetchall()
    return [(path, low if low == high and exact and present else None)
            for path, low, high, exact, present in rows]


def read_window_rows(con: duck.Connection, version: DatasetVersion, users: UserIndex,
                     events: list[str], averaged: dict[str, list[str]],
                     longest: int | None) -> WindowRows:
    """The rows inside the longest window (all rows without one) of every events file.
    `averaged`: event -> the numeric properties averaged over it. (`con` may be left with
    an unfinished result by its caller: reads go through a cursor of their own.)"""
    reader = con.cursor()
    try:
        # In file order, so that a row's place in the result is its row number in the
        # file (reading the row numbers instead cost a fifth more). One DuckDB thread
        # per file read: READERS files are read side by side already, and two threads
        # each (four on two cores, beside the numpy work) cost more CPU and more time.
        with duck.ordered_scans(reader), duck.single_thread(reader):
            return _read(reader, version, users, events, averaged, longest)
    finally:
        reader.close()


def _read(con: duck.Connection, version: DatasetVersion, users: UserIndex,
          events: list[str], averaged: dict[str, list[str]],
          longest: int | None) -> WindowRows:
    codes = {name: k + 1 for k, name in enumerate(events)}
    props = sorted({p for names in averaged.values() for p in names})
    limit = None if longest is None else longest * DAY_US
    uid, uid_params = users.read_as()
    parts: list[Part] = []
    firsts: list[tuple[str, np.ndarray, np.ndarray]] = []
    counted: dict[int, np.ndarray] = {}
    files = event_files(con, version)
    queries: list[tuple[str, list]] = []
    for path, name in files:
        # A file of one event reads the properties averaged over that event only.
        read_props = props if name is None else sorted(averaged.get(name, []))
        columns = [f"{uid} AS uid", "epoch_us(timestamp) AS ts"]
        params: list = [*uid_params]
        if name is None:
            columns.append("CAST(coalesce(list_position(CAST(? AS VARCHAR[]), event), 0) "
                           "AS USMALLINT) AS code")
            params.append(events)
        columns += [duck.quote_identifier(p) for p in read_props]
        # Schema column names (quoted) only; values and the path bind.
        queries.append((f"SELECT {', '.join(columns)} "  # noqa: S608
                        "FROM read_parquet(?)", [*params, path]))

    def timed(read: dict[str, np.ndarray]) -> _Since:
        return _since(read, users)

    by_file: dict[str, list[tuple[int, dict]]] = {event: [] for event in averaged}
    for at, found in _results(con, queries, timed, _largest_first(files)):
        path, name = files[at]
        read = found.properties
        read_props = [p for p in props if p in read]
        with_props = bool(read_props)
        if len(found.first):
            firsts.append((path, found.first, found.first_ix))
        ids, since, code = found.ids, found.since, found.code
        del found
        keep = None if limit is None else since < limit
        if keep is not None:
            ids, since = ids[keep], since[keep]
            code = None if code is None else code[keep]
        ix = users.rows_of(ids)
        del ids
        part = Part(ix, since, codes.get(name, 0) if code is None else code)
        parts.append(part)
        _count(part, users.count, counted)
        if with_props:
            values = {p: read.pop(p) for p in read_props}
            for event, wanted in _rows_by_event(name, code, averaged, codes):
                rows = slice(None) if wanted is None else wanted
                by_file[event].append((at, {
                    "ix": ix[rows], "since": since[rows],
                    **{p: _rows(values[p], _within(keep, wanted)) for p in averaged[event]}}))
        del read
    # In file order, whatever order the files were read in: DuckDB's avg() of a float
    # adds the rows in their order.
    averaged_parts = {event: [rows for _, rows in sorted(found, key=lambda f: f[0])]
                      for event, found in by_file.items()}
    types = _no_rows(con, version, props) if props else {}
    table = {event: _event_rows(averaged_parts[event], averaged[event], types)
             for event in averaged}
    return WindowRows(parts, table, users, firsts, longest, counted)


@dataclass
class _Since:
    """A file's rows as read, with each row's microseconds since its user's first event
    (`since`), the places in the file of the users' first events (`first`) and their
    users (`first_ix`)."""

    ids: np.ndarray
    since: np.ndarray
    code: np.ndarray | None
    first: np.ndarray
    first_ix: np.ndarray
    properties: dict[str, np.ndarray]


def _since(read: dict[str, np.ndarray], users: UserIndex) -> _Since:
    """Done on the reading thread, beside the caller's work on the file before (the
    random lookup of every row's first-seen time is about half of the numpy work on a
    file: split so, neither thread waits long for the other)."""
    ids = read.pop("uid")
    since = read.pop("ts")
    np.subtract(since, users.first_seen_of(ids), out=since)
    # The users' first events: their places in the file are their row numbers.
    first = np.flatnonzero(since == 0)
    return _Since(ids, since, read.pop("code", None), first, users.rows_of(ids[first]), read)


def _count(part: Part, users: int, counted: dict[int, np.ndarray]) -> None:
    """Add a file's rows to each user's count of their event (code 0, events not
    measured, is not counted): here, while the next file is being read, rather than
    file by file again afterwards."""
    if isinstance(part.code, int):
        groups = [(part.code, part.ix)] if part.code else []
    else:
        groups = [(int(c), part.ix[part.code == c]) for c in np.unique(part.code) if c]
    for code, ix in groups:
        found = np.bincount(ix, minlength=users)
        if code in counted:
            counted[code] += found
        else:
            counted[code] = found


def _results(con: duck.Connection, queries: list[tuple[str, list]], then,
             order: list[int]):
    """(index, the query's result as numpy arrays passed through `then`) for each query,
    as they are done. Queries start in `order`, READERS at a time on threads of their
    own, while the caller's numpy works on a finished one (DuckDB and most of numpy let
    go of Python's lock): at most READERS + 1 files' results are in memory at once."""
    if not queries:
        return

    def read(at: int):
        return at, then(_fetch(con, *queries[at]))

    waiting = list(order)
    with ThreadPoolExecutor(max_workers=READERS) as reader:
        pending = {reader.submit(read, waiting.pop(0)) for _ in range(min(READERS, len(waiting)))}
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            future = done.pop()
            pending |= done  # taken next time round, so that one is replaced at a time
            if waiting:
                pending.add(reader.submit(read, waiting.pop(0)))
            yield future.result()
            del future


def _largest_first(files: list[tuple[str, str | None]]) -> list[int]:
    """The files' places, largest file first: taken in file order, the largest ones
    (a fifth of the events in one, on the benchmark's data) left one reader working
    alone while the other waited for the caller to take its file."""
    sizes = []
    for at, (path, _) in enumerate(files):
        try:
            sizes.append((-os.path.getsize(path), at))
        except OSError:
            sizes.append((0, at))  # the read itself reports a missing file
    return [at for _, at in sorted(sizes)]


def _fetch(con: duck.Connection, text: str, params: list) -> dict[str, np.ndarray]:
    cursor = con.cursor()  # files are read side by side, each on a connection of its own
    try:
        return cursor.execute(text, params).fetchnumpy()
    finally:
        cursor.close()


def _rows_by_event(name: str | None, code: np.ndarray | None,
                   averaged: dict[str, list[str]], codes: dict[str, int]):
    """(event, which of the file's window rows are its rows, None for all) for each
    averaged event the file holds."""
    if code is None:
        if name in averaged:
            yield name, None
        return
    for event in averaged:
        if event in codes:
            wanted = np.flatnonzero(code == codes[event])
            if len(wanted):
                yield event, wanted


def _within(keep: np.ndarray | None, wanted: np.ndarray | None) -> np.ndarray | None:
    """The file's rows (as read) of these window rows (`wanted`, None for all of them):
    None for all, a mask or positions."""
    if keep is None or wanted is None:
        return keep if wanted is None else wanted
    return np.flatnonzero(keep)[wanted]


def _event_rows(parts: list[dict], props: list[str],
                types: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One event's rows from its files, with NaN flags where needed."""
    parts = [*parts, {"ix": np.zeros(0, np.uint32), "since": np.zeros(0, np.int64),
                      **{p: _rows(types[p], None) for p in props}}]
    table = {name: _concatenate([part[name] for part in parts])
             for name in ("ix", "since", *sorted(set(props)))}
    for prop in set(props):
        values = table[prop]
        if values.dtype.kind == "f":
            # DuckDB reads a registered NaN as null, which avg() would skip: the rows
            # holding one are flagged so that their users' averages stay NaN.
            nan = np.isnan(values.data) & ~np.ma.getmaskarray(values)
            if nan.any():
                table[NAN_PREFIX + prop] = nan
    return table


def _rows(values: np.ndarray, wanted: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(values, nulls) of these rows of a column, as plain arrays: numpy's masked
    arrays are several times slower to index and join."""
    data, nulls = np.ma.getdata(values), np.ma.getmask(values)
    if wanted is not None:
        data = data[wanted]
    if nulls is np.ma.nomask:  # no nulls at all: no mask to pick rows from
        return data, np.zeros(len(data), dtype=bool)
    return data, nulls if wanted is None else nulls[wanted]


def _concatenate(arrays: list) -> np.ndarray:
    """Arrays end to end; (values, nulls) pairs become one masked array (nulls)."""
    if not isinstance(arrays[0], tuple):
        return np.concatenate(arrays)
    return np.ma.MaskedArray(np.concatenate([a[0] for a in arrays]),
                             mask=np.concatenate([a[1] for a in arrays]))


def _no_rows(con: duck.Connection, version: DatasetVersion,
             props: list[str]) -> dict[str, np.ndarray]:
    """No rows of these properties, with their types."""
    columns = ", ".join(duck.quote_identifier(p) for p in props)
    # Schema column names (quoted) only; the path binds.
    return con.execute(f"SELECT {columns} FROM read_parquet(?) LIMIT 0",  # noqa: S608
                       [version.events_glob]).fetchnumpy()
