"""What a web process holds: the engine's heavy libraries stay out of it (issue 10: the web
tier's memory with 200 open streams). DuckDB and numpy are the workers' (they run the
jobs); a web process only queues jobs and reads their results."""

from __future__ import annotations

from tests.fresh_python import BARE, fresh_python

PROBE = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "hypothesislab.settings"
import django
django.setup()
from django.urls import get_resolver
get_resolver()._populate()  # every app's views, forms, services and selectors
from hypothesislab.asgi import application
from sessions import feed, regions
print(sorted(m for m in ("duckdb", "numpy", "scipy", "pandas", "pyarrow") if m in sys.modules))
"""


def test_a_web_process_imports_neither_duckdb_nor_numpy():
    result = fresh_python(PROBE, env={**BARE, "SECRET_KEY": "a-probe", "DEBUG": "0"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == "[]", result.stdout


def test_the_engine_still_reaches_duckdb_through_its_one_module():
    from analytics.engine import duck

    con = duck.connect(memory_limit="64MB", threads=1)
    try:
        assert con.execute("SELECT 41 + 1").fetchone() == (42,)
        assert isinstance(con, duck.Connection)
        assert issubclass(duck.Error, Exception)
    finally:
        con.close()
