"""The live session on server push: what the shared drawing may hold, and the stream
itself, driven through the ASGI application in the test's event loop (as uvicorn would)."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from django.test import Client

from analytics.models import AnalysisJob, JobStatus
from hypothesislab import broadcast
from hypothesislab.asgi import application
from sessions import feed, push, regions, services
from sessions.models import Participant, WorkingSession
from sessions.steps import Step
from tests.conftest import require
from tests.own_loop import run_in_own_loop

from . import test_own_parts as own_parts
from .factories import INVITED, move_to

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def streams():
    """The stream tests run the feed's drawing in threads beside the test's own writes:
    SQLite's in-memory test database locks whole tables under that, PostgreSQL does not
    (the embedded default's file database runs in WAL mode)."""
    require(connection.vendor == "postgresql",
            "needs PostgreSQL: set DATABASE_URL=postgres://...")


# ---------------------------------------------------------------- the shared drawing


def test_the_drawing_for_everyone_holds_no_hidden_entry_no_dots_and_no_token(
        session, owner, teammate, third):
    services.session_join(session=session, user=third)
    session = move_to(session, Step.HYPOTHESES)
    services.hypothesis_create(session=session, author=owner, text="Olivia writes openly",
                               criterion=INVITED)
    services.entries_reveal(session=session, by=owner)
    services.hypothesis_create(session=session, author=teammate, text="Tom keeps a secret idea")
    session.refresh_from_db()
    services.vote_open(session=session, by=owner, dots_per_member=3)
    [revealed] = session.hypotheses.filter(revealed_at__isnull=False)
    services.dot_place(session=session, by=third, hypothesis=revealed)

    snapshot = regions.draw(session.pk)
    everything = "".join(snapshot.fragments.values())
    assert "Olivia writes openly" in everything
    assert "Tom keeps a secret idea" not in everything  # hidden until revealed
    assert "Tom Teammate (1)" in everything or "(1)" in everything  # only the count
    assert "csrfmiddlewaretoken" not in everything
    assert 'id="vote" data-keep' in everything  # each member's own dots stay theirs
    assert "your dots" not in everything
    assert '1 member</span>' in snapshot.fragments["vote-voters"]
    assert 'data-only="facilitator"' in snapshot.fragments["session-bar"]
    assert 'data-only="facilitator"' in snapshot.fragments["reveal-form"]


def test_a_card_is_a_placeholder_in_its_region_and_a_fragment_of_its_own(session, owner):
    session = move_to(session, Step.HYPOTHESES)
    entry = services.hypothesis_create(session=session, author=owner, text="Invites",
                                       criterion=INVITED)
    services.entries_reveal(session=session, by=owner)
    session = move_to(session, Step.TEST)
    services.session_tests_run(session=session, by=owner)
    snapshot = regions.draw(session.pk)
    # The region lists the cards by id (live.js makes each a placeholder), not as elements.
    assert f'id="entries-hypothesis" class="stack" data-list="entry-{entry.pk} "' in (
        snapshot.fragments["live"])
    assert f'<article id="entry-{entry.pk}"' not in snapshot.fragments["live"]
    card = snapshot.fragments[f"entry-{entry.pk}"]
    assert card.lstrip().startswith(f'<article class="entry card" id="entry-{entry.pk}"')
    [test] = session.tests.all()
    assert f'<span id="q-{test.pk}" data-keep></span>' in card
    assert snapshot.fragments[f"q-{test.pk}"].startswith(f'<span id="q-{test.pk}">')
    assert f'data-only="u{owner.pk} facilitator"' not in card  # already tested: no button
    # The finding form's evidence: the region lists the options by id, each its own line.
    assert f'<datalist id="evidence-options" data-list="ev-{test.pk} "' in (
        snapshot.fragments["live"])
    option = snapshot.fragments[f"ev-{test.pk}"]
    assert option.startswith(f'<option id="ev-{test.pk}" value="{test.pk}">Invites')


def test_another_process_rebuilds_a_drawing_from_its_diff(session, owner):
    """Between web processes a drawing travels as what changed since one they both have;
    rebuilt, it is the drawing itself, parents before children; against a drawing the
    process never had, it is nothing (that process then draws for itself)."""
    session = move_to(session, Step.HYPOTHESES)
    services.hypothesis_create(session=session, author=owner, text="Invites",
                               criterion=INVITED)
    services.entries_reveal(session=session, by=owner)
    before = regions.draw(session.pk)
    services.hypothesis_create(session=session, author=owner, text="Logs in daily")
    after = regions.draw(session.pk)
    wire = json.loads(json.dumps(after.to_json(base=before)))
    assert "fragments" not in wire and set(wire["changed"]) < set(after.fragments)
    assert len(json.dumps(wire)) < len(json.dumps(after.to_json()))
    rebuilt = regions.Snapshot.from_json(wire, {before.id: before})
    assert list(rebuilt.fragments.items()) == list(after.fragments.items())
    assert (rebuilt.id, rebuilt.revision, rebuilt.present) == (after.id, after.revision,
                                                               after.present)
    assert regions.Snapshot.from_json(wire, {}) is None
    whole = regions.Snapshot.from_json(json.loads(json.dumps(after.to_json())))
    assert whole.fragments == after.fragments and whole.id == after.id


def _feed_of_one(session, member_user):
    """A feed of `session` (moved to Test) whose one member has its latest drawing."""
    session = move_to(session, Step.TEST)
    before = regions.draw(session.pk)
    member = feed.Member(user_id=member_user.pk, participant_id=None, revision=before.revision)
    session_feed = feed.Feed(session.pk)
    session_feed.members.add(member)
    session_feed.last = before
    session_feed._remember(before)
    return session, session_feed, member, before


def test_the_feed_sends_only_what_changed(session, owner, teammate):
    session, session_feed, member, before = _feed_of_one(session, teammate)
    services.finding_create(session=session, author=owner, text="Pro plans succeed",
                            step=Step.TEST)
    session_feed._send(regions.draw(session.pk))
    frame = member.queue.get_nowait().decode()
    data = json.loads(frame.split("data: ", 1)[1])
    changed = [key for key, _ in data["ops"]]
    assert "live" in changed and "session-bar" not in changed and "people" not in changed
    assert data["rev"] > before.revision and frame.startswith(f"id: {data['rev']}\n")


def test_another_processs_newer_drawing_goes_out_at_once_and_only_once(session, owner,
                                                                       teammate):
    """A drawing from the process that drew it is sent to this process's members as it
    arrives, without waiting for the feed's loop; an older or the same one is not sent."""
    session, session_feed, member, before = _feed_of_one(session, teammate)
    services.finding_create(session=session, author=owner, text="Pro plans succeed",
                            step=Step.TEST)
    after = regions.draw(session.pk)
    notice = {"type": "drawing", "session": session.pk, "origin": "another process",
              "snapshot": json.loads(json.dumps(after.to_json(base=before)))}
    session_feed.notice(notice)
    frame = member.queue.get_nowait().decode()
    data = json.loads(frame.split("data: ", 1)[1])
    assert data["rev"] == after.revision and "Pro plans succeed" in json.dumps(data["ops"])
    assert session_feed.last.id == after.id
    session_feed.notice(notice)  # heard twice
    session_feed.notice({**notice, "snapshot": before.to_json()})  # an older one
    session_feed._send(before)  # this process's own drawing, older, finishing late
    assert member.queue.empty() and session_feed.last.id == after.id


# ---------------------------------------------------------------- the stream


class Stream:
    """One member's page holding its stream open, through the ASGI application."""

    def __init__(self, path: str, cookie: str, last_event_id: int | None = None):
        parts = urlsplit(path)
        headers = [(b"host", b"testserver"), (b"cookie", cookie.encode()),
                   (b"accept", b"text/event-stream")]
        if last_event_id is not None:
            headers.append((b"last-event-id", str(last_event_id).encode()))
        self.scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": parts.path,
            "raw_path": parts.path.encode(), "query_string": parts.query.encode(),
            "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        self.status: int | None = None
        self.chunks: asyncio.Queue = asyncio.Queue()
        self.buffer = ""
        self._asked = False
        self._gone = asyncio.Event()

    async def __aenter__(self):
        self.task = asyncio.get_running_loop().create_task(
            application(self.scope, self._receive, self._send))
        return self

    async def __aexit__(self, *exc):
        self._gone.set()
        try:
            await asyncio.wait_for(self.task, timeout=5)
        except (TimeoutError, asyncio.CancelledError):
            self.task.cancel()

    async def _receive(self):
        if not self._asked:
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message):
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body" and message.get("body"):
            await self.chunks.put(message["body"].decode())

    async def event(self, timeout: float = 10.0) -> dict:
        """The next event: {"event", "id", "data"} (keep-alive comments skipped)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            while "\n\n" in self.buffer:
                frame, self.buffer = self.buffer.split("\n\n", 1)
                fields = {}
                for line in frame.splitlines():
                    if line.startswith(":") or ":" not in line:
                        continue
                    name, value = line.split(":", 1)
                    fields[name] = value.lstrip(" ")
                if "event" in fields:
                    return {"event": fields["event"], "id": int(fields.get("id", 0)),
                            "data": json.loads(fields.get("data", "null"))}
            left = end - loop.time()
            if left <= 0:
                raise TimeoutError("no event")
            self.buffer += await asyncio.wait_for(self.chunks.get(), timeout=left)

    async def until(self, predicate, timeout: float = 10.0) -> dict:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            event = await self.event(timeout=max(0.01, end - loop.time()))
            if predicate(event):
                return event


def cookie_of(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def feed_path(session: WorkingSession, revision: int | None = None) -> str:
    from sessions.page import session_url

    session.refresh_from_db()
    return f"{session_url(session, 'session_live')}?rev={revision or session.revision}"


def html_of(event: dict) -> str:
    return "".join(html for _, html in event["data"]["ops"]) if event["event"] == "ops" else ""


def run(coroutine):
    async def then_close():
        try:
            return await coroutine
        finally:
            # The test's own database calls ran in asgiref's thread: leave no connection.
            await sync_to_async(connections.close_all)()

    return run_in_own_loop(then_close())


def test_a_write_reaches_the_other_members_stream(session, owner, teammate, streams):
    session = move_to(session, Step.TEST)

    path, cookie = feed_path(session), cookie_of(owner)

    async def scenario():
        async with Stream(path, cookie) as stream:
            hello = await stream.event()
            assert stream.status == 200 and hello["event"] == "hello"
            await stream.until(lambda e: e["event"] == "ops")  # first drawing: everything
            await sync_to_async(services.finding_create)(
                session=session, author=teammate, text="Tom sees a pattern", step=Step.TEST)
            revision = await sync_to_async(
                lambda: WorkingSession.objects.get(pk=session.pk).revision)()
            seen: list[str] = []

            def caught_up(event):
                seen.append(html_of(event))
                return event["id"] >= revision

            # The page reaches the write's revision, and has drawn the finding by then (a
            # drawing may show a write before the revision that names it: ids are a floor).
            await stream.until(caught_up)
            assert any("Tom sees a pattern" in html for html in seen)

    run(scenario())


def test_a_step_move_tells_every_page_to_reload(session, owner, teammate, streams):
    path, cookie = feed_path(session), cookie_of(teammate)

    async def scenario():
        async with Stream(path, cookie) as stream:
            await stream.until(lambda e: e["event"] == "ops")
            await sync_to_async(services.step_move)(session=session, by=owner,
                                                    to=Step.HYPOTHESES, expected=Step.ALIGN)
            event = await stream.until(lambda e: e["event"] == "stale")
            assert event["data"]["rev"] == event["id"]

    run(scenario())


def test_a_job_ending_in_a_worker_reaches_the_page(session, owner, teammate, streams):
    session = move_to(session, Step.HYPOTHESES)
    services.hypothesis_create(session=session, author=teammate, text="Inviters buy",
                               criterion=INVITED)
    services.entries_reveal(session=session, by=owner)
    session = move_to(session, Step.TEST)
    [test] = services.session_tests_run(session=session, by=owner)
    AnalysisJob.objects.filter(pk=test.job_id).update(status=JobStatus.QUEUED)

    path, cookie = feed_path(session), cookie_of(owner)

    async def scenario():
        async with Stream(path, cookie) as stream:
            first = await stream.until(lambda e: e["event"] == "ops")
            assert "Queued on the analytics queue" in html_of(first)
            # As a worker would: the row changes, then the signal (no session row written).
            await sync_to_async(lambda: AnalysisJob.objects.filter(pk=test.job_id).update(
                status=JobStatus.DONE))()
            await sync_to_async(push.job_changed)(sender=AnalysisJob, job_id=test.job_id)
            event = await stream.until(lambda e: "Supported" in html_of(e))
            assert f"q-{test.pk}" in [key for key, _ in event["data"]["ops"]]

    run(scenario())


def test_a_page_that_missed_changes_gets_everything_on_reconnect(session, owner, teammate,
                                                                streams):
    session = move_to(session, Step.TEST)
    services.finding_create(session=session, author=teammate, text="Written while away",
                            step=Step.TEST)
    session.refresh_from_db()

    # The browser reconnects with the last revision it saw (Last-Event-ID).
    path, cookie = feed_path(session, revision=session.revision), cookie_of(owner)

    async def scenario():
        async with Stream(path, cookie, last_event_id=1) as stream:
            hello = await stream.event()
            assert hello["id"] == 1
            event = await stream.until(lambda e: e["event"] == "ops")
            keys = [key for key, _ in event["data"]["ops"]]
            assert {"session-bar", "people", "live"} <= set(keys)
            assert "Written while away" in html_of(event)
            assert event["id"] == session.revision

    run(scenario())


def test_a_member_who_closes_the_page_shows_as_away_within_seconds(session, owner, teammate,
                                                                  streams):
    session = move_to(session, Step.TEST)
    me = Participant.objects.get(session=session, user=teammate)

    path, watching, leaving = feed_path(session), cookie_of(owner), cookie_of(teammate)

    async def scenario():
        async with Stream(path, watching) as watcher:
            async with Stream(path, leaving) as leaver:
                await leaver.until(lambda e: e["event"] == "ops")
                await watcher.until(lambda e: "2 here" in html_of(e))
            loop = asyncio.get_running_loop()
            closed = loop.time()
            await watcher.until(lambda e: "1 here" in html_of(e), timeout=8)
            return loop.time() - closed

    seconds = run(scenario())
    assert seconds < 5
    me.refresh_from_db()
    from django.utils import timezone

    from sessions.selectors import presence_window
    assert timezone.now() - me.last_seen_at > presence_window()


def test_outsiders_get_no_stream(session, owner, streams):
    from accounts.models import User

    stranger = User.objects.create_user(email="eve@example.com", password=None,
                                        display_name="Eve")

    path, cookie = feed_path(session), cookie_of(stranger)

    async def scenario():
        async with Stream(path, cookie) as stream:
            await asyncio.sleep(0.5)
            return stream.status

    assert run(scenario()) == 404


# ---------------------------------------------------------------- between web processes


def test_notices_cross_processes_over_redis(settings):
    require(bool(os.environ.get("REDIS_URL")), "needs Redis: set REDIS_URL")
    settings.LIVE_BROADCAST_URL = os.environ["REDIS_URL"]
    heard: list[dict] = []

    async def scenario():
        listener = broadcast.Hub(os.environ["REDIS_URL"])
        got = asyncio.Event()

        def on_notice(notice):
            heard.append(notice)
            got.set()

        listener.listen(on_notice)
        await asyncio.wait_for(listener.connected.wait(), timeout=5)
        # Another process (here a thread with its own hub) publishes.
        other = broadcast.Hub(os.environ["REDIS_URL"])
        thread = threading.Thread(target=other.publish, args=({"type": "session",
                                                                "session": 42},))
        thread.start()
        thread.join()
        await asyncio.wait_for(got.wait(), timeout=5)
        listener.forget(on_notice)
        listener._task.cancel()

    run(scenario())
    assert heard == [{"type": "session", "session": 42}]


# ---------------------------------------------------------------- cards kept across members


def test_a_kept_card_carries_each_members_own_token_and_run_button(session, owner, teammate,
                                                                   settings):
    import re

    from django.middleware.csrf import _does_token_match

    from sessions import cards
    from sessions.page import session_url

    settings.CSRF_USE_SESSIONS = False
    session = move_to(session, Step.HYPOTHESES)
    toms = services.hypothesis_create(session=session, author=teammate, text="Tom: invites",
                                      criterion=INVITED)
    olivias = services.hypothesis_create(session=session, author=owner, text="Olivia: invites",
                                         criterion=INVITED)
    services.entries_reveal(session=session, by=owner)
    session = move_to(session, Step.TEST)
    cards._kept.clear()
    pages = {}
    for user in (teammate, owner, teammate):
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        html = client.get(session_url(session)).content.decode()
        secret = client.cookies["csrftoken"].value
        tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        assert tokens and all(_does_token_match(token, secret) for token in tokens)
        assert cards.TOKEN not in html
        pages[user.pk] = html
    assert len(cards._kept) >= 2  # drawn once, used again
    run = "/entries/{}/test/"
    assert run.format(toms.pk) in pages[teammate.pk]
    assert run.format(olivias.pk) not in pages[teammate.pk]  # not his to run
    assert run.format(toms.pk) in pages[owner.pk] and run.format(olivias.pk) in pages[owner.pk]


# ---------------------------------------------------------------- writes from a live page


def test_a_write_from_a_live_page_leaves_the_live_region_to_the_stream(session, owner,
                                                                       teammate):
    from sessions.page import session_url

    session = move_to(session, Step.HYPOTHESES)
    services.hypothesis_create(session=session, author=owner, text="Olivia: invites",
                               criterion=INVITED)
    services.entries_reveal(session=session, by=owner)
    session = move_to(session, Step.TEST)
    services.session_tests_run(session=session, by=owner)
    client = Client()
    client.force_login(teammate)
    finding = session_url(session, "finding_create")
    data = {"text": "A pattern", "kind": "insight", "test": "", "step": Step.TEST}
    full = client.post(finding, data, HTTP_HX_REQUEST="true").content.decode()
    # A write that names no own parts of its own (test_own_parts: those that do).
    light = own_parts.answer(session, teammate).content.decode()
    assert "Olivia: invites" in full and 'hx-preserve="true"' not in full
    assert "Olivia: invites" not in light and 'id="live"' in light
    assert 'hx-preserve="true"' in light
    assert '<section id="people" class="card" hx-preserve="true"></section>' in light
    assert "Olivia Owner" not in light.split('id="people"', 1)[1].split("</section>", 1)[0]
    assert 'id="own-hidden" class="stack" hx-swap-oob="true"' in light
    assert 'id="finding-form-title"' in light  # the member's own forms are all there
    # A page still showing another step gets the whole body.
    other = client.post(finding, data, HTTP_HX_REQUEST="true",
                        HTTP_X_LIVE_STEP=Step.HYPOTHESES).content.decode()
    assert "Olivia: invites" in other


def test_own_dots_and_hidden_entries_come_with_a_light_answer(session, owner, teammate):
    from sessions.page import session_url

    session = move_to(session, Step.HYPOTHESES)
    entry = services.hypothesis_create(session=session, author=owner, text="Olivia: invites",
                                       criterion=INVITED)
    services.entries_reveal(session=session, by=owner)
    session = move_to(session, Step.TEST)
    services.vote_open(session=session, by=owner, dots_per_member=2)
    client = Client()
    client.force_login(teammate)
    live = {"HTTP_HX_REQUEST": "true", "HTTP_X_LIVE_STEP": Step.TEST}
    placed = client.post(session_url(session, "dot_place", entry_id=entry.pk), **live)
    html = placed.content.decode()
    assert '<section id="vote" hx-swap-oob="true"' in html
    assert "<strong>1</strong> of 2 dots left" in html
    created = client.post(session_url(session, "hypothesis_create"), {
        "kind": "hypothesis", "text": "Tom keeps it to himself", "expected_direction": "more",
        "confidence": "", "new-rows": "1", "new-0-kind": "did_event",
        "new-0-event": "invite_teammate", "new-0-within_days": "7"}, **live).content.decode()
    own = created.split('id="own-hidden"', 1)[1].split("</div>\n", 1)[0]
    assert "Tom keeps it to himself" in own and "hidden from others" in own


def test_the_feeds_drawings_use_their_own_pool_when_there_is_one(settings):
    from hypothesislab.dbrouter import LiveRouter, live_connection

    router = LiveRouter()
    assert router.db_for_read(WorkingSession) is None
    with live_connection():
        assert router.db_for_read(WorkingSession) is None  # no "live" alias: one connection
    settings.DATABASES = {**settings.DATABASES, "live": dict(settings.DATABASES["default"])}
    with live_connection():
        assert router.db_for_read(WorkingSession) == "live"
        assert router.db_for_write(Participant) == "live"
    assert router.db_for_read(WorkingSession) is None
    assert router.allow_migrate("live", "worksessions") is False


def test_a_feed_that_cannot_draw_ends_its_streams_for_browsers_to_reconnect(monkeypatch):
    monkeypatch.setattr(feed, "PULSE", 0.01)
    member = feed.Member(user_id=1, participant_id=None, revision=1)

    async def scenario():
        session_feed = feed.Feed(999_999)
        session_feed.members.add(member)

        def broken(*args, **kwargs):
            raise RuntimeError("the database is gone")

        session_feed._look = broken
        await asyncio.wait_for(session_feed.run(), timeout=10)
        return session_feed

    ended = run(scenario())
    assert member.queue.get_nowait() == feed.END and not ended.members


def test_a_wsgi_server_says_once_that_it_cannot_stream(client, session, owner):
    from sessions.page import session_url

    client.force_login(owner)
    # On a thread of its own: the test client runs the async view with async_to_sync,
    # which refuses a thread where Playwright keeps its loop running.
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(client.get, session_url(session, "session_live") + "?rev=1").result()
    assert answer.status_code == 200 and answer["Content-Type"] == "text/event-stream"
    assert answer.content.decode().split("\n")[1] == "event: unsupported"
