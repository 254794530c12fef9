"""The live session's push broken on purpose: the web processes killed and started again,
then Redis (which carries each change between web processes) restarted, in the middle of a
session. Three members hold the session's event stream over plain HTTP, as a browser's
EventSource does (reconnecting with Last-Event-ID), and write findings through the web
processes meanwhile.

In both, every member's stream ends at the same revision as the database, showing every
finding that was written exactly once: none lost (an acknowledged write is there, on every
page), none duplicated (a write is never sent twice, and a page never shows one twice).

uvicorn runs 2 worker processes with LIVE_BROADCAST_URL pointing at a private
redis-server, so a change written through one process reaches the streams of the other
only through Redis, and the live drawer runs beside them as in production (it draws, they
send). A third test stops the drawer itself: the web processes draw again."""

from __future__ import annotations

import json
import re
import signal
from collections import Counter
from contextlib import ExitStack

import pytest

from accounts.models import Membership
from hypothesislab import broadcast
from sessions import services
from sessions.models import Finding, WorkingSession
from sessions.steps import Step
from tests.asgi_server import AsgiServer, Stream, server_environment
from tests.conftest import make_user
from tests.load import processes
from tests.load.client import Budget, Client, Recorder
from tests.load.scenario import signed_in
from tests.worksessions.factories import make_dataset, make_session, move_to

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

CONVERGE_S = 15  # the streams reconnect within a second or two; the feeds look every 2 s
SHOWN = re.compile(r"Written (\S+) by member \d")
# A long list comes as the ids of its items (data-list), each item its own fragment.
LISTED = re.compile(r'(<(\w+)[^>]*?) data-list="([^"]*)"([^>]*>)(.*?)</\2>', re.S)


@pytest.fixture
def redis(services_available, tmp_path):
    with processes.redis_server(tmp_path / "redis.log") as server:
        yield server


class Drawer:
    """The live drawer (`manage.py live_drawer`), as docker-compose runs it."""

    def __init__(self, env: dict[str, str], log_path) -> None:
        self.env, self.log_path, self.process = env, log_path, None

    def start(self) -> None:
        self.process = processes.start_drawer(self.env, self.log_path)
        processes.wait_for_drawer(self.env["LIVE_BROADCAST_URL"])

    def kill(self) -> None:
        processes.stop(self.process, sig=signal.SIGKILL)


@pytest.fixture
def drawer(redis, tmp_path):
    the_drawer = Drawer(server_environment(LIVE_BROADCAST_URL=redis.url),
                        tmp_path / "drawer.log")
    the_drawer.start()
    try:
        yield the_drawer
    finally:
        the_drawer.kill()


@pytest.fixture
def web(redis, drawer, tmp_path):
    server = AsgiServer(server_environment(LIVE_BROADCAST_URL=redis.url),
                        tmp_path / "uvicorn.log", workers=2)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Meeting:
    """Three members of one session at Test: each with a stream and a browser for writes.
    `written`: every write tried, and whether it was acknowledged (a redirect: made)."""

    def __init__(self, web: AsgiServer, session: WorkingSession, people):
        self.web = web
        self.session = session
        self.base = f"/t/{session.team.slug}/sessions/{session.pk}/"
        self.people = people
        self.browsers = []
        self.streams: list[Stream] = []
        self.written: dict[str, bool] = {}

    def open(self) -> None:
        for person in self.people:
            cookies = signed_in(person)
            browser = Client(self.web.port, Recorder(), Budget(seconds=600, max_requests=1000),
                             cookies=dict(cookies))
            assert browser.get(self.base, "page").status == 200  # and its CSRF cookie
            self.browsers.append(browser)
            revision = WorkingSession.objects.values_list("revision", flat=True).get(
                pk=self.session.pk)
            self.streams.append(Stream(self.web.port, f"{self.base}live/", cookies,
                                       revision=revision).start())
        processes.wait_until(lambda: all(s.connects for s in self.streams), timeout=10,
                             what="every member's stream open")

    def close(self) -> None:
        for stream in self.streams:
            stream.close()
        for browser in self.browsers:
            browser.close()

    def write(self, tag: str, *, every_member: bool = True) -> None:
        """A finding by each member, through the web processes (once: never sent again)."""
        for number, browser in enumerate(self.browsers if every_member else self.browsers[:1]):
            text = f"Written {tag} by member {number}"
            answer = browser.post(f"{self.base}findings/new/", "finding", {
                "text": text, "kind": "insight", "test": "", "step": Step.TEST})
            self.written[text] = answer is not None and answer.status == 302

    def in_database(self) -> tuple[int, Counter]:
        revision = WorkingSession.objects.values_list("revision", flat=True).get(
            pk=self.session.pk)
        texts = Finding.objects.filter(session=self.session).values_list("text", flat=True)
        return revision, Counter(texts)

    def converged(self) -> bool:
        revision, rows = self.in_database()
        return all(self._shown(stream) == (revision, rows) for stream in self.streams)

    @staticmethod
    def _shown(stream: Stream) -> tuple[int, Counter]:
        revision, fragments = stream.state()
        # The region lists each finding by id; live.js puts each one's fragment there.
        page = LISTED.sub(lambda m: m.group(1) + m.group(4) + m.group(5) + "".join(
            fragments.get(item, "") for item in m.group(3).split()) + f"</{m.group(2)}>",
            fragments.get("live", ""))
        return revision, Counter(m.group(0) for m in SHOWN.finditer(page))

    def wait_converged(self, what: str) -> None:
        try:
            processes.wait_until(self.converged, timeout=CONVERGE_S, what=what, every=0.2)
        except AssertionError:
            shown = [self._shown(stream) for stream in self.streams]
            raise AssertionError(f"{what}\ndatabase {self.in_database()}\nstreams {shown}\n"
                                 f"{self.web.log()}") from None

    def assert_nothing_lost_or_doubled(self) -> None:
        _, rows = self.in_database()
        assert all(count == 1 for count in rows.values()), rows  # none duplicated
        acknowledged = {text for text, made in self.written.items() if made}
        assert acknowledged <= set(rows), acknowledged - set(rows)  # none lost
        # A write with no answer may or may not have been made; nothing else is there.
        assert set(rows) <= set(self.written), set(rows) - set(self.written)


