"""The Test-and-learn tools' engine side: two groups side by side, and a group-vs-rest
comparison checked for confounding by stratifying it on a second characteristic.

Both count over the same cached per-user table as analyze() (analytics/engine/peruser.py), so a
question asked again on the same data reads a small Parquet file instead of the events.
Results are plain JSON, like analyze()'s, so that a job row can hold them and a finding can
keep them as its evidence."""

from __future__ import annotations

import math
from dataclasses import dataclass

from analytics.engine import duck, stats
from analytics.engine.analysis import (
    EngineSettings,
    engine_connection,
    group_vs_rest,
    population_summary,
)
from analytics.engine.breakdowns import NONE, OTHER, TOP_VALUES, bin_labels, value_label
from analytics.engine.compiler import bin_bucket, breakdown_value, compile_criterion
from analytics.engine.definitions import (
    validate_breakdown,
    validate_criterion,
    validate_success,
)
from analytics.engine.peruser import peruser_source
from analytics.engine.peruser_columns import INCLUDED_COLUMN, SUCCESS_COLUMN, Feature, features_of
from analytics.engine.sql import Sql
from analytics.engine.storage import DatasetSchema, DatasetVersion

# A pooled odds ratio more than 10% away from the crude one is the usual rule of thumb for
# "the second characteristic confounds this comparison".
CONFOUNDING_CHANGE = 0.10


def compare_groups(version: DatasetVersion, success: dict, *, group_a: dict, group_b: dict,
                   population_filter: dict | None = None, unsuccessful: bool = False,
                   settings: EngineSettings | None = None) -> dict:
    """Group A against group B (e.g. mobile vs desktop users), optionally among a filtered
    population (e.g. Pro users). Returns {"population", "a", "b", "overlap", "diff", "lift",
    "lift_ci95", "p_value", "test"[, "note"][, "overlap_note"]}: "diff" and "lift" read A
    against B."""
    schema = version.schema()
    success = validate_success(success, schema)
    group_a = validate_criterion(group_a, schema)
    group_b = validate_criterion(group_b, schema)
    features = features_of(group_a) + features_of(group_b)
    if population_filter is not None:
        population_filter = validate_criterion(population_filter, schema)
        features += features_of(population_filter)
    features = list(dict.fromkeys(features))
    with engine_connection(settings) as con:
        population = _population(con, version, schema, success, features, population_filter,
                                 unsuccessful)
        a = compile_criterion(group_a, schema)
        b = compile_criterion(group_b, schema)
        both = Sql.join([a.wrap("(", ")"), b.wrap("(", ")")], " AND ")
        excluded, n, x, n_a, x_a, n_b, x_b, n_both = _count(con, population, [
            a, _with_outcome(a, population), b, _with_outcome(b, population), both])
    result = {
        "population": population_summary(n, x, excluded),
        "a": stats.side_summary(x_a, n_a),
        "b": stats.side_summary(x_b, n_b),
        "overlap": n_both,
        **stats.compare(x_a, n_a, x_b, n_b),
    }
    if n_both:
        result["overlap_note"] = (
            f"{n_both:,} users are in both groups and count in each; the test treats the "
            "groups as separate, so read its p-value with care.")
    return result


