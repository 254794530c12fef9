"""Sessions and time in the app of every user, in numpy, from a discovery run's window
rows (analytics.engine.discovery_rows).

The rows sorted by user and time give each event's gap to the user's previous one: a
session starts at a user's first event and after every gap over the limit, and time in
the app adds up the other gaps (an integer number of microseconds, divided as the
per-user query divides it). Each user's rows are contiguous once sorted, so both add up
over the user's stretch of rows (np.add.reduceat) rather than scattering every row to
its user."""

from __future__ import annotations

import numpy as np

from analytics.engine.discovery_rows import DAY_US, Part
from analytics.engine.peruser_columns import DEFAULT_GAP_MINUTES

MINUTE_US = 60_000_000


def gap_of(measure: dict) -> float:
    """A session measure's gap limit, in microseconds."""
    return float(measure.get("session_gap_minutes", DEFAULT_GAP_MINUTES)) * MINUTE_US


class Sessions:
    """Each window row's gap to the user's previous event; a user's first event has
    none."""

    def __init__(self, parts: list[Part], users: int, longest: int | None = None, *,
                 keep_times: bool = True):
        """`parts`: the window rows, file by file, emptied as they are read; `longest`:
        the window they were read with (None: every row); `keep_times`: keep each row's
        time for narrower windows (a copy of every row's time otherwise let go)."""
        self.users = users
        self.longest = longest
        rows = sum(len(part.ix) for part in parts)
        latest = max((int(part.since.max()) for part in parts if len(part.since)), default=0)
        bits = latest.bit_length()
        if users < 2 ** (63 - bits) and users < 2**32:
            # One sort of a single integer key (user, then time) is several times
            # cheaper than sorting by two keys; the key then becomes the time in place
            # (shifts and masks: a division of every key cost a fifth of the sort). It is
            # filled part by part, each let go once in it: no copy of every row's user
            # and time beside it.
            key = np.empty(rows, dtype=np.int64)
            end = 0
            while parts:
                part = parts.pop()
                start, end = end, end + len(part.ix)
                key[start:end] = part.ix
                key[start:end] <<= bits
                key[start:end] |= part.since
                del part
            key.sort()
            ix = np.right_shift(key, bits, out=np.empty(rows, dtype=np.uint32),
                                casting="unsafe")
            since = np.bitwise_and(key, (1 << bits) - 1, out=key)
        else:
            ix = np.concatenate([part.ix for part in parts]) if parts else np.zeros(0, np.uint32)
            since = (np.concatenate([part.since for part in parts]) if parts
                     else np.zeros(0, np.int64))
            parts.clear()
            order = np.lexsort((since, ix))
            ix, since = ix[order], since[order]
        self.first = np.ones(rows, dtype=bool)
        np.not_equal(ix[1:], ix[:-1], out=self.first[1:])
        self.stretches = np.flatnonzero(self.first)  # where each user's rows begin
        self.owners = ix[self.stretches]  # whose rows they are
        del ix
        self.gap = np.zeros(rows, dtype=np.int64)
        np.subtract(since[1:], since[:-1], out=self.gap[1:])
        self.since = since if keep_times else None

    def starts(self, gap: float, days: int | None) -> np.ndarray:
        # A session starts at a user's first event and after every gap over the limit.
        start = self.first | (self.gap > gap)
        self._keep_window(start, days)
        return self._per_user(start, np.int64)

    def minutes(self, gap: float, days: int | None) -> np.ndarray:
        # Sessions' lengths add up to the gaps that stay inside a session: an integer
        # number of microseconds (exact in a double below 2**53, 285 years), divided as
        # the per-user query divides it.
        inside = ~self.first & (self.gap <= gap)
        self._keep_window(inside, days)
        total = self._per_user(np.where(inside, self.gap, 0), np.float64)
        return total / float(MINUTE_US)

    def _per_user(self, values: np.ndarray, dtype) -> np.ndarray:
        """Each user's sum of these per-row values (0 for a user without rows)."""
        out = np.zeros(self.users, dtype=dtype)
        if len(self.stretches):
            out[self.owners] = np.add.reduceat(values, self.stretches, dtype=np.int64)
        return out

    def _keep_window(self, rows: np.ndarray, days: int | None) -> None:
        """Leave set only the rows inside the window (in place); none to check when
        every row is inside it."""
        if days is None or (self.longest is not None and days >= self.longest):
            return
        rows &= self.since < days * DAY_US
