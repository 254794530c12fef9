"""How the app hands work to Celery. Tasks are named, never imported: a service says
`enqueue("analytics.run_analysis", job.pk)` and the task is looked up in the Celery app,
so no app imports another's tasks module (nor its own, which imports its services).

Always after the transaction commits, so a worker never looks for a row that is not
there yet. On the embedded default (no Redis) the task runs on one background thread of
this process, so a request never waits for it."""

import logging
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from celery import Task, chain
from celery.canvas import Signature
from django.conf import settings
from django.db import close_old_connections, transaction

from hypothesislab.celery import app

log = logging.getLogger(__name__)

_executor: ThreadPoolExecutor | None = None


def task_named(name: str) -> Task:
    """The registered task called `name` (KeyError for a name no app registers)."""
    if name not in app.tasks:
        app.loader.import_default_modules()  # every app's tasks module, registered by name
    return app.tasks[name]


def enqueue(name: str, *args, then: tuple | None = None) -> None:
    """Run task `name` with `args` once the transaction commits; `then` = (name, *args) is
    a task run after it, in the same Celery chain (it runs only if the first succeeds)."""
    signature = task_named(name).si(*args)
    if then is not None:
        signature = chain(signature, task_named(then[0]).si(*then[1:]))
    if settings.CELERY_TASK_ALWAYS_EAGER and settings.TASKS_RUN_IMMEDIATELY:
        # Tests: each test runs inside a transaction that never commits, so on_commit
        # would never fire; run the task now, on the same connection, which sees the rows.
        _send(signature)
    else:
        transaction.on_commit(partial(_send, signature))


def _run_in_thread(signature: Signature) -> None:
    close_old_connections()
    try:
        signature.apply()
    finally:
        close_old_connections()


def _send(signature: Signature) -> None:
    global _executor
    if settings.CELERY_TASK_ALWAYS_EAGER and settings.TASKS_IN_BACKGROUND_THREAD:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tasks")
        _executor.submit(_run_in_thread, signature)
    else:
        try:
            signature.apply_async()
        except Exception:
            # The rows are committed; a broker outage must not turn the user's request
            # into an error. The job stays queued and ops.requeue_stale_jobs sends it again.
            log.exception("could not send %r to the broker; the sweeper will retry",
                          signature)
