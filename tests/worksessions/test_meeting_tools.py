"""The facilitator's meeting tools, through the services: an advisory timebox on a step
(Test and learn keeps its enforced timer), dot-voting on the revealed hypotheses with the
dots hidden until the vote closes, tests queued in vote order, and the votes in the
report, its Markdown and the API's JSON. Times are relative to now; the clock moves with
time-machine, never by sleeping."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from api.reports import session_report
from sessions import selectors, services
from sessions.clock import session_clock
from sessions.models import Dot, DotVote, Hypothesis, HypothesisTest, SessionEvent
from sessions.report import build_report, report_markdown
from sessions.steps import Step

from .factories import INVITED, LOGINS, PRO, make_session, move_to

US = timedelta(microseconds=1)


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0) + timedelta(days=1)


@pytest.fixture
def hypotheses(session, owner, teammate):
    """At Hypotheses, three revealed hypotheses: two of Tom's, one of Olivia's."""
    session = move_to(session, Step.HYPOTHESES)
    made = [services.hypothesis_create(session=session, author=teammate, text="Inviters buy",
                                       criterion=INVITED),
            services.hypothesis_create(session=session, author=teammate, text="Pro buys",
                                       criterion=PRO),
            services.hypothesis_create(session=session, author=owner, text="Regulars buy",
                                       criterion=LOGINS)]
    services.entries_reveal(session=session, by=owner)
    session.refresh_from_db()
    return session, made


# ---------------------------------------------------------------- the timebox


def test_the_facilitator_timeboxes_the_current_step_and_it_is_logged(session, owner, now):
    session = move_to(session, Step.HYPOTHESES)
    revision = session.revision
    with time_machine.travel(now, tick=False):
        boxed = services.timebox_set(session=session, by=owner, minutes=10)
        clock = session_clock(boxed)
    assert boxed.timebox_deadline() == now + timedelta(minutes=10)
    assert boxed.revision == revision + 1
    assert clock.deadline == now + timedelta(minutes=10) and not clock.enforced
    assert clock.remaining_seconds == 600 and not clock.is_over
    event = SessionEvent.objects.get(session=session, kind="timebox_set")
    assert event.actor == owner and event.data["minutes"] == 10
    assert event.data["step"] == Step.HYPOTHESES


def test_at_zero_the_timebox_says_times_up_and_refuses_nothing(session, owner, teammate, now):
    session = move_to(session, Step.HYPOTHESES)
    with time_machine.travel(now, tick=False):
        session = services.timebox_set(session=session, by=owner, minutes=5)
    deadline = now + timedelta(minutes=5)
    with time_machine.travel(deadline - US, tick=False):
        assert not session_clock(session).is_over
    with time_machine.travel(deadline, tick=False):
        clock = session_clock(session)
        assert clock.is_over and clock.remaining_seconds == 0
        assert "Time's up" in clock.over_text
        # Advisory: writes of the step go on after zero.
        services.hypothesis_create(session=session, author=teammate, text="late but fine")
    with time_machine.travel(deadline + timedelta(hours=2), tick=False):
        services.hypothesis_create(session=session, author=teammate, text="much later")
    assert Hypothesis.objects.filter(session=session).count() == 2


def test_only_the_facilitator_sets_a_timebox_within_bounds(session, owner, teammate):
    session = move_to(session, Step.HYPOTHESES)
    with pytest.raises(services.NotAllowed):
        services.timebox_set(session=session, by=teammate, minutes=5)
    for minutes in (-1, 181, "5", None):
        with pytest.raises(services.BadInput):
            services.timebox_set(session=session, by=owner, minutes=minutes)
    with pytest.raises(services.BadInput):
        services.timebox_set(session=session, by=owner, minutes=5, step="nowhere")
    session.refresh_from_db()
    assert session.timebox_deadline() is None
    assert not SessionEvent.objects.filter(kind__startswith="timebox").exists()


def test_test_and_learn_keeps_its_enforced_timer(session, owner, teammate, now):
    session = move_to(session, Step.HYPOTHESES)
    with pytest.raises(services.BadInput, match="own timer"):
        services.timebox_set(session=session, by=owner, minutes=5, step=Step.TEST_AND_LEARN)
    with time_machine.travel(now, tick=False):
        dig = move_to(session, Step.TEST_AND_LEARN)
        with pytest.raises(services.BadInput):
            services.timebox_set(session=dig, by=owner, minutes=5)
        clock = session_clock(dig)
    assert clock.enforced and clock.deadline == dig.dig_deadline() == now + timedelta(minutes=20)
    with time_machine.travel(dig.dig_deadline(), tick=False):
        assert session_clock(dig).is_over
        with pytest.raises(services.StepClosed, match="Time is up"):
            services.finding_create(session=dig, author=teammate, text="too late",
                                    step=Step.TEST_AND_LEARN)


def test_a_planned_timebox_starts_when_the_session_enters_its_step(session, owner, now):
    session = move_to(session, Step.HYPOTHESES)
    with time_machine.travel(now, tick=False):
        planned = services.timebox_set(session=session, by=owner, minutes=7, step=Step.TEST)
    assert planned.timebox_deadline() is None and planned.timebox_plan == {"test": 7}
    later = now + timedelta(minutes=30)
    with time_machine.travel(later, tick=False):
        at_test = move_to(planned, Step.TEST)
    assert at_test.timebox_deadline() == later + timedelta(minutes=7)
    started = SessionEvent.objects.get(session=session, kind="timebox_set")
    assert started.data == {"step": "test", "minutes": 7, "planned": True,
                            "deadline": (later + timedelta(minutes=7)).isoformat()}
    assert SessionEvent.objects.filter(kind="timebox_planned", data__minutes=7).count() == 1
    # The next step has none planned: the timebox ended with its step.
    at_explore = move_to(at_test, Step.EXPLORE)
    assert at_explore.timebox_deadline() is None and session_clock(at_explore).deadline is None


def test_zero_removes_the_timebox_and_the_plan(session, owner):
    session = move_to(session, Step.HYPOTHESES)
    services.timebox_set(session=session, by=owner, minutes=5)
    services.timebox_set(session=session, by=owner, minutes=5, step=Step.RESULTS)
    services.timebox_set(session=session, by=owner, minutes=0)
    cleared = services.timebox_set(session=session, by=owner, minutes=0, step=Step.RESULTS)
    assert cleared.timebox_deadline() is None and cleared.timebox_plan == {}
    assert SessionEvent.objects.filter(kind="timebox_cleared").count() == 1


def test_a_closed_session_has_no_clock_and_takes_no_timebox(session, owner):
    closed = services.session_close(session=session, by=owner)
    assert session_clock(closed) is None
    with pytest.raises(services.StepClosed):
        services.timebox_set(session=closed, by=owner, minutes=5)


# ---------------------------------------------------------------- dot-voting


def test_a_vote_opens_on_revealed_hypotheses_only_once(session, owner, teammate, hypotheses):
    session, _ = hypotheses
    with pytest.raises(services.NotAllowed):
        services.vote_open(session=session, by=teammate)
    vote = services.vote_open(session=session, by=owner)
    assert vote.dots_per_member == 3 and vote.is_open
    with pytest.raises(services.StepClosed, match="already open"):
        services.vote_open(session=session, by=owner, dots_per_member=2)
    for bad in (0, 11, "3"):
        with pytest.raises(services.BadInput):
            services.vote_open(session=session, by=owner, dots_per_member=bad)
    opened = SessionEvent.objects.get(session=session, kind="vote_opened")
    assert opened.actor == owner and opened.data["dots_per_member"] == 3


def test_no_vote_before_anything_is_revealed_or_outside_the_hypothesis_steps(session, owner,
                                                                            teammate):
    session = move_to(session, Step.HYPOTHESES)
    services.hypothesis_create(session=session, author=teammate, text="hidden one")
    with pytest.raises(services.BadInput, match="Reveal"):
        services.vote_open(session=session, by=owner)
    services.entries_reveal(session=session, by=owner)
    explore = move_to(session, Step.EXPLORE)
    with pytest.raises(services.StepClosed):
        services.vote_open(session=explore, by=owner)
    assert not DotVote.objects.exists()


def test_a_member_places_n_dots_several_on_one_and_no_more(session, owner, teammate,
                                                          hypotheses):
    session, (inviters, pro, regulars) = hypotheses
    services.vote_open(session=session, by=owner, dots_per_member=3)
    for target in (inviters, inviters, regulars):
        services.dot_place(session=session, by=teammate, hypothesis=target)
    with pytest.raises(services.LimitReached, match="all 3"):
        services.dot_place(session=session, by=teammate, hypothesis=pro)
    services.dot_remove(session=session, by=teammate, hypothesis=inviters)
    services.dot_place(session=session, by=teammate, hypothesis=pro)
    mine = sorted(Dot.objects.filter(voter=teammate).values_list("hypothesis__text", flat=True))
    assert mine == ["Inviters buy", "Pro buys", "Regulars buy"]
    with pytest.raises(services.BadInput, match="no dot"):
        services.dot_remove(session=session, by=owner, hypothesis=pro)


def test_dots_go_only_on_revealed_hypotheses_of_the_session(session, owner, teammate,
                                                           hypotheses, third):
    session, (inviters, *_) = hypotheses
    hidden = services.hypothesis_create(session=session, author=owner, text="not shown yet")
    services.vote_open(session=session, by=owner)
    with pytest.raises(services.BadInput):
        services.dot_place(session=session, by=teammate, hypothesis=hidden)
    with pytest.raises(services.NotAllowed):  # not a participant
        services.dot_place(session=session, by=third, hypothesis=inviters)
    other = move_to(make_session(session.team, owner, dataset=session.dataset,
                                 success=session.success_definition, title="Another"),
                    Step.HYPOTHESES)
    services.hypothesis_create(session=other, author=owner, text="theirs")
    services.entries_reveal(session=other, by=owner)
    services.vote_open(session=other, by=owner)
    with pytest.raises(services.BadInput):
        services.dot_place(session=other, by=owner, hypothesis=inviters)
    assert not Dot.objects.exists()


def test_dots_stay_hidden_until_the_facilitator_closes_the_vote(session, owner, teammate,
                                                               hypotheses):
    session, (inviters, pro, regulars) = hypotheses
    with pytest.raises(services.StepClosed, match="No vote"):
        services.dot_place(session=session, by=teammate, hypothesis=inviters)
    services.vote_open(session=session, by=owner)
    services.dot_place(session=session, by=teammate, hypothesis=pro)
    services.dot_place(session=session, by=teammate, hypothesis=pro)
    services.dot_place(session=session, by=owner, hypothesis=regulars)
    board = selectors.vote_board(session, owner)
    assert board.is_open and board.voters == 2
    assert {line.hypothesis.text: line.mine for line in board.lines} == {
        "Inviters buy": 0, "Pro buys": 0, "Regulars buy": 1}
    assert all(line.total is None for line in board.lines)
    assert board.dots_left == 2
    with pytest.raises(services.NotAllowed):
        services.vote_close(session=session, by=teammate)
    services.vote_close(session=session, by=owner)
    board = selectors.vote_board(session, teammate)
    assert [(line.hypothesis.text, line.total, line.mine) for line in board.lines] == [
        ("Pro buys", 2, 2), ("Regulars buy", 1, 0), ("Inviters buy", 0, 0)]
    closed = SessionEvent.objects.get(session=session, kind="vote_closed")
    assert closed.data == {"dots": 3, "totals": [{"hypothesis": "Pro buys", "dots": 2},
                                                 {"hypothesis": "Regulars buy", "dots": 1}]}
    with pytest.raises(services.StepClosed, match="No vote"):
        services.dot_place(session=session, by=teammate, hypothesis=inviters)
    with pytest.raises(services.StepClosed, match="No vote"):
        services.vote_close(session=session, by=owner)


def test_every_vote_write_bumps_the_revision(session, owner, teammate, hypotheses):
    session, (inviters, *_) = hypotheses
    revisions = [session.revision]
    for write in (lambda: services.vote_open(session=session, by=owner),
                  lambda: services.dot_place(session=session, by=teammate, hypothesis=inviters),
                  lambda: services.dot_remove(session=session, by=teammate, hypothesis=inviters),
                  lambda: services.vote_close(session=session, by=owner)):
        write()
        session.refresh_from_db()
        revisions.append(session.revision)
    assert revisions == list(range(revisions[0], revisions[0] + 5))


def test_the_tests_run_in_vote_order(session, owner, teammate, hypotheses):
    session, (inviters, pro, regulars) = hypotheses
    session = move_to(session, Step.TEST)
    with pytest.raises(services.BadInput, match="No vote"):
        services.session_tests_run_in_vote_order(session=session, by=owner)
    services.vote_open(session=session, by=owner)
    for target in (regulars, regulars, pro):
        services.dot_place(session=session, by=teammate, hypothesis=target)
    services.dot_place(session=session, by=owner, hypothesis=regulars)
    services.vote_close(session=session, by=owner)
    with pytest.raises(services.NotAllowed):
        services.session_tests_run_in_vote_order(session=session, by=teammate)
    made = services.session_tests_run_in_vote_order(session=session, by=owner)
    assert [t.hypothesis.text for t in made] == ["Regulars buy", "Pro buys"]
    queued = HypothesisTest.objects.filter(session=session).order_by("job__created_at", "job_id")
    assert [t.hypothesis_id for t in queued] == [regulars.pk, pro.pk]
    # Unvoted ones are left to "Run all tests"; asking again queues nothing new.
    assert not inviters.tests.exists()
    services.session_tests_run_in_vote_order(session=session, by=owner)
    assert HypothesisTest.objects.filter(session=session).count() == 2


def test_the_report_its_markdown_and_the_api_show_the_closed_vote(session, owner, teammate,
                                                                 hypotheses):
    session, (inviters, pro, regulars) = hypotheses
    services.vote_open(session=session, by=owner, dots_per_member=2)
    services.dot_place(session=session, by=teammate, hypothesis=inviters)
    services.dot_place(session=session, by=teammate, hypothesis=inviters)
    services.dot_place(session=session, by=owner, hypothesis=pro)
    assert build_report(session).vote is None  # still open: nothing to show
    assert session_report(session)["vote"] is None
    services.vote_close(session=session, by=owner)
    report = build_report(session)
    assert [(line.hypothesis.pk, line.total) for line in report.vote.lines] == [
        (inviters.pk, 2), (pro.pk, 1), (regulars.pk, 0)]
    markdown = report_markdown(report)
    assert "## Dot vote" in markdown
    assert "1. Inviters buy (Tom Teammate): 2 dots" in markdown
    assert "2. Pro buys (Tom Teammate): 1 dot\n" in markdown
    assert "closed the dot vote (3 dots placed)" in markdown
    document = session_report(session)["vote"]
    assert document["dots_per_member"] == 2 and document["voters"] == 2
    assert [(t["hypothesis_id"], t["dots"]) for t in document["totals"]] == [
        (inviters.pk, 2), (pro.pk, 1), (regulars.pk, 0)]
