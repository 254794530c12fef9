"""The live session's drawings on a connection pool of their own.

Under load, a web process's write requests queue for its database pool (DB_POOL_SIZE). The
live feed (sessions.feed) draws a session for every member connected to that process; if
it queued behind the writes, every member would wait for the slowest of them. So code run
inside `live_connection()` reads and writes through the "live" alias (the same database,
a second small pool), when settings define one (PostgreSQL with a pool; elsewhere it is
all one connection anyway)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

_local = threading.local()


@contextmanager
def live_connection() -> Iterator[None]:
    _local.live = True
    try:
        yield
    finally:
        _local.live = False


class LiveRouter:
    def _alias(self) -> str | None:
        return "live" if getattr(_local, "live", False) and "live" in settings.DATABASES else None

    def db_for_read(self, model, **hints) -> str | None:
        return self._alias()

    def db_for_write(self, model, **hints) -> str | None:
        return self._alias()

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        return True  # one database under two aliases

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool | None:
        return db != "live"
