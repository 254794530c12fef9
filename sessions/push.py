"""Announcing a change of a session to the web processes that hold its members' live
streams (hypothesislab.broadcast; sessions.feed listens). A notice is only a hint, sent
once the change is committed: each process then reads the session from the database and
draws what changed."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F

from analytics.models import AnalysisJob
from hypothesislab import broadcast

from .models import WorkingSession


def session_changed(session_id: int, *, users: Iterable[int] = (), everyone: bool = False) -> None:
    """After the current transaction commits, tell every process. `users`: members whose
    own part of the page (entries still hidden from the others) changed too; `everyone`:
    every member's own part changed (a vote opened or closed): all pages reload their body."""
    notice = {"type": "session", "session": session_id, "users": sorted(set(users)),
              "all": everyone}
    transaction.on_commit(lambda: broadcast.publish(notice))


def presence_changed(session_id: int) -> None:
    broadcast.publish({"type": "session", "session": session_id, "users": []})


def job_changed(sender, job_id: int, **kwargs) -> None:
    """A job started or ended (in a worker, or a thread of this process): when it is one
    the session page draws (a hypothesis test, a discovery run), that session has changed.
    A worker writes no session row, so the revision is bumped here, and the author of a
    still-hidden entry is told apart.

    Other jobs asked from a session (a quick count before a test, a breakdown opened from
    Test and learn) name the session on their row but are not on its page: each follows
    its own (the check's region, the result page's stream). Bumping the session for them
    cost a meeting of 200 two drawings' worth of notices per new entry, for nothing."""
    if sender is not AnalysisJob:
        return
    session_id, hidden_author = _session_of(job_id)
    if session_id is None:
        return
    WorkingSession.objects.filter(pk=session_id).update(revision=F("revision") + 1)
    session_changed(session_id, users=[hidden_author] if hidden_author is not None else [])


def _session_of(job_id: int) -> tuple[int | None, int | None]:
    """The session whose page draws a job, and the author of the entry it tests while
    that entry is still hidden from the others: a hypothesis test or a discovery run is
    named by its own row, read in one query through both (a worker asks this at each
    job's start and end)."""
    row = (AnalysisJob.objects.filter(pk=job_id).values_list(
        "session_test__session_id", "session_discovery__session_id",
        "session_test__hypothesis__author_id", "session_test__hypothesis__revealed_at")
        .first())
    if row is None:
        return None, None
    test, discovery, author, revealed_at = row
    session_id = test if test is not None else discovery
    return session_id, (author if test is not None and revealed_at is None else None)
