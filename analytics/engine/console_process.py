"""The SQL console in a child process, for the worker: run_query with hard limits.

DuckDB's memory limit governs its buffers, not every allocation (one huge string value,
for instance), and an interrupt is honoured only between steps: a single scalar call such
as `levenshtein` on two 200,000-character strings ignores it. So the query runs in a child
process that caps its own address space, CPU time and file writes before it imports
DuckDB, and the parent kills it when the query outlives its time limit, so no query can
take the worker's memory or time, and the worker itself never runs user SQL.

Two clocks, so the time limit holds whatever runs: the child says "ready" when its
connection is built and the query starts; until then the parent allows START_SECONDS for
start-up (a loaded machine can take seconds to start Python and DuckDB), from then on the
query's own limit plus KILL_MARGIN_SECONDS, after which the child is killed. The child runs
in the version's directory and names the files relative to it, so nothing in its
connection shows where the server keeps data.

Nothing here knows of Django."""

from __future__ import annotations

import json
import logging
import os
import selectors
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from analytics.engine.console import (
    ConsoleLimits,
    ConsoleRefused,
    ConsoleSources,
    ConsoleStopped,
    check_query,
    run_query,
)

log = logging.getLogger(__name__)
PROJECT_ROOT = Path(__file__).resolve().parents[2]  # where `analytics` is importable
# The isolated child's address space: DuckDB and Python need about 0.8 GB of it before any
# query; the query's own memory limit comes on top.
CHILD_BASE_BYTES = 1024**3
# Starting the child (Python, DuckDB, the views) until its query starts: never counted
# against the query's time limit.
START_SECONDS = 15.0
# After the query's limit: time for the child's own interrupt to answer "Stopped" before
# the parent kills it. The limit thus holds within this margin, whatever the query does.
KILL_MARGIN_SECONDS = 0.5
READY = b"ready\n"  # the child's first line on stdout: its query starts now


