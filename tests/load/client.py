"""A small HTTP client for the load test: one keep-alive connection per simulated person
(http.client, no dependency), cookies, Django's CSRF header, and a record of every
request (endpoint, status, seconds) for the report. Only 127.0.0.1 is ever contacted."""

from __future__ import annotations

import html
import http.client
import re
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode

HOST = "127.0.0.1"
TIMEOUT = 30
IDLE_SAFE = 1.0  # seconds a keep-alive connection may idle before a write reopens it


@dataclass(frozen=True)
class Sample:
    endpoint: str
    status: int  # 0: no answer (connection refused, reset, timed out)
    seconds: float
    ok: bool


class Budget:
    """The run's bounds: no request starts after the deadline or past the request cap."""

    def __init__(self, *, seconds: float, max_requests: int):
        self.deadline = time.monotonic() + seconds
        self.left = max_requests
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self.left <= 0 or time.monotonic() >= self.deadline:
                return False
            self.left -= 1
            return True

    @property
    def over(self) -> bool:
        return self.left <= 0 or time.monotonic() >= self.deadline


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


class OutOfBudget(Exception):
    pass


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str


class Client:
    def __init__(self, port: int, recorder: Recorder, budget: Budget,
                 cookies: dict[str, str] | None = None):
        self.port = port
        self.recorder = recorder
        self.budget = budget
        self.cookies = dict(cookies or {})
        self.connection: http.client.HTTPConnection | None = None
        self.last_used = 0.0

    def get(self, path: str, endpoint: str, *, expect: tuple[int, ...] = (200,),
            headers: dict[str, str] | None = None) -> Response | None:
        return self.request("GET", path, endpoint, expect=expect, headers=headers)

    def post(self, path: str, endpoint: str, form: dict, *,
             expect: tuple[int, ...] = (302,)) -> Response | None:
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-CSRFToken": self.cookies.get("csrftoken", "")}
        return self.request("POST", path, endpoint, body=urlencode(form, doseq=True),
                            expect=expect, headers=headers)

    def request(self, method: str, path: str, endpoint: str, *, body: str | None = None,
                expect: tuple[int, ...], headers: dict[str, str] | None = None
                ) -> Response | None:
        """The answer, or None when there was none; either way the sample is recorded."""
        if not self.budget.take():
            raise OutOfBudget
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        try:
            response = self._send(method, path, body, headers)
        except (OSError, http.client.HTTPException):
            self.close()
            self.recorder.add(Sample(endpoint, 0, time.perf_counter() - started, False))
            return None
        seconds = time.perf_counter() - started
        self.recorder.add(Sample(endpoint, response.status, seconds,
                                 response.status in expect))
        return response

    def _send(self, method: str, path: str, body: str | None,
              headers: dict[str, str]) -> Response:
        if method != "GET" and time.monotonic() - self.last_used > IDLE_SAFE:
            # The server may have closed an idle connection; a write is never sent twice,
            # so it goes on a connection known to be open.
            self.close()
        retries = (1, 2) if method == "GET" else (2,)
        for attempt in retries:
            if self.connection is None:
                self.connection = http.client.HTTPConnection(HOST, self.port, timeout=TIMEOUT)
            try:
                self.connection.request(method, path, body=body, headers=headers)
                raw = self.connection.getresponse()
                text = raw.read().decode("utf-8", "replace")
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection: a read tries once more.
                self.close()
                if attempt == 2:
                    raise
                continue
            self.last_used = time.monotonic()
            for value in raw.headers.get_all("Set-Cookie") or []:
                cookie = SimpleCookie()
                cookie.load(value)
                for name, morsel in cookie.items():
                    self.cookies[name] = morsel.value
            if raw.will_close:
                self.close()
            return Response(raw.status, dict(raw.headers.items()), text)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


POLL_URL = re.compile(r'id="poll" hx-get="([^"]+)"')


def poll_url_in(page: str) -> str | None:
    """The poll address the page (or a poll's answer) asks the browser to use next."""
    found = POLL_URL.search(page)
    return html.unescape(found.group(1)) if found else None
