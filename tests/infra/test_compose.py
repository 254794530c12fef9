"""Docker cannot run here, so these tests read docker-compose.yml and the Dockerfile and
check that what each service runs names real modules, settings and queues."""

import importlib
import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from hypothesislab.celery import ANALYTICS_QUEUE, DEFAULT_QUEUE

ROOT = Path(settings.BASE_DIR)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def command_of(service: dict) -> list[str]:
    command = service["command"]
    words = shlex.split(command) if isinstance(command, str) else list(command)
    if words[:2] == ["sh", "-c"]:
        words = shlex.split(words[2].replace("&&", " && "))
    return words


def test_the_stack_has_every_service_with_a_health_check(compose):
    services = compose["services"]
    assert set(services) == {"web", "live", "worker", "beat", "postgres", "redis"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"


def test_web_migrates_then_serves_the_real_asgi_app_with_uvicorn_workers(compose):
    words = command_of(compose["services"]["web"])
    assert words[:4] == ["python", "manage.py", "migrate", "--noinput"]
    server = words[words.index("uvicorn"):]
    module, attribute = server[1].split(":")
    assert module == "hypothesislab.asgi"  # live pages stream: WSGI cannot serve them
    assert hasattr(importlib.import_module(module), attribute)
    assert int(server[server.index("--workers") + 1]) > 1
    # Several web processes: each change must reach them all, through Redis.
    assert compose["x-app"]["environment"]["REDIS_URL"].startswith("redis://")
    assert "http://127.0.0.1:8000/healthz" in " ".join(compose["services"]["web"]["healthcheck"]["test"])


def test_healthz_answers(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_worker_consumes_both_queues_of_the_real_celery_app(compose):
    words = command_of(compose["services"]["worker"])
    assert words[:3] == ["celery", "-A", "hypothesislab"]
    assert importlib.import_module(words[2]).celery_app.main == "hypothesislab"
    queues = words[words.index("--queues") + 1].split(",")
    assert set(queues) == {DEFAULT_QUEUE, ANALYTICS_QUEUE}
    assert words[3] == "worker"


def test_the_live_service_runs_the_drawer_and_checks_it_announced_itself(compose):
    """One live drawer for the web processes (sessions.drawer): a real command, and a
    health check that asks Redis whether it announced itself lately."""
    from sessions.management.commands import live_drawer

    live = compose["services"]["live"]
    assert command_of(live) == ["python", "manage.py", "live_drawer"]
    assert hasattr(live_drawer, "Command")
    assert live["healthcheck"]["test"][1:] == ["python", "manage.py", "live_drawer", "--check"]


def test_beat_runs_the_scheduler(compose):
    words = command_of(compose["services"]["beat"])
    assert words[:4] == ["celery", "-A", "hypothesislab", "beat"]


def test_app_services_point_at_postgres_redis_and_a_data_volume(compose):
    for name in ("web", "live", "worker", "beat"):
        service = compose["services"][name]
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:6379")
        assert any(v.endswith(":" + env["DATA_DIR"]) for v in service["volumes"])
        assert set(service["depends_on"]) == {"postgres", "redis"}
    assert "datasets" in compose["volumes"]


def test_every_variable_the_settings_read_is_documented_in_env_example():
    source = (ROOT / "hypothesislab" / "settings.py").read_text()
    documented = {
        line.split("=")[0] for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    import re

    read = set(re.findall(r'env(?:_bool|_list)?\(\s*"([A-Z_]+)"', source))
    read |= set(re.findall(r'os\.environ\.get\(\s*"([A-Z_]+)"', source))
    read -= {"HYPOTHESISLAB_TESTING"}
    assert read - documented == set()


def test_dockerfile_installs_the_pinned_requirements_and_runs_uvicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir -r requirements.txt" in dockerfile
    assert '"uvicorn", "hypothesislab.asgi:application"' in dockerfile
    assert "collectstatic" in dockerfile
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert "==" in line, f"unpinned requirement: {line}"
