"""Why a write was refused, with a message for people and the HTTP status a view answers.

Views turn these into a form error (htmx) or a page with the status (plain requests);
other apps' tools inside a session (issue 5) catch StepClosed the same way."""

from __future__ import annotations

from analytics.engine.refusals import Refused


class SessionRefused(Refused):
    status = 400


class BadInput(SessionRefused):
    """The request itself is wrong: an empty text, a criterion naming an unknown column."""

    status = 400


class NotAllowed(SessionRefused):
    """This person may not do this: not a participant, not the facilitator, not the author."""

    status = 403


class StepClosed(SessionRefused):
    """The step this write belongs to is not open: the session moved on, is closed, or
    the "Test and learn" countdown reached zero."""

    status = 409


class StaleStep(StepClosed):
    """The page was drawn for a step the session has left (a double-clicked "Next")."""


class LimitReached(SessionRefused):
    """A fourth hypothesis (or new idea) from the same member."""

    status = 409
