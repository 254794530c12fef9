"""Every text a person can write is rendered escaped. A script payload goes into every
CharField and TextField of the project's models (found from the models, so a new field is
covered the day it is added), and into the free text inside JSON (a criterion's value, a
finding's evidence title); then every page of the project is rendered and none may carry a
payload unescaped."""

from __future__ import annotations

import pytest
from django.db import models
from django.test import Client

from . import snapshots
from .routes import ADMIN_NAMESPACE, API_NAMESPACE, all_routes, fill
from .test_authorization import PUBLIC, SIGNED_IN
from .world import url_kwargs

pytestmark = pytest.mark.django_db

# Text fields nobody writes freely, each with why; every other text field gets a payload.
NOT_WRITTEN_BY_PEOPLE = {
    "accounts.User.password": "a password hash",
    "accounts.Invitation.token": "generated; the key of a link",
    "api.ApiToken.key_hash": "a hash of the token",
    "api.ApiToken.prefix": "generated from the token",
    "dashboards.Dashboard.current_fingerprint": "a hash of the segments",
    "dashboards.DashboardSegment.catalog_key": "a key of the fixed catalog",
}
# The fields a person types in the UI: each must show up (escaped) on some page, which
# proves the pages rendered the payloads rather than skipping them.
MUST_BE_SHOWN = [
    "accounts.Team.name", "accounts.User.display_name", "analytics.Dataset.name",
    "analytics.SuccessDefinition.name", "worksessions.WorkingSession.title",
    "worksessions.Hypothesis.text", "worksessions.Finding.text",
    "worksessions.NextStep.text", "dashboards.Dashboard.name",
    "dashboards.TeamSegment.name", "dashboards.ReviewNote.text", "api.ApiToken.name",
]


def text_fields() -> list[models.Field]:
    found = []
    for model in snapshots.project_models():
        for field in model._meta.concrete_fields:
            label = f"{model._meta.label}.{field.name}"
            if not isinstance(field, models.CharField | models.TextField):
                continue
            if field.choices or isinstance(field, models.SlugField | models.EmailField):
                continue  # a value from a fixed list, or checked against a format
            if label in NOT_WRITTEN_BY_PEOPLE:
                continue
            found.append(field)
    return found


def payload(number: int, max_length: int | None) -> str:
    text = f"<script>x({number})</script>"
    return text if max_length is None or len(text) <= max_length else f"<x{number}>"


def plant_payloads(world) -> dict[str, str]:
    """A payload in every text field of every row; returns payload -> where it is."""
    planted: dict[str, str] = {}
    empty = []
    for field in text_fields():
        model = field.model
        pks = list(model.objects.values_list("pk", flat=True))
        if not pks:
            empty.append(model._meta.label)
        for pk in pks:
            text = payload(len(planted) + 1, field.max_length)
            model.objects.filter(pk=pk).update(**{field.attname: text})
            planted[text] = f"{model._meta.label}.{field.name}"
    assert not empty, (f"The world has no rows of {sorted(set(empty))}: add one in "
                       "tests/security/world.py so their text fields are rendered too")
    from sessions.models import Finding, Hypothesis

    for entry in Hypothesis.objects.exclude(criterion__isnull=True):
        text = payload(len(planted) + 1, None)
        if entry.criterion.get("kind") in ("property", "first_event_property"):
            Hypothesis.objects.filter(pk=entry.pk).update(
                criterion={**entry.criterion, "value": text})
            planted[text] = "worksessions.Hypothesis.criterion.value"
    for finding in Finding.objects.exclude(evidence__isnull=True):
        text = payload(len(planted) + 1, None)
        Finding.objects.filter(pk=finding.pk).update(
            evidence={**finding.evidence, "title": text})
        planted[text] = "worksessions.Finding.evidence.title"
    return planted


def escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def page_urls(world) -> list[tuple[str, str]]:
    urls = []
    for route in all_routes():
        if route.namespace in (API_NAMESPACE, ADMIN_NAMESPACE):
            continue
        if route.is_team_scoped or route.name in SIGNED_IN or route.name in PUBLIC:
            urls.append((route.name, fill(route, url_kwargs(world, route.name,
                                                            list(route.keywords)))))
    return urls


def test_every_text_field_is_rendered_escaped_on_every_page(world):
    planted = plant_payloads(world)
    assert len(set(planted.values())) >= 25
    shown: set[str] = set()
    failures, rendered = [], 0
    # The owner sees every page whole and as htmx fragments; a member sees what members
    # see (no owner-only controls), whole.
    for member, variants in ((world.owner, ({}, {"HX-Request": "true"})),
                             (world.teammate, ({},))):
        client = Client()
        client.force_login(member)
        for name, url in page_urls(world):
            for headers in variants:
                response = client.get(url, headers=headers)
                if response.status_code >= 500:
                    failures.append(f"{url} ({name}): {response.status_code}")
                content_type = response.get("Content-Type", "")
                if response.status_code != 200 or not content_type.startswith("text/html"):
                    continue
                rendered += 1
                html = response.content.decode()
                for text, where in planted.items():
                    if text in html:
                        failures.append(f"{url} ({name}) shows {where} unescaped")
                    elif escaped(text) in html:
                        shown.add(where)
    assert failures == [], "\n".join(failures)
    assert rendered >= 50
    missing = [label for label in MUST_BE_SHOWN if label not in shown]
    assert missing == [], f"never shown on any page (so never proven escaped): {missing}"
