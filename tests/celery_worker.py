"""A real Celery worker process, consuming from Redis and writing to the test database.
Used by the tests that prove the production path (the rest run tasks in-process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from hypothesislab.celery import app

ROOT = Path(settings.BASE_DIR)


def worker_available() -> tuple[bool, str]:
    if not os.environ.get("REDIS_URL"):
        return False, "needs Redis: set REDIS_URL"
    if connection.vendor != "postgresql":
        return False, "needs PostgreSQL (a worker process cannot share SQLite's in-memory test database)"
    return True, ""


def worker_environment() -> dict[str, str]:
    db = connection.settings_dict
    env = {k: v for k, v in os.environ.items() if k not in {"HYPOTHESISLAB_TESTING"}}
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env.update(
        DATABASE_URL=f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}",
        DATA_DIR=str(settings.DATA_DIR),
        SECRET_KEY="test-worker",
        DEBUG="0",
        PYTHONUNBUFFERED="1",
    )
    return env


@contextmanager
def running_worker(log_path: Path, *, queues: str = "default,analytics"):
    """Start a worker, wait until it answers a ping, switch this process to sending tasks
    through the broker, and stop everything afterwards."""
    fresh_broker_connections()
    app.control.purge()
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hypothesislab", "worker", "--queues", queues,
         "--pool", "prefork", "--concurrency", "1", "--loglevel", "INFO",
         "--hostname", f"test-{os.getpid()}@%h", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=worker_environment(), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    previous = (app.conf.task_always_eager, settings.CELERY_TASK_ALWAYS_EAGER)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{log_path.read_text()}")
            if app.control.ping(timeout=0.5, destination=[f"test-{os.getpid()}@{os.uname().nodename}"]):
                break
        else:
            raise RuntimeError(f"worker did not answer in 60 s:\n{log_path.read_text()}")
        app.conf.task_always_eager = False
        settings.CELERY_TASK_ALWAYS_EAGER = False
        yield process
    finally:
        app.conf.task_always_eager, settings.CELERY_TASK_ALWAYS_EAGER = previous
        stop(process)
        log.close()


def stop(process: subprocess.Popen) -> None:
    """Stop a worker started in a session of its own, with its children: TERM (a warm
    shutdown), then KILL after 20 s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def fresh_broker_connections() -> None:
    """Drop this process's cached broker connections: a test that pointed the app at
    another broker, or restarted one, may have left a closed pool behind."""
    from kombu import pools

    # Celery takes its pool from kombu's process-wide registry, keyed by the broker URL:
    # closing the app's pool without resetting the registry hands the closed one back.
    pools.reset()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


def wait_for(predicate, timeout: float = 60, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout} s")
