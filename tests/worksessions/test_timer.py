"""The "Test and learn" countdown belongs to the server: at the deadline (not a
microsecond later) new findings and ideas for the step are refused; the facilitator's
extension reopens it and is logged."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from sessions import services
from sessions.models import Finding, Hypothesis, SessionEvent
from sessions.steps import Step

from .factories import move_to

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
US = timedelta(microseconds=1)


@pytest.fixture
def dig(session):
    """The session entered Test and learn at T0 with a 20-minute countdown."""
    with time_machine.travel(T0, tick=False):
        return move_to(session, Step.TEST_AND_LEARN)


def note(session, author, text="Pro users invite more"):
    return services.finding_create(session=session, author=author, text=text, step=Step.TEST_AND_LEARN)


def test_entering_the_step_starts_the_countdown(dig):
    assert dig.dig_started_at == T0
    assert services.dig_deadline(dig) == T0 + timedelta(minutes=20)
    started = SessionEvent.objects.get(session=dig, kind="timer_started")
    assert started.data["minutes"] == 20


def test_one_microsecond_before_the_deadline_is_in(dig, teammate):
    with time_machine.travel(T0 + timedelta(minutes=20) - US, tick=False):
        services.ensure_step_open(dig, Step.TEST_AND_LEARN)
        note(dig, teammate)
        services.hypothesis_create(session=dig, author=teammate, text="late idea",
                                   kind=Hypothesis.Kind.IDEA)
    assert Finding.objects.count() == 1 and Hypothesis.objects.count() == 1


@pytest.mark.parametrize("after", [timedelta(0), US, timedelta(hours=3)])
def test_at_and_after_the_deadline_it_is_out(dig, teammate, after):
    with time_machine.travel(T0 + timedelta(minutes=20) + after, tick=False):
        with pytest.raises(services.StepClosed, match="Time is up"):
            services.ensure_step_open(dig, Step.TEST_AND_LEARN)
        with pytest.raises(services.StepClosed, match="Time is up"):
            note(dig, teammate)
        with pytest.raises(services.StepClosed, match="Time is up"):
            services.hypothesis_create(session=dig, author=teammate, text="late idea",
                                       kind=Hypothesis.Kind.IDEA)
    assert not Finding.objects.exists() and not Hypothesis.objects.exists()


def test_the_facilitator_extends_after_the_deadline_and_it_is_logged(dig, owner, teammate):
    late = T0 + timedelta(minutes=25)
    with time_machine.travel(late, tick=False):
        with pytest.raises(services.NotAllowed):
            services.timer_extend(session=dig, by=teammate, minutes=5)
        extended = services.timer_extend(session=dig, by=owner, minutes=5)
    # Over for five minutes already: five more minutes count from now, not from the old end.
    assert services.dig_deadline(extended) == late + timedelta(minutes=5)
    with time_machine.travel(late + timedelta(minutes=5) - US, tick=False):
        note(extended, teammate)
    with time_machine.travel(late + timedelta(minutes=5), tick=False):
        with pytest.raises(services.StepClosed):
            note(extended, teammate)
    event = SessionEvent.objects.get(session=dig, kind="timer_extended")
    assert event.data["minutes"] == 5 and event.data["was_over"] is True
    assert event.actor == owner


def test_an_extension_before_the_deadline_adds_to_it(dig, owner):
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        extended = services.timer_extend(session=dig, by=owner, minutes=10)
    assert services.dig_deadline(extended) == T0 + timedelta(minutes=30)


def test_extensions_are_bounded_and_only_in_the_step(dig, owner):
    with pytest.raises(services.BadInput):
        services.timer_extend(session=dig, by=owner, minutes=0)
    with pytest.raises(services.BadInput):
        services.timer_extend(session=dig, by=owner, minutes=500)
    moved = services.step_move(session=dig, by=owner, to=Step.RESULTS, expected=Step.TEST_AND_LEARN)
    with pytest.raises(services.StepClosed):
        services.timer_extend(session=moved, by=owner, minutes=5)


def test_a_dig_finding_is_refused_once_the_session_moved_on(dig, owner, teammate):
    moved = services.step_move(session=dig, by=owner, to=Step.RESULTS, expected=Step.TEST_AND_LEARN)
    with time_machine.travel(T0 + timedelta(minutes=1), tick=False):
        with pytest.raises(services.StepClosed, match="Test and learn is not open"):
            note(moved, teammate)


def test_duration_is_set_per_session_before_the_start(session, owner):
    services.session_settings_update(session=session, by=owner, dig_minutes=2)
    with time_machine.travel(T0, tick=False):
        started = move_to(session, Step.TEST_AND_LEARN)
    assert services.dig_deadline(started) == T0 + timedelta(minutes=2)
    with pytest.raises(services.BadInput, match="extend it instead"):
        services.session_settings_update(session=started, by=owner, dig_minutes=30)
