"""What a meeting's writes read, answered as a live page asks (htmx, its stream open):
each row the write needs is read once, and the answer is what reading everything afresh
draws. At 200 members a write's queries were most of its CPU in the web process, so a
change that reads a row twice again fails here.

The counts include the savepoints a test's transaction turns each atomic block into."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.test import Client, RequestFactory
from django_htmx.middleware import HtmxDetails

from sessions import services
from sessions.models import Hypothesis
from sessions.page import session_url
from sessions.steps import Step
from sessions.views.common import respond

from .factories import INVITED, PRO, move_to
from .test_own_parts import element

NEW_ENTRY = {"kind": "hypothesis", "text": "Pro users purchase more", "expected_direction":
             "more", "confidence": "", "new-rows": "1", "new-0-kind": "property",
             "new-0-user_property": "plan", "new-0-op": "=", "new-0-value": "pro"}


@pytest.fixture
def queued(monkeypatch, settings):
    """Work queued for after the commit (analysis jobs, the notice to the live streams)
    is collected, not run: a worker runs the jobs, so they are no part of the write."""
    settings.TASKS_RUN_IMMEDIATELY = False
    callbacks = []
    monkeypatch.setattr(transaction, "on_commit",
                        lambda func, using=None, robust=False: callbacks.append(func))
    return callbacks


@pytest.fixture
def meeting(session, owner, teammate):
    """At Test: Tom has one tested hypothesis and one untested; Olivia has one."""
    session = move_to(session, Step.HYPOTHESES)
    tested = services.hypothesis_create(session=session, author=teammate,
                                        text="Inviters purchase more", criterion=INVITED,
                                        expected_direction="more")
    services.hypothesis_create(session=session, author=teammate, text="Pro users too",
                               criterion=PRO, expected_direction="more")
    services.hypothesis_create(session=session, author=owner, text="Olivia's",
                               criterion=INVITED)
    session = move_to(session, Step.TEST)
    services.hypothesis_test_run(hypothesis=tested, by=teammate)
    return session


def live_client(session, user) -> Client:
    """A member's browser with the session page open (which also records the team as
    theirs: the first request of a team costs a write of its own)."""
    client = Client(HTTP_HX_REQUEST="true", HTTP_X_LIVE_STEP=session.step)
    client.force_login(user)
    assert client.get(session_url(session), HTTP_HX_REQUEST="").status_code == 200
    return client


def saved(answer) -> bool:
    html = answer.content.decode()
    return (answer.status_code == 200 and answer["HX-Reswap"] == "none"
            and "Not saved." not in html and 'class="errorlist' not in html)


# The parts each write answers with (sessions.views.actions), by their element ids.
PARTS = {"hypothesis_test": ("mine-list",), "finding_create": ("finding-card",)}
MINE = ("mine", "own-hidden", "vote")


def untested(session, user) -> Hypothesis:
    return session.hypotheses.filter(author=user, tests__isnull=True).get()


# Each write of a meeting at Test, the most queries its request may make, and the own
# parts it answers with. Before each row was read once: 24, 23, 21, 21, 23 and 15 (the
# session three times, the participant twice, the member's tests twice, the value profile
# twice, a group count read back unshown, a finding's team...).
WRITES = {
    "hypothesis_create": (lambda s, u: (session_url(s, "hypothesis_create"), NEW_ENTRY), 19),
    "hypothesis_test": (lambda s, u: (session_url(s, "hypothesis_test",
                                                  entry_id=untested(s, u).pk),
                                      {"confirmed": "1"}), 19),
    "hypothesis_edit": (lambda s, u: (session_url(s, "hypothesis_edit",
                                                  entry_id=untested(s, u).pk),
                                      {"text": "Pro users purchase a lot more",
                                       "expected_direction": "more", "confidence": ""}), 18),
    "hypothesis_rerank": (lambda s, u: (session_url(s, "hypothesis_rerank",
                                                    entry_id=untested(s, u).pk),
                                        {"rank": "1"}), 18),
    "hypothesis_delete": (lambda s, u: (session_url(s, "hypothesis_delete",
                                                    entry_id=untested(s, u).pk), {}), 20),
    "finding_create": (lambda s, u: (session_url(s, "finding_create"), {
        "text": "Invites matter", "kind": "insight", "test": "", "step": Step.TEST}), 11),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_write_reads_each_row_once(queued, meeting, teammate, write,
                                     django_assert_max_num_queries):
    make, most = WRITES[write]
    url, data = make(meeting, teammate)
    client = live_client(meeting, teammate)
    with django_assert_max_num_queries(most):
        answer = client.post(url, data)
    assert saved(answer), answer.content.decode()[:2000]


def test_a_dot_reads_each_row_once(queued, meeting, owner, teammate,
                                   django_assert_max_num_queries):
    session = services.step_move(session=meeting, by=owner, to=Step.HYPOTHESES,
                                 expected=Step.TEST)
    services.entries_reveal(session=session, by=owner)
    services.vote_open(session=session, by=owner, dots_per_member=2)
    theirs = session.hypotheses.filter(author=owner).get()
    client = live_client(session, teammate)
    with django_assert_max_num_queries(23):  # before: 26
        answer = client.post(session_url(session, "dot_place", entry_id=theirs.pk))
    assert answer.status_code == 200 and "Not saved." not in answer.content.decode()
    assert theirs.dots.filter(voter=teammate).exists()


def body_afresh(session, user, *, light: bool) -> str:
    """The session's body for `user`, from rows all read now. Not `light`: as a page
    without its live stream gets it, the test results among them (where the light answer
    takes the member's tested entries instead). A light one keeps the finding form as a
    write's answer draws it (without the results offered as evidence)."""
    live = {"HTTP_X_LIVE_STEP": session.step} if light else {}
    request = RequestFactory().post(session_url(session), HTTP_HX_REQUEST="true", **live)
    request.user, request.team, request.htmx = user, session.team, HtmxDetails(request)
    return respond(request, session).content.decode()


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_write_answers_what_reading_everything_afresh_draws(queued, meeting, teammate,
                                                              write):
    """The rows a write read for its checks (the session, the participant, the member's
    tested entries, the value profile) serve its answer: each part the same, to the byte,
    as in the whole body drawn from rows all read after the write."""
    url, data = WRITES[write][0](meeting, teammate)
    answered = live_client(meeting, teammate).post(url, data)
    assert saved(answered)
    meeting.refresh_from_db()
    assert answered["X-Session-Revision"] == str(meeting.revision)
    afresh = body_afresh(meeting, teammate, light=write == "finding_create")
    for wanted in PARTS.get(write, MINE):
        drawn = element(afresh, wanted)
        assert element(answered.content.decode(), wanted) == drawn, wanted
        assert drawn is not None or wanted in ("own-hidden", "vote"), wanted


def test_a_row_read_by_the_view_serves_one_check_and_a_move_meanwhile_saves_nothing(
        session, team, owner, teammate):
    """The service's first check takes the row its view read; if the facilitator moved
    the session in between, the write's conditional UPDATE refuses it and nothing is
    saved. The row serves one check only: the next reads the session again."""
    from sessions import selectors
    from sessions.services import StaleStep, StepClosed

    session = move_to(session, Step.HYPOTHESES)
    read = selectors.session_to_write(team, session.pk)
    services.step_move(session=session, by=owner, to=Step.TEST, expected=Step.HYPOTHESES)
    services.step_move(session=session, by=owner, to=Step.EXPLORE, expected=Step.TEST)
    with pytest.raises(StaleStep):
        services.hypothesis_create(session=read, author=teammate, text="Late one")
    assert not Hypothesis.objects.filter(text="Late one").exists()
    with pytest.raises(StepClosed, match="the session is at Explore"):
        services.hypothesis_create(session=read, author=teammate, text="Late one")
