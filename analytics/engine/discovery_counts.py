"""count_candidates(): analysis.count_criteria's answer for discovery's candidates,
counted the cheap way for each kind.

  measures     a did_event or `>=` on a behaviour measure held in numpy
               (discovery_measured): numpy, against the flags;
  values       `=`, `>=` or is_not_set on a user property or a first event's property:
               one GROUP BY per column gives each value's users and successes, and a
               candidate adds up the values it holds for (DuckDB compared each candidate
               with every user's value: 17 ms a candidate at 1M users, most of the time
               of a run's counting);
  the rest     DuckDB, in one scan, as analysis.count_criteria counts them (which also
               counts the population).

A value compares as DuckDB compares it: only values of the column's own type are added
up here (text with text, numbers with numbers, booleans with booleans), NaN is above
every number, and null holds for is_not_set only."""

from __future__ import annotations

import math
from typing import Any

from analytics.engine import duck
from analytics.engine.analysis import Population, count_criteria, group_vs_rest
from analytics.engine.discovery_measured import Measured
from analytics.engine.peruser_columns import INCLUDED_COLUMN, Feature
from analytics.engine.storage import DatasetSchema

VALUE_KINDS = ("property", "first_event_property")
VALUE_OPS = ("=", ">=", "is_not_set")
# (value, users counted, of whom successes) per value, None standing for null (a list:
# values DuckDB tells apart may be equal keys in Python, such as 0.0 and -0.0)
Histogram = list[tuple[Any, int, int]]


def count_candidates(con: duck.Connection, population: Population, criteria: list[dict],
                     schema: DatasetSchema, measured: Measured | None
                     ) -> tuple[dict, list[dict]]:
    counts: dict[int, tuple[int, int]] = {}
    for i, criterion in enumerate(criteria):
        group = measured.group(criterion) if measured is not None else None
        if group is not None:
            counts[i] = measured.counts(group)
    histograms: dict[str, Histogram] = {}
    for i, criterion in enumerate(criteria):
        if i in counts or _value_column(criterion) is None:
            continue
        column = _value_column(criterion)
        if column not in histograms:
            histograms[column] = histogram(con, population, column)
        found = _held(histograms[column], criterion)
        if found is not None:
            counts[i] = found
    rest = [i for i in range(len(criteria)) if i not in counts]
    summary, counted = count_criteria(con, population, [criteria[i] for i in rest], schema)
    rows: list[dict | None] = [None] * len(criteria)
    for i, row in zip(rest, counted, strict=True):
        rows[i] = row
    n, x = summary["users"], summary["successes"]
    for i, (n1, x1) in counts.items():
        rows[i] = {"criterion": criteria[i], **group_vs_rest(x1, n1, x, n)}
    return summary, rows


def histogram(con: duck.Connection, population: Population, column: str) -> Histogram:
    """Each value of a column (quoted), with its users and successes among the users
    counted (as analysis._count counts them)."""
    included = duck.quote_identifier(INCLUDED_COLUMN)
    # The column is quoted from the schema or our own feature names; values bind.
    text = (f"SELECT v, count_if(i), count_if(i AND o) FROM (SELECT {column} AS v, "  # noqa: S608
            f"{included} AS i, {population.outcome} AS o FROM {population.source.text} "
            f"WHERE {population.keep.text}) GROUP BY v")
    rows = con.execute(text, [*population.source.params, *population.keep.params]).fetchall()
    # count_if over nothing but nulls is null, not 0
    return [(value, int(users or 0), int(successes or 0)) for value, users, successes in rows]


def _value_column(criterion: dict) -> str | None:
    kind = criterion.get("kind")
    if kind not in VALUE_KINDS or criterion.get("op") not in VALUE_OPS:
        return None
    name = criterion["property"] if kind == "property" else Feature.of(criterion).column
    return duck.quote_identifier(name)


def _held(histogram: Histogram, criterion: dict) -> tuple[int, int] | None:
    """(users, successes) the criterion holds for, or None when its value is not one
    compared here."""
    op, value = criterion["op"], criterion.get("value")
    if op == "is_not_set":
        held = [row for row in histogram if row[0] is None]
    elif not all(_same_kind(key, value) for key, _, _ in histogram if key is not None):
        return None
    elif op == "=":
        held = [row for row in histogram if row[0] is not None and row[0] == value]
    else:
        held = [row for row in histogram if row[0] is not None
                and (row[0] >= value or (isinstance(row[0], float) and math.isnan(row[0])))]
    return sum(row[1] for row in held), sum(row[2] for row in held)


def _same_kind(key: Any, value: Any) -> bool:
    if isinstance(key, bool) or isinstance(value, bool):
        return isinstance(key, bool) and isinstance(value, bool)
    if isinstance(key, str) or isinstance(value, str):
        return isinstance(key, str) and isinstance(value, str)
    if not (isinstance(key, int | float) and isinstance(value, int | float)):
        return False  # dates, decimals, lists...: left to DuckDB
    if isinstance(key, int) and isinstance(value, int):
        return True
    # A float on either side: DuckDB compares doubles, as Python's exact comparison does
    # for a finite value and whole numbers below 2**53.
    return math.isfinite(value) and all(abs(x) < 2**53 for x in (key, value)
                                        if isinstance(x, int))
