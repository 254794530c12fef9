"""One web process's live streams of a session: one Feed per session with members
connected here, in the event loop.

On each notice (hypothesislab.broadcast: a write, a job starting or ending, someone
arriving or leaving) the feed draws the session once (sessions.regions, in a thread),
compares the fragments with the last drawing, and queues only those that changed to each
member's stream. Notices that arrive while it draws are served by one more drawing: a
burst of writes costs a few drawings, not one per write, and never one per member.

Every PULSE the feed also renews its members' presence (one UPDATE for all of them) and
looks at the session's revision and who is here, so a lost notice (Redis restarted) or a
member whose web process died is caught within seconds even with no notice at all.

With several web processes, one of them draws each change (it claims the drawing in
Redis) and publishes what changed since a drawing they all have; the others rebuild it and
use it as their own. Should that process die before publishing, or a diff name a drawing a
process lacks, that process draws after WAIT_FOR_DRAWING itself.

Where the live drawer runs (sessions.drawer: a process of its own, which announces itself
in Redis), web processes leave the drawing to it and only send what it publishes: a
drawing then has a process to itself instead of sharing one with the writes (the GIL), and
the writes keep theirs. Should no drawing come for WAIT_FOR_DRAWING while a change waits
(the drawer stopped), a web process draws it itself, as without a drawer. The drawer runs
this same Feed, headless: no members, only the drawing and publishing.

A step move or the session's end changes the whole page: members get `stale` and fetch
their page body again (their drafts are kept by the page's script)."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from hypothesislab import broadcast, event_stream
from hypothesislab.dbrouter import live_connection

from . import push, regions
from .models import Participant, WorkingSession
from .selectors import presence_window

log = logging.getLogger(__name__)

PULSE = 2.0  # seconds between presence renewals and revision checks
# After a drawing of its own, a process draws the session again no sooner than this
# (seconds), nor sooner than the drawing cost it in CPU: in a burst of writes (200
# members writing) a drawing serves every write that came before it, and the process
# keeps at least half its time for the writes themselves. The gap is counted in CPU, not
# in wall time: on a busy machine a drawing's wall time is mostly waiting (for a core, the
# GIL, the database), and counting that made the gaps, and each change's delivery, long.
MIN_GAP = 0.15
# The live drawer (a process of its own, at a higher CPU priority) starts a drawing of a
# session DRAWER_CPU_RATIO times the last one's CPU after the last one started, within
# DRAWER_GAP (the least and the most, seconds): a third of a core at most for a busy
# session (a 600-card drawing costs 50-60 ms at 200 members: 0.15-0.2 s apart), a small
# one drawn more often (50 members, 24 ms: 0.1 s), and a change never waits longer than
# the most for the drawing that shows it to start.
DRAWER_GAP = (0.1, 0.2)
DRAWER_CPU_RATIO = 3
# After a look that drew nothing here (another process's drawing, or nothing new): a few
# notices gathered into the next look, which another process's drawing may follow at once.
LOOK_GAP = 0.05
# How long a process waits for another's drawing of a change before drawing it itself.
WAIT_FOR_DRAWING = 1.0
WAIT = object()  # _look's answer when another process is drawing
WHOLE = "whole"  # a notice's type: a process asks for the next drawing whole
END = b""  # queued to a member: its stream ends
MAX_FAILURES = 5  # drawings failed in a row before the feed gives its streams up
KNOWN_DRAWINGS = 8  # drawings kept by id, for other processes' diffs against them
MAX_QUEUED = 64  # frames waiting for a slow member; beyond, they get `stale` instead


@dataclass(eq=False)
class Member:
    """One open stream: a member's page."""

    user_id: int
    participant_id: int | None
    revision: int  # the revision the page shows
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    needs_all: bool = False

    def send(self, frame: bytes, revision: int) -> None:
        """Queue `frame`, which brings the page to `revision`."""
        if self.queue.qsize() >= MAX_QUEUED:
            # Too far behind to catch up fragment by fragment: reload instead.
            while not self.queue.empty():
                self.queue.get_nowait()
            frame = sse("stale", revision, {"rev": revision})
        self.queue.put_nowait(frame)


def sse(event: str, revision: int, data: dict) -> bytes:
    """One event bringing a page to `revision` (its SSE id, which a browser sends back
    as Last-Event-ID when it reconnects)."""
    return event_stream.event(event, data, event_id=revision)


