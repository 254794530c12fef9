"""A session's report: one page and its Markdown export, from the same data.

Success definition, every hypothesis and new idea with its author, expectation, result,
q and verdict, the unsuccessful side, findings with their evidence, next steps, who took
part, and the timer log."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.template.loader import render_to_string

from . import selectors, steps
from .models import Hypothesis, SessionEvent, WorkingSession
from .results import SessionResults, TestResult, session_results

TIMER_EVENTS = (SessionEvent.Kind.TIMER_STARTED, SessionEvent.Kind.TIMER_EXTENDED,
                SessionEvent.Kind.DURATION_SET)


@dataclass
class ReportEntry:
    hypothesis: Hypothesis
    result: TestResult | None
    other_side: TestResult | None
    earlier_tests: int = 0


@dataclass
class Report:
    session: WorkingSession
    results: SessionResults
    hypotheses: list[ReportEntry] = field(default_factory=list)
    ideas: list[ReportEntry] = field(default_factory=list)
    findings: list = field(default_factory=list)
    next_steps: list = field(default_factory=list)
    participants: list = field(default_factory=list)
    events: list = field(default_factory=list)
    timer_events: list = field(default_factory=list)
    # The last closed dot vote (selectors.VoteBoard), most dots first; None without one.
    vote: selectors.VoteBoard | None = None

    @property
    def counts(self) -> dict[str, int]:
        return self.results.counts()

    @property
    def step_label(self) -> str:
        return steps.label(self.session.step)


def build_report(session: WorkingSession) -> Report:
    results = session_results(session)
    other = {row.test.pk: row for row in session_results(session, unsuccessful=True).rows}
    latest = results.latest_by_hypothesis()
    tests_per_entry: dict[int, int] = {}
    for row in results.rows:
        tests_per_entry[row.test.hypothesis_id] = tests_per_entry.get(row.test.hypothesis_id,
                                                                      0) + 1
    report = Report(session=session, results=results)
    entries = (Hypothesis.objects.filter(session=session).select_related("author")
               .order_by("kind", "author__display_name", "author__email", "rank", "pk"))
    for entry in entries:
        # Hidden entries belong in the record once the session is closed; while it runs,
        # the report (like the page) shows only what has been revealed.
        if entry.revealed_at is None and not session.is_closed:
            continue
        row = latest.get(entry.pk)
        item = ReportEntry(hypothesis=entry, result=row,
                           other_side=other.get(row.test.pk) if row else None,
                           earlier_tests=max(0, tests_per_entry.get(entry.pk, 0) - 1))
        (report.ideas if entry.kind == Hypothesis.Kind.IDEA else report.hypotheses).append(item)
    report.findings = selectors.findings_of(session)
    report.next_steps = selectors.next_steps_of(session)
    report.participants = selectors.participants_of(session)
    report.events = selectors.timer_log(session)
    report.timer_events = [e for e in report.events if e.kind in TIMER_EVENTS]
    report.vote = selectors.vote_board(session, None, closed_only=True)
    return report


def report_markdown(report: Report) -> str:
    text = render_to_string("worksessions/report.md", {"report": report,
                                                        "session": report.session})
    # Templates leave blank lines where tags were; Markdown needs at most one.
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
