"""The empty entry and finding forms are drawn once and kept (sessions.kept_forms): each
must be exactly what the template's include draws, with the member's own token, and drawn
anew as soon as anything it shows changes."""

from __future__ import annotations

import itertools
import re

import pytest
import time_machine
from django.middleware.csrf import _does_token_match
from django.test import RequestFactory
from django.utils import timezone
from django_htmx.middleware import HtmxDetails

from analytics.models import AnalysisJob, JobStatus
from sessions import cards, kept_forms, services
from sessions.page import session_url
from sessions.steps import Step
from sessions.views.common import respond

from .factories import INVITED, move_to

TOKENS = re.compile(r'name="csrfmiddlewaretoken" value="([^"]*)"')


def answer(session, user, parts=None, *, live=True) -> tuple[str, str]:
    """A write's answer (the whole light body, or `parts`; the whole body with the results
    when not from a `live` page), and the member's CSRF secret."""
    headers = {"HTTP_X_LIVE_STEP": session.step} if live else {}
    request = RequestFactory().post(session_url(session), HTTP_HX_REQUEST="true", **headers)
    request.user, request.team, request.htmx = user, session.team, HtmxDetails(request)
    html = respond(request, session, parts=parts).content.decode()
    return html, request.META.get("CSRF_COOKIE", "")


def same_tokens(html: str) -> str:
    return TOKENS.sub('name="csrfmiddlewaretoken" value="-"', html)


@pytest.fixture
def keeping(monkeypatch):
    """keeping(False): the forms are drawn as the includes drew them; keeping(True): kept."""
    kept = {"entry_form": kept_forms.entry_form, "finding_form": kept_forms.finding_form}
    drawn = {"entry_form": kept_forms.entry_form_drawn,
             "finding_form": kept_forms.finding_form_drawn}

    def switch(on: bool) -> None:
        for name, function in (kept if on else drawn).items():
            monkeypatch.setattr(kept_forms, name, function)

    return switch


@pytest.fixture
def writing(session, owner, teammate):
    session = move_to(session, Step.HYPOTHESES)
    services.hypothesis_create(session=session, author=teammate, text="Tom: invites",
                               criterion=INVITED)
    return session


def test_kept_forms_are_what_the_includes_draw_in_every_step(writing, owner, teammate,
                                                             keeping):
    session = writing
    compared = []
    for step in ("hypotheses", "test", "explore", "dig", "results"):
        if session.step != step:
            session = move_to(session, step)
        for user, parts in itertools.product((owner, teammate),
                                             (None, ("mine",), ("finding_form",))):
            with time_machine.travel(timezone.now(), tick=False):  # the page's clock
                keeping(False)
                drawn = answer(session, user, parts)[0]
                keeping(True)
                for _ in range(2):  # the second one from the cache
                    html, secret = answer(session, user, parts)
                    assert cards.TOKEN not in html
                    assert all(_does_token_match(token, secret)
                               for token in TOKENS.findall(html))
                    assert same_tokens(html) == same_tokens(drawn), (step, parts, user)
            compared.append(drawn)
    # Both forms were in what was compared, in more than one step.
    assert sum('class="entry-form' in html for html in compared) >= 4
    assert sum('class="stack-sm finding-form"' in html for html in compared) >= 4


def test_the_kept_entry_form_follows_the_schema_the_values_and_the_step(writing, teammate,
                                                                        dataset):
    session = writing
    before = answer(session, teammate, ("mine",))[0]
    assert "a_brand_new_event" not in before
    dataset.schema = {**dataset.schema,
                      "events": {**dataset.schema["events"], "a_brand_new_event": 1}}
    dataset.save(update_fields=["schema"])
    session.refresh_from_db()
    assert 'value="a_brand_new_event"' in answer(session, teammate, ("mine",))[0]

    for plan in ("a_plan_only_now", "another_plan_later"):  # values read, then read again
        AnalysisJob.objects.create(
            team=session.team, dataset=dataset, dataset_version=dataset.current_version,
            kind=AnalysisJob.Kind.VALUES, status=JobStatus.DONE, success={},
            result={"user_properties": {"plan": {"type": "text", "top": [[plan, 7]]}}})
        session.refresh_from_db()
        assert plan in answer(session, teammate, ("mine",))[0]

    session = move_to(session, Step.TEST_AND_LEARN)  # the dig's forms are marked for its clock
    html = answer(session, teammate, ("mine",))[0]
    assert 'name="kind" value="idea"' in html and "data-dig-form" in html


def test_the_kept_finding_form_follows_the_results_it_offers(writing, owner, teammate):
    session = move_to(writing, Step.TEST)
    services.session_tests_run(session=session, by=owner)
    session = move_to(session, Step.EXPLORE)
    light = answer(session, teammate, ("finding_form",))[0]  # reads no results: offers none
    assert "Tom: invites" not in light.split('id="finding-card"')[1]
    whole = answer(session, teammate, live=False)[0]  # reads them: offers them as evidence
    assert "Tom: invites" in whole.split('id="finding-card"')[1]
