"""How the app hands work to Celery. Tasks are named, never imported: a service says
`enqueue("analytics.run_analysis", job.pk)` and the task is looked up in the Celery app,
so no app imports another's tasks module (nor its own, which imports its services).

Always after the transaction commits, so a worker never looks for a row that is not
there yet. On the embedded default (no Redis) the task runs on a small pool of
background threads of this process (TASKS_BACKGROUND_THREADS), so a request never waits
for it. The pool takes pending tasks as Redis would, by priority then in order, and a task
may ask to run again later (run_again_later: its job must wait for its team's share)."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from functools import partial

from celery import Task, chain
from celery.canvas import Signature, _chain
from django.conf import settings
from django.db import close_old_connections, transaction

from hypothesislab.celery import NORMAL_PRIORITY, app

log = logging.getLogger(__name__)


_importing = threading.Lock()


def task_named(name: str) -> Task:
    """The registered task called `name` (KeyError for a name no app registers)."""
    if name not in app.tasks:
        # Every app's tasks module, registered by name. Under a lock: two requests of a
        # new web process asking at once made the second see the loader's import under
        # way as done, before the tasks were registered (NotRegistered, a 500 under load).
        with _importing:
            if name not in app.tasks:
                app.loader.import_default_modules()
    return app.tasks[name]


def enqueue(name: str, *args, then: tuple | None = None, priority: int | None = None) -> None:
    """Run task `name` with `args` once the transaction commits; `then` = (name, *args) is
    a task run after it, in the same Celery chain (it runs only if the first succeeds).
    `priority` (hypothesislab.celery's HIGH_PRIORITY...) is the message's; by default its
    route's."""
    signature = task_named(name).si(*args)
    if priority is not None:
        signature = signature.set(priority=priority)
    if then is not None:
        signature = chain(signature, task_named(then[0]).si(*then[1:]))
    if settings.CELERY_TASK_ALWAYS_EAGER and settings.TASKS_RUN_IMMEDIATELY:
        # Tests: each test runs inside a transaction that never commits, so on_commit
        # would never fire; run the task now, on the same connection, which sees the rows.
        _send(signature)
    else:
        transaction.on_commit(partial(_send, signature))


def _send(signature: Signature) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER and settings.TASKS_IN_BACKGROUND_THREAD:
        pool().submit(signature)
    else:
        try:
            signature.apply_async()
        except Exception:
            # The rows are committed; a broker outage must not turn the user's request
            # into an error. The job stays queued and ops.requeue_stale_jobs sends it again.
            log.exception("could not send %r to the broker; the sweeper will retry",
                          signature)


# The embedded pool.

_local = threading.local()


def in_pool() -> bool:
    """Whether this code runs as a task on the embedded pool's threads."""
    return getattr(_local, "in_pool", False)


def run_again_later(seconds: float) -> None:
    """Called by a task on the pool that cannot run yet: once it returns, the pool runs
    it again after `seconds`, or as soon as another task finishes (which may be what it
    waited for), keeping its place in the order. (Under Celery a task retries instead.)"""
    if not in_pool():
        raise RuntimeError("run_again_later is for tasks on the embedded pool")
    _local.again_after = seconds


@dataclass(order=True)
class _Pending:
    priority: int
    number: int  # the order of sending: first sent, first taken, within a priority
    not_before: float = field(compare=False, default=0.0)
    signature: Signature = field(compare=False, default=None)


class Pool:
    """`size` threads taking pending tasks by (priority, order of sending)."""

    def __init__(self, size: int):
        self.size = max(1, size)
        self._pending: list[_Pending] = []
        self._numbers = itertools.count()
        self._changed = threading.Condition()
        self._threads: list[threading.Thread] = []

    def submit(self, signature: Signature) -> None:
        first = _first_task(signature)
        priority = first.options.get("priority")
        self._put(_Pending(NORMAL_PRIORITY if priority is None else priority,
                           next(self._numbers), signature=signature))

    def _put(self, item: _Pending) -> None:
        with self._changed:
            self._pending.append(item)
            while len(self._threads) < min(self.size, len(self._pending)):
                thread = threading.Thread(target=self._work, daemon=True,
                                          name=f"tasks-{len(self._threads) + 1}")
                self._threads.append(thread)
                thread.start()
            self._changed.notify()

    def _take(self) -> _Pending:
        with self._changed:
            while True:
                now = time.monotonic()
                ready = [item for item in self._pending if item.not_before <= now]
                if ready:
                    item = min(ready)
                    self._pending.remove(item)
                    return item
                waits = [item.not_before - now for item in self._pending]
                self._changed.wait(timeout=min(waits) if waits else None)

    def _finished(self) -> None:
        # A task that finished may be what the deferred ones waited for: try them now.
        with self._changed:
            for item in self._pending:
                item.not_before = 0.0
            self._changed.notify_all()

    def _work(self) -> None:
        _local.in_pool = True
        while True:
            item = self._take()
            try:
                again_after = _run(item.signature)
            except Exception:
                log.exception("task %r failed", item.signature)
                again_after = None
            if again_after is not None:
                item.not_before = time.monotonic() + again_after
                with self._changed:
                    self._pending.append(item)
                    self._changed.notify()
            else:
                self._finished()


def _first_task(signature: Signature) -> Signature:
    return signature.tasks[0] if isinstance(signature, _chain) else signature


def _run(signature: Signature) -> float | None:
    """Run a task (and the rest of its chain if it succeeded); the seconds after which it
    asked to run again, or None."""
    first = _first_task(signature)
    rest = signature.tasks[1:] if isinstance(signature, _chain) else []
    _local.again_after = None
    close_old_connections()
    try:
        result = first.apply()
        if _local.again_after is not None:
            return _local.again_after
        if rest and result.successful():
            chain(*rest).apply() if len(rest) > 1 else rest[0].apply()
        return None
    finally:
        _local.again_after = None
        close_old_connections()


_pool: Pool | None = None
_pool_lock = threading.Lock()


def pool() -> Pool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = Pool(settings.TASKS_BACKGROUND_THREADS)
        return _pool
