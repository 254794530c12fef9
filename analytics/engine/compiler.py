"""Validated definitions -> parameterized DuckDB SQL over the per-user table.

A criterion becomes a boolean expression over one row per user (user properties and the
feature columns analytics.engine.peruser_columns builds). Every leaf is wrapped in coalesce(..., false),
so a condition on a null value is false, `is_not_set` aside, and `not` of anything on a
null value is true. Values are always bound parameters; identifiers come from the schema
and are quoted."""

from __future__ import annotations

from analytics.engine import duck
from analytics.engine.definitions import VALUE_TYPES, metric_value_type, value_type_of
from analytics.engine.peruser_columns import Feature
from analytics.engine.sql import Sql, compile_condition
from analytics.engine.storage import DatasetSchema


def compile_criterion(criterion: dict, schema: DatasetSchema) -> Sql:
    """A validated criterion as a never-null boolean expression over the per-user table."""
    for key, word in (("all", " AND "), ("any", " OR ")):
        if key in criterion:
            parts = [compile_criterion(c, schema) for c in criterion[key]]
            return Sql.join(parts, word).wrap("(", ")")
    if "not" in criterion:
        return compile_criterion(criterion["not"], schema).wrap("(NOT ", ")")
    if criterion["kind"] == "property":
        column = duck.quote_identifier(criterion["property"])
    else:
        column = duck.quote_identifier(Feature.of(criterion).column)
    if criterion["kind"] == "did_event":
        return Sql(column if criterion.get("did", True) else f"(NOT {column})")
    condition = compile_condition(column, criterion["op"], criterion.get("value"),
                                  value_type_of(criterion, schema))
    return condition.wrap("coalesce(", ", false)")


def breakdown_value(breakdown: dict, schema: DatasetSchema) -> tuple[str, str]:
    """The per-user-table column a validated breakdown groups by, and its value type."""
    if "property" in breakdown:
        name = breakdown["property"]
        return duck.quote_identifier(name), VALUE_TYPES[schema.user_properties[name]]
    metric = breakdown["metric"]
    return (duck.quote_identifier(Feature.of(metric).column),
            metric_value_type(metric, schema))


def bin_bucket(column: str, bins: list) -> Sql:
    """The bucket number of a binned value: 0 for < b1, i for [b_i, b_i+1), k for >= bk,
    k + 1 for null."""
    whens = " ".join(f"WHEN {column} < ? THEN {i}" for i in range(len(bins)))
    return Sql(f"CASE WHEN {column} IS NULL THEN {len(bins) + 1} {whens} ELSE {len(bins)} END",
               list(bins))
