"""A session's report for API clients: the report page's content as JSON, and its
Markdown export. What a member sees is what the report page shows them: entries still
hidden in an open session stay hidden, and so do the results of their tests."""

from __future__ import annotations

from accounts.models import User
from sessions import selectors as session_selectors
from sessions.models import Hypothesis, WorkingSession
from sessions.results import session_results


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


def _name(user: User | None) -> str | None:
    return user.name if user is not None else None


def session_report(session: WorkingSession, viewer: User) -> dict:
    definition = session.success_definition
    entries, hidden = [], {}
    for kind in Hypothesis.Kind.values:
        seen = session_selectors.entries_for(session, viewer, kind)
        for entry in seen.visible:
            entries.append({**hypothesis_out(entry), "author": _name(entry.author)})
        for author, count in seen.hidden.items():
            hidden[author] = hidden.get(author, 0) + count
    visible_ids = {entry["id"] for entry in entries}
    results = session_results(session)
    return {
        "session": session_summary(session),
        "dataset": {"id": session.dataset_id, "name": session.dataset.name},
        "success_definition": {
            "id": definition.pk, "name": definition.name, "version": definition.version,
            "definition": definition.definition, "description": definition.description,
        },
        "hypotheses": entries,
        "hidden_entries": hidden,
        "results": [_result_out(row) for row in results.rows
                    if row.test.hypothesis_id in visible_ids],
        "findings": [
            {"id": f.pk, "author": _name(f.author), "step": f.step, "kind": f.kind,
             "text": f.text, "test_id": f.test_id, "evidence": f.evidence,
             "created_at": f.created_at}
            for f in session_selectors.findings_of(session)
        ],
        "next_steps": [
            {"id": n.pk, "kind": n.kind, "text": n.text, "owner": _name(n.owner),
             "due_date": n.due_date, "done_at": n.done_at}
            for n in session_selectors.next_steps_of(session)
        ],
    }


def _result_out(row) -> dict:
    return {
        "test_id": row.test.pk, "hypothesis_id": row.test.hypothesis_id,
        "status": row.status, "error": row.error, "criterion": row.test.criterion,
        "description": row.description, "population": row.population,
        "group": row.group, "rest": row.rest, "diff": row.diff, "lift": row.lift,
        "lift_ci95": row.lift_ci95, "p_value": row.p_value, "test": row.test_name,
        "note": row.note, "q_value": row.q_value, "verdict": row.verdict,
        "sentence": row.sentence, "is_latest": row.is_latest,
        "overlap_warning": row.overlap_warning,
    }


def session_markdown(session: WorkingSession, viewer: User) -> str:
    from .markdown import report_markdown

    return report_markdown(session_report(session, viewer))
