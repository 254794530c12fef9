"""The load test runs the web service as docker-compose.yml does."""

from __future__ import annotations

import re

from tests.load import processes


def test_the_web_service_is_read_from_docker_compose():
    workers, environment = processes.compose_web()
    text = (processes.ROOT / "docker-compose.yml").read_text()
    assert re.search(rf"uvicorn .*--workers {workers}\b", text, re.S)
    # Its tuning comes along; the addresses of its database and Redis are the run's own.
    assert not processes.RUN_OWN & environment.keys()
    for name, value in environment.items():
        assert re.search(rf"\b{name}: \"?{re.escape(value)}\"?", text)
