"""The step machine: one step forward at a time, back while open, never out of Closed,
the facilitator only, and a double-clicked "Next" moves once."""

import pytest

from sessions import services, steps
from sessions.models import SessionEvent
from sessions.steps import Step

from .factories import move_to


def test_steps_are_in_the_meeting_order():
    assert steps.ORDER == ("align", "hypotheses", "test", "explore", "dig", "results",
                           "next_steps", "unsuccessful", "closed")


@pytest.mark.parametrize(("current", "target", "allowed"), [
    ("align", "hypotheses", True),
    ("align", "test", False),  # no skipping
    ("test", "align", True),  # back to any earlier step
    ("dig", "hypotheses", True),
    ("unsuccessful", "closed", True),
    ("closed", "unsuccessful", False),
    ("test", "test", False),
    ("test", "nowhere", False),
])
def test_move_rules(current, target, allowed):
    assert (steps.move_problem(current, target) is None) is allowed


def test_facilitator_moves_forward_and_the_move_is_logged(session, owner):
    moved = services.step_move(session=session, by=owner, to=Step.HYPOTHESES,
                               expected=Step.ALIGN)
    assert moved.step == Step.HYPOTHESES
    assert moved.revision > session.revision
    event = SessionEvent.objects.get(session=session, kind=SessionEvent.Kind.STEP)
    assert event.data == {"from": "align", "to": "hypotheses"} and event.actor == owner


def test_a_double_clicked_next_moves_one_step(session, owner):
    services.step_move(session=session, by=owner, to=Step.HYPOTHESES, expected=Step.ALIGN)
    with pytest.raises(services.StaleStep):
        # The second click was drawn at Align too: it asks Align -> Hypotheses again.
        services.step_move(session=session, by=owner, to=Step.HYPOTHESES, expected=Step.ALIGN)
    session.refresh_from_db()
    assert session.step == Step.HYPOTHESES
    assert SessionEvent.objects.filter(session=session, kind="step").count() == 1


def test_skipping_a_step_is_refused(session, owner):
    with pytest.raises(services.BadInput, match="one at a time"):
        services.step_move(session=session, by=owner, to=Step.TEST, expected=Step.ALIGN)


def test_only_the_facilitator_moves(session, teammate):
    with pytest.raises(services.NotAllowed, match="Only the facilitator"):
        services.step_move(session=session, by=teammate, to=Step.HYPOTHESES,
                           expected=Step.ALIGN)
    session.refresh_from_db()
    assert session.step == Step.ALIGN


def test_back_to_an_earlier_step_keeps_the_timer(session, owner):
    session = move_to(session, Step.TEST_AND_LEARN)
    started = session.dig_started_at
    assert started is not None
    session = services.step_move(session=session, by=owner, to=Step.EXPLORE, expected=Step.TEST_AND_LEARN)
    session = services.step_move(session=session, by=owner, to=Step.TEST_AND_LEARN, expected=Step.EXPLORE)
    assert session.dig_started_at == started
    assert SessionEvent.objects.filter(session=session, kind="timer_started").count() == 1


def test_closing_ends_everything(session, owner, teammate):
    session = move_to(session, Step.UNSUCCESSFUL)
    session = services.step_move(session=session, by=owner, to=Step.CLOSED,
                                 expected=Step.UNSUCCESSFUL)
    assert session.is_closed and session.closed_at is not None
    with pytest.raises(services.StepClosed):
        services.step_move(session=session, by=owner, to=Step.UNSUCCESSFUL,
                           expected=Step.CLOSED)
    with pytest.raises(services.StepClosed):
        services.entries_reveal(session=session, by=owner)
    with pytest.raises(services.StepClosed):
        services.definition_confirm(session=session, by=teammate)


def test_the_facilitator_can_end_early_but_not_from_a_stale_page(session, owner):
    with pytest.raises(services.StaleStep):
        services.session_close(session=session, by=owner, expected=Step.TEST)
    closed = services.session_close(session=session, by=owner, expected=Step.ALIGN)
    assert closed.is_closed
