"""The facilitator's meeting tools in three browsers: a dot vote opened by the facilitator,
two members voting (each seeing only their own dots), the vote closed, the totals and the
"Run in vote order" action on every screen; then a timebox whose countdown shows, sticky,
on the session page and on an explore tool opened with the session."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from sessions.models import Dot, HypothesisTest, WorkingSession
from tests.e2e.conftest import LAPTOP, trio_at_test

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

LIVE_MS = 15_000  # pushed at once (under uvicorn: the live stream needs ASGI); a busy machine
CLOCK = re.compile(r"^\d+:\d\d$")


@pytest.fixture
def app_url(asgi_server) -> str:
    return asgi_server.url


@pytest.fixture
def at_test():
    """Olivia facilitates; Tom and Tess joined; three revealed hypotheses, at Test."""
    return trio_at_test()


def test_a_dot_vote_and_a_timebox_in_three_browsers(at_test, new_page, sign_in, asgi_server,
                                                    shot):
    session, (olivia, tom, tess) = at_test
    url = f"/t/acme-growth/sessions/{session.pk}/"
    a, b, c = (sign_in(new_page(LAPTOP), asgi_server, person)
               for person in (olivia, tom, tess))
    for page in (a, b, c):
        page.goto(url)

    # Olivia opens a vote of two dots each; everyone's screen shows it.
    a.get_by_label("Dots each").fill("2")
    a.get_by_role("button", name="Open a dot vote").click()
    for page in (a, b, c):
        page.get_by_text("Dot vote: which hypotheses matter most?").wait_for(timeout=LIVE_MS)

    # Tom puts both dots on one hypothesis; Tess splits hers.
    b.get_by_role("button", name="Add a dot to: Pro buys").click()
    b.locator("[data-dots-left]").get_by_text("1 of 2 dots left").wait_for()
    b.get_by_role("button", name="Add a dot to: Pro buys").click()
    b.locator("[data-dots-left]").get_by_text("0 of 2 dots left").wait_for()
    assert b.get_by_role("button", name="Add a dot to: Inviters buy").is_disabled()
    c.get_by_role("button", name="Add a dot to: Regulars buy").click()
    c.locator("[data-dots-left]").get_by_text("1 of 2 dots left").wait_for()
    c.get_by_role("button", name="Add a dot to: Pro buys").click()
    c.locator("[data-dots-left]").get_by_text("0 of 2 dots left").wait_for()
    assert Dot.objects.count() == 4
    # Hidden until the close: Tom sees that two members voted, not where.
    b.get_by_text("2 members voted so far").wait_for(timeout=LIVE_MS)
    assert b.locator("[data-vote-total]").count() == 0
    assert b.locator('[data-vote-line] [aria-label="your dots: 1"]').count() == 0
    shot(c, "vote-open")

    # Olivia closes it: the totals, most dots first, and the vote-order action.
    a.get_by_role("button", name="Close the vote and show totals").click()
    a.get_by_text("Dot vote results").wait_for()
    a.get_by_role("button", name="Run in vote order (2)").wait_for()
    for page in (a, b, c):
        page.get_by_text("Dot vote results").wait_for(timeout=LIVE_MS)
        lines = page.locator("#vote [data-vote-line]")
        assert lines.first.get_by_text("Pro buys").is_visible()
        assert lines.first.locator("[data-vote-total]").get_attribute("data-vote-total") == "3"
        assert lines.nth(1).locator("[data-vote-total]").get_attribute("data-vote-total") == "1"
    shot(a, "vote-closed")
    a.get_by_role("button", name="Run in vote order (2)").click()
    a.get_by_role("button", name=re.compile(r"Run in vote order")).wait_for(state="detached")
    queued = [t.hypothesis.text for t in HypothesisTest.objects.order_by("pk")]
    assert queued == ["Pro buys", "Regulars buy"]

    # A five-minute timebox on the step: the countdown is on everyone's screen and runs.
    a.get_by_label("Timebox minutes").fill("5")
    a.get_by_role("button", name="Set timebox").click()
    for page in (a, b, c):
        page.locator("#session-clock [data-clock-time]").wait_for(timeout=LIVE_MS)
    timer = b.locator("#session-clock [data-clock-time]")
    first = timer.text_content()
    assert CLOCK.match(first) and first.startswith(("5:00", "4:5"))
    b.wait_for_function(
        "first => document.querySelector('#session-clock [data-clock-time]').textContent"
        " !== first", arg=first)
    # Sticky: scrolled to the bottom of the page, the clock is still in view.
    b.mouse.wheel(0, 10_000)
    b.wait_for_function("() => window.scrollY > 0")
    box = b.locator("#session-clock").bounding_box()
    assert box is not None and 0 <= box["y"] < 120, box

    # On an explore tool opened with the session, the same clock; at zero it says so,
    # and nothing is refused (a timebox advises).
    WorkingSession.objects.filter(pk=session.pk).update(
        timebox_started_at=timezone.now() + timedelta(seconds=3) - timedelta(minutes=5))
    b.goto(f"/t/acme-growth/explore/breakdown/?session={session.pk}")
    clock = b.locator("#session-clock")
    assert clock.get_by_text("Test", exact=True).is_visible()
    assert CLOCK.match(clock.locator("[data-clock-time]").text_content())
    shot(b, "explore-clock")
    b.locator("#session-clock.is-over").wait_for(timeout=LIVE_MS)
    assert "Time's up" in clock.text_content()
    assert clock.locator("[data-clock-time]").text_content() == "0:00"
    b.mouse.wheel(0, 10_000)
    box = clock.bounding_box()
    assert box is not None and 0 <= box["y"] < 120, box
    clock.get_by_role("link", name=session.title).click()
    b.wait_for_url(re.compile(rf"/sessions/{session.pk}/$"))
