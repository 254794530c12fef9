"""The real processes the load test and the fault tests start and stop: a private
redis-server, Celery workers and the web server (uvicorn, or gunicorn for the fault
tests), each on 127.0.0.1 and a free port, each owned
by the caller (started here, stopped by pid, never by name).

A private redis-server rather than the shared one on 6379: the fault tests restart their
broker and the load test floods it, and neither may disturb anyone else's worker."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_until(predicate, *, timeout: float, what: str, every: float = 0.1):
    """Poll a condition of another process (a port open, a row written): the value, or
    an AssertionError naming what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(every)


def stop(process: subprocess.Popen | None, *, sig: int = signal.SIGTERM,
         timeout: float = 20) -> None:
    """Stop a process group this module started: `sig`, then SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def kill(process: subprocess.Popen) -> None:
    """SIGKILL to the whole group (a crashed host or an OOM kill): nothing gets to clean up."""
    stop(process, sig=signal.SIGKILL, timeout=10)


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


class RedisServer:
    """redis-server on a free port, keeping nothing on disk, as the CI machine runs it.
    `restart()` loses every key, which is what a broker restart does to queued messages
    when it has no persistence."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> RedisServer:
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            ["redis-server", "--bind", HOST, "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        wait_until(self.ping, timeout=15, what=f"redis-server on port {self.port}")
        return self

    def ping(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def shutdown(self) -> None:
        """Stop now, saving nothing (`SHUTDOWN NOSAVE`), then make sure the process is gone."""
        if self.process is None:
            return
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as conn:
                conn.sendall(b"SHUTDOWN NOSAVE\r\n")
                conn.recv(16)
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill(self.process)
        self.process = None

    def restart(self) -> None:
        self.shutdown()
        self.start()

    def command(self, *words: str) -> str:
        """One command through redis-cli (for the tests' look at queues and keys)."""
        return subprocess.run(
            ["redis-cli", "-h", HOST, "-p", str(self.port), *words],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()


@contextmanager
def redis_server(log_path: Path):
    server = RedisServer(log_path).start()
    try:
        yield server
    finally:
        server.shutdown()


def start_worker(env: dict[str, str], log_path: Path, *, app: str = "hypothesislab",
                 queues: str = "default,analytics", hostname: str,
                 beat: bool = False) -> subprocess.Popen:
    """A prefork worker with one child, as docker-compose runs it (plus the beat
    scheduler in the same process when `beat`)."""
    command = [sys.executable, "-m", "celery", "-A", app, "worker", "--queues", queues,
               "--pool", "prefork", "--concurrency", "1", "--loglevel", "INFO",
               "--hostname", hostname, "--without-gossip", "--without-mingle"]
    if beat:
        command += ["--beat", "--schedule", str(log_path.with_suffix(".beat"))]
    log = log_path.open("a")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return process


def start_gunicorn(env: dict[str, str], log_path: Path, *, port: int, workers: int = 2,
                   access_log: bool = True, wait: bool = True) -> subprocess.Popen:
    """gunicorn as docker-compose runs it (sync workers, 60 s timeout), on 127.0.0.1."""
    command = [sys.executable, "-m", "gunicorn", "hypothesislab.wsgi:application",
               "--bind", f"{HOST}:{port}", "--workers", str(workers), "--timeout", "60",
               "--graceful-timeout", "5"]
    if access_log:
        command += ["--access-logfile", "-"]
    log = log_path.open("a")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    if wait:
        wait_for_web(process, port, log_path)
    return process


def start_uvicorn(env: dict[str, str], log_path: Path, *, port: int, workers: int = 3,
                  access_log: bool = False, wait: bool = True) -> subprocess.Popen:
    """uvicorn as docker-compose runs the web service under ASGI (`workers` processes
    under one master), on 127.0.0.1. Its processes share one process group: the
    group's id is the returned process's pid (see group_rss)."""
    command = [sys.executable, "-m", "uvicorn", "hypothesislab.asgi:application",
               "--host", HOST, "--port", str(port), "--workers", str(workers),
               "--timeout-graceful-shutdown", "5"]
    if not access_log:
        command.append("--no-access-log")
    log = log_path.open("a")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    if wait:
        wait_for_web(process, port, log_path)
    return process


def start_drawer(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """The live drawer as docker-compose runs it (`manage.py live_drawer`, the `live`
    service), in a process group of its own (see group_cpu_seconds)."""
    command = [sys.executable, "manage.py", "live_drawer"]
    log = log_path.open("a")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    return process


def wait_for_drawer(broadcast_url: str, *, timeout: float = 30) -> None:
    """Until the live drawer has announced itself on that Redis (it then draws)."""
    from hypothesislab import broadcast
    from sessions.feed import DRAWER

    wait_until(lambda: broadcast.Hub(broadcast_url).announced(DRAWER), timeout=timeout,
               what="the live drawer announced itself")


def peak_rss_mb(pid: int) -> float:
    """A live process's resident memory at its highest so far (VmHWM), in MB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


# What the run sets itself, rather than take from docker-compose.yml.
RUN_OWN = {"DATABASE_URL", "REDIS_URL", "DATA_DIR", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG"}


def _compose_services() -> dict:
    """docker-compose.yml's services by name ({} when it cannot be read)."""
    import yaml

    try:
        services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return {}
    return services if isinstance(services, dict) else {}


def compose_web(default_workers: int = 3) -> tuple[int, dict[str, str]]:
    """How docker-compose.yml runs the web service: uvicorn's --workers, and the
    environment it adds (memory tuning such as MALLOC_ARENA_MAX; not the addresses of
    its database and Redis), so that the load test measures what production runs."""
    web = _compose_services().get("web")
    if not isinstance(web, dict):
        return default_workers, {}
    command = web.get("command") or ""
    command = " ".join(command) if isinstance(command, list) else command
    words = command.split()
    workers = (int(words[words.index("--workers") + 1])
               if "--workers" in words[:-1] and words[words.index("--workers") + 1].isdigit()
               else default_workers)
    environment = web.get("environment") or {}
    if isinstance(environment, list):  # the KEY=value form
        environment = dict(item.split("=", 1) for item in environment if "=" in item)
    return workers, {k: str(v) for k, v in environment.items() if k not in RUN_OWN}


def compose_drawer() -> bool:
    """Whether docker-compose.yml runs the live drawer (a service running `live_drawer`)."""
    return any("live_drawer" in str((service or {}).get("command") or "")
               for service in _compose_services().values())


def _group_stats(group: int):
    """(pid, the fields of /proc/<pid>/stat after the command's name) of every live process
    of a process group this module started (its id is the first process's pid)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                # After the command's parenthesised name: state, ppid, pgrp, ...
                fields = stat.read().rsplit(b")", 1)[1].split()
            if int(fields[2]) == group:
                yield int(entry.name), fields
        except (OSError, IndexError, ValueError):
            continue  # the process ended meanwhile


def group_cpu_seconds(group: int) -> float:
    """CPU time (user + system) used so far by a process group's live processes: the web
    server's share of the machine, whatever else runs on it."""
    # utime and stime: the 12th and 13th fields after the name, in clock ticks.
    ticks = sum(int(fields[11]) + int(fields[12]) for _, fields in _group_stats(group))
    return ticks / os.sysconf("SC_CLK_TCK")


def machine_cpu_seconds() -> float:
    """CPU time every core of the machine has spent busy so far (/proc/stat: all but
    idle and waiting for the disk), whatever ran: over a meeting, with the web server's
    and the load client's own, it tells whether the cores were the limit."""
    with open("/proc/stat", "rb") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is inside user)
    busy = sum(fields[:3]) + sum(fields[5:8])
    return busy / os.sysconf("SC_CLK_TCK")


def group_rss(group: int) -> dict[int, int]:
    """Resident memory (VmRSS, bytes) of every live process of a process group, by pid:
    for uvicorn, its master and its workers."""
    found = {}
    for pid, _ in _group_stats(group):
        try:
            with open(f"/proc/{pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmRSS:"):
                        found[pid] = int(line.split()[1]) * 1024  # in kB
                        break
        except OSError:
            continue  # the process ended meanwhile
    return found


def wait_for_web(process: subprocess.Popen, port: int, log_path: Path) -> None:
    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"the web server exited early:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as reply:
                return reply.status == 200
        except OSError:
            return False

    wait_until(answers, timeout=60, what=f"the web server on port {port}", every=0.2)
