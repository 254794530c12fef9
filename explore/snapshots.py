"""A finished explorer or console result as a finding's evidence: the numbers, the table
and the definitions that produced them, frozen (shape in sessions/evidence.py), so that
the report shows what the team saw even if the data or the definitions change later."""

from __future__ import annotations

import json
import math

from django.utils import timezone

from analytics.engine.definitions import describe_breakdown, describe_criterion
from analytics.models import AnalysisJob

MAX_TABLE_ROWS = 200
MAX_BYTES = 150_000  # under the sessions' 200 kB cap, with room for the rest

KIND_LABELS = {"analyze": "Breakdown", "compare": "Two groups", "stratify": "Confounding check",
               "sql": "SQL query"}
SOURCES = {"analyze": "breakdown", "compare": "comparison", "stratify": "confounding",
           "sql": "sql"}


def title_of(job: AnalysisJob) -> str:
    options = job.options or {}
    side = " (unsuccessful users)" if options.get("unsuccessful") else ""
    if job.kind == "analyze" and job.breakdown:
        return f"Success rate {describe_breakdown(job.breakdown)}{side}"
    if job.kind == "analyze" and job.criterion:  # a hypothesis test: its group vs the rest
        return f"{_text(describe_criterion(job.criterion))} vs the rest{side}"
    if job.kind == "analyze":
        return f"Success rate of everyone{side}"
    if job.kind == "compare":
        return (f"{_text(describe_criterion(job.criterion))} vs "
                f"{_text(describe_criterion(options.get('group_b') or {}))}{side}")
    if job.kind == "stratify":
        return (f"{_text(describe_criterion(job.criterion))} vs the rest, checked "
                f"{describe_breakdown(job.breakdown)}{side}")
    if job.kind == "sql":
        sql = " ".join(str(options.get("sql", "")).split())
        return f"SQL: {sql[:117]}…" if len(sql) > 120 else f"SQL: {sql}"
    return job.get_kind_display()


def tool_of(job: AnalysisJob) -> str:
    """Which tool asked it, in the words of the explorer's tabs ("analyze" jobs are either a
    breakdown or a session's hypothesis test, told apart by what they hold)."""
    if job.kind == "analyze" and not job.breakdown and job.criterion:
        return "Hypothesis test"
    return KIND_LABELS.get(job.kind, job.get_kind_display())


def _text(words: str) -> str:
    return words[:1].upper() + words[1:] if words else words


def definition_of(job: AnalysisJob, where) -> dict:
    options = job.options or {}
    success = where.success
    definition = {
        "dataset": job.dataset.name,
        "dataset_version": job.dataset_version,
        "success": job.success,
        "success_text": success.description if success else "",
        "success_name": str(success) if success else "",
    }
    if options.get("unsuccessful"):
        definition["unsuccessful"] = True
    if job.criterion is not None:
        definition["criterion"] = job.criterion
        definition["criterion_text"] = describe_criterion(job.criterion)
    if options.get("group_b") is not None:
        definition["group_b"] = options["group_b"]
        definition["group_b_text"] = describe_criterion(options["group_b"])
    if job.breakdown is not None:
        definition["breakdown"] = job.breakdown
        definition["breakdown_text"] = describe_breakdown(job.breakdown)
    if options.get("population_filter") is not None:
        definition["population_filter"] = options["population_filter"]
        definition["population_filter_text"] = describe_criterion(options["population_filter"])
    if options.get("sql"):
        definition["sql"] = options["sql"]
    return definition


def numbers_of(job: AnalysisJob) -> dict:
    result = job.result or {}
    if job.kind == "sql":
        return {key: result.get(key) for key in ("row_count", "truncated", "elapsed_ms")}
    if job.kind == "analyze":
        return {"population": result.get("population"), "p_value": result.get("p_value"),
                "test": result.get("test")}
    if job.kind == "compare":
        keys = ("population", "a", "b", "overlap", "diff", "lift", "lift_ci95", "p_value",
                "test", "note", "overlap_note")
    else:
        keys = ("population", "group", "rest", "diff", "lift", "lift_ci95", "p_value", "test",
                "odds_ratio", "mantel_haenszel", "simpson", "strata_against",
                "change_in_estimate", "confounding")
    return {key: result[key] for key in keys if key in result}


def table_of(job: AnalysisJob) -> dict | None:
    """The result's table as columns and rows of plain values."""
    result = job.result or {}
    if job.kind == "sql":
        return {"columns": [c["name"] for c in result.get("columns", [])],
                "rows": list(result.get("rows", []))}
    if job.kind == "analyze":
        columns = ["bucket", "users", "successes", "rate", "ci95_low", "ci95_high", "lift",
                   "p_value", "test"]
        rows = [[b["label"], b["users"], b["successes"], b["rate"], *(b["ci95"] or [None, None]),
                 b.get("lift"), b.get("p_value"), b.get("test")]
                for b in result.get("buckets", [])]
        return {"columns": columns, "rows": rows}
    if job.kind == "stratify":
        columns = ["stratum", "group_users", "group_successes", "group_rate", "rest_users",
                   "rest_successes", "rest_rate", "lift", "odds_ratio", "p_value"]
        rows = [[s["label"], s["group"]["users"], s["group"]["successes"], s["group"]["rate"],
                 s["rest"]["users"], s["rest"]["successes"], s["rest"]["rate"], s.get("lift"),
                 s.get("odds_ratio"), s.get("p_value")] for s in result.get("strata", [])]
        return {"columns": columns, "rows": rows}
    if job.kind == "compare":
        columns = ["group", "users", "successes", "rate", "ci95_low", "ci95_high"]
        rows = []
        for name in ("a", "b"):
            side = result.get(name) or {}
            rows.append([name.upper(), side.get("users"), side.get("successes"),
                         side.get("rate"), *(side.get("ci95") or [None, None])])
        return {"columns": columns, "rows": rows}
    return None


def _readable(cell):
    # Six significant digits are more than the page showed and keep the report legible.
    if isinstance(cell, float) and math.isfinite(cell):
        return float(f"{cell:.6g}")
    return cell


def evidence_of(job: AnalysisJob, where) -> dict:
    evidence = {
        "source": SOURCES.get(job.kind, job.kind),
        "title": title_of(job),
        "definition": definition_of(job, where),
        "numbers": numbers_of(job),
        "job": job.pk,
        "captured_at": timezone.now().isoformat(),
    }
    table = table_of(job)
    if table is not None:
        rows = [[_readable(cell) for cell in row] for row in table["rows"]]
        table["total_rows"] = len(rows)
        table["rows"] = rows[:MAX_TABLE_ROWS]
        evidence["table"] = table
        # Wide text cells can still make it too large: keep fewer rows, and say so.
        while len(json.dumps(evidence, default=str)) > MAX_BYTES and table["rows"]:
            table["rows"] = table["rows"][: len(table["rows"]) // 2]
        table["cut"] = len(table["rows"]) < len(rows)
    return json.loads(json.dumps(evidence, default=str))
