"""Running a coroutine from a test on an event loop of its own.

Playwright's sync API keeps an event loop running in the test process's main thread once a
browser test has run, and `asyncio.run` refuses to start inside a running loop. A test
that drives async code (a live stream, the load test's client) runs it on a thread of its
own instead, whatever ran before it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def run_in_own_loop(coroutine: Coroutine[Any, Any, Any]) -> Any:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="own-loop") as pool:
        return pool.submit(asyncio.run, coroutine).result()
