"""The meeting tools over HTTP: each view's happy path, a teammate (who may place dots but
not run the meeting), an outsider (404), and bad input (a 400 page, or the htmx fragment
with the form's error; never a 500). Also the sticky clock on the session page and on an
explore tool opened from it."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from sessions import services
from sessions.models import Dot, DotVote, HypothesisTest, WorkingSession
from sessions.steps import Step

from .factories import INVITED, LOGINS, PRO, move_to

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(session, name, **kwargs):
    return reverse(f"worksessions:{name}", kwargs={"team_slug": session.team.slug,
                                                   "session_id": session.pk, **kwargs})


@pytest.fixture
def voting(session, owner, teammate):
    """At Test, three revealed hypotheses with criteria; no vote yet."""
    session = move_to(session, Step.HYPOTHESES)
    entries = [services.hypothesis_create(session=session, author=teammate, text=text,
                                          criterion=criterion)
               for text, criterion in (("Inviters buy", INVITED), ("Pro buys", PRO),
                                       ("Regulars buy", LOGINS))]
    services.entries_reveal(session=session, by=owner)
    return move_to(session, Step.TEST), entries


def all_posts(session, entry):
    return [url(session, "timebox_set"), url(session, "vote_open"), url(session, "vote_close"),
            url(session, "tests_run_vote_order"), url(session, "dot_place", entry_id=entry.pk),
            url(session, "dot_remove", entry_id=entry.pk)]


def test_outsiders_get_404_on_every_meeting_tool(client, outsider, voting, owner):
    session, (entry, *_) = voting
    services.vote_open(session=session, by=owner)
    revision = WorkingSession.objects.get(pk=session.pk).revision
    client.force_login(outsider)
    for address in all_posts(session, entry):
        assert client.post(address, {"minutes": "5", "step": "test",
                                     "dots_per_member": "3"}).status_code == 404, address
    assert WorkingSession.objects.get(pk=session.pk).revision == revision
    assert not Dot.objects.exists()


def test_the_meeting_tools_take_posts_only(client, owner, voting):
    session, (entry, *_) = voting
    client.force_login(owner)
    for address in all_posts(session, entry):
        assert client.get(address).status_code == 405, address


def test_a_whole_vote_over_http(client, owner, teammate, voting):
    session, (inviters, pro, regulars) = voting
    client.force_login(owner)
    page = client.get(url(session, "session_detail")).content.decode()
    assert "Open a dot vote" in page and "Run in vote order" not in page
    response = client.post(url(session, "vote_open"), {"dots_per_member": "2"}, **HTMX)
    assert response.status_code == 200 and "Dot vote: which hypotheses matter most?" in \
        response.content.decode()
    assert DotVote.objects.get().dots_per_member == 2
    client.post(url(session, "dot_place", entry_id=regulars.pk), **HTMX)

    client.force_login(teammate)
    response = client.post(url(session, "dot_place", entry_id=pro.pk), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "1</strong> of 2 dots left" in html
    assert 'aria-label="your dots: 0"' in html  # Olivia's dot on Regulars stays hidden
    assert "Close the vote" not in html  # the facilitator's
    client.post(url(session, "dot_place", entry_id=pro.pk), **HTMX)
    refused = client.post(url(session, "dot_place", entry_id=pro.pk), **HTMX)
    assert "all 2 of your dots" in refused.content.decode()
    assert Dot.objects.filter(voter=teammate).count() == 2
    plain = client.post(url(session, "dot_remove", entry_id=pro.pk))
    assert plain.status_code == 302 and plain["Location"].endswith("#vote")
    client.post(url(session, "dot_place", entry_id=pro.pk))

    denied = client.post(url(session, "vote_close"))
    assert denied.status_code == 403 and DotVote.objects.get().is_open

    client.force_login(owner)
    closed = client.post(url(session, "vote_close"), **HTMX).content.decode()
    assert "Dot vote results" in closed and 'data-vote-total="2"' in closed
    assert "Run in vote order (2)" in closed
    client.post(url(session, "tests_run_vote_order"), **HTMX)
    assert [t.hypothesis_id for t in HypothesisTest.objects.order_by("pk")] == [pro.pk,
                                                                             regulars.pk]
    report = client.get(url(session, "session_report")).content.decode()
    assert "Dot vote" in report and "2</strong> dots" in report
    markdown = client.get(url(session, "session_report_md")).content.decode()
    assert "1. Pro buys (Tom Teammate): 2 dots" in markdown


def test_bad_votes_are_refused_with_a_message(client, owner, teammate, voting):
    session, (entry, *_) = voting
    client.force_login(owner)
    for dots in ("0", "11", "three", ""):
        plain = client.post(url(session, "vote_open"), {"dots_per_member": dots})
        assert plain.status_code == 400, dots
        fragment = client.post(url(session, "vote_open"), {"dots_per_member": dots}, **HTMX)
        assert fragment.status_code == 200 and "errorlist" in fragment.content.decode()
    assert not DotVote.objects.exists()
    nothing_open = client.post(url(session, "dot_place", entry_id=entry.pk))
    assert nothing_open.status_code == 409 and "No vote is open" in \
        nothing_open.content.decode()
    assert client.post(url(session, "vote_close")).status_code == 409
    assert client.post(url(session, "tests_run_vote_order")).status_code == 400
    missing = url(session, "dot_place", entry_id=entry.pk + 999)
    assert client.post(missing).status_code == 404
    services.vote_open(session=session, by=owner)
    assert client.post(url(session, "vote_open"), {"dots_per_member": "3"}).status_code == 409
    client.force_login(teammate)
    assert client.post(url(session, "dot_remove", entry_id=entry.pk)).status_code == 400


def test_the_timebox_over_http(client, owner, teammate, voting):
    session, _ = voting
    client.force_login(teammate)
    assert client.post(url(session, "timebox_set"),
                       {"minutes": "5", "step": "test"}).status_code == 403
    client.force_login(owner)
    now = timezone.now().replace(microsecond=0) + timedelta(hours=1)
    with time_machine.travel(now, tick=False):
        response = client.post(url(session, "timebox_set"), {"minutes": "5", "step": "test"},
                               **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and 'id="session-clock"' in html
    assert 'role="timer"' in html and ">5:00<" in html and "timebox, until" in html
    session.refresh_from_db()
    assert session.timebox_deadline() == now + timedelta(minutes=5)
    # The page drawn after zero says so, and the step's forms stay usable.
    with time_machine.travel(now + timedelta(minutes=5), tick=False):
        page = client.get(url(session, "session_detail")).content.decode()
    assert "Time&#x27;s up" in page and "is-over" in page
    planned = client.post(url(session, "timebox_set"), {"minutes": "12", "step": "results"})
    assert planned.status_code == 302
    assert "Planned: Results 12 min" in client.get(url(session, "session_detail")).content.decode()


@pytest.mark.parametrize("data", [{"minutes": "-1", "step": "test"},
                                  {"minutes": "181", "step": "test"},
                                  {"minutes": "ten", "step": "test"},
                                  {"minutes": "5", "step": "dig"},
                                  {"minutes": "5", "step": "nowhere"},
                                  {}])
def test_a_bad_timebox_is_refused_with_the_form_error(client, owner, voting, data):
    session, _ = voting
    client.force_login(owner)
    assert client.post(url(session, "timebox_set"), data).status_code == 400
    fragment = client.post(url(session, "timebox_set"), data, **HTMX)
    assert fragment.status_code == 200 and "errorlist" in fragment.content.decode()
    session.refresh_from_db()
    assert session.timebox_deadline() is None and session.timebox_plan == {}


def test_the_clock_is_on_the_session_page_and_on_its_explore_tools(client, owner, teammate,
                                                                   session):
    session = move_to(session, Step.HYPOTHESES)
    services.timebox_set(session=session, by=owner, minutes=15)
    client.force_login(teammate)
    page = client.get(url(session, "session_detail")).content.decode()
    assert 'id="session-clock"' in page and "data-clock-deadline=" in page
    assert "js/session-clock.js" in page
    tool = reverse("explore:breakdown", kwargs={"team_slug": session.team.slug})
    explore = client.get(f"{tool}?session={session.pk}").content.decode()
    assert 'id="session-clock"' in explore and "Now: <strong>Hypotheses</strong>" in explore
    assert "js/session-clock.js" in explore and "css/session-clock.css" in explore
    assert url(session, "session_detail") in explore
    outside = client.get(tool).content.decode()
    assert 'id="session-clock"' not in outside and "session-clock.js" not in outside


def test_the_explore_clock_counts_down_test_and_learn(client, owner, teammate, session):
    now = timezone.now().replace(microsecond=0) + timedelta(hours=1)
    with time_machine.travel(now, tick=False):
        dig = move_to(session, Step.TEST_AND_LEARN)
    client.force_login(teammate)
    tool = reverse("explore:console", kwargs={"team_slug": session.team.slug})
    with time_machine.travel(now + timedelta(minutes=5), tick=False):
        html = client.get(f"{tool}?session={dig.pk}").content.decode()
    assert "is-enforced" in html and ">15:00<" in html and "left in Test and learn" in html
    with time_machine.travel(now + timedelta(minutes=20), tick=False):
        html = client.get(f"{tool}?session={dig.pk}").content.decode()
    assert "is-over" in html and "Test and learn is closed" in html
