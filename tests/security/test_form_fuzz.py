"""No form of the project answers a 5xx, whatever is posted to it (issue 12, point 7).

Every URL pattern that takes POST is found by walking the root resolver (as the
authorization walk does) and aimed at the objects of tests/security/world.py, plus
sessions waiting at the steps whose forms only show there. The fields posted to each come
from three places, so that a field is fuzzed even when no page draws it in this world:
- the forms the pages draw (every page, parsed: <form> actions and hx-post targets, with
  their inputs, selects, textareas and named buttons);
- the Django form classes the view's code names (their declared fields);
- the keys the view's code reads from request.POST.
Each field in turn gets each hostile value (missing, empty, an unknown choice or wrong
type, 100,000 characters, a NUL; a negative and a huge number where a number is expected)
while the others keep a plausible value; then every field at once gets each, and two
values. The owner posts, signed in, through
the test client (which skips CSRF). Each request runs in a savepoint that is rolled back,
so one request's write (a session moved on, a member removed) never changes what the next
one meets. The signed-out (logout) and signed-in-anew (login, sign-up) answers are walked
too: the walk signs in again after them.

PostgreSQL refuses a NUL inside text and jsonb; SQLite stores it. So that the suite finds
here what production would answer with a 500, every query refuses such a parameter, as
PostgreSQL does."""

from __future__ import annotations

import inspect
import re
import types
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlparse

import pytest
from django import forms
from django.conf import settings
from django.db import DataError, connection, transaction
from django.test import Client
from django.urls import Resolver404, resolve

from tests.worksessions.factories import make_session, move_to

from .routes import ADMIN_NAMESPACE, API_NAMESPACE, Route, all_routes, fill
from .world import World, url_kwargs

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

MISSING = object()
HUGE = "x" * 100_000
# Each field gets each of these in turn (a field whose plausible value is a number, the
# numbers too); every field at once also gets two values.
HOSTILE: tuple = (MISSING, "", "bogus", HUGE, "a\x00b")
NUMBERS: tuple = ("-1", "99999999999999999999999")
TWO_VALUES = ["1", "bogus"]


# ---------------------------------------------------------------- what pages draw


@dataclass
class DrawnForm:
    url: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> plausible values

    def add(self, name: str, value: str) -> None:
        """Values in the page's order, an empty one (a "none" option) after the others."""
        if name and name != "csrfmiddlewaretoken":
            values = self.fields.setdefault(name, [])
            if value in values:
                return
            if value == "" or "" not in values:
                values.append(value)
            else:
                values.insert(values.index(""), value)


class FormParser(HTMLParser):
    """Forms that post (method=post or hx-post), with the fields inside them."""

    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[DrawnForm] = []
        self.open: list[DrawnForm] = []
        self.select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        target = a.get("hx-post")
        if tag == "form" and (target is not None or (a.get("method") or "").lower() == "post"):
            target = target if target is not None else a.get("action") or ""
            drawn = DrawnForm(url=target or self.page_url)
            self.forms.append(drawn)
            self.open.append(drawn)
            return
        if target is not None and tag != "form":  # a button posting on its own
            drawn = DrawnForm(url=target or self.page_url)
            if a.get("name"):
                drawn.add(a["name"], a.get("value", ""))
            self.forms.append(drawn)
        if not self.open:
            return
        current = self.open[-1]
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            current.add(name, a.get("value") or _typed_default(kind))
        elif tag == "textarea" and name:
            current.add(name, "Fuzzed text")
        elif tag == "button" and name:
            current.add(name, a.get("value", ""))
        elif tag == "select" and name:
            self.select = name
            current.fields.setdefault(name, [])
        elif tag == "option" and self.select:
            current.add(self.select, a.get("value", ""))

    def handle_endtag(self, tag):
        if tag == "form" and self.open:
            self.open.pop()
        elif tag == "select":
            self.select = None


FREE_TEXT = ("Fuzzed text", "Fuzzed")  # what the walk types where anything may be typed


def _typed_default(kind: str) -> str:
    return {"number": "5", "date": "2030-01-07", "email": "fuzz@example.com",
            "checkbox": "on", "password": "correct-horse-battery"}.get(kind, "Fuzzed")


