"""The report: one page and a Markdown export holding the definition, every hypothesis
with author, expectation, result, q and verdict, findings with evidence, next steps, who
took part and the timer log; and a member's record over all sessions."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from statsmodels.stats.multitest import multipletests

from sessions import services
from sessions.models import Finding, NextStep
from sessions.report import build_report, report_markdown
from sessions.selectors import member_record
from sessions.steps import Step

from .factories import INVITED, MOBILE_FIRST, PRO, make_session, move_to


@pytest.fixture
def finished(session, owner, teammate):
    """A whole meeting, closed: three tested hypotheses, an untested one, findings of each
    kind, a next step, a timer extension."""
    start = (session.created_at + timedelta(minutes=2)).replace(second=0, microsecond=0)
    with time_machine.travel(start, tick=False):
        session = move_to(session, Step.HYPOTHESES)
        services.hypothesis_create(session=session, author=teammate, text="Inviters | buy *more*",
                                   criterion=INVITED, expected_direction="more", confidence=80)
        services.hypothesis_create(session=session, author=teammate, text="Pro buys more",
                                   criterion=PRO, expected_direction="less", confidence=65)
        services.hypothesis_create(session=session, author=owner, text="Mobile-first buys less",
                                   criterion=MOBILE_FIRST, expected_direction="less")
        services.hypothesis_create(session=session, author=owner, text="Nothing to test here")
        services.entries_reveal(session=session, by=owner)
        session = move_to(session, Step.TEST)
        tests = services.session_tests_run(session=session, by=owner)
        inviters = next(t for t in tests if t.hypothesis.text.startswith("Inviters"))
        services.finding_create(session=session, author=teammate, step=Step.TEST,
                                text="Inviting is the signal", test=inviters)
        session = move_to(session, Step.TEST_AND_LEARN)
    with time_machine.travel(start + timedelta(minutes=19), tick=False):
        services.timer_extend(session=session, by=owner, minutes=5)
        services.finding_create(session=session, author=owner, step=Step.TEST_AND_LEARN,
                                kind=Finding.Kind.UNSUCCESSFUL,
                                text="Device tells us nothing once plan is known")
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        session = move_to(session, Step.NEXT_STEPS)
        services.next_step_create(session=session, by=owner, owner=teammate,
                                  text="A/B test the invite prompt", kind=NextStep.Kind.EXPERIMENT,
                                  due_date=start.date() + timedelta(days=30))
        session = move_to(session, Step.UNSUCCESSFUL)
        session = services.session_close(session=session, by=owner)
    return session


def test_the_report_holds_every_part_of_the_meeting(finished):
    report = build_report(finished)
    assert [e.hypothesis.text for e in report.hypotheses] == [
        "Mobile-first buys less", "Nothing to test here", "Inviters | buy *more*",
        "Pro buys more"]
    tested = [e for e in report.hypotheses if e.result]
    reference = multipletests([e.result.p_value for e in tested], method="fdr_bh")[1]
    assert sorted(e.result.q_value for e in tested) == pytest.approx(sorted(reference))
    assert len(report.findings) == 2 and len(report.next_steps) == 1
    assert [p.user.name for p in report.participants] == ["Olivia Owner", "Tom Teammate"]
    assert [e.kind for e in report.timer_events] == ["timer_started", "timer_extended"]


def test_the_markdown_export_contains_it_all(client, finished, teammate):
    client.force_login(teammate)
    address = reverse("worksessions:session_report_md",
                      kwargs={"team_slug": finished.team.slug, "session_id": finished.pk})
    response = client.get(address)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    day = finished.created_at.strftime("%Y-%m-%d")
    assert f'filename="what-makes-users-purchase-{day}.md"' in response["Content-Disposition"]
    text = response.content.decode()
    assert text == report_markdown(build_report(finished))
    assert text.startswith("# What makes users purchase?\n")
    assert "Users who did purchase within 14 days of first visit" in text
    # User text is escaped, so that it cannot break the Markdown (tables, emphasis).
    assert "### Inviters \\| buy \\*more\\*" in text
    assert "- Author: Tom Teammate (rank 1)" in text
    assert "- Expected: succeed more often, 80% sure" in text
    assert "- Result: Supported (expectation right)." in text
    assert "Users who did invite\\_teammate in the first 7 days succeed more often" in text
    assert "- Expected: succeed less often, 65% sure" in text
    assert "none (not tested)" in text
    assert "**Finding** (Tom Teammate, in Test): Inviting is the signal" in text
    assert "Evidence: Test of “Inviters \\| buy \\*more\\*”" in text
    assert "**Unsuccessful (still worth knowing)** (Olivia Owner, in Test and learn)" in text
    due = (finished.dig_started_at.date() + timedelta(days=30)).isoformat()
    assert ("- [ ] A/B test the invite prompt — experiment to run, owner Tom Teammate, "
            f"due {due}") in text
    assert "- Olivia Owner (facilitator)\n- Tom Teammate" in text
    assert "Olivia Owner extended the timer by 5 min" in text
    assert f"started {finished.dig_started_at:%H:%M:%S} UTC" in text
    assert "Olivia Owner closed the session" in text
    results_table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(results_table) == 1 + 3  # header + three tested hypotheses
    assert all(line.count(" | ") == 9 for line in results_table[1:])


def test_the_report_page_shows_the_same(client, finished, owner):
    client.force_login(owner)
    page = client.get(reverse("worksessions:session_report",
                              kwargs={"team_slug": finished.team.slug,
                                      "session_id": finished.pk}))
    html = page.content.decode()
    assert page.status_code == 200
    for expected in ("Inviters | buy *more*", "Nothing to test here", "Inviting is the signal",
                     "A/B test the invite prompt", "Timer and log", "expectation right",
                     "Lift"):
        assert expected in html, expected


def test_a_running_session_reports_only_what_was_revealed(session, owner, teammate):
    session = move_to(session, Step.HYPOTHESES)
    services.hypothesis_create(session=session, author=teammate, text="still hidden")
    assert build_report(session).hypotheses == []
    services.entries_reveal(session=session, by=owner)
    assert [e.hypothesis.text for e in build_report(session).hypotheses] == ["still hidden"]


def test_a_member_record_counts_right_and_wrong_expectations(finished, team, owner, teammate,
                                                              client):
    record = member_record(team, teammate)
    # Inviters: expected more, supported -> right. Pro: expected less; the data says
    # more or nothing -> wrong or unsettled, never right.
    outcomes = {e["hypothesis"].text: e["outcome"] for e in record.entries}
    assert outcomes["Inviters | buy *more*"] == "right"
    assert outcomes["Pro buys more"] in ("wrong", None)
    assert record.right == 1 and record.right + record.wrong + record.unsettled == 2
    assert len(record.entries) == 2  # each entry once
    # A second session adds to the same record.
    later = move_to(make_session(team, owner, members=(teammate,), dataset=finished.dataset,
                                 success=finished.success_definition, title="Again"),
                    Step.HYPOTHESES)
    services.hypothesis_create(session=later, author=teammate, text="Invite again",
                               criterion=INVITED, expected_direction="less", confidence=95)
    later = move_to(later, Step.TEST)
    services.session_tests_run(session=later, by=owner)
    record = member_record(team, teammate)
    assert record.right == 1 and record.wrong >= 1 and len(record.entries) == 3
    assert {c["confidence"] for c in record.by_confidence} >= {80, 95}
    client.force_login(owner)
    page = client.get(reverse("worksessions:member_record",
                              kwargs={"team_slug": team.slug, "user_id": teammate.pk}))
    assert page.status_code == 200 and "Invite again" in page.content.decode()
