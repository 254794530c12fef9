"""The demo team's past session: complete, closed, readable, built through the services."""

import pytest

from ops.demo import ensure_demo
from sessions.models import Finding, Hypothesis, NextStep, SessionEvent, WorkingSession
from sessions.report import build_report, report_markdown
from sessions.results import session_results
from sessions.steps import Step


@pytest.mark.slow
def test_the_demo_session_is_a_complete_closed_meeting_with_a_readable_report(db):
    demo = ensure_demo(n_users=900)
    session = WorkingSession.objects.get(team=demo.team)
    assert session.step == Step.CLOSED and session.closed_at is not None
    assert session.facilitator == demo.members[0]
    assert session.participants.count() == 3
    assert Hypothesis.objects.filter(session=session, kind="hypothesis").count() == 9
    assert Hypothesis.objects.filter(session=session, kind="idea").count() >= 2
    results = session_results(session)
    assert results.pending == 0 and all(row.is_done for row in results.rows)
    verdicts = {row.test.hypothesis.text: row.verdict for row in results.latest}
    # The demo product's real effects are found; the null one is not.
    assert verdicts["Users who invite a teammate in their first week subscribe more often"] \
        == "supported"
    assert verdicts["Teams that connect an integration in the first two weeks subscribe more"] \
        == "supported"
    assert verdicts["Women subscribe more often than the rest"] == "inconclusive"
    assert Finding.objects.filter(session=session, kind="unsuccessful").exists()
    assert Finding.objects.filter(session=session, step="dig").count() == 3
    assert NextStep.objects.filter(session=session).count() == 3
    assert SessionEvent.objects.filter(session=session, kind="timer_extended").exists()
    # Laid out as a meeting in the past, steps in order.
    steps = list(SessionEvent.objects.filter(session=session, kind="step")
                 .order_by("at").values_list("data__to", flat=True))
    assert steps == ["hypotheses", "test", "explore", "dig", "results", "next_steps",
                     "unsuccessful"]
    assert session.created_at < session.dig_started_at < session.closed_at

    text = report_markdown(build_report(session))
    assert "# What makes trial users subscribe in their first two weeks?" in text
    assert "Inviting a teammate in week one is the strongest early signal" in text
    assert "A/B test an “invite a teammate” prompt" in text
    assert "extended the timer by 5 min" in text

    ensure_demo(n_users=900)  # loading the demo again adds no second session
    assert WorkingSession.objects.filter(team=demo.team).count() == 1
