"""A breakdown's buckets (definitions.md section 4) and their statistics.

By value: one bucket per value, most users first, ties by label; past TOP_VALUES values the
rest are "(other)"; users without a value are "(none)"; (other) then (none) come last, each
only when it has users. By bins [b1, ..., bk]: "< b1", "b1-b2", ..., ">= bk", "(none)",
always all of them, in that order, empty ones included. A bin "a-b" holds a <= value < b;
when a bound is negative the label reads "a to b" (e.g. "-5 to 0") so the minus sign is not
lost in the dash. Numbers are written without a trailing ".0".
Each bucket is compared with all other users of the population; the breakdown's own p-value
is the k x 2 chi-square test of independence over the non-empty buckets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from analytics.engine import duck, stats
from analytics.engine.compiler import bin_bucket, breakdown_value
from analytics.engine.peruser_columns import INCLUDED_COLUMN
from analytics.engine.sql import Sql
from analytics.engine.storage import DatasetSchema
from analytics.engine.wording import format_value

TOP_VALUES = 20
OTHER = "(other)"
NONE = "(none)"


def bin_labels(bins: list) -> list[str]:
    """Labels of the buckets of `bins`, in order, (none) last."""
    numbers = [format_value(b) for b in bins]
    labels = [f"< {numbers[0]}"]
    for (low, high), (a, b) in zip(zip(numbers, numbers[1:], strict=False),
                                   zip(bins, bins[1:], strict=False), strict=True):
        labels.append(f"{low} to {high}" if a < 0 or b < 0 else f"{low}-{high}")
    labels.append(f">= {numbers[-1]}")
    return [*labels, NONE]


def value_label(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return format_value(value)


def breakdown_result(con, population, breakdown: dict, schema: DatasetSchema,
                     summary: dict) -> dict:
    column, _ = breakdown_value(breakdown, schema)
    if "bins" in breakdown:
        counted = _binned(con, population, column, breakdown["bins"])
    else:
        counted = _by_value(con, population, column, summary["users"], summary["successes"])
    n_all, x_all = summary["users"], summary["successes"]
    buckets = []
    for label, n, x in counted:
        buckets.append({"label": label, **stats.side_summary(x, n),
                        **stats.compare(x, n, x_all - x, n_all - n)})
    result = {"population": summary, "buckets": buckets,
              "p_value": stats.chi_square_independence([(x, n) for _, n, x in counted]),
              "test": "chi_square"}
    if result["p_value"] is None:
        result["note"] = ("No test: fewer than two buckets have users, or every user has the "
                          "same outcome.")
    return result


def _where(population) -> Sql:
    included = Sql(duck.quote_identifier(INCLUDED_COLUMN))
    return Sql.join([included, population.keep.wrap("(", ")")], " AND ")


def _binned(con, population, column: str, bins: list) -> list[tuple[str, int, int]]:
    bucket = bin_bucket(column, bins)
    where = _where(population)
    text = (f"SELECT {bucket.text} AS b, count(*), count_if({population.outcome}) "  # noqa: S608
            f"FROM {population.source.text} WHERE {where.text} GROUP BY b")
    rows = con.execute(text, [*bucket.params, *population.source.params, *where.params])
    found = {b: (int(n), int(x)) for b, n, x in rows.fetchall()}
    return [(label, *found.get(i, (0, 0))) for i, label in enumerate(bin_labels(bins))]


def _by_value(con, population, column: str, n_all: int,
              x_all: int) -> list[tuple[str, int, int]]:
    where = _where(population)
    # Every value that can still be in the top TOP_VALUES (ties at the edge included) and
    # the nulls; the rest is summed as (other) from the population totals.
    text = (
        f"WITH g AS (SELECT {column} AS v, count(*) AS n, "  # noqa: S608
        f"count_if({population.outcome}) AS x FROM {population.source.text} "
        f"WHERE {where.text} GROUP BY ALL) "
        "SELECT v, n, x FROM g WHERE v IS NULL OR n >= coalesce((SELECT n FROM g "
        f"WHERE v IS NOT NULL ORDER BY n DESC LIMIT 1 OFFSET {TOP_VALUES - 1}), 0)"
    )
    rows = con.execute(text, [*population.source.params, *where.params]).fetchall()
    none = [(NONE, int(n), int(x)) for v, n, x in rows if v is None]
    values = sorted(((value_label(v), int(n), int(x)) for v, n, x in rows if v is not None),
                    key=lambda row: (-row[1], row[0]))
    top = values[:TOP_VALUES]
    other_n = n_all - sum(n for _, n, _ in top) - sum(n for _, n, _ in none)
    other_x = x_all - sum(x for _, _, x in top) - sum(x for _, _, x in none)
    other = [(OTHER, other_n, other_x)] if other_n > 0 else []
    return [*top, *other, *none]
