"""Server-Sent Events answers, as every live stream of the app sends them: the session
page's (sessions.views.live) and a result page's (explore.views.result_live).

A stream may stay open for an hour: it holds no database connection meanwhile
(release_connection after each read), and proxies are told not to buffer it."""

from __future__ import annotations

import json

from django.db import close_old_connections, connection
from django.http import HttpResponse, StreamingHttpResponse


def event(name: str, data: dict, *, event_id: int | None = None) -> bytes:
    """One event, encoded once: the same bytes may go to every stream it is for."""
    payload = json.dumps(data, separators=(",", ":"))
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {payload}\n\n".encode()


def one_event(frame: bytes) -> HttpResponse:
    """A stream that says one thing and ends (a finished job; a WSGI server, which would
    gather an endless stream before sending any of it)."""
    response = HttpResponse(frame, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    return response


def streaming(frames) -> StreamingHttpResponse:
    """An endless stream of `frames` (an async iterator of bytes)."""
    response = StreamingHttpResponse(frames, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache, no-transform"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def release_connection() -> None:
    """Give this thread's database connection back now. (Not inside a transaction: a
    test's, whose connection this thread may share.)"""
    if not connection.in_atomic_block:
        close_old_connections()
