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


def test_a_process_groups_cpu_time_counts_what_its_processes_burn():
    import os
    import subprocess
    import sys
    import time

    busy = subprocess.Popen([sys.executable, "-c", "import time\nend = time.process_time() + 0.4\n"
                             "while time.process_time() < end: pass\ntime.sleep(30)"],
                            start_new_session=True)
    try:
        before = processes.group_cpu_seconds(busy.pid)
        deadline = time.monotonic() + 20
        while processes.group_cpu_seconds(busy.pid) < 0.35:
            assert time.monotonic() < deadline, "no CPU time counted"
            time.sleep(0.05)
        assert before < 0.4
        assert processes.group_cpu_seconds(os.getpgrp() + 10**7) == 0.0  # no such group
    finally:
        busy.kill()
        busy.wait()


def test_the_machines_busy_time_counts_a_busy_process():
    import os
    import subprocess
    import sys
    import time

    before, started = processes.machine_cpu_seconds(), time.monotonic()
    burn = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    busy = processes.machine_cpu_seconds() - before
    # At least the child's half second; at most every core for the whole time.
    assert 0.45 <= busy <= (time.monotonic() - started) * (os.cpu_count() or 1) + 0.05
