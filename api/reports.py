"""A session's report for API clients: the report page's content (sessions.report) as
JSON, and its Markdown export as the page offers it. While a session runs, entries not yet
revealed stay out of both, as on the page."""

from __future__ import annotations

from sessions.models import Hypothesis, WorkingSession
from sessions.report import Report, ReportEntry, build_report, report_markdown
from sessions.results import TestResult


def session_summary(session: WorkingSession) -> dict:
    return {
        "id": session.pk, "title": session.title, "step": session.step,
        "step_label": session.step_label, "dataset_id": session.dataset_id,
        "success_definition_id": session.success_definition_id,
        "facilitator": session.facilitator.name if session.facilitator else None,
        "created_at": session.created_at, "closed_at": session.closed_at,
    }


def hypothesis_out(entry: Hypothesis) -> dict:
    return {
        "id": entry.pk, "kind": entry.kind, "rank": entry.rank, "text": entry.text,
        "criterion": entry.criterion, "expected_direction": entry.expected_direction,
        "confidence": entry.confidence, "revealed": entry.revealed_at is not None,
        "created_at": entry.created_at,
    }


def session_report(session: WorkingSession) -> dict:
    report = build_report(session)
    definition = session.success_definition
    shown = len(report.hypotheses) + len(report.ideas)
    return {
        "session": session_summary(session),
        "dataset": {"id": session.dataset_id, "name": session.dataset.name},
        "success_definition": {
            "id": definition.pk, "name": definition.name, "version": definition.version,
            "definition": definition.definition, "description": definition.description,
        },
        "counts": dict(report.counts),
        "family_size": report.results.family_size,
        "hypotheses": [_entry_out(item) for item in report.hypotheses],
        "ideas": [_entry_out(item) for item in report.ideas],
        "hidden_entries": Hypothesis.objects.filter(session=session).count() - shown,
        "findings": [
            {"id": f.pk, "author": _name(f.author), "step": f.step, "kind": f.kind,
             "text": f.text, "test_id": f.test_id, "evidence": f.evidence,
             "created_at": f.created_at}
            for f in report.findings
        ],
        "next_steps": [
            {"id": n.pk, "kind": n.kind, "text": n.text, "owner": _name(n.owner),
             "due_date": n.due_date, "done_at": n.done_at}
            for n in report.next_steps
        ],
        "participants": [p.user.name for p in report.participants],
        "vote": _vote_out(report.vote) if report.vote else None,
    }


def session_markdown(session: WorkingSession) -> str:
    return report_markdown(build_report(session))


def _name(user) -> str | None:
    return user.name if user is not None else None


def _entry_out(item: ReportEntry) -> dict:
    return {
        **hypothesis_out(item.hypothesis),
        "author": _name(item.hypothesis.author),
        "result": _result_out(item.result) if item.result else None,
        "unsuccessful_side": _result_out(item.other_side) if item.other_side else None,
        "earlier_tests": item.earlier_tests,
    }


def _vote_out(board) -> dict:
    return {
        "dots_per_member": board.vote.dots_per_member, "voters": board.voters,
        "opened_at": board.vote.opened_at, "closed_at": board.vote.closed_at,
        "totals": [{"hypothesis_id": line.hypothesis.pk, "text": line.hypothesis.text,
                    "author": _name(line.hypothesis.author), "dots": line.total}
                   for line in board.lines],
    }


def _result_out(row: TestResult) -> dict:
    return {
        "test_id": row.test.pk, "status": row.status, "error": row.error,
        "criterion": row.test.criterion, "description": row.description,
        "population": row.population, "group": row.group, "rest": row.rest,
        "diff": row.diff, "lift": row.lift, "lift_ci95": row.lift_ci95,
        "p_value": row.p_value, "test": row.test_name, "note": row.note,
        "q_value": row.q_value, "expected": row.expected, "verdict": row.verdict,
        "direction": row.direction, "sentence": row.sentence,
        "overlap_warning": row.overlap_warning,
    }


__all__ = ["Report", "hypothesis_out", "session_markdown", "session_report",
           "session_summary"]
