"""Hostile input in the browser: CSRF on every form, and a Content-Security-Policy with
no inline script or style on every page (the policy would block them, so a page that
needs one is broken)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from .routes import ADMIN_NAMESPACE, API_NAMESPACE, all_routes, fill
from .test_authorization import PUBLIC, SIGNED_IN
from .world import url_kwargs

pytestmark = pytest.mark.django_db


def form_routes(world) -> list[tuple[str, str]]:
    urls = []
    for route in all_routes():
        if route.namespace in (API_NAMESPACE, ADMIN_NAMESPACE):
            continue
        if route.is_team_scoped or route.name in SIGNED_IN | PUBLIC.keys():
            urls.append((route.name, fill(route, url_kwargs(world, route.name,
                                                            list(route.keywords)))))
    return urls


def test_every_post_without_a_csrf_token_is_refused(world):
    """As a signed-in member, so that nothing but the missing token stands in the way."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner)
    failures, refused = [], 0
    for name, url in form_routes(world):
        status = client.post(url, {}).status_code
        if status == 403:
            refused += 1
        elif status != 405:  # a route that takes no POST at all
            failures.append(f"{url} ({name}): {status}")
    anonymous = Client(enforce_csrf_checks=True)
    for name in ("accounts:login", "accounts:signup", "accounts:password_reset"):
        if anonymous.post(reverse(name), {}).status_code != 403:
            failures.append(f"anonymous {name}")
    assert failures == [], "\n".join(failures)
    assert refused >= 40


def test_htmx_requests_carry_the_token_in_a_header(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.owner)
    page = client.get(reverse("api:tokens"))
    token = page.context["csrf_token"]
    assert f'hx-headers=\'{{"X-CSRFToken": "{token}"}}\'' in page.content.decode()
    response = client.post(reverse("api:tokens"), {"name": "From htmx", "expires_in_days": ""},
                           headers={"X-CSRFToken": str(token)})
    assert response.status_code == 302


class PageScan(HTMLParser):
    """Forms posting without a CSRF token, and anything inline a strict CSP blocks."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._form: dict | None = None
        self._script_inline = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"inline handler {name}= on <{tag}>")
            if name == "style":
                self.problems.append(f"inline style= on <{tag}>")
            if name in ("href", "src", "action", "formaction") and value and \
                    value.strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in <{tag} {name}>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            data_only = values.get("type") in ("application/json", "application/ld+json")
            self._script_inline = "src" not in values and not data_only
        if tag == "form":
            self._form = {"post": (values.get("method") or "").lower() == "post",
                          "token": False, "action": values.get("action", "")}
        if tag == "input" and self._form is not None and \
                values.get("name") == "csrfmiddlewaretoken":
            self._form["token"] = True

    def handle_endtag(self, tag):
        if tag == "form" and self._form is not None:
            if self._form["post"] and not self._form["token"]:
                self.problems.append(f"POST form without a CSRF token ({self._form['action']})")
            self._form = None
        if tag == "script":
            self._script_inline = False

    def handle_data(self, data):
        if self._script_inline and data.strip():
            self.problems.append("inline <script>")


def test_every_page_has_the_policy_and_nothing_inline(world):
    client = Client()
    client.force_login(world.owner)
    failures, scanned = [], 0
    urls = form_routes(world) + [("api docs", reverse("api_v1:openapi-view"))]
    for name, url in urls:
        response = client.get(url)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        scanned += 1
        policy = response.get("Content-Security-Policy", "")
        if "script-src 'self'" not in policy or "unsafe" in policy:
            failures.append(f"{url} ({name}): policy {policy!r}")
        scan = PageScan()
        scan.feed(response.content.decode())
        failures += [f"{url} ({name}): {problem}" for problem in scan.problems]
    assert failures == [], "\n".join(failures)
    assert scanned >= 35


def test_the_policy_forbids_inline_code_and_framing():
    policy = settings.SECURE_CSP
    for directive in ("script-src", "style-src"):
        assert policy[directive] == ["'self'"], directive
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert "django.middleware.csp.ContentSecurityPolicyMiddleware" in settings.MIDDLEWARE


# Templates that never reach a browser under our policy: e-mails (inline styles are how
# mail is styled) and plain-text or Markdown exports.
NOT_SERVED_AS_PAGES = re.compile(r"(^|/)emails?/|\.(txt|md)$")
INLINE = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*application/(?:ld\+)?json)[^>]*>|<style\b|\sstyle\s*=|"
    r"\son[a-z]+\s*=\s*[\"']|javascript:", re.IGNORECASE)


def test_no_template_has_inline_script_or_style():
    root = Path(settings.BASE_DIR) / "templates"
    found = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if not path.is_file() or NOT_SERVED_AS_PAGES.search(relative):
            continue
        text = re.sub(r"{#.*?#}|{% comment %}.*?{% endcomment %}", "", path.read_text(),
                      flags=re.DOTALL)
        for match in INLINE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"templates/{relative}:{line}: {match.group(0).strip()}")
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(("html", "problem"), [
    ('<div style="color: red">x</div>', "inline style="),
    ("<script>alert(1)</script>", "inline <script>"),
    ('<button onclick="go()">x</button>', "inline handler onclick="),
    ('<a href="javascript:go()">x</a>', "javascript: URL"),
    ("<style>p {}</style>", "<style> element"),
    ('<form method="post" action="/x/"><button>Go</button></form>', "without a CSRF token"),
])
def test_the_scan_finds_what_the_policy_blocks(html, problem):
    scan = PageScan()
    scan.feed(html)
    assert any(problem in found for found in scan.problems), scan.problems


def test_the_scan_accepts_what_the_policy_allows():
    scan = PageScan()
    scan.feed('<script src="/static/js/app.js"></script>'
              '<script type="application/json" id="s">{"a": 1}</script>'
              '<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="t">'
              "</form><form method=\"get\"></form>")
    assert scan.problems == []
