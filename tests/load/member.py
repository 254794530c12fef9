"""One member of the meeting as their browser behaves on the session page under server
push: the page loaded once, ONE event stream held open for the whole run (the page's
`#live-feed`), and the member's writes sent as the page's htmx sends them (HX-Request,
the CSRF header, a form body) at planned moments: three hypotheses with a criterion,
each tested at once, and a few findings.

Everything runs on the load test's one asyncio loop; `Room` holds what the members
share: the records, the run's bounds and the delivery book. Measured moments are on
asyncclient.CLOCK (the kernel's receive times); the plan's moments on time.monotonic()."""

from __future__ import annotations

import asyncio
import html
import json
import random
import re
import time
import uuid
from dataclasses import dataclass, field

from .asyncclient import CLOCK, Connection, Response, Stream, cookie_header, open_stream
from .client import Budget, OutOfBudget, Recorder, Sample
from .delivery import DeliveryBook
from .scenario import Meeting, Written
from .sse import Event, EventStreamParser

HYPOTHESES_EACH = 3
FINDINGS_EACH = (1, 4)
TEST_URL = re.compile(r"/entries/(\d+)/test/")
LIVE_FEED_TAG = re.compile(r'<[a-z]+\b[^>]*\bid="live-feed"[^>]*>')
FEED_URL = re.compile(r'\bdata-feed-url="([^"]+)"')
STEP = re.compile(r'id="session-body"[^>]*\bdata-step="([^"]*)"')
CARD_WAIT = 10.0  # seconds a member waits for their new entry's card on the stream
# How the session body says a write was not saved (templates/worksessions/_body.html
# and the forms' non-field errors); htmx answers a refusal with 200 and this inside.
REFUSED = re.compile(r'<strong>Not saved\.</strong>|<div role="alert">|class="errorlist')
HELLO_TIMEOUT = 30.0
OPS_CHECKED = 3  # each member's first `ops` events are parsed and checked (JSON costs the
# client's one core at 200 members times dozens of changes a second)
RECONNECT_PAUSE = 0.5


def feed_url_in(page: str) -> str | None:
    """The event stream's address on the session page (`#live-feed`'s data-feed-url)."""
    tag = LIVE_FEED_TAG.search(page)
    found = FEED_URL.search(tag.group(0)) if tag else None
    return html.unescape(found.group(1)) if found else None


@dataclass
class StreamCounts:
    events: dict[str, int] = field(default_factory=dict)  # by type
    bytes: int = 0
    drops: int = 0  # a stream the server ended (or broke) during the run
    failed_opens: int = 0
    stale_reloads: int = 0
    protocol: dict[str, int] = field(default_factory=dict)  # mismatches with the protocol

    def mismatch(self, what: str) -> None:
        self.protocol[what] = self.protocol.get(what, 0) + 1


@dataclass
class Room:
    port: int
    meeting: Meeting
    recorder: Recorder
    budget: Budget
    book: DeliveryBook
    counts: StreamCounts = field(default_factory=StreamCounts)
    stopping: bool = False


