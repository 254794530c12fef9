"""The checks every write of a session makes, and the one statement that records a change.

Each write reads the session fresh, checks who and when, writes its rows and ends with
`record_change`: a conditional UPDATE that bumps the session's revision only if the
session is still at the step the write was checked against. If the facilitator moved on
or closed the session meanwhile, that UPDATE matches nothing and the write is rolled
back, so no row lands in a step that was already over."""

from __future__ import annotations

from datetime import datetime

from django.db.models import F
from django.utils import timezone
from django.utils.formats import time_format

from accounts.models import Membership, User

from .. import push, selectors, steps
from ..models import Participant, SessionEvent, WorkingSession
from ..steps import Step
from .errors import NotAllowed, StaleStep, StepClosed

CLOSED_MESSAGE = "This session is closed: its record is read-only."


def fresh(session: WorkingSession) -> WorkingSession:
    """The session's row as it is now, for a write's checks. A row that this request's
    view has just read (selectors.session_to_write) serves the first check as it is: a
    change landing between two reads a few milliseconds apart could as well land between
    the second read and the write, and record_change's conditional UPDATE refuses the
    write if the step moved or the session closed meanwhile. Any later call (a service's
    answer after its own write) reads the row again."""
    if getattr(session, "read_for_write", False):
        session.read_for_write = False
        return session
    return selectors.session_now(session, related=("success_definition", "dataset"))


def require_open(session: WorkingSession) -> None:
    if session.is_closed:
        raise StepClosed(CLOSED_MESSAGE)


def require_team_member(session: WorkingSession, user: User) -> None:
    if not Membership.objects.filter(team_id=session.team_id, user=user).exists():
        raise NotAllowed("Only members of the team can take part in its sessions.")


def require_participant(session: WorkingSession, user: User) -> Participant:
    participant = Participant.objects.filter(session=session, user=user).first()
    if participant is None:
        raise NotAllowed("Join the session first: open its page to take part.")
    # The write's answer shows the member as this row (sessions.views.common.respond),
    # instead of reading it again: a write changes the row only through this instance.
    session.participant_checked = participant
    return participant


def require_facilitator(session: WorkingSession, user: User, what: str) -> None:
    if session.facilitator_id != user.pk:
        who = session.facilitator.name if session.facilitator else "the facilitator"
        raise NotAllowed(f"Only the facilitator ({who}) can {what}.")


def require_step_in(session: WorkingSession, allowed: frozenset[str], what: str) -> None:
    require_open(session)
    if session.step not in allowed:
        where = " or ".join(steps.label(s) for s in steps.ORDER if s in allowed)
        raise StepClosed(f"{what} belong to {where}; the session is at "
                         f"{steps.label(session.step)} now.")
    if session.step == Step.TEST_AND_LEARN:
        ensure_step_open(session, Step.TEST_AND_LEARN)


def ensure_step_open(session: WorkingSession, step: str, *, now: datetime | None = None) -> None:
    """Refuse (StepClosed) any write for `step` unless it is the session's current step,
    the session is open, and, for "Test and learn", the countdown has not reached zero.

    The clock is the server's, whatever a browser shows or sends. Tools that work inside a
    session (explorer, SQL console, findings with evidence) call this before each write."""
    require_open(session)
    if session.step != step:
        raise StepClosed(f"{steps.label(step)} is not open: the session is at "
                         f"{steps.label(session.step)}.")
    if step == Step.TEST_AND_LEARN:
        deadline = session.dig_deadline()
        if deadline is None:
            raise StepClosed("The Test and learn timer has not started.")
        if not (now or timezone.now()) < deadline:
            at = time_format(timezone.localtime(deadline), "H:i")
            raise StepClosed(f"Time is up: Test and learn closed at {at} UTC. "
                             "Only the facilitator can extend it.")


def record_change(session: WorkingSession, *, step: str | None = None) -> int:
    """Bump the revision, provided the session is still at `step` (default: the step it
    was read at) and open; otherwise raise, which rolls the caller's transaction back."""
    expected = step or session.step
    updated = (
        WorkingSession.objects.filter(pk=session.pk, step=expected)
        .exclude(step=Step.CLOSED)
        .update(revision=F("revision") + 1)
    )
    if not updated:
        current = WorkingSession.objects.filter(pk=session.pk).values_list("step", flat=True)
        now_at = current.first()
        if now_at == Step.CLOSED:
            raise StepClosed(CLOSED_MESSAGE)
        raise StaleStep(f"The session moved on to {steps.label(now_at)} meanwhile; "
                        "nothing was saved.")
    session.revision += 1
    push.session_changed(session.pk)
    return session.revision


def log(session: WorkingSession, kind: str, actor: User | None, **data) -> SessionEvent:
    return SessionEvent.objects.create(session=session, kind=kind, actor=actor, data=data)
