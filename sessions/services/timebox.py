"""The facilitator's timebox on a step: a countdown everyone sees, advisory only.

At zero the pages say "time's up" and nothing is refused. Test and learn is the exception
and keeps its own countdown (dig_started_at, dig_duration, dig_extension), enforced by
guards.ensure_step_open; a timebox cannot be put on it. Nothing here depends on a worker:
the row stores when the timebox started and how long it lasts."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User

from .. import steps
from ..models import SessionEvent, WorkingSession
from ..steps import Step
from .errors import BadInput
from .guards import fresh, log, record_change, require_facilitator, require_open

MAX_TIMEBOX_MINUTES = 180
# Steps without a timebox: Test and learn has its enforced timer, Closed has no time.
UNBOXED_STEPS = frozenset({Step.TEST_AND_LEARN, Step.CLOSED})


def timebox_set(*, session: WorkingSession, by: User, minutes: int,
                step: str | None = None) -> WorkingSession:
    """Start a timebox of `minutes` on the current step from now (0 removes it), or, for
    another step, plan it: that step's timebox then starts when the session enters it."""
    session = fresh(session)
    require_facilitator(session, by, "set a timebox")
    require_open(session)
    step = step or session.step
    if step not in steps.ORDER or step in UNBOXED_STEPS:
        raise BadInput("A timebox goes on a step other than Test and learn, which has its "
                       "own timer (see the session's settings).")
    if not isinstance(minutes, int) or not 0 <= minutes <= MAX_TIMEBOX_MINUTES:
        raise BadInput(f"A timebox lasts 1 to {MAX_TIMEBOX_MINUTES} minutes (0 removes it).")
    now = timezone.now()
    with transaction.atomic():
        if step != session.step:
            plan = {k: v for k, v in (session.timebox_plan or {}).items() if k != step}
            if minutes:
                plan[step] = minutes
            WorkingSession.objects.filter(pk=session.pk).update(timebox_plan=plan)
            record_change(session)
            log(session, SessionEvent.Kind.TIMEBOX_PLANNED, by, step=step, minutes=minutes)
        elif minutes:
            WorkingSession.objects.filter(pk=session.pk).update(
                **started_fields(step, minutes, now))
            record_change(session)
            log(session, SessionEvent.Kind.TIMEBOX_SET, by, step=step, minutes=minutes,
                deadline=(now + timedelta(minutes=minutes)).isoformat())
        else:
            had_one = session.timebox_deadline() is not None
            WorkingSession.objects.filter(pk=session.pk).update(**cleared_fields())
            record_change(session)
            if had_one:
                log(session, SessionEvent.Kind.TIMEBOX_CLEARED, by, step=step)
    return fresh(session)


def started_fields(step: str, minutes: int, now: datetime) -> dict:
    return {"timebox_step": step, "timebox_started_at": now,
            "timebox_duration": timedelta(minutes=minutes)}


def cleared_fields() -> dict:
    return {"timebox_step": "", "timebox_started_at": None, "timebox_duration": None}


def planned_minutes(session: WorkingSession, step: str) -> int | None:
    """The timebox planned for `step`, in minutes (None when none is)."""
    if step in UNBOXED_STEPS:
        return None
    minutes = (session.timebox_plan or {}).get(step)
    return minutes if isinstance(minutes, int) and minutes > 0 else None
