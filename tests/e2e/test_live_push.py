"""The live session on server push, three members in Chromium against the app under
uvicorn (the stream needs ASGI), with no reload anywhere: what one writes shows on the
others' pages; the timer's extension, a test result finishing, a step move, a member
leaving and the server going away all reach every page by themselves; and a write reaches
the others' pages fast (issue 10: p95 <= 300 ms from the write's response).

The server is a real process sharing this test's PostgreSQL database (a process of its
own cannot share the SQLite test database, so these tests need PostgreSQL, like the
fault tests). Members are signed in by a session cookie."""

from __future__ import annotations

import os
import statistics
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import expect

from sessions import services
from sessions.models import Finding, WorkingSession
from sessions.steps import Step
from tests.e2e.conftest import LAPTOP, trio_at_test

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]

PUSH_MS = 3_000  # a change on every page: pushed at once; room for a busy machine
PULSE_MS = 6_000  # a change the server notices by itself (its 2-second look at the database)
RESULTS_MS = 60_000  # the first DuckDB job of a fresh web process
AWAY_S = 5.0  # issue 10: a member who leaves shows as away within 5 s
DELIVERY_WRITES = 21
DELIVERY_P95_MS = 300.0
SCREENSHOTS = Path(os.environ.get("E2E_SCREENSHOTS") or "/work/scratch")


# ---------------------------------------------------------------- the server and the cast


@pytest.fixture
def server(asgi_server):
    return asgi_server


@pytest.fixture
def app_url(asgi_server) -> str:
    return asgi_server.url


@pytest.fixture
def meeting():
    """Olivia facilitates; Tom and Tess joined; three revealed hypotheses, at Test,
    none tested yet."""
    return trio_at_test()


def open_pages(new_page, sign_in, server, session, people) -> list:
    """Each member's session page, signed in by cookie, its event stream open."""
    url = f"/t/{session.team.slug}/sessions/{session.pk}/"
    pages = []
    for person in people:
        page = sign_in(new_page(LAPTOP), server, person)
        with page.expect_response(lambda r: "/live/" in r.url and r.status == 200):
            page.goto(url)
        pages.append(page)
    return pages


def here(page, count: int, timeout: int = PUSH_MS) -> None:
    page.locator("#people").get_by_text(f"{count} here", exact=True).wait_for(timeout=timeout)


def in_live(page, text: str, timeout: int = PUSH_MS) -> None:
    page.locator("#live").get_by_text(text).first.wait_for(timeout=timeout)


def save_finding(page, text: str):
    """Write a finding through the page's form; the POST's response."""
    form = page.locator("form.finding-form")
    form.get_by_label("What did you find?").fill(text)
    with page.expect_response(lambda r: r.request.method == "POST"
                              and "/findings/new/" in r.url) as answer:
        form.get_by_role("button", name="Save finding").click()
    return answer.value


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # caret="initial": hiding the caret injects a <style> the page's CSP blocks.
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, caret="initial")


# ---------------------------------------------------------------- every region follows


