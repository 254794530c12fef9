"""The session's clock as every page of the session shows it: the step, and the countdown
that runs in it, if any (Test and learn's enforced timer, or an advisory timebox).

Computed from stored instants on each read; the browser only counts down from the
deadline the server drew, starting from the server's "now"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from . import steps
from .models import WorkingSession
from .steps import Step


@dataclass(frozen=True)
class SessionClock:
    session: WorkingSession
    step: str
    now: datetime
    deadline: datetime | None = None
    # True for Test and learn, whose end the server enforces; a timebox only advises.
    enforced: bool = False

    @property
    def step_label(self) -> str:
        return steps.label(self.step)

    @property
    def remaining_seconds(self) -> int | None:
        if self.deadline is None:
            return None
        return max(0, int((self.deadline - self.now).total_seconds()))

    @property
    def is_over(self) -> bool:
        return self.deadline is not None and self.now >= self.deadline

    @property
    def running_text(self) -> str:
        until = f"until {timezone.localtime(self.deadline):%H:%M} UTC" if self.deadline else ""
        return f"left in Test and learn, {until}" if self.enforced else f"timebox, {until}"

    @property
    def over_text(self) -> str:
        if self.enforced:
            return "Time is up: Test and learn is closed."
        return "Time's up (the timebox is advisory: nothing is refused)."


def session_clock(session: WorkingSession, now: datetime | None = None) -> SessionClock | None:
    """The clock of an open session (None once it is closed)."""
    if session.is_closed:
        return None
    now = now or timezone.now()
    if session.step == Step.TEST_AND_LEARN:
        return SessionClock(session=session, step=session.step, now=now,
                            deadline=session.dig_deadline(), enforced=True)
    return SessionClock(session=session, step=session.step, now=now,
                        deadline=session.timebox_deadline())
