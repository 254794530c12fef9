"""A whole working session, three people in three browsers: hypotheses written at once and
seen live, a reveal, tests run (through a real Celery worker when the machine has one, as
in CI; in-process otherwise), the timer step closing on the server's clock, findings and
next steps, the session closed, and a Markdown report holding all of it."""

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import F
from django.utils import timezone

from sessions.models import Finding, Hypothesis, NextStep, WorkingSession
from sessions.steps import Step
from tests.conftest import IN_CI
from tests.e2e.conftest import LAPTOP, PHONE, acme_trio
from tests.worksessions.factories import make_dataset, make_success

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.slow]

LIVE_MS = 15_000  # pushed at once (under uvicorn: the live stream needs ASGI); a busy machine
RESULTS_MS = 90_000  # a worker may have to start its first DuckDB job


@pytest.fixture
def tasks(request, transactional_db) -> str:
    """A real worker through Redis where there is one (CI must have it), else in-process."""
    from tests.celery_worker import worker_available

    available, _ = worker_available()
    if available or IN_CI:
        request.getfixturevalue("celery_worker")
        return "worker"
    return "in-process"


@pytest.fixture
def cast(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    team, people = acme_trio()
    dataset = make_dataset(team)
    make_success(team, dataset, by=people[0])
    return team, people


@pytest.fixture
def asgi_environment(tasks) -> dict[str, str]:
    """With a real worker, the web process sends jobs through Redis as in production (and
    hears their progress from the worker through it)."""
    return {"REDIS_URL": os.environ["REDIS_URL"]} if tasks == "worker" else {}


@pytest.fixture
def app_url(asgi_server) -> str:
    return asgi_server.url


def live(page, text: str, timeout: int = LIVE_MS):
    """Wait until `text` shows on the page without anyone reloading it."""
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout)


def write_hypothesis(page, text: str, kind: str, fields: dict, *, direction: str = ""):
    form = page.locator("details.new-entry form.entry-form")
    form.get_by_label("In your own words").fill(text)
    form.get_by_label("Condition 1").select_option(kind)
    for label, value in fields.items():
        control = form.get_by_label(label, exact=True).first
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    if direction:
        form.get_by_label("You expect these users to…").select_option(direction)
    form.get_by_role("button", name="Add hypothesis").click()
    page.locator("#mine").get_by_text(text).wait_for()