def test_every_change_reaches_the_other_pages_without_a_reload(meeting, server, new_page, sign_in):
    session, (olivia, tom, tess) = meeting
    a, b, c = open_pages(new_page, sign_in, server, session, (olivia, tom, tess))
    for page in (a, b, c):
        here(page, 3)
    loaded = [page.evaluate("() => performance.timeOrigin") for page in (a, b, c)]

    # A finding written by one shows on the others' pages. The writer's answer is only
    # their finding form, emptied: a hypothesis they were drafting meanwhile stays typed.
    b.locator("#mine details.new-entry > summary").click()
    drafting = b.locator("#mine").get_by_label("In your own words")
    drafting.fill("Half a thought")
    answer = save_finding(b, "Inviting looks like the strongest signal")
    assert answer.ok and answer.headers.get("hx-reswap") == "none"
    for page in (a, c):
        in_live(page, "Inviting looks like the strongest signal")
    expect(b.get_by_label("What did you find?")).to_have_value("")
    expect(drafting).to_have_value("Half a thought")

    # Tests run after the pages loaded: each result lands on the others' cards, and the
    # finding form's evidence list gains it.
    evidence = c.get_by_label("Evidence: link a result")
    assert evidence.locator("option", has_text="Inviters buy").count() == 0
    removable = [page.locator("#mine-list").get_by_role("button", name="Remove")
                 for page in (b, c)]
    assert all(buttons.count() >= 1 for buttons in removable)
    a.get_by_role("button", name="Run all tests (3)").click()
    for page in (b, c):
        expect(page.locator("#live article.entry [data-verdict]")).to_have_count(
            3, timeout=RESULTS_MS)
    # Their own entries were tested by someone else: "Remove" goes from their own list.
    for buttons in removable:
        expect(buttons).to_have_count(0)
        expect(page.locator("#live article.entry", has_text="Inviters buy")
               .locator(".badge-supported").first).to_be_visible()
    expect(evidence.locator("option", has_text="Inviters buy")).to_have_count(
        1, timeout=PUSH_MS)
    screenshot(c, "push-result-card")
    # A finding saved from a page keeps its evidence list (the new form comes without it).
    assert save_finding(c, "Inviters buy, as we thought").ok
    in_live(a, "Inviters buy, as we thought")
    expect(evidence.locator("option", has_text="Inviters buy")).to_have_count(1)

    # A step move swaps the others' page body; a draft typed meanwhile survives it.
    draft = "Pro users might just be bigger companies"
    c.get_by_label("What did you find?").fill(draft)
    a.get_by_role("button", name="Next: Explore new ideas →").click()
    for page in (b, c):
        page.get_by_text("Three more ideas each").first.wait_for(timeout=PUSH_MS)
    expect(c.get_by_label("What did you find?")).to_have_value(draft)

    # Test and learn runs out on the others' screens; the facilitator extends it after
    # it ran out, and their "Save finding" works again.
    a.get_by_role("button", name="Next: Test and learn →").click()
    for page in (b, c):
        page.get_by_text("Dig in against the clock").first.wait_for(timeout=PUSH_MS)
    session.refresh_from_db()
    # The test shortens the step to a few seconds (changing the row as a write would:
    # with a new revision, which every web process looks for every 2 seconds).
    WorkingSession.objects.filter(pk=session.pk).update(
        dig_duration=timezone.now() + timedelta(seconds=3) - session.dig_started_at,
        revision=F("revision") + 1)
    for page in (b, c):
        page.locator(".timer.timer-expired").wait_for(timeout=PULSE_MS + 3_000)
        expect(page.get_by_role("button", name="Save finding")).to_be_disabled()
    a.locator(".timer.timer-expired").wait_for(timeout=PUSH_MS)
    a.get_by_role("button", name="Extend timer").click()
    for page in (b, c):
        expect(page.get_by_role("button", name="Save finding")).to_be_enabled(timeout=PUSH_MS)
        expect(page.locator(".timer.timer-expired")).to_have_count(0)
    assert save_finding(c, "Regulars buy, after the extension").ok
    in_live(b, "Regulars buy, after the extension")
    assert Finding.objects.filter(session=session).count() == 3

    # A member who closes the tab shows as away on the others' pages within 5 seconds.
    closed = time.monotonic()
    c.close()
    for page in (a, b):
        away = page.locator("#people li.person.is-away", has_text="Tess Third")
        away.wait_for(timeout=AWAY_S * 1000)
        here(page, 2, timeout=500)
    took = time.monotonic() - closed
    print(f"\na member who closed the tab showed as away on both other pages {took:.1f} s later")
    assert took <= AWAY_S, took
    screenshot(a, "push-away")

    # Nothing above reloaded a page.
    assert [page.evaluate("() => performance.timeOrigin") for page in (a, b)] == loaded[:2]


# ---------------------------------------------------------------- the server goes away


