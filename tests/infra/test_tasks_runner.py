"""hypothesislab.tasks_runner.task_named under concurrency: a new web process's first
requests, asking for a task at once, must all find it (make loadtest once saw a 500:
NotRegistered, the second request seeing the loader's import under way as done)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from hypothesislab import tasks_runner


class SlowLoader:
    """As Celery's loader behaves: marks its modules imported at the start, registers
    their tasks as the import proceeds, and returns at once when asked again."""

    def __init__(self, tasks: dict):
        self.tasks, self.started = tasks, False
        self.calls = 0

    def import_default_modules(self):
        self.calls += 1
        if self.started:
            return
        self.started = True
        time.sleep(0.2)
        self.tasks["analytics.run_analysis"] = "the task"


def test_requests_asking_at_once_wait_for_the_tasks_to_be_registered(monkeypatch):
    tasks: dict = {}
    loader = SlowLoader(tasks)
    monkeypatch.setattr(tasks_runner, "app", SimpleNamespace(tasks=tasks, loader=loader))
    start = threading.Barrier(4)

    def ask(_):
        start.wait()
        return tasks_runner.task_named("analytics.run_analysis")

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(ask, range(4))) == ["the task"] * 4
    assert loader.calls == 1
