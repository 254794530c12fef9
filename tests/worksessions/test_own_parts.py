"""A write from a live page that changed only the writer's own forms is answered with
those parts alone (sessions.views.common.respond with `parts`): each part must be exactly
what the whole light body would have drawn in its place, in every step that draws it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client, RequestFactory
from django_htmx.middleware import HtmxDetails

from sessions import services
from sessions.forms import FindingForm
from sessions.page import OWN_PARTS, session_url
from sessions.steps import Step
from sessions.views.common import respond

from .factories import INVITED, move_to

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+"')
# Each part's element id on the page (the templates of sessions.page.OWN_PARTS).
PART_IDS = {"finding_form": "finding-card", "mine": "mine", "mine_list": "mine-list"}
# The steps whose page holds each part.
STEPS_OF = {"finding_form": (Step.TEST, Step.EXPLORE, Step.TEST_AND_LEARN, Step.RESULTS,
                             Step.UNSUCCESSFUL),
            "mine": (Step.HYPOTHESES, Step.TEST, Step.EXPLORE, Step.TEST_AND_LEARN),
            "mine_list": (Step.HYPOTHESES, Step.TEST, Step.EXPLORE, Step.TEST_AND_LEARN)}


class _Element(HTMLParser):
    """The outer HTML of the element with a given id (as offsets into the text)."""

    def __init__(self, wanted: str) -> None:
        super().__init__(convert_charrefs=False)
        self.wanted, self.depth, self.start, self.end = wanted, 0, None, None

    def handle_starttag(self, tag, attrs):
        if self.end is not None:
            return
        if self.start is None:
            if dict(attrs).get("id") == self.wanted:
                self.start = self._offset()
                self.depth = 0 if tag in VOID else 1
                if tag in VOID:
                    self.end = self._offset() + len(self.get_starttag_text())
        elif tag not in VOID:
            self.depth += 1

    def handle_endtag(self, tag):
        if self.start is None or self.end is not None or tag in VOID:
            return
        self.depth -= 1
        if self.depth == 0:
            self.end = self.rawdata.index(">", self._offset()) + 1

    def _offset(self) -> int:
        line, column = self.getpos()
        lines = self.rawdata.split("\n")
        return sum(len(text) + 1 for text in lines[:line - 1]) + column


def element(html: str, wanted: str) -> str | None:
    parser = _Element(wanted)
    parser.feed(html)
    parser.close()
    if parser.start is None:
        return None
    found = html[parser.start:parser.end]
    return CSRF.sub(r'\1-"', found).replace(' hx-swap-oob="true"', "")


def answer(session, user, *, parts=None, forms=None, error=None):
    request = RequestFactory().post(session_url(session), HTTP_HX_REQUEST="true",
                                    HTTP_X_LIVE_STEP=session.step)
    request.user, request.team, request.htmx = user, session.team, HtmxDetails(request)
    return respond(request, session, parts=parts, forms=forms, error=error)


@pytest.fixture
def live_session(session, owner, teammate):
    """Both members wrote, Olivia's entry is tested, Tom has an entry of his own."""
    session = move_to(session, Step.HYPOTHESES)
    services.hypothesis_create(session=session, author=owner, text="Olivia: invites",
                               criterion=INVITED)
    services.hypothesis_create(session=session, author=teammate, text="Tom: invites too",
                               criterion=INVITED)
    return session


# What each part's answer redraws: the part, and for "mine" the member's hidden entries
# and dots, which the light body also sends out of band.
IDS_OF = {"finding_form": ("finding-card",), "mine": ("mine", "own-hidden", "vote"),
          "mine_list": ("mine-list",)}
STARTERS = [{"code": "plan=pro", "label": "Plan: pro", "group": "Plan", "text": ""}]


@pytest.mark.parametrize("part", sorted(OWN_PARTS))
def test_each_part_alone_is_what_the_whole_body_draws_in_its_place(live_session, owner,
                                                                    teammate, part,
                                                                    monkeypatch):
    # The catalog's starters need a confirmed mapping; any list shows whether they come.
    monkeypatch.setattr("sessions.page.catalog.starter_choices", lambda dataset: STARTERS)
    session = live_session
    seen = set()
    for step in ("hypotheses", "test", "explore", "dig", "results", "unsuccessful"):
        if session.step != step:
            session = move_to(session, step)
        if step == Step.TEST:
            services.session_tests_run(session=session, by=owner)
            services.vote_open(session=session, by=owner, dots_per_member=2)
            tested = session.hypotheses.filter(author=owner).get()
            services.dot_place(session=session, by=teammate, hypothesis=tested)
        if step == Step.EXPLORE:
            services.hypothesis_create(session=session, author=teammate, kind="idea",
                                       text="Tom's idea", criterion=INVITED)
        for user in (owner, teammate):  # the facilitator's forms differ from a member's
            body = answer(session, user).content.decode()
            alone = answer(session, user, parts=(part,))
            assert alone["HX-Reswap"] == "none"
            for wanted in IDS_OF[part]:
                drawn = element(body, wanted)
                assert element(alone.content.decode(), wanted) == drawn, (step, wanted, user)
                if drawn is not None:
                    seen.add(wanted)
                    assert step in STEPS_OF[part], (step, wanted)
                    if "Plan: pro" in drawn:
                        seen.add("starters")
            if step in STEPS_OF[part]:
                assert element(body, PART_IDS[part]) is not None, (step, part)
    # Each compared at least once where it is drawn (and the starters inside "mine").
    assert seen == set(IDS_OF[part]) | ({"starters"} if part == "mine" else set())


