"""`make loadtest` in miniature (4 members for 4 seconds, on the test database), so that
the harness cannot rot: it must run end to end against uvicorn, hold every member's event
stream, answer every request, lose no write, deliver every write to every other member,
and print its table. The live drawer runs beside the web processes, as in production."""

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

MEMBERS = 4


def test_the_load_test_runs_end_to_end(transactional_db, tmp_path):
    require(connection.vendor == "postgresql", "needs PostgreSQL: set DATABASE_URL=postgres://...")
    require(processes.redis_available(), "needs redis-server on PATH")
    from tests.celery_worker import worker_environment

    env = worker_environment()  # this test's database, without the testing switch
    result = subprocess.run(
        [sys.executable, "-m", "tests.load.run", "--members", str(MEMBERS), "--seconds", "4",
         "--users", "200", "--yardstick-seconds", "0.5", "--clients", "2",
         "--web-workers", "2", "--database-url", env["DATABASE_URL"],
         "--json", str(tmp_path / "load.json")],
        cwd=processes.ROOT, env={**env, "PYTHONPATH": os.fspath(processes.ROOT)},
        capture_output=True, text=True, timeout=240,
    )
    table = result.stdout + result.stderr[-5000:]  # shown with any failure below
    assert result.returncode == 0, table
    [run] = json.loads((tmp_path / "load.json").read_text())["runs"]
    assert run["errors"] == 0 and run["lost"]["total"] == 0 and run["protocol"] == {}, table
    acknowledged = run["lost"]["acknowledged"]
    assert sum(acknowledged.values()) >= MEMBERS and acknowledged["hypotheses"] >= 1, table
    # Every acknowledged write was measured, and reached every other member.
    delivery = run["delivery"]
    assert delivery["count"] == run["writes"]["count"] >= sum(acknowledged.values()), table
    assert delivery["undelivered"] == 0, table
    streams = run["streams"]
    assert streams["opened"] == streams["held"] == MEMBERS and streams["drops"] == 0, table
    assert streams["events"]["hello"] == MEMBERS, table
    assert run["rss"]["peak_mb"] > 0 and run["yardstick"]["per_second"] > 0, table
    assert run["drawing"]["ms"] > 0 and run["drawing"]["cards"] >= 1, table
    # The web processes noted their drawings (LIVE_TRACE_DIR) and the run read them.
    assert run["pacing"]["count"] >= 1 and run["pacing"]["cpu"]["p50_ms"] > 0, table
    assert "drawings:" in result.stdout, table
    # The live drawer ran as docker-compose runs it, all along, and drew the session for
    # the web processes.
    assert run["drawer"]["exited"] is None and run["drawer"]["cpu_seconds"] > 0, table
    assert run["pacing"]["by_drawer"] >= 1, table
    assert "lost writes" in result.stdout and "delivery" in result.stdout