class Feed:
    def __init__(self, session_id: int, *, headless: bool = False) -> None:
        self.session_id = session_id
        # The live drawer's feed: no member of its own; it draws while anyone is here.
        self.headless = headless
        self.anyone_here = True  # as the last look found (a headless feed ends on False)
        self.drawer_draws = False  # the last look left the drawing to the live drawer
        self.whole_next = False  # publish the next drawing whole, not as a diff
        self.asked_whole_at = -WAIT_FOR_DRAWING
        self.members: set[Member] = set()
        self.last: regions.Snapshot | None = None
        self.wake = asyncio.Event()
        self.stale_users: set[int] = set()
        self.stale_all = False
        # Someone arrived or left: renew and tell the others (a headless feed has nobody).
        self.presence_dirty = not headless
        self.left: set[int] = set()  # participants whose last stream here closed
        self.drawn: regions.Snapshot | None = None  # another process's latest drawing
        self.waiting_since: float | None = None
        self.renewed_at = -PULSE  # when this process last renewed its members' presence
        self.task: asyncio.Task | None = None
        # The latest drawings, by id: another process's diff is against one of them.
        self.known: OrderedDict[str, regions.Snapshot] = OrderedDict()

    def _remember(self, snapshot: regions.Snapshot) -> None:
        self.known[snapshot.id] = snapshot
        while len(self.known) > KNOWN_DRAWINGS:
            self.known.popitem(last=False)

    # ------------------------------------------------------------ members come and go

    def join(self, member: Member) -> None:
        self.members.add(member)
        if self.last is None or self.last.revision != member.revision:
            # Its page and our last drawing differ: send it everything once.
            member.needs_all = True
        self.presence_dirty = True
        self.wake.set()
        self.start()

    def leave(self, member: Member) -> None:
        self.members.discard(member)
        pid = member.participant_id
        if pid and not any(m.participant_id == pid for m in self.members):
            self.left.add(pid)
        self.presence_dirty = True
        self.wake.set()

    def _ask_for_whole(self) -> None:
        now = time.monotonic()
        if now - self.asked_whole_at >= WAIT_FOR_DRAWING:
            self.asked_whole_at = now
            broadcast.publish({"type": WHOLE, "session": self.session_id})

    def notice(self, notice: dict) -> None:
        if notice.get("type") == WHOLE:
            # A process lacks what the diffs are against: the next drawing goes whole.
            self.whole_next = True
            self.wake.set()
            return
        if notice.get("type") == "drawing":
            if notice.get("origin") != broadcast.hub().origin:
                drawn = regions.Snapshot.from_json(notice["snapshot"], self.known)
                if drawn is None:
                    # A diff against a drawing this process never had (its members came
                    # after it, or it missed one): ask for a whole one, or draw here.
                    self._ask_for_whole()
                    return
                self._remember(drawn)
                # A drawing came: whoever draws is at work (the drawer, or another
                # process); this process's wait for one starts again.
                self.waiting_since = None
                if self.last is None or drawn.revision > self.last.revision:
                    # Newer than what our members have: sent at once, here in the loop. It
                    # is the session as it was at that revision, which is all a member's
                    # page claims; the loop below still checks it is the latest (a
                    # thread, three queries) and draws what came after. Waiting for that
                    # check under load was a third of a change's delivery.
                    self._send(drawn)
                if self.drawn is None or drawn.revision >= self.drawn.revision:
                    self.drawn = drawn
                self.wake.set()
            return
        self.stale_users.update(notice.get("users") or ())
        self.stale_all = self.stale_all or bool(notice.get("all"))
        self.wake.set()

    # ------------------------------------------------------------ the loop

    def start(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(
                self.run(), name=f"live-feed-{self.session_id}")

    def running(self) -> bool:
        """Whether the loop goes on: members here, or (headless) anyone in the session."""
        return bool(self.members or self.left or (self.headless and self.anyone_here))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        ready_at = 0.0  # no look before this (loop time)
        failures = 0
        while self.running():
            waiting = self.waiting_since is not None
            try:
                await asyncio.wait_for(self.wake.wait(),
                                       timeout=WAIT_FOR_DRAWING if waiting else PULSE)
                woken = True
            except TimeoutError:
                woken = False
            await asyncio.sleep(max(0.0, ready_at - loop.time()))
            started = loop.time()
            self.wake.clear()
            here = {m.participant_id for m in self.members if m.participant_id}
            left, self.left = self.left, set()
            presence_changed, self.presence_dirty = self.presence_dirty, False
            drawn, self.drawn = self.drawn, None
            # Waited long enough for another process's drawing: draw it here. (A drawing
            # that came meanwhile started the wait again: see notice.)
            overdue = (self.waiting_since is not None
                       and loop.time() - self.waiting_since >= WAIT_FOR_DRAWING)
            # Presence is renewed once a pulse, not with every drawing: in a busy meeting
            # that was an UPDATE of every member's row five times a second.
            renew = presence_changed or loop.time() - self.renewed_at >= PULSE
            if (self.drawer_draws and self.waiting_since is not None and not overdue
                    and not (renew or left) and drawn is None):
                # The live drawer draws what changed: its drawing is sent as it arrives
                # (notice), and the look after it checks that it is the latest. Looking
                # at every notice meanwhile cost a query each, 20 a second at 200 members.
                continue
            try:
                snapshot = await sync_to_async(self._look, thread_sensitive=False)(
                    here, left, force=woken or waiting, drawn=drawn, overdue=overdue,
                    renew=renew)
            except Exception:
                failures += 1
                if failures >= MAX_FAILURES:
                    # The database is gone or refuses us: end the streams. Browsers
                    # reconnect by themselves and resync once it is back.
                    log.error("live feed of session %s ends its streams: %s failures",
                              self.session_id, failures)
                    for member in list(self.members):
                        member.queue.put_nowait(END)
                    self.members.clear()
                    break
                log.exception("live feed of session %s could not draw", self.session_id)
                self.left |= left
                self.presence_dirty = self.presence_dirty or presence_changed
                await asyncio.sleep(PULSE)
                continue
            failures = 0
            if renew:
                self.renewed_at = started
            if snapshot is WAIT:
                if self.waiting_since is None:
                    self.waiting_since = loop.time()
                continue
            self.waiting_since = None
            # Two processes' drawings take turns: while one draws, the other may draw
            # what came after (another revision: drawings are claimed by revision).
            if snapshot is None or not snapshot.cost:
                ready_at = loop.time() + LOOK_GAP
            elif self.headless:
                least, most = DRAWER_GAP
                ready_at = started + min(max(least, DRAWER_CPU_RATIO * snapshot.cost), most)
            else:
                ready_at = loop.time() + max(MIN_GAP, snapshot.cost)
            if presence_changed:
                # Other web processes draw who is here too.
                await sync_to_async(push.presence_changed, thread_sensitive=False)(
                    self.session_id)
            if snapshot is not None:
                self._remember(snapshot)
                self._send(snapshot)
        if FEEDS.get(self.session_id) is self:
            del FEEDS[self.session_id]

    def _look(self, here: set[int], left: set[int], *, force: bool,
              drawn: regions.Snapshot | None = None, overdue: bool = False,
              renew: bool = True):
        """In a thread: renew presence (`renew`), then, if anything may have changed, the
        session drawn: by another process (`drawn`, when it is the current state), by this
        one (when it claims the drawing), or WAIT (another process claimed it)."""
        with live_connection():
            return self._look_now(here, left, force=force, drawn=drawn, overdue=overdue,
                                  renew=renew)

    def _look_now(self, here: set[int], left: set[int], *, force: bool,
                  drawn: regions.Snapshot | None, overdue: bool, renew: bool):
        try:
            now = timezone.now()
            if here and renew:
                Participant.objects.filter(pk__in=here).update(last_seen_at=now)
            if left:
                # Shown as away at once, unless another stream (a second tab, another
                # web process) renews them within a pulse.
                Participant.objects.filter(pk__in=left).exclude(pk__in=here).update(
                    last_seen_at=now - presence_window() - presence_window())
            revision, present = self.revision_and_present(now)
            self.anyone_here = bool(present)
            if revision is None:
                return regions.draw(self.session_id)  # None: the session is gone
            current = (revision, present)
            if drawn is not None and (drawn.revision, drawn.present) == current:
                return drawn
            if not force and self.last is not None and (
                    (self.last.revision, self.last.present) == current):
                return None
            self.drawer_draws = not self.headless and not overdue and drawer_here()
            if self.drawer_draws:
                return WAIT  # the live drawer draws it
            key = f"draw:{self.session_id}:{revision}:{','.join(map(str, sorted(present)))}"
            if not overdue and not broadcast.hub().claim(key, ms=int(WAIT_FOR_DRAWING * 1000)):
                return WAIT
            cpu_before, started = time.thread_time(), time.monotonic()
            snapshot = regions.draw(self.session_id)
            if snapshot is not None:
                snapshot.cost = time.thread_time() - cpu_before
                note_drawing(started, snapshot)
            if snapshot is not None and broadcast.hub().url:
                # As a diff against what this process's members have, which the others
                # have too (they drew it, or had it from here); whole when one asked.
                whole, self.whole_next = self.whole_next, False
                broadcast.publish({"type": "drawing", "session": self.session_id,
                                   "origin": broadcast.hub().origin,
                                   "snapshot": snapshot.to_json(
                                       base=None if whole else self.last)})
            return snapshot
        finally:
            close_old_connections()  # both aliases: back to their pools

    def revision_and_present(self, now) -> tuple[int | None, frozenset[int]]:
        """The session's revision (None: it is gone) and who is here: one query while
        anyone is, the revision read through their rows (each look asked two, and on a
        busy machine a query costs a look 10-20 ms), else two."""
        rows = list(Participant.objects.filter(
            session_id=self.session_id, last_seen_at__gte=now - presence_window())
            .values_list("pk", "session__revision"))
        if rows:
            return rows[0][1], frozenset(pk for pk, _ in rows)
        revision = (WorkingSession.objects.filter(pk=self.session_id)
                    .values_list("revision", flat=True).first())
        return revision, frozenset()

    def _send(self, snapshot: regions.Snapshot) -> None:
        last = self.last
        if last is not None and snapshot.revision < last.revision:
            # Drawn here from an older state while a newer drawing from another process
            # went out (notice): never send a page back in time.
            return
        self.last = snapshot
        stale_users, self.stale_users = self.stale_users, set()
        stale_all, self.stale_all = self.stale_all, False
        stale = sse("stale", snapshot.revision, {"rev": snapshot.revision})
        if stale_all or last is not None and (snapshot.step != last.step
                                              or snapshot.closed != last.closed):
            for member in self.members:
                member.send(stale, snapshot.revision)
                member.revision = snapshot.revision
            return
        changed = [[key, html] for key, html in snapshot.fragments.items()
                   if last is None or last.fragments.get(key) != html]
        # One frame for all (a change at 200 members is written 200 times, encoded once).
        news = sse("ops", snapshot.revision, {"rev": snapshot.revision, "ops": changed})
        everything = None
        for member in self.members:
            if member.user_id in stale_users:
                member.send(stale, snapshot.revision)
            elif member.needs_all:
                if everything is None:
                    everything = sse("ops", snapshot.revision, {
                        "rev": snapshot.revision,
                        "ops": [[k, h] for k, h in snapshot.fragments.items()]})
                member.send(everything, snapshot.revision)
                member.needs_all = False
            elif changed or snapshot.revision > member.revision:
                member.send(news, snapshot.revision)
            member.revision = max(member.revision, snapshot.revision)


def note_drawing(started: float, snapshot: regions.Snapshot) -> None:
    """One line per drawing in LIVE_TRACE_DIR, when it is set: when it started and ended
    (the machine's monotonic clock, which every process shares), its CPU seconds and its
    revision. The load test reads them to see how drawings are paced (how long a change
    waits for the next one to start, how long one takes), which its end-to-end figures
    only sum up."""
    folder = settings.LIVE_TRACE_DIR
    if not folder:
        return
    line = (f"{started:.4f} {time.monotonic():.4f} {snapshot.cost:.4f} "
            f"{snapshot.revision}\n")
    with open(os.path.join(folder, f"drawings-{os.getpid()}.log"), "a") as trace:
        trace.write(line)


DRAWER = "drawer"  # the name the live drawer announces itself by (sessions.drawer)
DRAWER_LOOK_EVERY = 1.0  # seconds a web process trusts its last look for the drawer
_drawer_seen: tuple[float, bool] = (-DRAWER_LOOK_EVERY, False)


def drawer_here() -> bool:
    """Whether the live drawer has announced itself lately (asked of Redis at most once a
    DRAWER_LOOK_EVERY; no Redis, no drawer)."""
    global _drawer_seen
    now = time.monotonic()
    looked_at, here = _drawer_seen
    if now - looked_at >= DRAWER_LOOK_EVERY:
        here = broadcast.hub().announced(DRAWER)
        _drawer_seen = (now, here)
    return here


FEEDS: dict[int, Feed] = {}
def join(session_id: int, member: Member) -> Feed:
    # Feeds of an earlier loop (tests) are dead.
    broadcast.listen_here(_on_notice, new_loop=FEEDS.clear)
    feed = FEEDS.get(session_id)
    if feed is None or (feed.task is not None and feed.task.done() and not feed.members):
        feed = FEEDS[session_id] = Feed(session_id)
    feed.join(member)
    return feed


def _on_notice(notice: dict) -> None:
    if notice.get("type") == broadcast.RESYNC["type"]:
        for feed in FEEDS.values():
            feed.wake.set()
        return
    feed = FEEDS.get(notice.get("session"))
    if feed is not None:
        feed.notice(notice)
