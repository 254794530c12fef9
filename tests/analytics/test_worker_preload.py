"""A worker imports the engine's slow libraries once, before its pool forks, not in the
first jobs (analytics.engine.preload); a web process still imports none of them."""

from __future__ import annotations

from tests.fresh_python import BARE, fresh_python

PROBE = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "hypothesislab.settings"
import django
django.setup()
from hypothesislab.celery import app
app.loader.import_default_modules()  # as a worker does first, and a web process may
before = sorted(m for m in ("scipy.stats", "scipy.optimize", "duckdb") if m in sys.modules)
from celery.signals import worker_init
worker_init.send(sender=None)  # what the worker then says, before it forks
after = sorted(m for m in ("scipy.stats", "scipy.optimize", "duckdb") if m in sys.modules)
print(before, after)
"""


def test_the_worker_preloads_scipy_and_duckdb_before_it_forks():
    result = fresh_python(PROBE, env={**BARE, "SECRET_KEY": "a-probe", "DEBUG": "0"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "[] ['duckdb', 'scipy.optimize', 'scipy.stats']", (
        result.stdout)
