from django.conf import settings


def test_tests_run_tasks_synchronously_unless_a_worker_test_says_otherwise():
    assert settings.CELERY_TASK_ALWAYS_EAGER
    assert settings.TASKS_IN_BACKGROUND_THREAD is False


def test_broker_is_redis_when_named(monkeypatch):
    # Settings are read at import: re-evaluate the module with a REDIS_URL.
    import importlib

    import hypothesislab.settings as module

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/5")
    reloaded = importlib.reload(module)
    try:
        assert reloaded.CELERY_BROKER_URL == "redis://127.0.0.1:6379/5"
    finally:
        monkeypatch.delenv("REDIS_URL")
        importlib.reload(module)


def test_database_url_selects_postgresql(monkeypatch):
    import importlib

    import hypothesislab.settings as module

    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example:5432/lab")
    reloaded = importlib.reload(module)
    try:
        db = reloaded.DATABASES["default"]
        assert db["ENGINE"] == "django.db.backends.postgresql"
        assert db["NAME"] == "lab" and db["HOST"] == "db.example"
    finally:
        monkeypatch.delenv("DATABASE_URL")
        importlib.reload(module)


def test_embedded_default_is_sqlite_in_wal_mode(monkeypatch):
    import importlib

    import hypothesislab.settings as module

    monkeypatch.delenv("DATABASE_URL", raising=False)
    reloaded = importlib.reload(module)
    try:
        db = reloaded.DATABASES["default"]
        assert db["ENGINE"] == "django.db.backends.sqlite3"
        assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    finally:
        importlib.reload(module)


def test_secret_key_is_required_without_debug(monkeypatch):
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "hypothesislab.settings"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env, capture_output=True, text=True, cwd=settings.BASE_DIR,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_custom_user_model_signs_in_with_email():
    from accounts.models import User

    assert User.USERNAME_FIELD == "email"
