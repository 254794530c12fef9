"""The live drawer: one process (`python manage.py live_drawer`, docker-compose's `live`
service) that draws every live session for all the web processes, which then only send
its drawings to their members' streams (sessions.feed).

Why a process of its own: a web process runs one thread at a time (the GIL). At 200
members writing, a drawing of the session (50-70 ms of CPU at 600 cards) shared its
process with the writes and took 300-450 ms of wall time (p50); every member waited that
long for each change, and the writes waited for the drawings. Here a drawing has a
process to itself, and the web processes keep theirs for the writes.

It hears every notice (hypothesislab.broadcast, over Redis), runs a headless feed for each
session that changes while someone is in it, and announces itself every PULSE (a key that
expires after ANNOUNCE_FOR): web processes draw themselves again when it has stopped.
Without Redis there is one process and nothing to share: the web process draws, and this
command refuses to start."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import sync_to_async

from hypothesislab import broadcast

from .feed import DRAWER, PULSE, WHOLE, Feed

log = logging.getLogger(__name__)

ANNOUNCE_FOR = 3 * PULSE  # seconds the drawer's announcement holds without renewal


class Drawer:
    def __init__(self) -> None:
        self.feeds: dict[int, Feed] = {}

    def on_notice(self, notice: dict) -> None:
        if notice.get("type") == broadcast.RESYNC["type"]:
            for feed in self.feeds.values():
                feed.wake.set()
            return
        session_id = notice.get("session")
        if notice.get("type") not in ("session", "drawing", WHOLE) or not isinstance(
                session_id, int):
            return
        feed = self.feeds.get(session_id)
        if feed is None or (feed.task is not None and feed.task.done()):
            if notice.get("type") == "drawing":
                return  # another process drew a session nobody changed since: not ours yet
            feed = self.feeds[session_id] = Feed(session_id, headless=True)
        feed.notice(notice)
        feed.start()

    async def serve(self, *, stop: asyncio.Event | None = None) -> None:
        """Until `stop` is set (or forever): hear notices, announce itself every PULSE."""
        hub = broadcast.hub()
        broadcast.listen_here(self.on_notice, new_loop=self.feeds.clear)
        stop = stop or asyncio.Event()
        log.info("live drawer: drawing the sessions of every web process")
        while not stop.is_set():
            await sync_to_async(hub.announce, thread_sensitive=False)(
                DRAWER, seconds=ANNOUNCE_FOR)
            for session_id, feed in list(self.feeds.items()):
                if feed.task is not None and feed.task.done():
                    del self.feeds[session_id]
            try:
                await asyncio.wait_for(stop.wait(), timeout=PULSE)
            except TimeoutError:
                pass
        hub.forget(self.on_notice)
