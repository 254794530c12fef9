"""How often a session's feed looks at the session and draws it (sessions.feed): its own
drawings are spaced by what they cost in CPU (at least MIN_GAP), a look that drew nothing
here is followed by the next at once, and presence is renewed once a pulse, not with every
look. The feed's loop runs in its own event loop with `_look` scripted: no database."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from sessions import feed, push, regions
from tests.own_loop import run_in_own_loop

GAP = 0.5  # MIN_GAP here: long enough that a look coming sooner is not the scheduler's doing


def drawing(revision: int, *, cost: float) -> regions.Snapshot:
    return regions.Snapshot(revision=revision, step="test", closed=False, cost=cost)


@pytest.fixture
def paced(monkeypatch):
    monkeypatch.setattr(feed, "MIN_GAP", GAP)
    monkeypatch.setattr(feed, "LOOK_GAP", 0.0)
    monkeypatch.setattr(feed, "PULSE", 30.0)  # no look but those the notices ask for
    monkeypatch.setattr(push, "presence_changed", lambda session_id: None)


def looks_of(answers: list) -> list[tuple[float, bool]]:
    """Run a feed whose looks answer `answers` in turn, each look asked for by a notice as
    soon as the one before returned: (when it started, whether it renewed presence)."""
    looks: list[tuple[float, bool]] = []

    async def scenario():
        loop = asyncio.get_running_loop()
        session_feed = feed.Feed(999_999)
        member = feed.Member(user_id=1, participant_id=7, revision=0)
        pending = list(answers)

        def look(here, left, *, renew, **kwargs):
            looks.append((loop.time(), renew))
            answer = pending.pop(0)
            # The next change is already waiting (200 members writing).
            loop.call_soon_threadsafe(session_feed.wake.set)
            if not pending:
                loop.call_soon_threadsafe(session_feed.members.clear)
            return answer

        session_feed._look = look
        session_feed.join(member)  # starts the loop
        await asyncio.wait_for(session_feed.task, timeout=20)

    run_in_own_loop(scenario())
    return looks


def gaps(looks: list[tuple[float, bool]]) -> list[float]:
    times = [when for when, _ in looks]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def test_own_drawings_are_spaced_by_their_cpu_and_at_least_min_gap(paced):
    # Drew it here for 2 x GAP of CPU; then for almost nothing.
    looks = looks_of([drawing(1, cost=2 * GAP), drawing(2, cost=0.001), None])
    after_costly, after_cheap = gaps(looks)
    assert after_costly >= 2 * GAP
    assert GAP <= after_cheap < 2 * GAP


def test_after_another_processs_drawing_or_nothing_new_the_next_look_comes_at_once(paced):
    # Another process's drawing (no cost here), then nothing new, then the next.
    looks = looks_of([drawing(1, cost=0.0), None, drawing(2, cost=0.0)])
    assert all(gap < GAP for gap in gaps(looks)), gaps(looks)


def test_presence_is_renewed_once_a_pulse_not_with_every_look(paced):
    looks = looks_of([drawing(1, cost=0.0), None, drawing(2, cost=0.0)])
    # The first renews (a member arrived); the next ones, within the pulse, do not.
    assert [renewed for _, renewed in looks] == [True, False, False]


def test_the_drawers_drawings_start_apart_by_their_cpu_within_its_bounds(monkeypatch):
    """The live drawer's headless feed starts the next drawing DRAWER_CPU_RATIO times the
    last one's CPU after the last one started, never sooner than the least gap, never
    later than the most."""
    monkeypatch.setattr(feed, "DRAWER_GAP", (GAP, 2 * GAP))
    monkeypatch.setattr(feed, "DRAWER_CPU_RATIO", 3)
    monkeypatch.setattr(feed, "PULSE", 30.0)
    costs = [0.001, GAP / 2, 10 * GAP, 0.001]  # least, 1.5 x GAP, most, (last)
    starts: list[float] = []

    async def scenario():
        loop = asyncio.get_running_loop()
        headless = feed.Feed(999_998, headless=True)

        def look(here, left, **kwargs):
            starts.append(loop.time())
            cost = costs[len(starts) - 1]
            if len(starts) == len(costs):
                headless.anyone_here = False  # nobody left: the feed ends
            loop.call_soon_threadsafe(headless.wake.set)  # the next change waits already
            return drawing(len(starts), cost=cost)

        headless._look = look
        headless.wake.set()
        headless.start()
        await asyncio.wait_for(headless.task, timeout=20)

    run_in_own_loop(scenario())
    least, middle, most = gaps([(when, False) for when in starts])
    assert GAP <= least < 1.4 * GAP
    assert 1.5 * GAP <= middle < 1.9 * GAP
    assert 2 * GAP <= most < 2.4 * GAP
