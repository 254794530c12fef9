"""`make loadtest` in miniature (5 members, 4 seconds, on the test database), so that the
harness cannot rot: it must run end to end, answer every request, lose no write, and
print its table."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.db import connection

from tests.conftest import require
from tests.load import processes

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery_worker,
              pytest.mark.slow]


def test_the_load_test_runs_end_to_end(transactional_db, tmp_path):
    require(connection.vendor == "postgresql", "needs PostgreSQL: set DATABASE_URL=postgres://...")
    require(processes.redis_available(), "needs redis-server on PATH")
    from tests.celery_worker import worker_environment

    env = worker_environment()  # this test's database, without the testing switch
    result = subprocess.run(
        [sys.executable, "-m", "tests.load.run", "--members", "5", "--seconds", "4",
         "--users", "200", "--saturation-seconds", "0.5", "--clients", "2", "--web-workers", "1",
         "--database-url", env["DATABASE_URL"], "--json", str(tmp_path / "load.json")],
        cwd=processes.ROOT, env={**env, "PYTHONPATH": os.fspath(processes.ROOT)},
        capture_output=True, text=True, timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    summary = json.loads((tmp_path / "load.json").read_text())
    assert summary["errors"] == 0 and summary["lost"]["total"] == 0
    endpoints = summary["endpoints"]
    assert endpoints["poll"]["requests"] >= 5 and endpoints["page"]["requests"] >= 5
    assert sum(summary["lost"]["acknowledged"].values()) >= 1
    assert summary["saturation"]["healthz"]["per_second"] > 0
    assert "lost writes: 0" in result.stdout and "x /healthz" in result.stdout
