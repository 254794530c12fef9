"""Fault tests: real PostgreSQL, a private redis-server, real Celery workers and gunicorn,
broken on purpose. Each test owns its processes and stops them by pid.

They skip on a machine without the services and fail in CI, like every service test."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from hypothesislab.celery import PRIORITY_STEPS, app
from tests.conftest import require
from tests.load import processes
from tests.load.client import Budget, Client, Recorder
from tests.load.scenario import signed_in


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def services_available(transactional_db):
    require(connection.vendor == "postgresql",
            "needs PostgreSQL: set DATABASE_URL=postgres://... (the workers share the database)")
    require(processes.redis_available(), "needs redis-server on PATH")


@pytest.fixture
def broker(services_available, tmp_path):
    """A private redis-server, and this process sending tasks through it (not in-process)."""
    with processes.redis_server(tmp_path / "redis.log") as server, using_broker(server.url):
        yield server


def waiting(broker, queue: str = "analytics") -> str:
    """Messages waiting in a Celery queue, as redis-cli prints a count. Redis keeps one
    list per priority step: the queue's own for the highest, "<queue>\\x06\\x16<step>" for
    the others (hypothesislab/celery.py)."""
    keys = [queue] + [f"{queue}\x06\x16{step}" for step in PRIORITY_STEPS if step]
    return str(sum(int(broker.command("LLEN", key)) for key in keys))


@contextmanager
def using_broker(url: str):
    """Point this process's Celery app at `url` and send tasks for real."""
    previous = (app.conf.broker_url, app.conf.task_always_eager,
                settings.CELERY_TASK_ALWAYS_EAGER)
    _reset_connections()
    app.conf.broker_url = url
    app.conf.task_always_eager = False
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        yield
    finally:
        _reset_connections()
        (app.conf.broker_url, app.conf.task_always_eager,
         settings.CELERY_TASK_ALWAYS_EAGER) = previous


def _reset_connections() -> None:
    # Celery caches a connection pool per app; drop it so the next send uses the new URL.
    from kombu import pools

    # Celery takes its pool from kombu's process-wide registry, keyed by the broker URL:
    # closing the app's pool without resetting the registry hands the closed one back.
    pools.reset()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


def process_environment(broker_url: str, **extra: str) -> dict[str, str]:
    """What a worker or web process needs to share this test's database and files."""
    from tests.celery_worker import worker_environment

    env = worker_environment()
    env.update(REDIS_URL=broker_url, SECRET_KEY=settings.SECRET_KEY,
               DATA_DIR=str(settings.DATA_DIR), **extra)
    return env


class Journal:
    """What the fault workers did (tests/faults/fault_app.py writes it)."""

    def __init__(self, path: Path):
        self.path = path

    def lines(self, **match) -> list[dict]:
        if not self.path.exists():
            return []
        found = [json.loads(line) for line in self.path.read_text().splitlines() if line]
        return [line for line in found if all(line.get(k) == v for k, v in match.items())]


@pytest.fixture
def journal(tmp_path) -> Journal:
    return Journal(tmp_path / "journal.ndjson")


class Workers:
    """Fault workers started by one test: started and stopped by pid, logs kept."""

    def __init__(self, broker, journal: Journal, tmp_path: Path):
        self.broker = broker
        self.journal = journal
        self.tmp_path = tmp_path
        self.started: list = []

    def start(self, *, beat: bool = False, **fault_env: str):
        name = f"fault{len(self.started)}-{os.getpid()}@{os.uname().nodename}"
        env = process_environment(self.broker.url, FAULT_JOURNAL=str(self.journal.path),
                                  **fault_env)
        log = self.tmp_path / f"worker{len(self.started)}.log"
        process = processes.start_worker(env, log, app="tests.faults.fault_app",
                                         hostname=name, beat=beat)
        self.started.append((process, log))

        def answers() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{log.read_text()[-3000:]}")
            return bool(app.control.ping(timeout=0.5, destination=[name]))

        processes.wait_until(answers, timeout=60, what=f"worker {name} answering")
        return process

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}"
                         for _, log in self.started if log.exists())

    def stop_all(self) -> None:
        for process, _ in self.started:
            processes.stop(process)


@pytest.fixture
def workers(broker, journal, tmp_path):
    started = Workers(broker, journal, tmp_path)
    try:
        yield started
    finally:
        started.stop_all()


class Web:
    """gunicorn serving the app from this test's database, through the private broker."""

    def __init__(self, broker, tmp_path: Path):
        self.port = processes.free_port()
        self.env = process_environment(broker.url)
        self.log = tmp_path / "web.log"
        self.process = None

    def start(self) -> None:
        self.process = processes.start_gunicorn(self.env, self.log, port=self.port, workers=1)

    def kill(self) -> None:
        """SIGKILL, as when the container or the machine goes: nothing is flushed."""
        processes.kill(self.process)

    def browser(self, user) -> Client:
        """A browser where `user` is signed in."""
        return Client(self.port, Recorder(), Budget(seconds=600, max_requests=10_000),
                      cookies=signed_in(user))


@pytest.fixture
def web(broker, tmp_path):
    server = Web(broker, tmp_path)
    server.start()
    try:
        yield server
    finally:
        processes.stop(server.process)