def run_query_isolated(sources: ConsoleSources, sql: str,
                       limits: ConsoleLimits | None = None) -> dict:
    """run_query in a child process (see the module's docstring). Returns run_query's
    result; raises ConsoleRefused or ConsoleStopped like it. A ConsoleStopped raised for
    the time limit carries `elapsed`, the seconds the query ran before it was stopped."""
    limits = limits or ConsoleLimits()
    check_query(sql, limits)  # refusals come back at once, without a process
    request = json.dumps({"sources": asdict(sources), "sql": sql,
                          "limits": asdict(limits)}).encode()
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                   "PYTHONPATH": str(PROJECT_ROOT), "PYTHONDONTWRITEBYTECODE": "1",
                   "LANG": "C.UTF-8"}
    child = subprocess.Popen(  # noqa: S603 (our own interpreter and module, no shell)
        [sys.executable, "-s", "-m", "analytics.engine.console_process"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=PROJECT_ROOT, env=environment)
    try:
        talk = _Conversation(child, request, limits.seconds)
        talk.run()
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        for pipe in (child.stdin, child.stdout, child.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()
    if talk.timed_out:
        stopped = ConsoleStopped(f"Stopped: the query took longer than {limits.seconds:g} s. "
                                 "Narrow it down (filter first, join less) and run it again."
                                 if talk.started is not None else
                                 "Stopped: the console could not start in time; try again.")
        stopped.elapsed = talk.elapsed()
        raise stopped
    return _answer(child.returncode, talk.stdout(), bytes(talk.stderr), limits)


class _Conversation:
    """Feed the child its request and collect its output, killing it at the deadline:
    START_SECONDS until it says READY, then the query's limit plus the margin."""

    def __init__(self, child: subprocess.Popen, request: bytes, seconds: float) -> None:
        self.child, self.request, self.seconds = child, request, seconds
        self.out, self.stderr = bytearray(), bytearray()
        self.started: float | None = None  # when the child said READY (monotonic)
        self.ended: float | None = None
        self.timed_out = False

    def run(self) -> None:
        child = self.child
        assert child.stdin and child.stdout and child.stderr
        deadline = time.monotonic() + START_SECONDS
        with selectors.DefaultSelector() as selector:
            os.set_blocking(child.stdin.fileno(), False)
            selector.register(child.stdin, selectors.EVENT_WRITE)
            selector.register(child.stdout, selectors.EVENT_READ)
            selector.register(child.stderr, selectors.EVENT_READ)
            sent = 0
            while selector.get_map():
                if self.started is None and self.out.startswith(READY):
                    self.started = time.monotonic()
                    deadline = self.started + self.seconds + KILL_MARGIN_SECONDS
                left = deadline - time.monotonic()
                if left <= 0:
                    self.child.kill()
                    self.timed_out = True
                    break
                for key, _ in selector.select(timeout=min(left, 0.25)):
                    if key.fileobj is child.stdin:
                        try:
                            sent += os.write(child.stdin.fileno(), self.request[sent:])
                        except BlockingIOError:
                            continue
                        except BrokenPipeError:  # it died; its stderr says why
                            sent = len(self.request)
                        if sent >= len(self.request):
                            selector.unregister(child.stdin)
                            child.stdin.close()
                        continue
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fileobj)
                    elif key.fileobj is child.stdout:
                        self.out += chunk
                    elif len(self.stderr) < 1_000_000:
                        self.stderr += chunk
        if self.started is None and self.out.startswith(READY):
            self.started = time.monotonic()
        self.child.wait()
        self.ended = time.monotonic()

    def stdout(self) -> bytes:
        return bytes(self.out[len(READY):] if self.out.startswith(READY) else self.out)

    def elapsed(self) -> float | None:
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


def _answer(returncode: int, stdout: bytes, stderr: bytes, limits: ConsoleLimits) -> dict:
    if returncode < 0 or (returncode and b"MemoryError" in stderr):
        # Killed by a signal (the kernel's, for memory or CPU) or out of address space
        # before it could answer.
        raise ConsoleStopped(f"Stopped: the query needed more than {limits.memory_limit} of "
                             "memory or its time. Aggregate or filter before collecting so "
                             "much.")
    if returncode != 0 or not stdout:
        log.error("console child failed (%s): %s", returncode,
                  stderr.decode(errors="replace")[-2000:])
        raise ConsoleRefused("The query could not run; the error was logged.")
    answer = json.loads(stdout)
    if "result" in answer:
        return answer["result"]
    error = ConsoleStopped if answer.get("stopped") else ConsoleRefused
    raise error(answer.get("message") or "The query could not run.")


def _size_bytes(size: str) -> int:
    text = size.strip().upper().replace(" ", "").removesuffix("B").removesuffix("I")
    units = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(float(text or 0))


def _child_main() -> int:
    """`python -m analytics.engine.console_process`: one request on stdin, READY when the
    query starts, then one JSON answer on stdout."""
    import resource

    request = json.loads(sys.stdin.buffer.read())
    limits = ConsoleLimits(**request["limits"])
    address_space = CHILD_BASE_BYTES + 2 * _size_bytes(limits.memory_limit)
    resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    # A backstop only: the parent kills the child well before this.
    cpu = int(limits.seconds * max(1, limits.threads) + START_SECONDS)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no file grows, whatever happens
    sources = ConsoleSources.from_dict(request["sources"])
    if sources.root:
        os.chdir(sources.root)
        sources = sources.relative()

    def ready() -> None:
        sys.stdout.buffer.write(READY)
        sys.stdout.buffer.flush()

    try:
        answer: dict = {"result": run_query(sources, request["sql"], limits, on_start=ready)}
    except ConsoleRefused as refusal:
        answer = {"message": str(refusal), "stopped": isinstance(refusal, ConsoleStopped)}
    except MemoryError:
        answer = {"message": f"Stopped: the query needed more than {limits.memory_limit} of "
                             "memory.", "stopped": True}
    sys.stdout.buffer.write(json.dumps(answer).encode())
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(_child_main())
