"""`make loadtest-fairshare` in miniature (3-second queries), so that the measurement
cannot rot: with the fair share off team B's small query waits for one of team A's, with
it on it starts at once, embedded and through real Celery workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.conftest import require
from tests.load import processes

SECONDS = 3


def measure(mode: str, tmp_path, env: dict[str, str]) -> dict[str, dict]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.load.fairshare", "--seconds", str(SECONDS), "--mode", mode,
         "--goal", "1.5", "--json", str(tmp_path / "fair.json")],
        cwd=processes.ROOT, env={**env, "PYTHONPATH": os.fspath(processes.ROOT)},
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    assert "B waited" in result.stdout
    rows = json.loads((tmp_path / "fair.json").read_text())
    return {row["share"]: row for row in rows}


def assert_fair(rows: dict[str, dict]) -> None:
    assert rows["off"]["waited"] > SECONDS - 2.5 and rows["off"]["a_running_max"] == 2
    assert rows["on"]["waited"] < 1.5 and rows["on"]["a_running_max"] == 1


@pytest.mark.slow
def test_the_embedded_pool_keeps_a_thread_for_the_other_team(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in {"HYPOTHESISLAB_TESTING", "DATABASE_URL", "REDIS_URL"}}
    assert_fair(measure("embedded", tmp_path, env))


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.celery_worker
@pytest.mark.slow
def test_celery_workers_keep_a_worker_for_the_other_team(transactional_db, tmp_path):
    require(connection.vendor == "postgresql", "needs PostgreSQL: set DATABASE_URL=postgres://...")
    require(processes.redis_available(), "needs redis-server on PATH")
    from tests.celery_worker import worker_environment

    assert_fair(measure("celery", tmp_path, worker_environment()))