def test_a_refused_finding_comes_back_with_what_was_typed_and_why(live_session, owner,
                                                                  teammate):
    session = move_to(move_to(live_session, Step.TEST), Step.EXPLORE)
    for user in (owner, teammate):
        refused = FindingForm.to_save({"text": "", "kind": "insight", "test": ""},
                                      latest_tests=set())
        assert not refused.is_valid()
        body = answer(session, user, forms={"finding": refused}).content.decode()
        alone = answer(session, user, parts=("finding_form",),
                       forms={"finding": refused}).content.decode()
        assert 'class="errorlist' in element(alone, "finding-card")
        assert element(alone, "finding-card") == element(body, "finding-card")
        error = answer(session, user, parts=("finding_form",), error="The time is up.")
        assert "<strong>Not saved.</strong> The time is up." in element(
            error.content.decode(), "session-alert")


def test_a_finding_from_a_live_page_is_answered_with_its_form_alone(live_session, owner,
                                                                   teammate):
    services.entries_reveal(session=live_session, by=owner)
    session = move_to(live_session, Step.TEST)
    client = Client()
    client.force_login(teammate)
    url = session_url(session, "finding_create")
    data = {"text": "A pattern", "kind": "insight", "test": "", "step": Step.TEST}
    answered = client.post(url, data, HTTP_HX_REQUEST="true", HTTP_X_LIVE_STEP=Step.TEST)
    html = answered.content.decode()
    session.refresh_from_db()
    assert answered.status_code == 200 and answered["HX-Reswap"] == "none"
    assert answered["X-Session-Revision"] == str(session.revision)
    assert '<section id="finding-card" class="card" hx-swap-oob="true"' in html
    assert 'id="session-alert"' in html and 'name="text"' in html
    # Nothing else: not the live region, not the others' entries, not the side.
    assert "Olivia: invites" not in html and 'id="live"' not in html
    assert 'id="live-side"' not in html and 'id="mine"' not in html
    assert session.findings.filter(text="A pattern").exists()


def test_an_own_entry_from_a_live_page_comes_back_with_the_own_parts(live_session, teammate):
    client = Client()
    client.force_login(teammate)
    session = live_session
    answered = client.post(session_url(session, "hypothesis_create"), {
        "kind": "hypothesis", "text": "Tom's second", "expected_direction": "more",
        "confidence": "", "new-rows": "1", "new-0-kind": "did_event",
        "new-0-event": "invite_teammate", "new-0-within_days": "7"},
        HTTP_HX_REQUEST="true", HTTP_X_LIVE_STEP=Step.HYPOTHESES)
    html = answered.content.decode()
    assert answered["HX-Reswap"] == "none"
    mine = element(html, "mine")
    assert "Tom&#x27;s second" in mine and "Tom: invites too" in mine
    assert "Olivia: invites" not in html and 'id="live"' not in html


def test_reading_the_session_again_keeps_only_related_rows_it_still_names(
        session, team, dataset, owner, django_assert_num_queries):
    from analytics.services import success_definition_create
    from sessions.selectors import session_now, session_of

    loaded = session_of(team, session.pk)
    with django_assert_num_queries(1):  # the row alone; team, dataset... as they were
        now = session_now(loaded)
        assert (now.team, now.dataset, now.facilitator) == (team, dataset, owner)
        assert now.success_definition.name == loaded.success_definition.name
    other = success_definition_create(team=team, name="Came back within 7 days",
                                      definition={"events": ["login"], "within_days": 7},
                                      created_by=owner, dataset=dataset)
    type(session).objects.filter(pk=session.pk).update(success_definition=other)
    with django_assert_num_queries(2):  # the row, then the definition it names now
        assert session_now(loaded).success_definition.name == "Came back within 7 days"
    bare = type(session).objects.get(pk=session.pk)
    with django_assert_num_queries(1):  # nothing loaded before: joined in the one query
        assert session_now(bare).dataset == dataset


def test_a_test_run_from_a_live_page_is_answered_with_the_own_list_alone(live_session,
                                                                        owner, teammate):
    services.entries_reveal(session=live_session, by=owner)
    session = move_to(live_session, Step.TEST)
    entry = session.hypotheses.get(author=teammate)
    client = Client()
    client.force_login(teammate)
    live = {"HTTP_HX_REQUEST": "true", "HTTP_X_LIVE_STEP": Step.TEST}
    before = element(answer(session, teammate).content.decode(), "mine-list")
    assert ">Remove</button>" in before
    answered = client.post(session_url(session, "hypothesis_test", entry_id=entry.pk),
                           {"confirmed": "1"}, **live)
    html = answered.content.decode()
    assert answered["HX-Reswap"] == "none"
    assert "Tom: invites too" in element(html, "mine-list")
    assert ">Remove</button>" not in html  # tested: it stays on the record
    assert 'id="mine"' not in html and "new-entry" not in html  # the form is left as it is
    assert entry.tests.exists()
