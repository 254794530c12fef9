"""The evidence a finding keeps: a frozen snapshot of what its author saw.

Shape (every key optional except "source" and "title"; other tools, e.g. the explorer
and the SQL console, write the same shape):

    {"source": "test" | "breakdown" | "comparison" | "sql" | ...,
     "title": "plain words: what this is",
     "definition": {"success": {...}, "success_text": "...",
                    "criterion": {...}, "criterion_text": "...", ...},
     "numbers": {"group": {...}, "rest": {...}, "lift": ..., "lift_ci95": [...],
                 "p_value": ..., "q_value": ..., "verdict": "...",
                 "direction": "more" | "less" | null},
     "table": {"columns": ["bucket", "users", ...], "rows": [[...], ...]},
     "captured_at": "ISO 8601"}
"""

from __future__ import annotations

import json

from django.utils import timezone

from analytics.engine.refusals import Refused

from .results import TestResult

MAX_EVIDENCE_BYTES = 200_000
MAX_TABLE_ROWS = 500


class EvidenceError(Refused, ValueError):
    pass


def from_test_result(row: TestResult) -> dict:
    test = row.test
    definition = test.success_definition
    evidence = {
        "source": "test",
        "title": f"Test of “{test.hypothesis.text}”",
        "definition": {
            "success": definition.definition,
            "success_text": definition.description,
            "success_name": str(definition),
            "criterion": test.criterion,
            "criterion_text": row.description,
        },
        "captured_at": timezone.now().isoformat(),
    }
    if row.is_done and row.group is not None:
        evidence["numbers"] = {
            "group": row.group, "rest": row.rest, "lift": row.lift,
            "lift_ci95": row.lift_ci95, "p_value": row.p_value, "q_value": row.q_value,
            "verdict": row.verdict, "direction": row.direction, "test": row.test_name,
            "population": row.population,
        }
    else:
        evidence["numbers"] = {"status": row.status}
    return evidence


def clean(evidence: dict | None) -> dict | None:
    """Check a snapshot from another tool: the documented shape, JSON, not too large."""
    if evidence is None:
        return None
    if not isinstance(evidence, dict) or not isinstance(evidence.get("title"), str) \
            or not isinstance(evidence.get("source"), str):
        raise EvidenceError("Evidence is a JSON object with at least a source and a title.")
    try:
        text = json.dumps(evidence, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise EvidenceError(f"Evidence must be plain JSON: {error}") from error
    if len(text.encode()) > MAX_EVIDENCE_BYTES:
        raise EvidenceError("That evidence is too large to keep; save fewer rows.")
    table = evidence.get("table")
    if table is not None:
        if not isinstance(table, dict) or not isinstance(table.get("columns"), list) \
                or not isinstance(table.get("rows"), list):
            raise EvidenceError("An evidence table has columns and rows.")
        if len(table["rows"]) > MAX_TABLE_ROWS:
            raise EvidenceError(f"Keep at most {MAX_TABLE_ROWS} rows of a table as evidence.")
    evidence.setdefault("captured_at", timezone.now().isoformat())
    return json.loads(text) | {"captured_at": evidence["captured_at"]}