def shot(page, name: str) -> None:
    """As conftest's `shot`, but leaving the caret alone: hiding it makes Playwright inject
    a <style>, which the Content-Security-Policy blocks (and the page fixture then fails)."""
    folder = os.environ.get("E2E_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True, caret="initial")


def step_of(session: WorkingSession) -> str:
    session.refresh_from_db()
    return session.step


def test_a_whole_session_with_three_people(cast, tasks, new_page, sign_in, asgi_server):
    team, (olivia, tom, tess) = cast
    a = sign_in(new_page(LAPTOP), asgi_server, olivia)
    b = sign_in(new_page(LAPTOP), asgi_server, tom)
    c = sign_in(new_page(PHONE), asgi_server, tess)

    # Olivia starts the session and facilitates.
    a.goto(f"/t/{team.slug}/sessions/")
    a.get_by_role("link", name="Start a session").first.click()
    a.get_by_label("Title").fill("What makes users purchase?")
    a.get_by_label("Test and learn (minutes)").fill("1")
    a.get_by_role("button", name="Start the session").click()
    a.wait_for_url(re.compile(r"/sessions/\d+/$"))
    session = WorkingSession.objects.get()
    url = f"/t/{team.slug}/sessions/{session.pk}/"

    # The others open it: they join, and Olivia sees them arrive.
    b.goto(url)
    c.goto(url)
    live(a.locator("#live-side"), "Tess Third")
    assert a.locator("#live-side").get_by_text("3 here").is_visible()
    b.get_by_role("button", name="I agree: this is success").click()
    live(a.locator("#live-side"), "confirmed ✓")
    shot(a, "session-align")

    # A double-clicked "Next" moves one step, not two; everyone's screen follows.
    a.get_by_role("button", name="Next: Hypotheses →").dblclick()
    live(a, "Each member writes up to three")
    assert step_of(session) == Step.HYPOTHESES
    for page in (b, c):
        live(page, "Your hypotheses")

    # Everyone writes; entries stay hidden, but their arrival shows on the others' screens.
    write_hypothesis(b, "Inviters purchase more often", "did_event",
                     {"Event": "invite_teammate", "In the first … days": "7"}, direction="more")
    write_hypothesis(c, "Pro users purchase more often", "property",
                     {"User property": "plan", "Compared": "=", "Value": "pro"},
                     direction="more")
    write_hypothesis(a, "Mobile-first users purchase less often", "first_event_property",
                     {"Event property": "device", "Compared": "=", "Value": "mobile"},
                     direction="less")
    live(a, "Tom Teammate (1)")
    live(b, "Tess Third (1)")
    assert b.get_by_text("Pro users purchase more often").count() == 0  # hidden until revealed
    a.get_by_role("button", name=re.compile(r"Reveal entries")).click()
    live(b, "Pro users purchase more often")
    live(c, "Inviters purchase more often")
    live(b, "Mobile-first users purchase less often")
    shot(b, "session-hypotheses")
    assert Hypothesis.objects.count() == 3

    # Tests run as jobs; results stream onto every screen.
    a.get_by_role("button", name="Next: Test →").click()
    live(b, "Results")
    a.get_by_role("button", name=re.compile(r"Run all tests")).click()
    for page in (a, b, c):
        live(page.locator("#live"), "Inviters purchase more often")
        # A verdict on a card (the counts above the cards show "0 supported" at once).
        page.locator('#live article.entry [data-verdict="supported"]').first.wait_for(
            timeout=RESULTS_MS)
    live(c, "q-values adjust for all 3 tests", timeout=RESULTS_MS)
    shot(a, "session-test")
    shot(c, "session-test-phone")

    # Tom writes down what his result tells us, linked to it.
    b.get_by_role("link", name="Write down what this tells us").first.click()
    b.get_by_label("What did you find?").fill("Inviting is the strongest signal we have")
    b.get_by_role("button", name="Save finding").click()
    live(a, "Inviting is the strongest signal we have")

    # Test and learn: the server's countdown.
    a.get_by_role("button", name="Next: Explore new ideas →").click()
    live(a, "Three more ideas each")
    a.get_by_role("button", name="Next: Test and learn →").click()
    live(b, "Dig in against the clock")
    b.get_by_label("What did you find?").fill("Desktop-first users buy a little more")
    b.get_by_role("button", name="Save finding").click()
    live(c, "Desktop-first users buy a little more")
    shot(a, "session-dig")
    # The test shortens the step (it does not wait a minute): over in two seconds. A new
    # revision, as a write makes: every web process looks for one every 2 seconds.
    session.refresh_from_db()
    WorkingSession.objects.filter(pk=session.pk).update(
        dig_duration=timezone.now() + timedelta(seconds=2) - session.dig_started_at,
        revision=F("revision") + 1)
    c.locator(".timer.timer-expired").wait_for(timeout=LIVE_MS + 2_000)
    live(c.locator("[data-timer-caption]"), "Time is up")
    # Whatever the browser says or sends, the server refuses it now.
    c.get_by_label("What did you find?").fill("Too late to count")
    # (its page has disabled the button itself; the form is sent anyway)
    c.evaluate("() => document.querySelector('form.finding-form').requestSubmit()")
    live(c.locator("#session-alert"), "Time is up")
    assert not Finding.objects.filter(text="Too late to count").exists()

    # Results, next steps, the other side, closing.
    a.get_by_role("button", name="Next: Results →").click()
    live(b, "Add to the team's results")
    a.get_by_role("button", name="Next: Next steps →").click()
    live(a, "Add a next step")
    a.get_by_label("What next?").fill("A/B test an invite prompt in onboarding")
    a.get_by_label("Owner", exact=True).select_option(label="Tom Teammate")
    a.get_by_role("button", name="Add next step").click()
    live(b, "A/B test an invite prompt in onboarding")
    a.get_by_role("button", name="Next: Unsuccessful users →").click()
    live(c, "Every test, read for the other side")
    a.once("dialog", lambda dialog: dialog.accept())
    a.get_by_role("button", name="Close the session").click()
    live(a, "This session is closed")
    live(b, "This session is closed")
    assert step_of(session) == Step.CLOSED
    shot(b, "session-closed")

    # The Markdown report holds all of it.
    response = b.request.get(f"{url}report.md")
    assert response.ok
    text = response.text()
    for expected in ("# What makes users purchase?", "### Inviters purchase more often",
                     "### Pro users purchase more often",
                     "### Mobile-first users purchase less often",
                     "Inviting is the strongest signal we have",
                     "Desktop-first users buy a little more",
                     "A/B test an invite prompt in onboarding", "owner Tom Teammate",
                     "- Olivia Owner (facilitator)", "- Tom Teammate", "- Tess Third",
                     "Test and learn started: 1 minute", "closed the session"):
        assert expected in text, expected
    assert "Too late to count" not in text
    assert NextStep.objects.count() == 1 and Finding.objects.count() == 2
    b.goto(f"{url}report/")
    shot(b, "session-report")