def test_reconnecting_then_resync_when_the_server_comes_back(meeting, server, new_page, sign_in):
    session, (olivia, tom, tess) = meeting
    a, b, c = open_pages(new_page, sign_in, server, session, (olivia, tom, tess))
    for page in (a, b, c):
        here(page, 3)
    loaded = [page.evaluate("() => performance.timeOrigin") for page in (a, b, c)]

    b.mouse.wheel(0, 600)  # wherever a member has scrolled, the banner is on the screen
    b.wait_for_function("() => window.scrollY > 0")
    server.kill()
    for page in (a, b, c):
        expect(page.locator("#live-offline")).to_be_visible(timeout=PUSH_MS)
        expect(page.locator("#live-offline")).to_contain_text("Reconnecting…")
        expect(page.locator("#live-offline")).to_be_in_viewport()
        # Nobody can tell who is here now: the room does not go on saying "3 here".
        expect(page.locator("#people")).not_to_contain_text("3 here")
        expect(page.get_by_role("button", name="Save finding")).to_be_disabled()
        enabled = page.evaluate("""() => [...document.querySelectorAll(
            '#session-body button[type=submit], #session-body button:not([type])')]
            .filter(b => !b.disabled).map(b => b.textContent.trim())""")
        assert enabled == [], enabled
    screenshot(b, "push-reconnecting")
    b.screenshot(path=str(SCREENSHOTS / "push-reconnecting-screen.png"), caret="initial")

    # Meanwhile a write reaches the database (through another web process, say), and the
    # facilitator moves the session on (from a second tab, say).
    services.finding_create(session=session, author=tom, text="Written while you were away",
                            step=Step.TEST)
    services.step_move(session=session, by=olivia, to=Step.EXPLORE, expected=Step.TEST)
    server.start()

    for page in (a, b, c):
        expect(page.locator("#live-offline")).to_be_hidden(timeout=PULSE_MS)
        # The whole page is at the new step: its regions and the member's own forms.
        page.get_by_text("Three more ideas each").first.wait_for(timeout=PUSH_MS)
        expect(page.locator("form.finding-form input[name=step]")).to_have_value(
            Step.EXPLORE, timeout=PUSH_MS)
        in_live(page, "Written while you were away", timeout=PUSH_MS)
        here(page, 3)
        expect(page.get_by_role("button", name="Save finding")).to_be_enabled()
    # And the stream works as before: a write now reaches the others.
    response = save_finding(c, "Back online")
    assert response.ok
    expect(c.locator("#session-alert")).to_be_empty()
    for page in (a, b):
        in_live(page, "Back online")
    assert [page.evaluate("() => performance.timeOrigin") for page in (a, b, c)] == loaded


# ---------------------------------------------------------------- how fast


WATCH = """() => {
  // When each awaited text first shows in the live region (wall clock, ms).
  window.__want = window.__want || new Set();
  window.__seen = window.__seen || {};
  const look = () => {
    if (!window.__want.size) return;
    const live = document.getElementById("live");
    const text = live ? live.textContent : "";
    for (const want of [...window.__want]) {
      if (text.includes(want)) {
        window.__seen[want] = performance.timeOrigin + performance.now();
        window.__want.delete(want);
      }
    }
  };
  new MutationObserver(look).observe(document.body,
                                     {childList: true, subtree: true, characterData: true});
}"""


def test_a_write_reaches_the_other_pages_within_300_ms_p95(meeting, server, new_page, sign_in):
    delivery_within_300_ms_p95(meeting, server, new_page, sign_in)


def delivery_within_300_ms_p95(meeting, server, new_page, sign_in) -> None:
    """DELIVERY_WRITES findings, each written by one member in turn: each shows on the
    two other pages within PUSH_MS, and p95 <= DELIVERY_P95_MS from the write's response
    (also run against the production stack: test_live_drawer.py)."""
    session, people = meeting
    pages = open_pages(new_page, sign_in, server, session, people)
    for page in pages:
        here(page, 3)
        page.evaluate(WATCH)

    delays, answers = [], []
    for number in range(DELIVERY_WRITES):
        writer = pages[number % 3]
        others = [page for page in pages if page is not writer]
        text = f"Finding number {number} of the meeting"
        for page in others:
            page.evaluate("text => window.__want.add(text)", text)
        response = save_finding(writer, text)
        response.finished()
        timing = response.request.timing
        acknowledged = timing["startTime"] + timing["responseEnd"]
        answers.append(timing["responseEnd"])
        for page in others:
            page.wait_for_function("text => window.__seen[text]", arg=text, timeout=PUSH_MS)
            seen = page.evaluate("text => window.__seen[text]", text)
            delays.append(seen - acknowledged)

    assert Finding.objects.filter(session=session).count() == DELIVERY_WRITES
    p50, p95 = _percentile(delays, 50), _percentile(delays, 95)
    print(f"\ndelivery to the other two pages, {len(delays)} deliveries of "
          f"{DELIVERY_WRITES} writes: p50 {p50:.0f} ms, p95 {p95:.0f} ms, min {min(delays):.0f} ms, "
          f"max {max(delays):.0f} ms (from each write's response; negative: before it)")
    print(f"the writes themselves (POST to response end): p50 "
          f"{statistics.median(answers):.0f} ms, p95 {_percentile(answers, 95):.0f} ms; "
          f"delivery p95 / write p95 = {p95 / _percentile(answers, 95):.2f}")
    assert p95 <= DELIVERY_P95_MS, sorted(delays)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]
