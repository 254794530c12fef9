"""Production settings pass Django's deployment checklist with no warning at all.

"Production" is what a real deployment's .env names: no debug, a secret key, HTTPS, its
host name, and a mail server (Django 6.1 counts the console backend, the default for
development, as an error: invitations and weekly digests would never leave)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from django.conf import settings


def check_deploy(tmp_path, **env) -> subprocess.CompletedProcess:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_SETTINGS_MODULE": "hypothesislab.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "lab.example.com",
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "DATA_DIR": str(tmp_path / "data"),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=environment, capture_output=True, text=True, cwd=settings.BASE_DIR, timeout=120,
    )


def test_production_settings_pass_check_deploy_without_warnings(tmp_path):
    result = check_deploy(tmp_path, HTTPS="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_check_does_fail_when_https_is_not_set_up(tmp_path):
    # Proof that the check above can fail: plain HTTP gets the secure-cookie warnings.
    result = check_deploy(tmp_path, HTTPS="0")
    assert result.returncode != 0
    assert "security.W012" in result.stderr + result.stdout
