"""The behaviour measures of a discovery table (event counts, did-event flags, sessions,
time in the app, averages of event properties), kept as numpy columns of every user while
DuckDB writes the whole table to the cache: profiled and counted against the success
flags here, with what DuckDB's queries over the same table would answer.

DuckDB's semantics, kept here: a null is no value (never counted, never compared true);
NaN is a value above every number (`NaN >= t` is true, NaN sorts last, min() skips it
unless every value is NaN); quantile_disc of the q-th quantile over n sorted values is
the value at rank max(1, n - floor(n - n * q)) - 1, computed in doubles as DuckDB does for
a DOUBLE q. tests/analytics/test_discovery_measured.py compares each answer with
DuckDB's on the same values."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from analytics.engine import duck
from analytics.engine.peruser_columns import Feature

MEASURE_KINDS = ("event_count", "did_event", "session_count", "time_in_app", "event_property")
DENSE_RANGE = 1 << 22  # whole numbers spanning up to this are ranked by counting


@dataclass
class Measured:
    """`columns`: quoted column name -> its values per user (a masked array where some
    are null), all aligned with `included` (the users the analysis counts) and `outcome`
    (whether each user counts as a success on the side read)."""

    included: np.ndarray
    outcome: np.ndarray
    columns: dict[str, np.ndarray]

    def holds(self, column: str) -> bool:
        return column in self.columns

    def numbers(self, column: str, positive_only: bool,
                quantiles: tuple[float, ...]) -> tuple[int, None, Any, list]:
        """Profile.numbers without distinct values: (users with a value (a positive one
        if positive_only), None, smallest value, quantile_disc of those values)."""
        values = self.columns[column]
        data = np.ma.getdata(values)[self.included]
        valid = ~np.ma.getmaskarray(values)[self.included]
        nan = np.isnan(data) if data.dtype.kind == "f" else None
        where = valid
        if positive_only:
            above = data > 0
            if nan is not None:
                above |= nan
            where = valid & above
        users = int(np.count_nonzero(where))
        return users, None, _smallest(data[valid], None if nan is None else nan[valid]), \
            _quantiles(data[where], quantiles)

    def group(self, criterion: dict) -> np.ndarray | None:
        """Which users a criterion holds for (null values never), or None when it is not
        one this module counts: a did_event, or `>=` a number on a measure held here."""
        kind = criterion.get("kind")
        if kind not in MEASURE_KINDS:
            return None
        values = self.columns.get(duck.quote_identifier(Feature.of(criterion).column))
        if values is None:
            return None
        data, valid = np.ma.getdata(values), ~np.ma.getmaskarray(values)
        if kind == "did_event":
            if criterion.get("did", True) is not True or data.dtype != np.bool_:
                return None
            return data & valid
        value = criterion.get("value")
        if (criterion.get("op") != ">=" or isinstance(value, bool)
                or not isinstance(value, int | float) or not math.isfinite(value)):
            return None
        held = data >= value
        if data.dtype.kind == "f":
            held |= np.isnan(data)
        return held & valid

    def counts(self, group: np.ndarray) -> tuple[int, int]:
        """(users, successes) of a group among the users counted."""
        counted = self.included & group
        return int(np.count_nonzero(counted)), int(np.count_nonzero(counted & self.outcome))


def _smallest(values: np.ndarray, nan: np.ndarray | None) -> Any:
    """min() of these (non-null) values; None when there are none."""
    if not len(values):
        return None
    if nan is not None and nan.any():
        numbers = values[~nan]
        return values[nan][0].item() if not len(numbers) else numbers.min().item()
    return values.min().item()


def _quantiles(values: np.ndarray, quantiles: tuple[float, ...]) -> list:
    """quantile_disc of each quantile over these values ([] when there are none)."""
    n = len(values)
    if not n:
        return []
    ranks = [max(1, n - math.floor(float(n) - float(n) * q)) - 1 for q in quantiles]
    if values.dtype.kind in "iu":
        low = int(values.min())
        if int(values.max()) - low < DENSE_RANGE:
            # Counting, not sorting: the value at a rank is the first whose running count
            # passes it.
            running = np.cumsum(np.bincount(values - low))
            return [int(np.searchsorted(running, rank, side="right")) + low for rank in ranks]
    # Only the ranks asked for put in place, not a whole sort; NaN last, as DuckDB
    # orders it.
    placed = np.partition(values, sorted(set(ranks)))
    return [placed[rank].item() for rank in ranks]

