"""The real Celery app, started by the fault tests as `celery -A tests.faults.fault_app`.

Two test-only changes, both made in the worker's child process and driven by its
environment, so that the production code path (claim, heartbeat, retry, finish) is the
one under test:

- FAULT_HOLD_FIRST_ATTEMPT=1: the first attempt of every analysis announces itself in
  FAULT_JOURNAL, then waits (for up to 60 s) where the engine would compute, so that the
  test can kill the worker at a known point; later attempts compute normally.
  FAULT_SLOW_SECONDS=N: every attempt waits N seconds before computing (jobs pile up).
  Every start and every computed result is journalled: that is how the tests count
  executions.
- FAULT_STALE_AFTER / FAULT_HEARTBEAT_EVERY (seconds): the takeover timing of
  analytics/jobs.py, shortened so that a test waits seconds instead of half a minute.
"""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

from celery.signals import worker_process_init

from hypothesislab.celery import app

__all__ = ["app"]

HOLD_SECONDS = 60


def journal(line: dict) -> None:
    path = os.environ.get("FAULT_JOURNAL")
    if not path:
        return
    # One short append per line: atomic enough for one writer per process.
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def _wrapped(runner, *, hold_first: bool, slow: float):
    def run(version, job, settings):
        journal({"event": "started", "job": job.pk, "attempt": job.attempts,
                 "pid": os.getpid()})
        if hold_first and job.attempts == 1:
            journal({"event": "holding", "job": job.pk, "attempt": job.attempts,
                     "pid": os.getpid()})
            time.sleep(HOLD_SECONDS)  # killed here by the test
        time.sleep(slow)
        result = runner(version, job, settings)
        journal({"event": "computed", "job": job.pk, "attempt": job.attempts,
                 "pid": os.getpid()})
        return result

    return run


@worker_process_init.connect
def _install(**_kwargs) -> None:
    from analytics import jobs, runners

    if os.environ.get("FAULT_STALE_AFTER"):
        jobs.STALE_AFTER = timedelta(seconds=float(os.environ["FAULT_STALE_AFTER"]))
    if os.environ.get("FAULT_HEARTBEAT_EVERY"):
        jobs.HEARTBEAT_EVERY = timedelta(seconds=float(os.environ["FAULT_HEARTBEAT_EVERY"]))
    hold_first = os.environ.get("FAULT_HOLD_FIRST_ATTEMPT") == "1"
    slow = float(os.environ.get("FAULT_SLOW_SECONDS") or 0)
    for kind, runner in list(runners.RUNNERS.items()):
        runners.RUNNERS[kind] = _wrapped(runner, hold_first=hold_first, slow=slow)
