"""Warnings about the values a criterion compares with, against a stored profile of the
values in the data (analytics.engine.value_profile): "'USA' does not occur in country;
closest: 'US'". Plain Python over the stored JSON, no DuckDB, so a web request may use it.
A property with more distinct values than the profile holds cannot be said to lack a
value, only that the value is not among its common ones."""

from __future__ import annotations

import difflib
from typing import Any

CLOSEST = 3
CLOSEST_CUTOFF = 0.6
_NUMBERS = ("integer", "float")
_EQUALITY_OPERATORS = ("=", "!=", "in", "not_in")


def value_warnings(criterion: dict | None, profile: dict | None) -> list[str]:
    """Warnings, for people, about the values a validated criterion compares with: a text
    value that does not occur (with the closest ones that do), a number outside every
    value. Empty without a profile; nothing here reads data."""
    if not criterion or not profile:
        return []
    warnings: list[str] = []
    for scope, name, op, value in _comparisons(criterion):
        info = (profile.get(f"{scope}_properties") or {}).get(name)
        if not info or op not in _EQUALITY_OPERATORS + ("<", "<=", ">", ">="):
            continue
        wanted = value if isinstance(value, list) else [value]
        if info.get("type") == "text" and op in _EQUALITY_OPERATORS:
            warnings += [_text_warning(name, v, info, profile) for v in wanted
                         if isinstance(v, str) and not _occurs(v, info)]
        elif info.get("type") in _NUMBERS and info.get("min") is not None:
            warnings += _number_warnings(name, op, wanted, info)
    return list(dict.fromkeys(warnings))


def _comparisons(node: Any):
    """(scope, property, op, value) of each comparison with a stored property's value."""
    if not isinstance(node, dict):
        return
    for key in ("all", "any"):
        if isinstance(node.get(key), list):
            for part in node[key]:
                yield from _comparisons(part)
            return
    if "not" in node:
        yield from _comparisons(node["not"])
        return
    kind = node.get("kind")
    if "value" in node:
        if kind == "property":
            yield "user", node.get("property"), node.get("op"), node["value"]
        elif kind == "first_event_property" or (
                kind == "event_property" and node.get("agg") in ("min", "max")):
            yield "event", node.get("property"), node.get("op"), node["value"]
    for where in node.get("where") or []:
        if isinstance(where, dict) and "value" in where:
            yield "event", where.get("property"), where.get("op"), where["value"]


def _occurs(value: str, info: dict) -> bool:
    return any(shown == value for shown, _ in info.get("top") or [])


def closest_values(value: str, candidates: list[str], n: int = CLOSEST) -> list[str]:
    """The candidates most like `value`, ignoring case (so "us" finds "US")."""
    wanted = value.casefold()
    scored = []
    for candidate in candidates:
        ratio = difflib.SequenceMatcher(None, wanted, candidate.casefold()).ratio()
        if ratio >= CLOSEST_CUTOFF:
            scored.append((-ratio, candidate))
    return [candidate for _, candidate in sorted(scored)[:n]]


def _text_warning(name: str, value: str, info: dict, profile: dict) -> str:
    known = [shown for shown, _ in info.get("top") or [] if isinstance(shown, str)]
    closest = closest_values(value, known)
    hint = ("; closest: " + ", ".join(repr(c) for c in closest)) if closest else ""
    if info.get("complete", True):
        return f"{value!r} does not occur in {name}{hint}"
    return (f"{value!r} is not among the {profile.get('top_limit', 'stored')} most common "
            f"values of {name} (it has {info.get('distinct', 0):,}); it may be among the rarer "
            f"values{hint}")


def _number_warnings(name: str, op: str, wanted: list, info: dict) -> list[str]:
    low, high = info["min"], info["max"]
    numbers = [v for v in wanted if isinstance(v, int | float) and not isinstance(v, bool)]
    if op in ("=", "in"):
        return [f"{v!r} is outside the values of {name} ({low} to {high})"
                for v in numbers if v < low or v > high]
    if not numbers:
        return []
    v = numbers[0]
    if (op == ">" and v >= high) or (op == ">=" and v > high):
        return [f"no value of {name} is above {high}, so no one has {name} {op} {v}"]
    if (op == "<" and v <= low) or (op == "<=" and v < low):
        return [f"no value of {name} is below {low}, so no one has {name} {op} {v}"]
    return []
