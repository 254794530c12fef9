"""The app under uvicorn (hypothesislab.asgi), as production serves it, for the tests that
need a live stream: Django's live_server and runserver are WSGI and cannot hold one open.

The server is a real process (or several: `workers`) on 127.0.0.1, sharing this test's
database and files, started and stopped by pid, killed on purpose by the fault tests.
A member signs in through a cookie (tests.load.scenario.signed_in), so the server must
share this process's SECRET_KEY.

Also a plain-HTTP reader of the session's event stream, as a browser's EventSource reads
it (reconnecting with Last-Event-ID), for the fault tests that need no browser."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from tests.load import processes

HOST = processes.HOST


def server_environment(**extra: str) -> dict[str, str]:
    """What a web process needs to serve this test's database and files. Without Redis
    unless told (`LIVE_BROADCAST_URL=...`, `REDIS_URL=...`): the embedded default, where
    jobs run in a thread of the web process and notices stay in it."""
    from django.conf import settings

    from tests.celery_worker import worker_environment

    env = worker_environment()
    for name in ("REDIS_URL", "LIVE_BROADCAST_URL", "HYPOTHESISLAB_TESTING"):
        env.pop(name, None)
    env.update({"SECRET_KEY": settings.SECRET_KEY, "DATA_DIR": str(settings.DATA_DIR),
                "DEBUG": "0", "LOG_LEVEL": "WARNING", **extra})
    return env


class AsgiServer:
    """uvicorn with `workers` processes on one port; start, kill and start again."""

    def __init__(self, env: dict[str, str], log_path: Path, *, workers: int = 1):
        self.env = env
        self.log_path = log_path
        self.workers = workers
        self.port = processes.free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> AsgiServer:
        command = [sys.executable, "-m", "uvicorn", "hypothesislab.asgi:application",
                   "--host", HOST, "--port", str(self.port), "--no-access-log",
                   "--timeout-graceful-shutdown", "2"]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        log = self.log_path.open("a")
        self.process = subprocess.Popen(command, cwd=processes.ROOT, env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        processes.wait_for_web(self.process, self.port, self.log_path)
        return self

    def kill(self) -> None:
        """SIGKILL to every process of the server: its connections drop at once, as when a
        container or a machine goes."""
        processes.kill(self.process)

    def stop(self) -> None:
        processes.stop(self.process, timeout=10)

    def log(self) -> str:
        return self.log_path.read_text()[-4000:] if self.log_path.exists() else ""


# ---------------------------------------------------------------- an event stream, read


@dataclass(frozen=True)
class Event:
    type: str
    id: str
    data: dict


class Stream:
    """One member's page, reduced to its event stream: a thread that reads
    `path`, applies `ops` to a dict of fragments by DOM id, and reconnects as EventSource
    does (after the server's `retry`, sending Last-Event-ID) when the stream breaks.

    `revision` is the last id seen; `fragments` the page's live regions as the stream
    drew them; `events` every event, in order; `connects` how often it (re)connected."""

    def __init__(self, port: int, path: str, cookies: dict[str, str], *, revision: int):
        self.port = port
        self.path = path
        self.cookies = cookies
        self.revision = revision
        self.fragments: dict[str, str] = {}
        self.events: list[Event] = []
        self.connects = 0
        self.stale = 0
        self.retry = 1.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._connection: http.client.HTTPConnection | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"sse-{path}")

    def start(self) -> Stream:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        connection = self._connection
        if connection is not None and connection.sock is not None:
            try:
                connection.sock.shutdown(2)
            except OSError:
                pass
        self._thread.join(timeout=5)

    def state(self) -> tuple[int, dict[str, str]]:
        with self._lock:
            return self.revision, dict(self.fragments)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._read_once()
            except (OSError, http.client.HTTPException, ValueError):
                pass
            self._stop.wait(self.retry)

    def _read_once(self) -> None:
        headers = {"Accept": "text/event-stream",
                   "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                   "Last-Event-ID": str(self.revision)}
        self._connection = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            self._connection.request("GET", f"{self.path}?rev={self.revision}",
                                     headers=headers)
            response = self._connection.getresponse()
            if response.status != 200:
                return
            self.connects += 1
            kind, ident, data = "", "", []
            while not self._stop.is_set():
                raw = response.fp.readline()
                if not raw:
                    return  # the server went away: reconnect
                line = raw.decode("utf-8").rstrip("\r\n")
                if not line:
                    if data:
                        self._dispatch(Event(kind or "message", ident,
                                             json.loads("\n".join(data))))
                    kind, data = "", []
                    continue
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "event":
                    kind = value
                elif name == "data":
                    data.append(value)
                elif name == "id":
                    ident = value
                elif name == "retry" and value.isdigit():
                    self.retry = int(value) / 1000
        finally:
            self._connection.close()

    def _dispatch(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)
            if event.type == "ops":
                for key, html in event.data["ops"]:
                    self.fragments[key] = html
            elif event.type == "stale":
                self.stale += 1
            if event.id:
                self.revision = max(self.revision, int(event.id))