def drawn_forms(client: Client, urls: list[str]) -> list[DrawnForm]:
    found = []
    for url in urls:
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            if response.status_code != 200 or not response.get(
                    "Content-Type", "").startswith("text/html"):
                continue
            parser = FormParser(url)
            parser.feed(response.content.decode())
            for drawn in parser.forms:
                drawn.url = urlparse(drawn.url).path or url
            found.extend(parser.forms)
    return found


# ---------------------------------------------------------------- what views read


POST_KEY = re.compile(r"""POST(?:\.get|\.getlist)?\s*[\(\[]\s*["']([\w-]+)["']""")


def _functions_of(view) -> list[types.FunctionType]:
    """The view's own function and the module-level helpers it calls (two levels)."""
    view = inspect.unwrap(view)
    seen: list = []
    queue = [view]
    depth = {view: 0}
    while queue:
        function = queue.pop()
        if not isinstance(function, types.FunctionType) or function in seen:
            continue
        seen.append(function)
        if depth[function] >= 2:
            continue
        for name in _names(function.__code__):
            helper = function.__globals__.get(name)
            if (isinstance(helper, types.FunctionType)
                    and helper.__module__ == function.__module__ and helper not in depth):
                depth[helper] = depth[function] + 1
                queue.append(helper)
    return seen


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _names(constant)
    return names


def read_fields(view) -> dict[str, list[str]]:
    """Field names the view reads: its form classes' fields and its request.POST keys."""
    fields: dict[str, list[str]] = {}
    view_class = getattr(view, "view_class", None)
    form_classes = [view_class.form_class] if getattr(view_class, "form_class", None) else []
    for function in _functions_of(view):
        for name in _names(function.__code__):
            found = function.__globals__.get(name)
            if isinstance(found, type) and issubclass(found, forms.BaseForm):
                form_classes.append(found)
        try:
            source = inspect.getsource(function)
        except (OSError, TypeError):
            continue
        for key in POST_KEY.findall(source):
            fields.setdefault(key, ["1"])
    for form_class in form_classes:
        for name, form_field in form_class.base_fields.items():
            fields.setdefault(name, [_plausible(form_field)])
    return fields


def _plausible(form_field: forms.Field) -> str:
    if isinstance(form_field, forms.ModelChoiceField):
        return "1"  # its queryset is set per team, in the form's __init__
    choices = [c for c, _ in getattr(form_field, "choices", ()) or () if c not in ("", None)]
    if choices and not isinstance(choices[0], list | tuple):
        return str(choices[0])
    if isinstance(form_field, forms.BooleanField):
        return "on"
    if isinstance(form_field, forms.IntegerField):
        return "1"
    if isinstance(form_field, forms.DateField):
        return "2030-01-07"
    if isinstance(form_field, forms.EmailField):
        return "fuzz@example.com"
    return "Fuzzed text"


# ---------------------------------------------------------------- the walk


@dataclass
class Target:
    route: Route
    url: str
    fields: dict[str, list[str]]


def post_routes() -> list[Route]:
    # The API has its own walk (schemathesis); the admin is for staff.
    return [r for r in all_routes() if r.namespace not in (API_NAMESPACE, ADMIN_NAMESPACE)]


def extra_sessions(world: World) -> list:
    """Sessions waiting at the steps whose forms only show there."""
    o = world.objects
    found = []
    for step in ("align", "hypotheses", "dig"):
        session = make_session(world.team_a, world.owner, members=(world.teammate,),
                               dataset=o["dataset"], success=o["success"],
                               title=f"At {step}")
        found.append(move_to(session, step))
    return found


def targets(world: World, client: Client) -> list[Target]:
    """One target per route that takes POST: at the world's objects, or, when a page
    draws the route's form elsewhere (a session at another step), where it is drawn with
    the most fields, since there the form is live."""
    routes = {r.name: r for r in post_routes()}
    found: dict[str, Target] = {}
    for route in list(routes.values()):
        url = fill(route, url_kwargs(world, route.name, list(route.keywords)))
        if post(client, world.owner, url, {}, {}) == 405:
            del routes[route.name]  # takes GET only
            continue
        found[route.name] = Target(route, url, read_fields(resolve(url).func))
    pages = [fill(r, url_kwargs(world, r.name, list(r.keywords))) for r in all_routes()
             if r.namespace not in (API_NAMESPACE, ADMIN_NAMESPACE)] + [
        f"/t/{world.team_a.slug}/sessions/{s.pk}/" for s in extra_sessions(world)]
    drawn_most: dict[str, DrawnForm] = {}
    for drawn in drawn_forms(client, pages):
        try:
            name = ":".join([*(match := resolve(drawn.url)).namespaces, match.url_name or ""])
        except Resolver404:
            continue
        if name not in routes:
            continue
        target = found[name]
        for key, values in drawn.fields.items():
            merged = target.fields.setdefault(key, [])
            merged[:0] = [v for v in values if v not in merged]  # drawn values first
        if name not in drawn_most or len(drawn.fields) > len(drawn_most[name].fields):
            drawn_most[name] = drawn
    for name, drawn in drawn_most.items():
        found[name].url = drawn.url
    return list(found.values())