class Member:
    def __init__(self, number: int, room: Room, seconds: float, seed: int) -> None:
        self.number = number
        self.room = room
        self.meeting = room.meeting
        self.cookies = dict(room.meeting.cookies[number])
        self.rng = random.Random(seed)
        self.written = Written()
        self.feed_url: str | None = None
        self.writer = Connection(room.port)  # a browser's connection for the writes
        self.pages = Connection(room.port)  # and one for page loads
        self.stream: Stream | None = None
        self.parser = EventStreamParser()
        self.hello: asyncio.Future | None = None
        self.last_type = ""
        self.reloading: asyncio.Task | None = None
        self.ops_checked = 0
        self.step: str | None = None  # the step the page shows (#session-body data-step)
        self.watching: bytes | None = None  # a new entry's text, its card awaited
        self.card: asyncio.Future | None = None
        self.tested: set[int] = set()
        # Writes at random moments of the run (the last tenth kept free, so that the
        # last answers arrive before the deadline).
        plan = ["hypothesis"] * HYPOTHESES_EACH + ["finding"] * self.rng.randint(*FINDINGS_EACH)
        self.plan = sorted((self.rng.uniform(0, seconds * 0.9), kind) for kind in plan)

    # ------------------------------------------------------------ page and stream

    async def open_page(self, endpoint: str, recorder: Recorder) -> bool:
        """GET the session page as a browser does (no htmx): its cookies and the stream's
        address. Recorded under `endpoint`."""
        started = CLOCK()
        try:
            page = await self.pages.request("GET", self.meeting.session_path,
                                            headers=cookie_header(self.cookies))
        except (OSError, TimeoutError):
            recorder.add(Sample(endpoint, 0, CLOCK() - started, False))
            return False
        self.cookies.update(page.cookies)
        feed = feed_url_in(page.text) if page.status == 200 else None
        recorder.add(Sample(endpoint, page.status, page.finished_at - started,
                            page.status == 200 and feed is not None))
        if page.status == 200 and feed is None:
            self.room.counts.mismatch("page without #live-feed data-feed-url")
        self.feed_url = feed or self.feed_url
        self._note_step(page.text)
        return feed is not None

    def _note_step(self, body: str) -> None:
        found = STEP.search(body)
        if found:
            self.step = found.group(1)

    async def connect(self) -> bool:
        """Open the event stream and wait for its `hello`; False if either fails."""
        if self.feed_url is None:
            return False
        counts = self.room.counts
        loop = asyncio.get_running_loop()
        self.hello = loop.create_future()
        resume_from = self.parser.last_event_id
        self.parser = EventStreamParser()  # nothing half-read from a broken stream
        self.parser.last_event_id = resume_from
        self.parser.keep_data = self.keeps_data
        headers = {**cookie_header(self.cookies), "Accept": "text/event-stream",
                   "Cache-Control": "no-cache"}
        if resume_from:  # a reconnection resumes where it was, as EventSource does
            headers["Last-Event-ID"] = resume_from
        try:
            stream = await open_stream(self.room.port, self.feed_url, headers=headers,
                                       on_body=self.on_body)
        except (OSError, TimeoutError):
            counts.failed_opens += 1
            return False
        if stream.status != 200 or not stream.headers.get("content-type", "").startswith(
                "text/event-stream"):
            counts.failed_opens += 1
            counts.mismatch(f"stream answered {stream.status} "
                            f"{stream.headers.get('content-type', '')}".strip())
            stream.close()
            return False
        self.stream = stream
        try:
            await asyncio.wait_for(asyncio.shield(self.hello), HELLO_TIMEOUT)
        except TimeoutError:
            counts.mismatch("no hello within 30 s of connecting")
        return True

    @property
    def connected(self) -> bool:
        return self.stream is not None and not self.stream.ended.done()

    async def hold_stream(self) -> None:
        """Keep the stream open until the run stops; if the server ends it, count the
        drop and reconnect (with Last-Event-ID), as EventSource would."""
        while not self.room.stopping:
            if self.stream is not None and not self.stream.ended.done():
                await asyncio.shield(self.stream.ended)
                if self.room.stopping:
                    return
                if self.last_type != "stale":  # after "stale" the page reloads anyway
                    self.room.counts.drops += 1
            await asyncio.sleep(RECONNECT_PAUSE)
            if not self.room.stopping:
                await self.connect()

    def on_body(self, piece: bytes, at: float) -> None:
        self.room.counts.bytes += len(piece)
        for event in self.parser.feed(piece):
            self.on_event(event, at)

    def on_event(self, event: Event, at: float) -> None:
        counts = self.room.counts
        counts.events[event.type] = counts.events.get(event.type, 0) + 1
        self.last_type = event.type
        if event.type == "hello":
            if self.hello is not None and not self.hello.done():
                self.hello.set_result(event.id)
            return
        if event.type not in ("ops", "stale"):
            return
        try:
            revision = int(event.id)
        except ValueError:
            counts.mismatch(f"{event.type} event whose id is not a revision")
            return
        self.room.book.received(self.number, revision, at)
        if event.type == "ops":
            if self.watching is not None:
                self._look_for_card(event)
            if self.ops_checked < OPS_CHECKED:
                self.ops_checked += 1
                self._check_ops(event, revision)
                self.parser.keep_data = self.keeps_data
        elif self.reloading is None or self.reloading.done():
            self.reloading = asyncio.get_running_loop().create_task(self.reload())

    @property
    def keeps_data(self) -> bool:
        """Whether this member's stream must keep the events' data: to check its first
        ones, or to find a card it awaits."""
        return self.ops_checked < OPS_CHECKED or self.watching is not None

    def _look_for_card(self, event: Event) -> None:
        """The card of the entry this member just wrote, as the stream brings it to
        everyone: the entry's "Run test" address in it (as the author's browser shows)."""
        if self.card is None or self.card.done() or self.watching not in event.payload:
            return
        try:
            fragments = json.loads(event.payload)["ops"]
        except (ValueError, KeyError, TypeError):
            return
        text = self.watching.decode()
        for key, fragment in fragments:
            if key.startswith("entry-") and text in fragment:
                self.card.set_result({int(pk) for pk in TEST_URL.findall(fragment)})
                return

    def _check_ops(self, event: Event, revision: int) -> None:
        try:
            data = json.loads(event.data)
        except ValueError:
            self.room.counts.mismatch("ops data not JSON")
            return
        if not isinstance(data, dict) or data.get("rev") != revision:
            self.room.counts.mismatch("ops data's rev differs from the event id")
        elif not isinstance(data.get("ops"), list):
            self.room.counts.mismatch("ops data without an ops list")

    async def reload(self) -> None:
        """`stale`: the page must be reloaded. The load test loads it and records that."""
        self.room.counts.stale_reloads += 1
        if self.room.budget.take():
            await self.open_page("reload", self.room.recorder)

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
        self.writer.close()
        self.pages.close()

    # ------------------------------------------------------------ writes

    async def run_writes(self, started: float) -> None:
        try:
            for at, kind in self.plan:
                delay = started + at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                if self.room.budget.over:
                    break
                await getattr(self, f"write_{kind}")()
        except OutOfBudget:
            pass

    async def post(self, path: str, endpoint: str, form: dict) -> Response | None:
        """A write as htmx sends it. The answer when the write was saved (200, no refusal
        in the returned body), else None; recorded either way, and a saved write with
        its revision entered in the delivery book."""
        room = self.room
        if not room.budget.take():
            raise OutOfBudget
        headers = {**cookie_header(self.cookies), "HX-Request": "true",
                   "X-CSRFToken": self.cookies.get("csrftoken", "")}
        if self.connected and self.step:
            # As live.js does: a page with its stream open asks for the light answer
            # (its live region stays; the stream brings the change).
            headers["X-Live-Step"] = self.step
        started = CLOCK()
        try:
            answer = await self.writer.request("POST", f"{self.meeting.session_path}{path}",
                                               headers=headers, form=form)
        except (OSError, TimeoutError):
            room.recorder.add(Sample(endpoint, 0, CLOCK() - started, False))
            return None
        self.cookies.update(answer.cookies)
        saved = answer.status == 200 and not REFUSED.search(answer.text)
        if answer.status == 200:
            self._note_step(answer.text)
        room.recorder.add(Sample(endpoint, answer.status, answer.finished_at - started, saved))
        if not saved:
            return None
        revision = answer.headers.get("x-session-revision", "")
        if revision.isdigit():
            room.book.acknowledged(self.number, int(revision), answer.finished_at)
        else:
            room.counts.mismatch("saved write without X-Session-Revision")
        return answer

    async def write_hypothesis(self) -> None:
        text = f"Load {self.number}-{len(self.written.hypotheses_tried)}: " \
               f"{uuid.uuid4().hex[:8]} users succeed more"  # nothing HTML would escape
        self.written.hypotheses_tried.add(text)
        event = self.rng.choice(self.meeting.events)
        # Its card may come on the stream before the answer is read: watch from now.
        self.watching, self.card = text.encode(), asyncio.get_running_loop().create_future()
        self.parser.keep_data = True
        try:
            answer = await self.post("entries/new/", "hypothesis", {
                "kind": "hypothesis", "text": text, "expected_direction": "more",
                "confidence": "", "new-rows": "1", "new-0-kind": "did_event",
                "new-0-event": event, "new-0-within_days": "7"})
            if answer is None:
                return
            self.written.hypotheses.add(text)
            # A full answer draws the cards; a light one only the member's own hidden
            # entries, and the stream brings the new card to everyone.
            entries = {int(pk) for pk in TEST_URL.findall(answer.text)}
            if not entries:
                try:
                    entries = await asyncio.wait_for(asyncio.shield(self.card), CARD_WAIT)
                except TimeoutError:
                    self.room.counts.mismatch("a new entry's card not on its author's stream")
        finally:
            self.watching, self.card = None, None
            self.parser.keep_data = self.keeps_data
        # "confirmed": the member runs each new entry's test at once, as after "Test
        # anyway" (the quick group count before a test is not what this measures).
        for entry in sorted(entries - self.tested):
            self.tested.add(entry)
            if await self.post(f"entries/{entry}/test/", "test", {"confirmed": "1"}):
                self.written.tests.add(entry)

    async def write_finding(self) -> None:
        text = f"Finding {self.number}-{len(self.written.findings_tried)}: {uuid.uuid4().hex}"
        self.written.findings_tried.add(text)
        if await self.post("findings/new/", "finding", {
                "text": text, "kind": "insight", "test": "", "step": self.meeting.step}):
            self.written.findings.add(text)