@pytest.fixture
def meeting(web, team, owner, teammate):
    third = make_user("tess@example.com", "Tess Third")
    Membership.objects.create(team=team, user=third, role=Membership.Role.MEMBER)
    session = make_session(team, owner, members=(teammate, third),
                           dataset=make_dataset(team, n_users=40))
    session = move_to(session, Step.TEST)
    with ExitStack() as stack:
        meeting = Meeting(web, session, (owner, teammate, third))
        stack.callback(meeting.close)
        meeting.open()
        yield meeting


def test_the_web_processes_restarted_mid_session(meeting, web):
    meeting.write("before-1")
    meeting.write("before-2")
    meeting.wait_converged("every stream shows the writes before the restart")

    web.kill()
    meeting.write("while-down")  # nobody answers: these are not made
    assert not any(made for text, made in meeting.written.items() if "while-down" in text)
    # Meanwhile a write reaches the database by another way (another web machine, say).
    services.finding_create(session=meeting.session, author=meeting.people[1],
                            text="Written meanwhile by member 1", step=Step.TEST)
    meeting.written["Written meanwhile by member 1"] = True
    web.start()

    # Each stream reconnects with the last revision it saw and is brought up to date.
    meeting.wait_converged("every stream resynced after the restart")
    assert all(stream.connects >= 2 for stream in meeting.streams)
    meeting.write("after")
    meeting.wait_converged("every stream shows the writes after the restart")
    meeting.assert_nothing_lost_or_doubled()
    _, rows = meeting.in_database()
    assert len(rows) == 3 * 3 + 1


def subscribers(redis) -> int:
    """Web processes listening to the live channel."""
    return int(redis.command("PUBSUB", "NUMSUB", broadcast.CHANNEL).split()[-1])


def test_redis_restarted_mid_session(meeting, redis):
    import redis as redis_py

    meeting.write("before")
    meeting.wait_converged("every stream shows the writes before Redis went away")
    listening = subscribers(redis)
    assert listening >= 1

    redis.shutdown()
    # The writes go on (they need PostgreSQL only); the web process that took one cannot
    # tell the other, whose streams catch up by looking at the database themselves.
    meeting.write("without-redis-1")
    meeting.write("without-redis-2")
    meeting.wait_converged("every stream shows the writes made while Redis was away")
    redis.start()
    # Every web process that listened subscribes again by itself, and its notices flow.
    processes.wait_until(lambda: subscribers(redis) == listening, timeout=CONVERGE_S,
                         what="the web processes subscribed again")
    watcher = redis_py.Redis.from_url(redis.url).pubsub(ignore_subscribe_messages=True)
    watcher.subscribe(broadcast.CHANNEL)
    try:
        meeting.write("after")
        meeting.wait_converged("every stream shows the writes after Redis came back")
        heard = []
        processes.wait_until(
            lambda: heard.append(watcher.get_message(timeout=0.2)) or any(
                n and json.loads(n["data"]).get("session") == meeting.session.pk
                for n in heard),
            timeout=CONVERGE_S, what="a notice of the session through Redis")
    finally:
        watcher.close()
    meeting.assert_nothing_lost_or_doubled()
    _, rows = meeting.in_database()
    assert len(rows) == 4 * 3
    assert all(meeting.written.values()), meeting.written
    # The streams themselves were never cut: only the notices between processes were.
    assert [stream.connects for stream in meeting.streams] == [1, 1, 1]


def test_the_live_drawer_stopped_mid_session(meeting, drawer):
    """The drawer killed (its announcement lingers until it expires): the web processes
    wait for its drawings, then draw themselves, and every member converges; started
    again, it draws for them again."""
    meeting.write("before")
    meeting.wait_converged("every stream shows the writes the drawer drew")
    drawer.kill()
    meeting.write("without-drawer")
    meeting.wait_converged("every stream shows the writes the web processes drew")
    drawer.start()
    meeting.write("drawer-back")
    meeting.wait_converged("every stream shows the writes after the drawer came back")
    meeting.assert_nothing_lost_or_doubled()
    _, rows = meeting.in_database()
    assert len(rows) == 3 * 3 and all(meeting.written.values()), meeting.written