def stratify(version: DatasetVersion, success: dict, *, criterion: dict, strata: dict,
             population_filter: dict | None = None, unsuccessful: bool = False,
             settings: EngineSettings | None = None) -> dict:
    """The group (criterion true) against the rest, overall ("crude") and within each
    bucket of `strata` (a breakdown, definitions.md section 4), pooled with Mantel-Haenszel.

    Returns the crude comparison's keys ({"population", "group", "rest", "diff", "lift",
    "lift_ci95", "p_value", "test", "odds_ratio"}) plus "strata" (one entry per bucket with
    its group, rest, comparison and odds ratio), "mantel_haenszel" (stats.mantel_haenszel
    and its "direction"), "simpson" (true when the pooled direction disagrees with the
    crude one), "change_in_estimate" and "confounding"."""
    schema = version.schema()
    success = validate_success(success, schema)
    criterion = validate_criterion(criterion, schema)
    strata = validate_breakdown(strata, schema)
    features = features_of(criterion)
    if "metric" in strata:
        features.append(Feature.of(strata["metric"]))
    if population_filter is not None:
        population_filter = validate_criterion(population_filter, schema)
        features += features_of(population_filter)
    features = list(dict.fromkeys(features))
    with engine_connection(settings) as con:
        population = _population(con, version, schema, success, features, population_filter,
                                 unsuccessful)
        group = compile_criterion(criterion, schema)
        excluded, n, x, n1, x1 = _count(con, population, [group, _with_outcome(group, population)])
        totals = (n1, x1, n - n1, x - x1)
        column, _ = breakdown_value(strata, schema)
        if "bins" in strata:
            counted = _binned(con, population, group, column, strata["bins"])
        else:
            counted = _by_value(con, population, group, column, totals)

    crude = group_vs_rest(x1, n1, x, n)
    rows = []
    for label, (sn1, sx1, sn0, sx0) in counted:
        row = {"label": label, "group": stats.side_summary(sx1, sn1),
               "rest": stats.side_summary(sx0, sn0), **stats.compare(sx1, sn1, sx0, sn0),
               "odds_ratio": odds_ratio(sx1, sn1, sx0, sn0)}
        rows.append(row)
    pooled = stats.mantel_haenszel([(sx1, sn1, sx0, sn0)
                                    for _, (sn1, sx1, sn0, sx0) in counted])
    pooled["direction"] = _pooled_direction(c for _, c in counted)
    crude_direction = _sign(crude["diff"])
    crude_or = odds_ratio(x1, n1, x - x1, n - n1)
    result = {
        "population": population_summary(n, x, excluded),
        **crude,
        "odds_ratio": crude_or,
        "strata": rows,
        "mantel_haenszel": pooled,
        "simpson": bool(crude_direction and pooled["direction"]
                        and crude_direction != pooled["direction"]),
        "strata_against": sum(1 for r in rows if _sign(r["diff"]) and crude_direction
                              and _sign(r["diff"]) != crude_direction),
        "change_in_estimate": None,
        "confounding": None,
    }
    if crude_or and pooled["odds_ratio"]:
        change = pooled["odds_ratio"] / crude_or - 1
        result["change_in_estimate"] = change
        result["confounding"] = abs(math.log1p(change)) > math.log1p(CONFOUNDING_CHANGE)
    return result


@dataclass
class Population:
    """The per-user table, the users kept (the population filter) and their outcome."""

    source: Sql
    keep: Sql
    outcome: str


def _population(con: duck.Connection, version: DatasetVersion, schema: DatasetSchema,
                success: dict, features: list[Feature], population_filter: dict | None,
                unsuccessful: bool) -> Population:
    source = peruser_source(con, version, schema, success, features)
    keep = compile_criterion(population_filter, schema) if population_filter else Sql("true")
    flag = duck.quote_identifier(SUCCESS_COLUMN)
    return Population(source, keep, f"(NOT {flag})" if unsuccessful else flag)


def _count(con: duck.Connection, population: Population, counts: list[Sql]) -> list[int]:
    """Users left out (incomplete windows), users, successes, then count_if of each
    expression, over the kept users whose window is complete; one scan."""
    included = duck.quote_identifier(INCLUDED_COLUMN)
    select = Sql.join([
        Sql(f"count_if(NOT {included})"), Sql(f"count_if({included})"),
        Sql(f"count_if({included} AND {population.outcome})"),
        *(c.wrap(f"count_if({included} AND (", "))") for c in counts),
    ])
    text = (f"SELECT {select.text} FROM {population.source.text} "  # noqa: S608
            f"WHERE {population.keep.text}")
    row = con.execute(text, [*select.params, *population.source.params,
                             *population.keep.params]).fetchone()
    return [int(v or 0) for v in row]


