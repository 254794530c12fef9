"""The web application under an ASGI server (uvicorn; `make run` and docker-compose).

Async views (the live session stream, sessions/views/live.py) are served by Django's ASGI
handler on the event loop, where hundreds of open streams cost no thread each.

Every other view is sync, and runs through Django's WSGI handler on a pool of threads
(a2wsgi): one hop from the event loop to a thread and back per request. Under Django's
ASGI handler a sync view under our ten middlewares hops between the loop and threads for
each middleware's request and response halves: /healthz cost 2.7 ms of CPU a request
instead of 0.9 (measured on this code), and a meeting's writes queued behind that."""

import os

from a2wsgi import WSGIMiddleware
from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.urls import Resolver404, resolve

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hypothesislab.settings")
asgi_handler = get_asgi_application()  # sets Django up
# As many threads as the database pool has connections: more would wait for one.
sync_handler = WSGIMiddleware(get_wsgi_application(), workers=settings.WEB_THREADS)


def serves_on_the_loop(path: str) -> bool:
    """Whether the view at `path` is async (unknown paths: Django's 404, from a thread)."""
    try:
        return iscoroutinefunction(resolve(path).func)
    except Resolver404:
        return False


async def application(scope, receive, send):
    if scope["type"] == "http" and not serves_on_the_loop(scope["path"]):
        return await sync_handler(scope, receive, send)
    return await asgi_handler(scope, receive, send)
