"""How the app hands work to Celery. Always after the transaction commits, so a worker
never looks for a row that is not there yet. On the embedded default (no Redis) the task
runs on one background thread of this process, so a request never waits for it."""

import logging
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from django.conf import settings
from django.db import close_old_connections, transaction

log = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None


def _run_in_thread(task, args: tuple) -> None:
    close_old_connections()
    try:
        task.apply(args=args)
    finally:
        close_old_connections()


def enqueue(task, *args) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER and settings.TASKS_RUN_IMMEDIATELY:
        # Tests: each test runs inside a transaction that never commits, so on_commit
        # would never fire; run the task now, on the same connection, which sees the rows.
        _send(task, args)
    else:
        transaction.on_commit(partial(_send, task, args))


def _send(task, args: tuple) -> None:
    global _executor
    if settings.CELERY_TASK_ALWAYS_EAGER and settings.TASKS_IN_BACKGROUND_THREAD:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tasks")
        _executor.submit(_run_in_thread, task, args)
    else:
        try:
            task.apply_async(args=args)
        except Exception:
            # The rows are committed; a broker outage must not turn the user's request
            # into an error. The job stays queued and ops.requeue_stale_jobs sends it again.
            log.exception("could not send %s%r to the broker; the sweeper will retry",
                          task.name, args)
