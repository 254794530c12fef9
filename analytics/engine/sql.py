"""SQL fragments with their bound parameters, and one condition (`column op value`) as SQL.
Shared by the per-user table builder (conditions on event properties) and the criterion
compiler (conditions on the per-user table)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from analytics.engine.definitions import parse_timestamp

_COMPARISON_SQL = {"=": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass(frozen=True)
class Sql:
    """A fragment of SQL and its parameters, in the order their `?` appear."""

    text: str
    params: list[Any] = field(default_factory=list)

    @staticmethod
    def join(parts: list[Sql], separator: str = ", ") -> Sql:
        return Sql(separator.join(p.text for p in parts), [x for p in parts for x in p.params])

    def wrap(self, before: str, after: str) -> Sql:
        return Sql(f"{before}{self.text}{after}", list(self.params))


def compile_condition(column: str, op: str, value: Any, value_type: str) -> Sql:
    """`column op value` for a validated operator and value; may be null (SQL semantics)."""
    if op == "is_set":
        return Sql(f"{column} IS NOT NULL")
    if op == "is_not_set":
        return Sql(f"{column} IS NULL")

    def bind(v: Any) -> Any:
        return parse_timestamp(v) if value_type == "timestamp" else v

    if op in _COMPARISON_SQL:
        return Sql(f"{column} {_COMPARISON_SQL[op]} ?", [bind(value)])
    if op in ("in", "not_in"):
        marks = ", ".join("?" for _ in value)
        negation = "NOT " if op == "not_in" else ""
        return Sql(f"{column} {negation}IN ({marks})", [bind(v) for v in value])
    if op == "between":
        return Sql(f"{column} BETWEEN ? AND ?", [bind(value[0]), bind(value[1])])
    if op == "contains":
        return Sql(f"contains({column}, ?)", [value])
    raise ValueError(f"operator {op!r} was not validated")
