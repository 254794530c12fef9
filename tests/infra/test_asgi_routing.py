"""hypothesislab.asgi: async views (the live stream) on the event loop, every other view
through Django's WSGI handler in a thread (one hop per request instead of one per
middleware half)."""

from __future__ import annotations

import pytest

from hypothesislab import asgi
from tests.own_loop import run_in_own_loop


def test_only_async_views_are_served_on_the_loop():
    assert asgi.serves_on_the_loop("/t/acme/sessions/1/live/")
    assert not asgi.serves_on_the_loop("/t/acme/sessions/1/")
    assert not asgi.serves_on_the_loop("/t/acme/sessions/1/findings/new/")
    assert not asgi.serves_on_the_loop("/healthz")
    assert not asgi.serves_on_the_loop("/no/such/page/")  # Django's 404, from a thread


@pytest.mark.django_db(transaction=True)
def test_a_sync_page_is_answered_by_the_wsgi_handler_under_the_asgi_server(monkeypatch):
    handled = []
    real = asgi.sync_handler

    async def spy(scope, receive, send):
        handled.append(scope["path"])
        return await real(scope, receive, send)

    monkeypatch.setattr(asgi, "sync_handler", spy)
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": "/healthz", "raw_path": b"/healthz",
             "query_string": b"", "root_path": "", "headers": [(b"host", b"testserver")],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}
    run_in_own_loop(asgi.application(scope, receive, send))
    assert handled == ["/healthz"]
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 200
    assert b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
