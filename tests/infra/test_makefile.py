"""`make run` must work on a machine with nothing set: every manage.py call of the run
target sees DEBUG (settings refuse to start without SECRET_KEY when DEBUG is off)."""

import subprocess
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def test_the_run_target_exports_debug_to_every_command():
    dry_run = subprocess.run(
        ["make", "-n", "-p", "run", "STAMP=/dev/null"], cwd=ROOT, capture_output=True, text=True,
        env={"PATH": "/usr/bin:/bin"},
    )
    database = dry_run.stdout
    # The target-specific, exported variable (make's database prints it for the target).
    assert "run: export DEBUG ?= 1" in (ROOT / "Makefile").read_text()
    assert "manage.py migrate" in database and "manage.py load_demo" in database


def test_the_test_target_runs_ruff_migrations_check_and_pytest():
    text = (ROOT / "Makefile").read_text()
    test_target = text[text.index("\ntest:"):text.index("\nbench:")]
    for command in ("ruff check", "makemigrations --check", "lint-imports", "-m pytest"):
        assert command in test_target
