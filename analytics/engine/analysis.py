"""analyze(): one criterion (group vs rest) or one breakdown (bucket by bucket) against a
success definition, with the statistics of definitions.md section 5, in the JSON shape of
section 6. evaluate_criteria(): many criteria in one pass, for discovery."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from analytics.engine import duck, stats
from analytics.engine.breakdowns import breakdown_result
from analytics.engine.compiler import compile_criterion
from analytics.engine.definitions import (
    DefinitionError,
    validate_breakdown,
    validate_criterion,
    validate_success,
)
from analytics.engine.inplace import FilesInPlace
from analytics.engine.peruser import peruser_source
from analytics.engine.peruser_columns import INCLUDED_COLUMN, SUCCESS_COLUMN, Feature, features_of
from analytics.engine.sql import Sql
from analytics.engine.storage import DatasetVersion


@dataclass
class EngineSettings:
    memory_limit: str = "1GB"
    threads: int = 2


Data = DatasetVersion | FilesInPlace  # a published version, or files analysed in place


@contextmanager
def engine_connection(settings: EngineSettings | None,
                      data: Data | None = None) -> Iterator[duck.Connection]:
    """A connection of its own for one job, to this process's engine database (opening
    a database per job would cost more than a whole test on a cached table). What the
    job creates (temporary tables) goes when it ends. Files analysed in place bring the
    connection that holds what was read from them."""
    if isinstance(data, FilesInPlace):
        yield data.connection
        return
    settings = settings or EngineSettings()
    con = duck.engine_cursor(memory_limit=settings.memory_limit, threads=settings.threads)
    try:
        yield con
    finally:
        con.close()


@dataclass
class Population:
    """Where counting starts: the per-user table, the users it keeps and their outcome."""

    source: Sql
    keep: Sql  # the population filter (true without one)
    outcome: str  # SQL: the success flag, or its negation for the unsuccessful side


def population_of(con: duck.Connection, version: Data, success: dict,
                features: list[Feature], population_filter: dict | None, schema,
                unsuccessful: bool) -> Population:
    if isinstance(version, FilesInPlace):
        source = version.peruser_source(schema, success, features)
    else:
        source = peruser_source(con, version, schema, success, features)
    keep = compile_criterion(population_filter, schema) if population_filter else Sql("true")
    success_flag = duck.quote_identifier(SUCCESS_COLUMN)
    outcome = f"(NOT {success_flag})" if unsuccessful else success_flag
    return Population(source, keep, outcome)


def _count(con: duck.Connection, population: Population, groups: list[Sql]) -> list[int]:
    """Over the kept users, in one scan: those left out by the complete-window rule,
    those counted and how many of them succeeded, then for each group expression its
    users and their successes (counted only among the counted users)."""
    included = duck.quote_identifier(INCLUDED_COLUMN)
    # Each expression is computed once, in the inner projection; count_if over its
    # column is then cheap (a third less time for one test than repeating it).
    columns = Sql.join([Sql(f"{included} AS __hl_i"), Sql(f"{population.outcome} AS __hl_o"),
                        *(g.wrap("(", f") AS __hl_g{k}") for k, g in enumerate(groups))])
    counts = ["count_if(NOT __hl_i)", "count_if(__hl_i)", "count_if(__hl_i AND __hl_o)"]
    for k in range(len(groups)):
        counts += [f"count_if(__hl_i AND __hl_g{k})", f"count_if(__hl_i AND __hl_g{k} AND __hl_o)"]
    text = (f"SELECT {', '.join(counts)} FROM (SELECT {columns.text} "  # noqa: S608
            f"FROM {population.source.text} WHERE {population.keep.text})")
    row = con.execute(text, [*columns.params, *population.source.params,
                             *population.keep.params]).fetchone()
    return [int(v or 0) for v in row]


def population_summary(users: int, successes: int, excluded: int) -> dict:
    return {"users": users, "successes": successes, "rate": stats.rate(successes, users),
            "excluded_incomplete": excluded}


def group_vs_rest(x1: int, n1: int, x: int, n: int) -> dict:
    """The statistics of a group against the rest of a population of n users (x succeeded)."""
    return {"group": stats.side_summary(x1, n1), "rest": stats.side_summary(x - x1, n - n1),
            **stats.compare(x1, n1, x - x1, n - n1)}


def analyze(version: Data, success: dict, *, criterion: dict | None = None,
            breakdown: dict | None = None, population_filter: dict | None = None,
            unsuccessful: bool = False, settings: EngineSettings | None = None) -> dict:
    if (criterion is None) == (breakdown is None):
        raise DefinitionError("an analysis needs either a criterion or a breakdown (not both)")
    schema = version.schema()
    success = validate_success(success, schema)
    features: list[Feature] = []
    if population_filter is not None:
        population_filter = validate_criterion(population_filter, schema)
        features += features_of(population_filter)
    if criterion is not None:
        criterion = validate_criterion(criterion, schema)
        features += features_of(criterion)
    else:
        breakdown = validate_breakdown(breakdown, schema)
        if "metric" in breakdown:
            features.append(Feature.of(breakdown["metric"]))
    features = list(dict.fromkeys(features))

    with engine_connection(settings, version) as con:
        population = population_of(con, version, success, features, population_filter, schema,
                                 unsuccessful)
        if breakdown is not None:
            excluded, n, x = _count(con, population, [])
            return breakdown_result(con, population, breakdown, schema,
                                    population_summary(n, x, excluded))
        expression = compile_criterion(criterion, schema)
        excluded, n, x, n1, x1 = _count(con, population, [expression])
    return {"population": population_summary(n, x, excluded), **group_vs_rest(x1, n1, x, n)}


def evaluate_criteria(version: Data, success: dict, criteria: list[dict], *,
                      unsuccessful: bool = False, settings: EngineSettings | None = None
                      ) -> tuple[dict, list[dict]]:
    """The population summary and, per criterion, {"criterion", "group", "rest", "diff",
    "lift", "lift_ci95", "p_value", "test"[, "note"]}: every criterion counted in one scan
    of one per-user table holding all their features."""
    schema = version.schema()
    success = validate_success(success, schema)
    criteria = [validate_criterion(c, schema) for c in criteria]
    features = list(dict.fromkeys(f for c in criteria for f in features_of(c)))
    with engine_connection(settings, version) as con:
        population = population_of(con, version, success, features, None, schema, unsuccessful)
        return count_criteria(con, population, criteria, schema)


def count_criteria(con: duck.Connection, population: Population, criteria: list[dict],
                   schema) -> tuple[dict, list[dict]]:
    """evaluate_criteria's work on an open connection and a ready population (validated
    criteria whose features the per-user table holds)."""
    groups = [compile_criterion(criterion, schema) for criterion in criteria]
    excluded, n, x, *pairs = _count(con, population, groups)
    rows = []
    for i, criterion in enumerate(criteria):
        n1, x1 = pairs[2 * i], pairs[2 * i + 1]
        rows.append({"criterion": criterion, **group_vs_rest(x1, n1, x, n)})
    return population_summary(n, x, excluded), rows


def population_count(version: Data, success: dict, *, criterion: dict | None = None,
                     population_filter: dict | None = None,
                     settings: EngineSettings | None = None) -> dict:
    """The counts analyze() starts from, without statistics: {"population": {"users",
    "successes", "rate", "excluded_incomplete"}} (equal to analyze()'s block for the same
    success and filter) and, with a criterion, {"group": {"users", "successes"}}: how many
    counted users it holds. A quick job on the same cached per-user table a test reads
    (and builds it when there is none, which the test then reuses)."""
    schema = version.schema()
    success = validate_success(success, schema)
    features: list[Feature] = []
    if population_filter is not None:
        population_filter = validate_criterion(population_filter, schema)
        features += features_of(population_filter)
    if criterion is not None:
        criterion = validate_criterion(criterion, schema)
        features += features_of(criterion)
    features = list(dict.fromkeys(features))
    with engine_connection(settings, version) as con:
        population = population_of(con, version, success, features, population_filter, schema,
                                   False)
        groups = [compile_criterion(criterion, schema)] if criterion is not None else []
        excluded, n, x, *group = _count(con, population, groups)
    out = {"population": population_summary(n, x, excluded)}
    if criterion is not None:
        out["group"] = {"users": group[0], "successes": group[1]}
    return out