def cases(fields: dict[str, list[str]]):
    """(what, data): each field given each hostile value, then all of them at once."""
    base = {name: (values[0] if values else "") for name, values in fields.items()}
    yield "nothing posted", {}
    yield "plausible values", base
    for name in fields:
        numeric = re.fullmatch(r"-?\d+", str(base[name])) is not None
        # For free text "bogus" is just more text: the walk spends no request on it.
        free_text = base[name] in FREE_TEXT
        for value in HOSTILE + (NUMBERS if numeric else ()):
            if free_text and value == "bogus":
                continue
            data = dict(base)
            if value is MISSING:
                data.pop(name)
            else:
                data[name] = value
            yield f"{name}={_short(value)}", data
    for value in ("", HUGE, "a\x00b", TWO_VALUES):
        yield f"every field={_short(value)}", {name: value for name in fields}


def _short(value) -> str:
    if value is MISSING:
        return "<missing>"
    text = repr(value)
    return text if len(text) < 30 else f"{text[:12]}...({len(value)} chars)"


class _Rollback(Exception):
    pass


def _refuse_nul_like_postgresql(execute, sql, params, many, context):
    for param in (params or ()) if not many else ():
        if isinstance(param, str) and ("\x00" in param or (
                param[:1] in "{[" and "\\u0000" in param)):
            raise DataError("A string literal cannot contain NUL (0x00) characters.")
    return execute(sql, params, many, context)


def post(client: Client, user, url: str, data: dict, headers: dict):
    """The answer's status, or the exception the view raised; nothing of it is kept."""
    cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
    if cookie is None or cookie.value != getattr(client, "signed_in_as", None):
        # The last request signed out, or signed in anew into a row now rolled back.
        client.force_login(user)
        client.signed_in_as = client.cookies[settings.SESSION_COOKIE_NAME].value
    try:
        with transaction.atomic(), connection.execute_wrapper(_refuse_nul_like_postgresql):
            response = client.post(url, data, headers=headers)
            raise _Rollback(response.status_code)
    except _Rollback as answer:
        return answer.args[0]
    except Exception as error:  # noqa: BLE001 - any exception is the 500 a user would get
        return f"{type(error).__name__}: {str(error)[:160]}"


def test_no_form_answers_a_server_error_whatever_is_posted(world):
    client = Client()
    client.force_login(world.owner)
    walk = targets(world, client)
    # The walk finds the fields that failed before: the finding form's step (issue 12: a
    # 500 on `step` missing, empty or bogus), the dashboard segments' raw ids, the
    # criterion builder's rows.
    fields = {target.route.name: set(target.fields) for target in walk}
    assert {"text", "kind", "test", "step"} <= fields["worksessions:finding_create"]
    assert {"remove", "team_segment", "catalog"} <= fields["dashboards:dashboard_segments"]
    assert {"text", "expected_direction", "confidence", "new-0-kind"} <= fields[
        "worksessions:hypothesis_create"]
    failures, posted = [], 0
    for target in walk:
        for number, (what, data) in enumerate(cases(target.fields)):
            # htmx forms answer differently (the fragment, 200): every other case is sent
            # as htmx, so both ways meet every kind of value.
            headers = {"HX-Request": "true"} if number % 2 else {}
            status = post(client, world.owner, target.url, data, headers)
            posted += 1
            if isinstance(status, str) or status >= 500:
                failures.append(f"{target.route.name} {target.url} {what}"
                                f"{' (htmx)' if headers else ''}: {status}")
    assert failures == [], f"{len(failures)} server errors:\n" + "\n".join(failures)
    assert len(walk) >= 40 and posted >= 1500  # the walk found the forms, not an empty list
