"""Browser tests: Playwright's sync API driving Debian's Chromium against pytest-django's
live_server. Several people at once = several browser contexts (separate cookies).

Fixtures
  browser      one headless Chromium for the whole run (skips without /usr/bin/chromium,
               fails in CI)
  new_page     factory: new_page(viewport=LAPTOP) -> a Page in a NEW context, with
               base_url = app_url (live_server.url unless a module overrides app_url),
               so page.goto("/signup/") works. Uncaught
               JavaScript errors, failed /static/ requests and anything the
               Content-Security-Policy blocks fail the test.
  sign_up      sign_up(page, live_server, email, name, password=PASSWORD): fills the sign-up
               form (going to /signup/ unless already there) and waits to leave it.
  log_in       log_in(page, live_server, email, password=PASSWORD)
  shot         shot(page, name): a full-page screenshot to $E2E_SCREENSHOTS/<name>.png when
               that variable is set (e.g. E2E_SCREENSHOTS=/tmp/shots), else nothing.
  asgi_server  the app under uvicorn (tests/asgi_server.py), a process of its own on this
               test's PostgreSQL database (skips without it, fails in CI): the live session
               page needs it, its event stream cannot run on live_server (WSGI). A module
               whose pages are live sessions overrides app_url with it, and signs members
               in with sign_in (uvicorn does not know the tests' fast password hasher).
               Its environment: the asgi_environment fixture (the embedded default).
  sign_in      sign_in(page, server, user): signed in by a session cookie.

Mark browser tests with @pytest.mark.browser."""

import os
import re
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import require

# Playwright's sync API runs an event loop in this thread, which trips Django's "no ORM
# calls from async code" guard in test code that reads the database.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "a-long-test-passphrase-42"
TIMEOUT_MS = 10_000


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The default hasher is slow on purpose; browser tests sign up and log in a lot.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def _playwright():
    require(CHROMIUM.exists(), f"browser tests need Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def app_url(live_server) -> str:
    """Where the pages are served: pytest-django's live_server (WSGI), unless a module
    overrides this fixture (test_live_push.py serves the app under uvicorn)."""
    return live_server.url


@pytest.fixture
def new_page(browser, app_url):
    contexts = []
    problems: list[str] = []

    def factory(viewport: dict | None = None, **context_options):
        context = browser.new_context(
            viewport=viewport or LAPTOP,
            base_url=app_url,
            # The invite link's Copy button writes to the clipboard; tests read it back.
            permissions=["clipboard-read", "clipboard-write"],
            **context_options,
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
        # Something the Content-Security-Policy blocked is something the page lacks.
        page.on(
            "console",
            lambda message: problems.append(f"Blocked: {message.text}")
            if message.type == "error" and "Content Security Policy" in message.text
            else None,
        )
        page.on(
            "response",
            lambda response: problems.append(f"{response.status} {response.url}")
            if "/static/" in response.url and response.status >= 400
            else None,
        )
        return page

    yield factory
    for context in contexts:
        context.close()
    assert not problems, problems


@pytest.fixture
def asgi_environment() -> dict[str, str]:
    """Variables for the uvicorn process beyond the database and files (none: the
    embedded default, jobs in a thread of the web process)."""
    return {}


@pytest.fixture
def asgi_server(transactional_db, tmp_path, asgi_environment):
    from tests.asgi_server import AsgiServer, server_environment

    require(connection.vendor == "postgresql",
            "needs PostgreSQL: set DATABASE_URL=postgres://... (uvicorn is a process of its own)")
    web = AsgiServer(server_environment(**asgi_environment), tmp_path / "uvicorn.log").start()
    try:
        yield web
    finally:
        web.stop()


def _sign_in(page, server, user):
    from tests.load.scenario import signed_in

    page.context.add_cookies([{"name": "sessionid", "value": signed_in(user)["sessionid"],
                               "url": server.url}])
    return page


@pytest.fixture
def sign_in():
    return _sign_in


def _sign_up(page, live_server, email: str, name: str, password: str = PASSWORD):
    if "/signup/" not in page.url:
        page.goto(f"{live_server.url}/signup/")
    page.get_by_label("Work email").fill(email)
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Password again").fill(password)
    page.get_by_role("button", name=re.compile(r"^Create account")).click()
    page.wait_for_url(lambda url: "/signup/" not in url)
    return page


def _log_in(page, live_server, email: str, password: str = PASSWORD):
    if "/login/" not in page.url:
        page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


def acme_trio():
    """Acme Growth: Olivia (owner), Tom and Tess (members), each signing in with PASSWORD."""
    from accounts.models import Membership, Team
    from tests.conftest import make_user

    team = Team.objects.create(name="Acme Growth", slug="acme-growth")
    people = []
    for email, name, role in (("olivia@example.com", "Olivia Owner", "owner"),
                              ("tom@example.com", "Tom Teammate", "member"),
                              ("tess@example.com", "Tess Third", "member")):
        user = make_user(email, name, password=PASSWORD)
        Membership.objects.create(team=team, user=user, role=role)
        people.append(user)
    return team, people


def trio_at_test():
    """Olivia facilitates; Tom and Tess joined; three revealed hypotheses, at Test, none
    tested yet. Returns (session, people)."""
    from sessions import services
    from sessions.steps import Step
    from tests.worksessions.factories import (
        INVITED,
        LOGINS,
        PRO,
        make_dataset,
        make_session,
        make_success,
        move_to,
    )

    team, people = acme_trio()
    olivia, tom, tess = people
    dataset = make_dataset(team)
    session = make_session(team, olivia, members=(tom, tess), dataset=dataset,
                           success=make_success(team, dataset, by=olivia))
    session = move_to(session, Step.HYPOTHESES)
    for author, text, criterion in ((tom, "Inviters buy", INVITED), (tess, "Pro buys", PRO),
                                    (tess, "Regulars buy", LOGINS)):
        services.hypothesis_create(session=session, author=author, text=text,
                                   criterion=criterion)
    services.entries_reveal(session=session, by=olivia)
    return move_to(session, Step.TEST), people


def _shot(page, name: str) -> None:
    folder = os.environ.get("E2E_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True,
                    caret="initial")  # hiding the caret injects a style the CSP blocks


@pytest.fixture
def sign_up():
    return _sign_up


@pytest.fixture
def log_in():
    return _log_in


@pytest.fixture
def shot():
    return _shot
