"""The live drawer (sessions.drawer): a process of its own that draws each live session for
every web process. Where it has announced itself, a web process's feed leaves the drawing
to it and sends what it publishes; with no drawing for WAIT_FOR_DRAWING, the web process
draws itself again."""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from hypothesislab import broadcast
from sessions import drawer, feed, regions, services
from sessions.models import Participant
from sessions.steps import Step
from tests.conftest import require
from tests.own_loop import run_in_own_loop

from .factories import move_to


class FakeHub:
    """Redis as a process sees it: every claim granted, the drawer here or not."""

    url = "redis://fake"
    origin = "the drawer"

    def __init__(self, drawer_here: bool = False) -> None:
        self.drawer_here = drawer_here

    def claim(self, key: str, *, ms: int) -> bool:
        return True

    def announced(self, name: str) -> bool:
        return self.drawer_here and name == feed.DRAWER


@pytest.fixture
def drawing_here(monkeypatch):
    """Looks run in the test's transaction (no connection handed back), draws counted, and
    what is published kept."""
    monkeypatch.setattr(feed, "close_old_connections", lambda: None)
    monkeypatch.setattr(feed, "_drawer_seen", (-feed.DRAWER_LOOK_EVERY, False))
    draws, published = [], []
    draw = regions.draw

    def counted(session_id):
        draws.append(session_id)
        return draw(session_id)

    monkeypatch.setattr(regions, "draw", counted)
    monkeypatch.setattr(broadcast, "publish", published.append)
    return draws, published


def here_now(session) -> set[int]:
    Participant.objects.filter(session=session).update(last_seen_at=timezone.now())
    return set(Participant.objects.filter(session=session).values_list("pk", flat=True))


def look(session_feed, *, overdue: bool = False):
    """One look of the feed's loop, and what the loop does with a drawing of its own."""
    drawn = session_feed._look_now(set(), set(), force=True, drawn=None, overdue=overdue,
                                   renew=False)
    if isinstance(drawn, regions.Snapshot):
        session_feed._remember(drawn)
        session_feed._send(drawn)
    return drawn


@pytest.mark.django_db
def test_with_the_drawer_here_a_web_feed_leaves_the_drawing_to_it_until_overdue(
        session, owner, teammate, monkeypatch, drawing_here):
    draws, _ = drawing_here
    monkeypatch.setattr(broadcast, "hub", lambda: FakeHub(drawer_here=True))
    session = move_to(session, Step.TEST)
    here_now(session)
    web = feed.Feed(session.pk)
    assert look(web) is feed.WAIT and web.drawer_draws and draws == []
    drawn = look(web, overdue=True)  # no drawing came for WAIT_FOR_DRAWING: draw it here
    assert isinstance(drawn, regions.Snapshot) and draws == [session.pk]
    assert not web.drawer_draws


@pytest.mark.django_db
def test_without_the_drawer_a_web_feed_draws_itself(session, owner, monkeypatch,
                                                    drawing_here):
    draws, _ = drawing_here
    monkeypatch.setattr(broadcast, "hub", lambda: FakeHub(drawer_here=False))
    session = move_to(session, Step.TEST)
    here_now(session)
    assert isinstance(look(feed.Feed(session.pk)), regions.Snapshot)
    assert draws == [session.pk]


@pytest.mark.django_db
def test_the_drawers_feed_draws_for_the_web_processes_while_anyone_is_here(
        session, owner, teammate, monkeypatch, drawing_here):
    """The drawer's headless feed draws and publishes the change (it never waits for
    itself); a web process's feed sends what it published to its member; with nobody left
    in the session, the drawer's feed ends."""
    draws, published = drawing_here
    monkeypatch.setattr(broadcast, "hub", lambda: FakeHub(drawer_here=True))
    session = move_to(session, Step.TEST)
    here_now(session)
    before = regions.draw(session.pk)
    web = feed.Feed(session.pk)
    member = feed.Member(user_id=teammate.pk, participant_id=None, revision=before.revision)
    web.members.add(member)
    web.last = before
    web._remember(before)
    web.waiting_since = 1.0  # it waits for the drawer's drawing
    services.finding_create(session=session, author=owner, text="Pro plans succeed",
                            step=Step.TEST)

    headless = feed.Feed(session.pk, headless=True)
    assert not headless.presence_dirty  # nobody of its own to announce
    drawn = look(headless)
    assert isinstance(drawn, regions.Snapshot) and headless.anyone_here
    assert headless.running()
    notice = json.loads(json.dumps(published[-1]))  # as Redis carries it
    assert notice["type"] == "drawing" and notice["session"] == session.pk

    web.notice({**notice, "origin": "the live drawer's process"})
    frame = member.queue.get_nowait().decode()
    assert "Pro plans succeed" in frame and f"id: {drawn.revision}\n" in frame
    assert web.waiting_since is None  # a drawing came: its wait starts again

    Participant.objects.filter(session=session).update(
        last_seen_at=timezone.now() - timezone.timedelta(minutes=5))
    services.finding_create(session=session, author=owner, text="And one more",
                            step=Step.TEST)
    look(headless)
    assert not headless.anyone_here and not headless.running()


