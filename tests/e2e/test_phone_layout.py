"""Issue 11, phones: at 390 px wide the body never scrolls sideways on the session page,
a dashboard, the home page and an explore result; the navigation sits behind a menu
button; the step bar and wide tables scroll inside their own box; the countdown shows.

With E2E_SCREENSHOTS set, each page is saved as phone-<name>.png."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dashboards.models import Dashboard
from explore import services as explore_services
from explore.selectors import Where
from ops.demo import DEMO_PASSWORD, ensure_demo
from tests.e2e.conftest import PHONE
from tests.worksessions.factories import make_session, move_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


@pytest.fixture
def demo():
    demo = ensure_demo(n_users=900)
    facilitator, *others = demo.members
    session = make_session(demo.team, facilitator, members=tuple(others), dataset=demo.dataset,
                           success=demo.success_definitions[0],
                           title="What makes trial users subscribe on their phones?")
    session = move_to(session, "dig")
    job = explore_services.question_ask(
        team=demo.team, user=facilitator,
        where=Where(dataset=demo.dataset, success=demo.success_definitions[0]),
        kind="sql", question={"sql": "SELECT * FROM users LIMIT 20"})
    return demo, session, job


def screen(page, name: str) -> None:
    """What the phone's screen shows (not the whole page), when screenshots are asked for."""
    folder = os.environ.get("E2E_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"phone-{name}-screen.png"), caret="initial")


def fits(page, shot, path: str, name: str) -> int:
    """Open `path`, save its screenshots, and say by how much the body scrolls sideways."""
    page.goto(path)
    page.wait_for_load_state("networkidle")
    shot(page, f"phone-{name}")
    screen(page, name)
    chart = page.locator("svg.chart-svg, .explore-chart svg, table").first
    if chart.count():
        chart.scroll_into_view_if_needed()
        screen(page, f"{name}-scrolled")
    return page.evaluate(OVERFLOW)


def test_pages_fit_a_phone(new_page, live_server, log_in, shot, demo):
    demo, session, job = demo
    team = demo.team
    dashboard = Dashboard.objects.get(team=team)
    page = new_page(viewport=PHONE)
    log_in(page, live_server, demo.members[0].email, password=DEMO_PASSWORD)
    pages = {"home": f"/t/{team.slug}/", "session": f"/t/{team.slug}/sessions/{session.pk}/",
             "dashboard": f"/t/{team.slug}/dashboards/{dashboard.pk}/",
             "explore-result": f"/t/{team.slug}/explore/results/{job.pk}/"}
    overflows = {name: fits(page, shot, path, name) for name, path in pages.items()}
    assert all(px <= 0 for px in overflows.values()), f"sideways scroll (px): {overflows}"

    page.goto(pages["home"])
    # The navigation is behind a menu button, and opens on a tap.
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Dashboards")).to_be_hidden()
    page.locator("details.nav-menu > summary").click()
    expect(nav.get_by_role("link", name="Dashboards")).to_be_visible()
    assert page.evaluate(OVERFLOW) <= 0

    page.goto(pages["session"])
    # The countdown is on screen; the step bar scrolls inside its own box.
    bar = page.get_by_role("list", name="Steps of the session")
    assert bar.evaluate("e => getComputedStyle(e).overflowX") in ("auto", "scroll")
    # Scrolled to the current step ("Test and learn", the sixth), which is in view.
    expect(bar.locator("[aria-current='step']")).to_be_in_viewport()

    clock = page.locator(".session-clock").first
    expect(clock).to_be_in_viewport()
    page.mouse.wheel(0, 2500)  # it stays on screen down the page (sticky under the top bar)
    page.wait_for_timeout(200)
    expect(clock).to_be_in_viewport()
    assert clock.evaluate("e => e.getBoundingClientRect().top") >= page.evaluate(
        "document.querySelector('.topbar').getBoundingClientRect().bottom") - 1

    page.goto(pages["dashboard"])
    # Chart text stays readable: no label is drawn smaller than 9 px on screen.
    page.locator("svg.chart-svg").first.wait_for()
    smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll(
        'svg.chart-svg text')].map(t => t.getBoundingClientRect().height).filter(h => h > 0))""")
    assert smallest >= 9, f"chart text {smallest:.1f}px high"

    page.goto(pages["explore-result"])
    # A wide table scrolls inside its box, not the page.
    wrap = page.locator(".table-wrap").first
    assert wrap.evaluate("e => getComputedStyle(e).overflowX") in ("auto", "scroll")
