"""One engine database per process, one connection (cursor) per job: jobs do not see each
other's temporary tables, each runs with its own settings, and a forked worker opens a
database of its own instead of using its parent's."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from pathlib import Path

import pytest

from analytics.engine import duck
from analytics.engine.analysis import EngineSettings, engine_connection


def _database_id(con) -> int:
    # The in-memory database's catalog oid is the same for every connection to it.
    return con.execute("SELECT database_oid FROM duckdb_databases() "
                       "WHERE database_name = 'memory'").fetchone()[0]


def test_jobs_share_the_database_but_not_temporary_tables():
    with engine_connection(None) as first:
        first.execute("CREATE TEMP TABLE job_scratch AS SELECT 1 AS x")
        first_db = _database_id(first)
        with engine_connection(None) as second:
            assert _database_id(second) == first_db
            with pytest.raises(duck.Error):
                second.execute("SELECT * FROM job_scratch")
    with engine_connection(None) as later:
        assert _database_id(later) == first_db
        with pytest.raises(duck.Error):
            later.execute("SELECT * FROM job_scratch")  # gone with its job


def test_each_job_runs_with_its_settings_in_utc():
    with engine_connection(EngineSettings(memory_limit="256MB", threads=1)) as con:
        limit, threads, zone = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads'), "
            "current_setting('TimeZone')").fetchone()
        assert (limit, threads, zone) == ("244.1 MiB", 1, "UTC")
        # A job that changes its zone changes only its own connection.
        con.execute("SET TimeZone = 'Europe/Paris'")
    with engine_connection(EngineSettings(memory_limit="1GB", threads=2)) as con:
        limit, threads, zone = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('threads'), "
            "current_setting('TimeZone')").fetchone()
        assert (limit, threads, zone) == ("953.6 MiB", 2, "UTC")


def _child_job(_) -> tuple[int, int]:
    with engine_connection(None) as con:
        return os.getpid(), con.execute("SELECT 6 * 7").fetchone()[0]


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")
def test_a_forked_worker_opens_its_own_database():
    with engine_connection(None) as con:
        con.execute("SELECT 1").fetchone()  # the parent has its database open
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool:
        pid, answer = pool.apply_async(_child_job, (None,)).get(timeout=60)
    assert pid != os.getpid() and answer == 42


def test_spills_go_to_a_directory_of_the_process_made_only_when_needed():
    with engine_connection(None) as con:
        con.execute("SELECT sum(range) FROM range(1000)").fetchone()
        spill = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    assert spill.parent == Path(tempfile.gettempdir())
    assert spill.name.startswith(f"hypothesislab-duckdb-{os.getpid()}-")
    assert not spill.exists()  # nothing spilled, nothing left in /tmp