def test_the_drawer_follows_the_sessions_that_change(monkeypatch):
    """A session notice gives the drawer a headless feed for that session; another
    process's drawing of a session nobody changed since does not; a resync wakes every
    feed."""
    started: list[int] = []

    async def runs(self):
        started.append(self.session_id)

    monkeypatch.setattr(feed.Feed, "run", runs)

    async def scenario():
        the_drawer = drawer.Drawer()
        the_drawer.on_notice({"type": "drawing", "session": 7, "origin": "web",
                              "snapshot": {}})
        assert the_drawer.feeds == {}
        the_drawer.on_notice({"type": "session", "session": 7, "users": [], "all": False})
        await asyncio.sleep(0)
        the_feed = the_drawer.feeds[7]
        assert the_feed.headless and started == [7]
        the_feed.wake.clear()
        the_drawer.on_notice(broadcast.RESYNC)
        assert the_feed.wake.is_set()
        # A web process lacks what the diffs are against: the next drawing goes whole.
        the_drawer.on_notice({"type": feed.WHOLE, "session": 7})
        assert the_drawer.feeds[7].whole_next

    run_in_own_loop(scenario())


def test_the_drawer_needs_redis(settings):
    settings.LIVE_BROADCAST_URL = ""
    with pytest.raises(CommandError, match="needs Redis"):
        call_command("live_drawer")
    with pytest.raises(CommandError, match="No live drawer"):
        call_command("live_drawer", "--check")


def test_an_announcement_holds_for_its_time_in_redis():
    """The drawer's announcement is a key that expires: a drawer that stops is soon no
    longer here, and the web processes draw again."""
    require(bool(os.environ.get("REDIS_URL")), "needs Redis: set REDIS_URL")
    hub = broadcast.Hub(os.environ["REDIS_URL"])
    name = f"drawer-test-{os.getpid()}"
    assert not hub.announced(name)
    hub.announce(name, seconds=0.3)
    assert hub.announced(name)
    time.sleep(0.4)
    assert not hub.announced(name)


@pytest.mark.django_db
def test_a_process_that_lacks_a_drawings_base_asks_for_the_next_one_whole(
        session, owner, teammate, monkeypatch, drawing_here):
    """Members who came after the drawer's first drawings (or a process that missed one)
    get diffs against drawings their process never had: it asks once for a whole drawing,
    the drawer publishes its next drawing whole, and the process sends it."""
    _, published = drawing_here
    monkeypatch.setattr(broadcast, "hub", lambda: FakeHub(drawer_here=True))
    session = move_to(session, Step.TEST)
    here_now(session)
    headless = feed.Feed(session.pk, headless=True)
    look(headless)  # its first drawing, before any member came to the web process
    services.finding_create(session=session, author=owner, text="Pro plans succeed",
                            step=Step.TEST)
    look(headless)
    diff = json.loads(json.dumps(published[-1]))
    assert "base" in diff["snapshot"]

    web = feed.Feed(session.pk)
    member = feed.Member(user_id=teammate.pk, participant_id=None, revision=0)
    web.members.add(member)
    member.needs_all = True
    published.clear()
    web.notice({**diff, "origin": "the live drawer's process"})
    web.notice({**diff, "origin": "the live drawer's process"})  # asked once a second
    assert published == [{"type": feed.WHOLE, "session": session.pk}] and member.queue.empty()

    headless.notice(published[0])
    assert headless.whole_next
    look(headless)
    whole = json.loads(json.dumps(published[-1]))
    assert "base" not in whole["snapshot"] and not headless.whole_next
    web.notice({**whole, "origin": "the live drawer's process"})
    assert "Pro plans succeed" in member.queue.get_nowait().decode()
