"""Authorization, walked over every URL pattern of the project and every API operation.

- every route is team-scoped (/t/<team_slug>/...), an API operation, or listed below
  with the reason it is not, so that a new route cannot go unexamined;
- an outsider (signed in, not a member) gets 404 on every team-scoped route, GET and POST,
  and a visitor who is not signed in is sent to log in (or gets 404);
- a member of team B, inside team B, never reaches team A's objects by using their ids;
- where a route takes only the other method, the 405 must be exactly what a team or an
  object that does not exist gets: the method is checked before anything is looked up,
  so it tells nothing;
- the API answers 401 without a valid token and 404 for another team, whatever the id;
- none of these requests changed a single row."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from . import snapshots
from .routes import ADMIN_NAMESPACE, API_NAMESPACE, Route, all_routes, fill
from .world import KWARG_OBJECTS, url_kwargs

pytestmark = pytest.mark.django_db

# Routes outside any team, each with why it is not team-scoped.
PUBLIC = {
    "accounts:home": "the landing page, or a redirect into the caller's own team",
    "accounts:signup": "signing up", "accounts:login": "logging in",
    "accounts:logout": "logging out", "accounts:styleguide": "the UI components",
    "accounts:password_reset": "password reset", "accounts:password_reset_done": "",
    "accounts:password_reset_confirm": "a capability link mailed to the person",
    "accounts:password_reset_complete": "",
    "accounts:join": "an invitation link: whoever holds it may join, by design",
    "healthz": "the load balancer's health check",
    "favicon": "the site's icon, asked for by browsers before anything else",
    "docs_definitions": "the analysis contract (docs/definitions.md), public like the API's "
                        "description",
    "docs_definitions_source": "the same, as written",
    f"{API_NAMESPACE}:openapi-json": "the API's description",
    f"{API_NAMESPACE}:openapi-view": "the API's browsable docs",
    f"{API_NAMESPACE}:api-root": "the API's root (no operation)",
    f"{ADMIN_NAMESPACE}:login": "the admin's log-in page",
    f"{ADMIN_NAMESPACE}:logout": "logging out of the admin",
}
SIGNED_IN = {  # the caller's own account, no one else's object
    "accounts:account": "", "accounts:password_change": "", "accounts:team_create": "",
    "api:tokens": "the caller's own tokens",
}
USER_SCOPED = {  # an object of one person: anyone else gets 404
    "api:token_revoke": "token_id",
}
MISSING_ID = 987654


def page_routes() -> list[Route]:
    return [r for r in all_routes() if r.namespace != API_NAMESPACE or r.name in PUBLIC]


def team_routes() -> list[Route]:
    return [r for r in page_routes() if r.is_team_scoped]


def api_routes() -> list[Route]:
    return [r for r in all_routes() if r.namespace == API_NAMESPACE and r.name not in PUBLIC]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def call(client: Client, method: str, url: str):
    return client.get(url) if method == "GET" else client.post(url, {})


def nothing_kwargs(route: Route, team_slug: str) -> dict:
    """The same route aimed at nothing: ids that no object has."""
    return {k: (team_slug if k == "team_slug" else MISSING_ID if k != "token" else "x" * 32)
            for k in route.keywords}


def refused_like_nothing(client: Client, method: str, url: str, nothing_url: str) -> str | None:
    """None when the request is refused exactly as a request for nothing is: 404, or the
    405 every team gets for the wrong method. Otherwise what went wrong."""
    status = call(client, method, url).status_code
    if status == 404:
        return None
    if status == 405 and call(client, method, nothing_url).status_code == 405:
        return None
    return f"{status}"


def test_every_route_is_team_scoped_or_explained():
    unexplained = [
        r.name for r in page_routes()
        if not r.is_team_scoped and r.namespace != ADMIN_NAMESPACE
        and r.name not in PUBLIC | SIGNED_IN | USER_SCOPED
    ]
    assert unexplained == [], (
        "Routes outside /t/<team_slug>/ that nobody has classified: add each to PUBLIC, "
        f"SIGNED_IN or USER_SCOPED in {__file__} with the reason: {unexplained}")
    assert len(team_routes()) >= 60  # the walk finds the apps' routes, not an empty list


def test_outsiders_get_404_on_every_team_route(world):
    before = snapshots.rows()
    outsider, anonymous = signed_in(world.outsider), Client()
    failures = []
    for route in team_routes():
        url = fill(route, url_kwargs(world, route.name, list(route.keywords)))
        nothing = fill(route, nothing_kwargs(route, "no-such-team"))
        for method in ("GET", "POST"):
            problem = refused_like_nothing(outsider, method, url, nothing)
            if problem:
                failures.append(f"outsider {method} {url} ({route.name}): {problem}")
            response = call(anonymous, method, url)
            if response.status_code == 405 and call(anonymous, method,
                                                    nothing).status_code == 405:
                continue
            if response.status_code == 302:
                target = urlparse(response["Location"]).path
                if target != reverse(settings.LOGIN_URL):
                    failures.append(f"anonymous {method} {url}: redirected to {target}")
            elif response.status_code != 404:
                failures.append(f"anonymous {method} {url} ({route.name}): "
                                f"{response.status_code}")
    assert failures == [], "\n".join(failures)
    assert snapshots.changes(before, snapshots.rows()) == []


def test_a_member_of_another_team_never_reaches_team_a_objects_by_id(world):
    before = snapshots.rows()
    bea = signed_in(world.bea)
    failures, walked = [], 0
    for route in team_routes():
        named = [k for k in route.object_keywords if k in KWARG_OBJECTS or k == "user_id"]
        if not named:
            continue
        walked += 1
        # Bea's own team in the URL, team A's objects after it.
        url = fill(route, url_kwargs(world, route.name, list(route.keywords),
                                     team=world.team_b))
        nothing = fill(route, nothing_kwargs(route, world.team_b.slug))
        for method in ("GET", "POST"):
            problem = refused_like_nothing(bea, method, url, nothing)
            if problem:
                failures.append(f"team B member {method} {url} ({route.name}): {problem}")
    assert failures == [], "\n".join(failures)
    assert walked >= 30
    assert snapshots.changes(before, snapshots.rows()) == []


def test_signed_in_pages_send_visitors_to_log_in(world):
    anonymous = Client()
    for name in SIGNED_IN:
        response = anonymous.get(reverse(name))
        assert response.status_code == 302, name
        assert urlparse(response["Location"]).path == reverse(settings.LOGIN_URL), name


def test_nobody_acts_on_another_persons_objects(world):
    before = snapshots.rows()
    outsider = signed_in(world.outsider)
    routes = {r.name: r for r in page_routes()}
    for name in USER_SCOPED:
        route = routes[name]
        url = fill(route, url_kwargs(world, name, list(route.keywords)))
        for method in ("GET", "POST"):
            assert call(outsider, method, url).status_code in (404, 405), (method, url)
    assert snapshots.changes(before, snapshots.rows()) == []


def test_the_admin_is_for_staff_only(world):
    member = signed_in(world.owner)  # an owner of a team is not staff
    admin_login = reverse("admin:login")
    values = {"object_id": world.pk("dataset"), "content_type_id": 1, "id": world.owner.pk,
              "app_label": "accounts", "url": "accounts/"}
    failures = []
    for route in page_routes():
        if route.namespace != ADMIN_NAMESPACE or route.name in PUBLIC:
            continue
        url = fill(route, values)
        response = member.get(url)
        location = urlparse(response.get("Location", "")).path
        if not (response.status_code in (302, 404) and (response.status_code == 404
                                                        or location == admin_login)):
            failures.append(f"{url} ({route.name}): {response.status_code} {location}")
    assert failures == [], "\n".join(failures)


def test_members_reach_every_team_route_the_walk_uses(world):
    """The walk's ids are real: the owner gets something other than 404 on each route
    (a page, a redirect, or 405 for a route that only takes POST)."""
    owner = signed_in(world.owner)
    missing = []
    for route in team_routes():
        url = fill(route, url_kwargs(world, route.name, list(route.keywords)))
        if owner.get(url).status_code == 404:
            missing.append(f"{url} ({route.name})")
    assert missing == [], "\n".join(missing)


# ---------------------------------------------------------------- the API

def api_operations() -> list[tuple[str, str]]:
    from api.api import api

    document = api.get_openapi_schema()
    return [(method.upper(), path) for path, methods in document["paths"].items()
            for method in methods]


def api_bodies(world) -> dict[str, dict]:
    """A valid request for each operation that takes one, naming team A's objects."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.worksessions.factories import PRO

    csv = b"user_id,event,timestamp\nu1,signup,2026-01-01T00:00:00Z\n"
    return {
        "/datasets": {"multipart": {"name": "Stolen", "events": [
            SimpleUploadedFile("events.csv", csv)]}},
        "/events": {"json": {"events": [{"user_id": "u1", "event": "login",
                                         "timestamp": "2026-05-01T10:00:00Z"}],
                             "idempotency_key": "walk"}},
        "/success-definitions": {"json": {"name": "Stolen", "dataset_id": world.pk("dataset"),
                                          "definition": {"events": ["purchase"]}}},
        "/analyses": {"json": {"dataset_id": world.pk("dataset"), "criterion": PRO,
                               "success_definition_id": world.pk("success")}},
        "/hypotheses": {"json": {"text": "Pro plans succeed"}},
    }


