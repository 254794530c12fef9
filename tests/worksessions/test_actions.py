"""The remaining writes over HTTP: editing, ranking and removing one's entries, the
facilitator's settings and timer, discovery's suggestions taken as ideas."""

from datetime import timedelta

import pytest
from django.urls import reverse

from sessions import services
from sessions.models import Discovery, Hypothesis, SessionEvent
from sessions.selectors import unnamed_suggestions
from sessions.steps import Step

from .factories import INVITED, PRO, move_to

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(session, name, **kwargs):
    return reverse(f"worksessions:{name}", kwargs={"team_slug": session.team.slug,
                                                   "session_id": session.pk, **kwargs})


@pytest.fixture
def writing(session, teammate):
    session = move_to(session, Step.HYPOTHESES)
    first = services.hypothesis_create(session=session, author=teammate, text="first",
                                       criterion=INVITED)
    second = services.hypothesis_create(session=session, author=teammate, text="second")
    return session, first, second


def test_editing_draws_the_criterion_back_as_rows_and_saves(client, writing, teammate):
    session, first, _ = writing
    client.force_login(teammate)
    form = client.get(url(session, "hypothesis_edit", entry_id=first.pk), **HTMX)
    html = form.content.decode()
    assert form.status_code == 200 and "first</textarea>" in html
    assert f'name="e{first.pk}-0-kind"' in html and 'value="did_event" selected' in html
    prefix = f"e{first.pk}"
    response = client.post(url(session, "hypothesis_edit", entry_id=first.pk), {
        "text": "first, clearer", "expected_direction": "more", "confidence": "95",
        f"{prefix}-rows": "2", f"{prefix}-combine": "all",
        f"{prefix}-0-kind": "did_event", f"{prefix}-0-event": "invite_teammate",
        f"{prefix}-0-within_days": "7",
        f"{prefix}-1-kind": "property", f"{prefix}-1-user_property": "plan",
        f"{prefix}-1-op": "=", f"{prefix}-1-value": "pro", f"{prefix}-1-negate": "on",
    }, **HTMX)
    assert response.status_code == 200
    first.refresh_from_db()
    assert first.text == "first, clearer" and first.confidence == 95
    assert first.criterion == {"all": [INVITED, {"not": PRO}]}


def test_someone_elses_entry_cannot_be_edited_or_removed(client, writing, owner):
    session, first, _ = writing
    client.force_login(owner)
    assert client.get(url(session, "hypothesis_edit", entry_id=first.pk)).status_code == 404
    refused = client.post(url(session, "hypothesis_delete", entry_id=first.pk))
    assert refused.status_code == 403 and Hypothesis.objects.filter(pk=first.pk).exists()


def test_ranking_and_removing_ones_entries(client, writing, teammate):
    session, first, second = writing
    client.force_login(teammate)
    client.post(url(session, "hypothesis_rerank", entry_id=second.pk), {"rank": 1}, **HTMX)
    assert list(Hypothesis.objects.order_by("rank").values_list("text", flat=True)) == \
        ["second", "first"]
    client.post(url(session, "hypothesis_delete", entry_id=second.pk), **HTMX)
    assert list(Hypothesis.objects.values_list("text", "rank")) == [("first", 1)]
    bad = client.post(url(session, "hypothesis_rerank", entry_id=first.pk), {"rank": "x"})
    assert bad.status_code == 400


def test_the_facilitators_settings_and_timer(client, session, owner, teammate):
    client.force_login(teammate)
    assert client.post(url(session, "session_settings"),
                       {"dig_minutes": 5}).status_code == 403
    client.force_login(owner)
    client.post(url(session, "session_settings"), {"dig_minutes": 7}, **HTMX)
    session.refresh_from_db()
    assert session.dig_duration == timedelta(minutes=7) and not session.hide_entries
    assert client.post(url(session, "timer_extend"), {"minutes": 5}).status_code == 409
    session = move_to(session, Step.TEST_AND_LEARN)
    client.post(url(session, "timer_extend"), {"minutes": 5}, **HTMX)
    session.refresh_from_db()
    assert session.dig_extension == timedelta(minutes=5)
    assert SessionEvent.objects.filter(kind="timer_extended").count() == 1


def test_suggestions_are_candidates_nobody_named_and_one_can_be_taken(client, session, owner,
                                                                      teammate):
    session = move_to(session, Step.EXPLORE)
    client.force_login(teammate)
    client.post(url(session, "discovery_run"), **HTMX)
    client.post(url(session, "discovery_run"), **HTMX)  # the same question, answered once
    discovery = Discovery.objects.get()
    assert discovery.job.kind == "discover" and discovery.job.status == "done", \
        discovery.job.error
    suggestions = unnamed_suggestions(session, discovery)
    assert suggestions
    first = suggestions[0]
    page = client.get(url(session, "session_detail")).content.decode()
    assert "Take as my idea" in page
    client.post(url(session, "suggestion_adopt", discovery_id=discovery.pk,
                    index=first["index"]), **HTMX)
    idea = Hypothesis.objects.get()
    assert idea.kind == "idea" and idea.origin == "suggested"
    assert idea.criterion == first["criterion"] and idea.author == teammate
    # Once named, it is no longer offered.
    assert first["index"] not in [s["index"] for s in unnamed_suggestions(session, discovery)]
    missing = client.post(url(session, "suggestion_adopt", discovery_id=discovery.pk,
                              index=9999))
    assert missing.status_code == 400


def test_the_other_side_discovery_runs_only_in_its_step(client, session, owner):
    session = move_to(session, Step.EXPLORE)
    client.force_login(owner)
    refused = client.post(url(session, "discovery_run"), {"unsuccessful": "1"})
    assert refused.status_code == 409 and not Discovery.objects.exists()
    session = move_to(session, Step.UNSUCCESSFUL)
    client.post(url(session, "discovery_run"), {"unsuccessful": "1"}, **HTMX)
    discovery = Discovery.objects.get()
    assert discovery.unsuccessful and discovery.job.options["unsuccessful"] is True
    page = client.get(url(session, "session_detail")).content.decode()
    assert "More often among users who did not succeed" in page


def test_the_team_overview_lists_recent_sessions(client, team, owner, session):
    client.force_login(owner)
    page = client.get(reverse("accounts:team_home", kwargs={"team_slug": team.slug}))
    assert page.status_code == 200
    assert session.title in page.content.decode()
