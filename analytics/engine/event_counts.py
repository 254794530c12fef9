"""A column table of event counts (did_event, event_count) built with numpy: the events
of the named kinds are read with DuckDB (which, with the events clustered by name, skips
every other event's row groups by their statistics), the window is tested against each
user's first-seen time and the counts are one bincount per measure.

The same counts as the SQL pass (count_if over the events joined to the users' windows,
grouped by user), computed without its two costly steps: the hash join of the event rows
to a million users' window ends and the hash aggregation by user. On the benchmark's
data (1M users, 3M rows of the event, a 14-day window) that pass costs 0.42 s of CPU,
these counts 0.18 s.

Counts are integers and the window test the same comparison of microseconds (a
TIMESTAMPTZ is a count of microseconds), so the values are exactly those of the SQL
pass. Unlike the SQL pass's sparse table, it holds every user (0 without such events,
which the features' expressions read as they read a missing user's null), sorted by
_uid, so that it lines up with a per-user table in _uid order."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from analytics.engine import duck
from analytics.engine.sql import Sql

if TYPE_CHECKING:
    import numpy as np

# numpy is imported where the counting runs: web processes import this module (through
# peruser's column tables) but never count, and hold no numpy (issue 10).

DAY_US = 86_400_000_000
# Rows read into memory at once (16 bytes each with the time): above this, the SQL pass,
# which spills, is the safer way.
MAX_ROWS = 20_000_000
# A lookup table indexed by _uid - min(_uid) when the ids are this dense (numbered users
# are 1..n); sparser integer ids are found by binary search instead.
DENSE_SPAN = 4
# In a version's cache/: every user's _uid (sorted) and first-seen microseconds.
USERS_CACHE = "users-first-seen.npz"


@dataclass(frozen=True)
class EventCount:
    """One aggregate of a column table: a user's events whose row passes `rows` (names
    and conditions on the event's properties), within `days` of first seen when set."""

    alias: str
    rows: Sql
    days: int | None


@dataclass(frozen=True)
class EventCountsPass:
    """What peruser.scan_events runs instead of SQL for a column table of counts."""

    counts: tuple[EventCount, ...]
    users_path: str
    events_glob: str

    def write(self, con: duck.Connection, destination: Path) -> None:
        users = _Users.of(con, Path(self.users_path))
        columns: dict[str, np.ndarray] = {}
        for count in self.counts:
            columns[count.alias] = _count(con, users, count, self.events_glob)
        # One row per user, in _uid order (peruser pairs it with a per-user table in the
        # same order by position).
        at = users.index(users.uids)
        arrays = {"_uid": users.uids, **{alias: values[at] for alias, values in columns.items()}}
        name = f"__hl_counts_{uuid.uuid4().hex[:12]}"
        con.register(name, arrays)
        try:
            # zstd level 1, as peruser.scan_events writes.
            con.execute(f"COPY (SELECT * FROM {name} ORDER BY _uid) TO ? "  # noqa: S608
                        "(FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)",
                        [str(destination)])
        finally:
            con.unregister(name)


class _Users:
    """Every user's _uid (sorted), an index of each for bincount and each index's
    first-seen time in microseconds (0 for a user without events)."""

    def __init__(self, uids: np.ndarray, first_seen: np.ndarray):
        """`uids` sorted; `first_seen` in the same order."""
        import numpy as np

        self.uids = uids
        low = int(uids[0]) if uids.size else 0
        span = int(uids[-1]) - low + 1 if uids.size else 0
        self.dense = span <= DENSE_SPAN * max(uids.size, 1)
        # Index: _uid - low when dense (indices of no user are never counted), else the
        # user's place among the sorted ids.
        self.low, self.size = low, (span if self.dense else uids.size)
        if self.dense:
            self.first_seen = np.zeros(self.size, dtype=np.int64)
            self.first_seen[self.index(uids)] = first_seen
        else:
            self.first_seen = first_seen

    @classmethod
    def of(cls, con: duck.Connection, users_path: Path) -> _Users:
        """From the version's cache (USERS_CACHE, written on first use: a tenth of the
        cost of reading the users file again), else from the users file."""
        import numpy as np

        cached = users_path.parent / "cache" / USERS_CACHE
        try:
            with np.load(cached) as saved:
                return cls(saved["uids"], saved["first_seen"])
        except (OSError, ValueError, KeyError):
            pass  # not written yet (or being replaced): read the users file
        # A user without events has no first-seen time; no event row points at one.
        rows = con.execute("SELECT _uid, coalesce(epoch_us(_first_seen), 0) AS fs "
                           "FROM read_parquet(?)", [str(users_path)]).fetchnumpy()
        uids = np.asarray(rows["_uid"], dtype=np.int64)
        # Stable: the users file is written in _uid order, which this sort then only checks.
        order = np.argsort(uids, kind="stable")
        uids, first_seen = uids[order], np.asarray(rows["fs"], dtype=np.int64)[order]
        temporary = cached.with_name(f".tmp-{uuid.uuid4().hex}-{USERS_CACHE}")
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("wb") as out:
                np.savez(out, uids=uids, first_seen=first_seen)
            os.replace(temporary, cached)
        except OSError:
            pass  # a read-only cache costs speed, never the answer
        finally:
            temporary.unlink(missing_ok=True)
        return cls(uids, first_seen)

    def index(self, uids: np.ndarray) -> np.ndarray:
        import numpy as np

        if self.dense:
            return uids - self.low
        return np.searchsorted(self.uids, uids)


def _count(con: duck.Connection, users: _Users, count: EventCount,
           events_glob: str) -> np.ndarray:
    """The count of each user (by index) of the rows this aggregate counts."""
    import numpy as np

    columns = "e._uid" + (", epoch_us(e.timestamp) AS t" if count.days is not None else "")
    # Only our own aliases and the compiled predicate (schema names quoted, values bound).
    rows = con.execute(f"SELECT {columns} FROM read_parquet(?) AS e "  # noqa: S608
                       f"WHERE {count.rows.text}",
                       [events_glob, *count.rows.params]).fetchnumpy()
    index = users.index(np.asarray(rows["_uid"], dtype=np.int64))
    if count.days is not None:
        # first_seen <= timestamp always holds (first seen is the earliest event).
        inside = np.asarray(rows["t"], dtype=np.int64) < (users.first_seen[index]
                                                           + count.days * DAY_US)
        index = index[inside]
    return np.bincount(index, minlength=users.size).astype(np.int64, copy=False)