def api_call(world, method: str, path: str, url: str, token: str | None):
    client = Client()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "GET":
        return client.get(url, headers=headers)
    ending = "/" + path.rstrip("/").rsplit("/", 1)[-1]
    body = api_bodies(world).get(ending)
    assert body is not None, f"{method} {path}: add a valid body to api_bodies()"
    if "multipart" in body:
        return client.post(url, body["multipart"], headers=headers)
    return client.post(url, body["json"], content_type="application/json", headers=headers)


def api_url(world, path: str, team) -> str:
    keywords = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    values = url_kwargs(world, f"{API_NAMESPACE}:{path}", keywords, team=team)
    for keyword, value in values.items():
        path = path.replace("{" + keyword + "}", str(value))
    return path


def test_the_walk_covers_every_api_route():
    operations = {path for _, path in api_operations()}
    routes = {"/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", r.route) for r in api_routes()}
    assert routes == operations
    assert len(api_operations()) >= 15


def test_the_api_refuses_outsiders_and_other_teams(world):
    before = snapshots.rows()
    failures, crossed = [], 0
    for method, path in api_operations():
        own = api_url(world, path, world.team_a)
        for token in (None, "", "hlab_" + "x" * 43, world.tokens["owner"] + "x"):
            status = api_call(world, method, path, own, token).status_code
            if status != 401:
                failures.append(f"no valid token {method} {own}: {status}")
        status = api_call(world, method, path, own, world.tokens["outsider"]).status_code
        if "{team_slug}" in path and status != 404:
            failures.append(f"outsider {method} {own}: {status}")
        names_team_a = path.count("{") > 1 or (method == "POST" and path.endswith(
            ("/success-definitions", "/analyses")))  # ids in the body
        if names_team_a:
            # Bea, in her own team, with team A's ids in the path or the body.
            crossed += 1
            crossing = api_url(world, path, world.team_b)
            status = api_call(world, method, path, crossing, world.tokens["bea"]).status_code
            if status != 404:
                failures.append(f"team B member {method} {crossing}: {status}")
    assert failures == [], "\n".join(failures)
    assert crossed >= 10
    assert snapshots.changes(before, snapshots.rows()) == []


def test_members_reach_every_api_read(world):
    for method, path in api_operations():
        if method != "GET":
            continue
        url = api_url(world, path, world.team_a)
        response = api_call(world, method, path, url, world.tokens["owner"])
        assert response.status_code == 200, (url, response.content[:200])
