"""Segments and weeks without the engine: checking a segment against a schema, and
reading a computed trend week over week (analytics.engine.trends computes the trend).

Web processes check segments and read trends on every dashboard page; this module keeps
them from importing DuckDB and numpy, which only the jobs that compute need."""

from __future__ import annotations

from typing import Any

from analytics.engine import stats
from analytics.engine.definitions import (
    DefinitionError,
    describe_criterion,
    validate_breakdown,
    validate_criterion,
)

MAX_SEGMENTS = 40
MAX_BUCKETS = 12  # of a criteria-bucket segment, "else" aside
MAX_LABEL = 80
EVERYONE_ELSE = "everyone else"
SIGNIFICANCE = 0.05


# ---------------------------------------------------------------- segments


def validate_segment(segment: Any, schema) -> dict:
    """A normalized copy of a segment (see the module's docstring), checked against the
    schema; a criterion segment becomes two buckets. Raises DefinitionError."""
    if not isinstance(segment, dict):
        raise DefinitionError("a segment must be a JSON object")
    key = segment.get("key")
    if not isinstance(key, str) or not key.strip() or len(key) > 120:
        raise DefinitionError("a segment needs a 'key' (short text)")
    shapes = [name for name in ("breakdown", "criterion", "buckets") if name in segment]
    if len(shapes) != 1:
        raise DefinitionError(f"segment {key!r} needs exactly one of 'breakdown', "
                              "'criterion' or 'buckets'")
    if shapes == ["breakdown"]:
        return {"key": key, "breakdown": validate_breakdown(segment["breakdown"], schema)}
    if shapes == ["criterion"]:
        criterion = validate_criterion(segment["criterion"], schema)
        label = _label(segment.get("label") or describe_criterion(criterion))
        buckets = [{"label": label, "criterion": criterion}]
        return {"key": key, "buckets": buckets, "else": EVERYONE_ELSE}
    raw = segment["buckets"]
    if not isinstance(raw, list) or not raw or len(raw) > MAX_BUCKETS:
        raise DefinitionError(f"segment {key!r}: 'buckets' is a list of 1 to {MAX_BUCKETS} "
                              "{label, criterion}")
    buckets = []
    for bucket in raw:
        if not isinstance(bucket, dict) or set(bucket) != {"label", "criterion"}:
            raise DefinitionError(f"segment {key!r}: each bucket is {{label, criterion}}")
        buckets.append({"label": _label(bucket["label"]),
                        "criterion": validate_criterion(bucket["criterion"], schema)})
    rest = _label(segment.get("else") or EVERYONE_ELSE)
    labels = [b["label"] for b in buckets] + [rest]
    if len(set(labels)) != len(labels):
        raise DefinitionError(f"segment {key!r}: bucket labels must differ")
    return {"key": key, "buckets": buckets, "else": rest}


def _label(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DefinitionError("a bucket label is non-empty text")
    value = " ".join(value.split())
    return value if len(value) <= MAX_LABEL else value[: MAX_LABEL - 1] + "…"


# ---------------------------------------------------------------- week over week

ALL_USERS = "__all__"


def latest_complete_week(result: dict) -> int | None:
    """Index in result["weeks"] of the latest week that can be judged and has users (weeks
    without signups say nothing), or None."""
    complete = [i for i, week in enumerate(result["weeks"])
                if week["complete"] and week["users"]]
    return complete[-1] if complete else None


def week_changes(result: dict, *, week: int | None = None) -> dict:
    """Each bucket's rate in a week (the latest complete one by default) against the week
    before: {"week", "previous_week", "rows": [{"segment", "bucket", "now", "before",
    "diff", "p_value", "test", "q_value", "flagged"[, "note"]}], "tests", "flagged"}.
    With many buckets some moves pass p < 0.05 by chance alone, so the flag uses the
    Benjamini-Hochberg q-value over every comparison of the week."""
    index = latest_complete_week(result) if week is None else week
    weeks = result["weeks"]
    if index is None or index < 1:
        reason = ("no week is complete yet" if index is None
                  else "there is no earlier week to compare with")
        return {"week": weeks[index]["week"] if index is not None else None,
                "previous_week": None, "rows": [], "tests": 0, "flagged": 0,
                "note": f"Nothing to compare: {reason}."}
    rows = []

    def add(segment: str, bucket: str, now: list[int], before: list[int]) -> None:
        change = stats.change_test(now[1], now[0], before[1], before[0])
        rows.append({"segment": segment, "bucket": bucket,
                     "now": stats.side_summary(now[1], now[0]),
                     "before": stats.side_summary(before[1], before[0]), **change})

    add(ALL_USERS, "all users", [weeks[index]["users"], weeks[index]["successes"]],
        [weeks[index - 1]["users"], weeks[index - 1]["successes"]])
    for segment in result["segments"]:
        for bucket in segment["buckets"]:
            add(segment["key"], bucket["label"], bucket["weeks"][index],
                bucket["weeks"][index - 1])
    q_values = stats.bh_adjust([row["p_value"] for row in rows])
    for row, q in zip(rows, q_values, strict=True):
        row.pop("moved", None)
        row["q_value"] = q
        row["flagged"] = q is not None and q < SIGNIFICANCE
    return {"week": weeks[index]["week"], "previous_week": weeks[index - 1]["week"],
            "rows": rows, "tests": sum(1 for r in rows if r["p_value"] is not None),
            "flagged": sum(1 for r in rows if r["flagged"])}
