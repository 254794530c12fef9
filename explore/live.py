"""A result page follows its job by server push, not by asking every second.

The page opens one Server-Sent Events stream for its job (views.result_live) while the job
runs; the stream says `done` once the job has finished, and the page then fetches its
result region once. A job's start and end are announced to every web process
(hypothesislab.broadcast, as session changes are); the stream reads the job's row when
told, and every few seconds anyway: a notice is a hint, and one may be lost."""

from __future__ import annotations

import asyncio

from django.db import transaction

from analytics.models import AnalysisJob
from hypothesislab import broadcast

JOB = "job"  # a notice's type: {"type": "job", "job": <id>}
# job id -> the events of the streams waiting on it, in this process's event loop
WAITING: dict[int, set[asyncio.Event]] = {}


def job_changed(sender, job_id: int, **kwargs) -> None:
    """analytics.jobs.job_changed (a worker, or a thread of a web process): tell every
    web process once the change is committed."""
    if sender is not AnalysisJob:
        return
    notice = {"type": JOB, "job": job_id}
    transaction.on_commit(lambda: broadcast.publish(notice))


def wait_for(job_id: int) -> asyncio.Event:
    """An event set whenever this job may have changed (call forget() when done)."""
    # Events of an earlier loop (tests) wait for nothing.
    broadcast.listen_here(_on_notice, new_loop=WAITING.clear)
    event = asyncio.Event()
    WAITING.setdefault(job_id, set()).add(event)
    return event


def forget(job_id: int, event: asyncio.Event) -> None:
    waiting = WAITING.get(job_id)
    if waiting is not None:
        waiting.discard(event)
        if not waiting:
            del WAITING[job_id]


def _on_notice(notice: dict) -> None:
    if notice.get("type") == broadcast.RESYNC["type"]:
        waiting = [event for events in WAITING.values() for event in events]
    elif notice.get("type") == JOB:
        waiting = list(WAITING.get(notice.get("job"), ()))
    else:
        return
    for event in waiting:
        event.set()