def odds_ratio(x1: int, n1: int, x0: int, n0: int) -> float | None:
    """(successes/failures of the group) / (successes/failures of the rest); None when a
    side is empty or a cell of the 2x2 table is zero."""
    failures1, failures0 = n1 - x1, n0 - x0
    if min(x1, x0, failures1, failures0) <= 0:
        return None
    return (x1 * failures0) / (failures1 * x0)


def _with_outcome(expression: Sql, population) -> Sql:
    return expression.wrap("(", f") AND {population.outcome}")


def _sign(value: float | None) -> int:
    if value is None or value == 0:
        return 0
    return 1 if value > 0 else -1


def _pooled_direction(strata) -> int:
    """The sign of log(Mantel-Haenszel OR), from its two sums, so that it is defined even
    when the ratio itself is 0 or unbounded."""
    ad = bc = 0.0
    for n1, x1, n0, x0 in strata:
        total = n1 + n0
        if n1 and n0:
            ad += x1 * (n0 - x0) / total
            bc += (n1 - x1) * x0 / total
    return _sign(ad - bc)


def _where(population) -> Sql:
    return Sql.join([Sql(duck.quote_identifier(INCLUDED_COLUMN)),
                     population.keep.wrap("(", ")")], " AND ")


def _four_counts(group: Sql, population) -> Sql:
    """Group users, group successes, rest users, rest successes."""
    outcome = population.outcome
    return Sql.join([
        group.wrap("count_if(", ")"),
        group.wrap("count_if((", f") AND {outcome})"),
        group.wrap("count_if(NOT (", "))"),
        group.wrap("count_if(NOT (", f") AND {outcome})"),
    ])


def _binned(con, population, group: Sql, column: str, bins: list) -> list[tuple[str, tuple]]:
    bucket = bin_bucket(column, bins)
    counts = _four_counts(group, population)
    where = _where(population)
    text = (f"SELECT {bucket.text} AS b, {counts.text} "  # noqa: S608
            f"FROM {population.source.text} WHERE {where.text} GROUP BY b")
    rows = con.execute(text, [*bucket.params, *counts.params, *population.source.params,
                              *where.params]).fetchall()
    found = {b: tuple(int(v) for v in rest) for b, *rest in rows}
    return [(label, found.get(i, (0, 0, 0, 0))) for i, label in enumerate(bin_labels(bins))]


def _by_value(con, population, group: Sql, column: str,
              totals: tuple[int, int, int, int]) -> list[tuple[str, tuple]]:
    """Strata by value as a breakdown makes its buckets: the TOP_VALUES most common values
    (ties by label), then (other), then (none)."""
    counts = _four_counts(group, population)
    where = _where(population)
    # Every value that can still be among the top ones (ties at the edge included) and the
    # nulls; the rest is (other), from the totals.
    # Schema identifiers (quoted) and our own SQL only; values are bound.
    text = (
        f"WITH g AS (SELECT {column} AS v, count(*) AS n, {counts.text} "  # noqa: S608
        f"FROM {population.source.text} WHERE {where.text} GROUP BY ALL) "
        "SELECT * EXCLUDE (n) FROM g WHERE v IS NULL OR n >= coalesce((SELECT n FROM g "
        f"WHERE v IS NOT NULL ORDER BY n DESC LIMIT 1 OFFSET {TOP_VALUES - 1}), 0)"
    )
    rows = con.execute(text, [*counts.params, *population.source.params,
                              *where.params]).fetchall()
    none = [(NONE, tuple(int(c) for c in rest)) for v, *rest in rows if v is None]
    values = sorted(((value_label(v), tuple(int(c) for c in rest)) for v, *rest in rows
                     if v is not None),
                    key=lambda item: (-(item[1][0] + item[1][2]), item[0]))
    top = values[:TOP_VALUES]
    shown = [c for _, c in (*top, *none)]
    other = tuple(total - sum(c[i] for c in shown) for i, total in enumerate(totals))
    others = [(OTHER, other)] if other[0] + other[2] > 0 else []
    return [*top, *others, *none]

