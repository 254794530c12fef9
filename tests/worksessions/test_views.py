"""The session pages over HTTP: who sees what (404 to outsiders on every view), each step
drawn for the facilitator and a member, writes answered with a clear message and the
right status, and the live poll's cost."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from sessions import services
from sessions.models import Finding, Hypothesis, Participant, WorkingSession
from sessions.steps import ORDER, Step

from .factories import INVITED, PRO, make_session, move_to

HTMX = {"HTTP_HX_REQUEST": "true"}


def url(session, name, **kwargs):
    return reverse(f"worksessions:{name}", kwargs={"team_slug": session.team.slug,
                                                   "session_id": session.pk, **kwargs})


def session_urls(session, entry, finding, next_step, discovery_id=1):
    gets = [url(session, n) for n in ("session_detail", "session_report", "session_report_md")]
    # (the live stream, an async view: tests/worksessions/test_push.py)
    gets.append(url(session, "hypothesis_edit", entry_id=entry.pk))
    team = session.team.slug
    gets += [reverse("worksessions:session_list", kwargs={"team_slug": team}),
             reverse("worksessions:session_create", kwargs={"team_slug": team}),
             reverse("worksessions:member_record",
                     kwargs={"team_slug": team, "user_id": entry.author_id})]
    posts = [url(session, n) for n in (
        "session_move", "session_close", "session_settings", "timer_extend", "entries_reveal",
        "definition_confirm", "definition_change", "definition_revise", "hypothesis_create",
        "tests_run_all", "discovery_run", "finding_create", "next_step_create")]
    posts += [url(session, n, entry_id=entry.pk) for n in (
        "hypothesis_edit", "hypothesis_delete", "hypothesis_rerank", "hypothesis_test")]
    posts += [url(session, "finding_delete", finding_id=finding.pk),
              url(session, "next_step_done", next_step_id=next_step.pk),
              url(session, "suggestion_adopt", discovery_id=discovery_id, index=0)]
    return gets, posts


@pytest.fixture
def furnished(session, owner, teammate):
    """A session with an entry, a finding and a next step, back at Align."""
    session = move_to(session, Step.HYPOTHESES)
    entry = services.hypothesis_create(session=session, author=teammate, text="Inviters buy",
                                       criterion=INVITED)
    session = move_to(session, Step.TEST)
    finding = services.finding_create(session=session, author=teammate, step=Step.TEST,
                                      text="a finding")
    session = move_to(session, Step.NEXT_STEPS)
    next_step = services.next_step_create(session=session, by=owner, owner=teammate,
                                          text="try it")
    return session, entry, finding, next_step


def test_outsiders_get_404_on_every_session_view(client, outsider, furnished):
    session, entry, finding, next_step = furnished
    gets, posts = session_urls(session, entry, finding, next_step)
    client.force_login(outsider)
    for address in gets:
        assert client.get(address).status_code == 404, address
    for address in posts:
        assert client.post(address, {"to": "results", "expected": "next_steps"}).status_code \
            == 404, address
    session.refresh_from_db()
    assert session.step == Step.NEXT_STEPS and Finding.objects.count() == 1


def test_anonymous_visitors_are_sent_to_log_in(client, furnished):
    session, entry, finding, next_step = furnished
    gets, posts = session_urls(session, entry, finding, next_step)
    for address in gets:
        response = client.get(address)
        assert response.status_code in (302, 404), address
        if response.status_code == 302:
            assert "/login" in response["Location"]


def test_a_session_of_another_team_is_404_for_a_member_of_this_one(client, owner, furnished):
    from accounts.models import Membership, Team

    session, *_ = furnished
    other = Team.objects.create(name="Other", slug="other")
    Membership.objects.create(team=other, user=owner, role="owner")
    forged = reverse("worksessions:session_detail",
                     kwargs={"team_slug": "other", "session_id": session.pk})
    client.force_login(owner)
    assert client.get(forged).status_code == 404


@pytest.mark.parametrize("step", ORDER)
def test_every_step_draws_for_the_facilitator_and_a_member(client, owner, teammate, session,
                                                          step):
    session = move_to(session, Step.HYPOTHESES)
    services.hypothesis_create(session=session, author=teammate, text="Inviters buy",
                               criterion=INVITED, expected_direction="more", confidence=80)
    session = move_to(session, Step.TEST) if step not in ("align", "hypotheses") else session
    if step not in ("align", "hypotheses"):
        services.session_tests_run(session=session, by=owner)
    if step == "align":
        session = services.step_move(session=session, by=owner, to=Step.ALIGN,
                                     expected=Step.HYPOTHESES)
    elif step == "closed":
        session = move_to(session, Step.UNSUCCESSFUL)
        session = services.session_close(session=session, by=owner)
    else:
        session = move_to(session, step)
    for user in (owner, teammate):
        client.force_login(user)
        page = client.get(url(session, "session_detail"))
        assert page.status_code == 200
        html = page.content.decode()
        assert session.title in html and 'id="session-body"' in html
        if user == owner and step != "closed":
            assert "Facilitate" in html
        body = client.get(url(session, "session_detail"), **HTMX)
        assert body.status_code == 200 and "<html" not in body.content.decode()
    assert client.get(url(session, "session_report")).status_code == 200


def test_opening_the_page_joins_and_a_non_participant_cannot_write(client, session, third):
    session = move_to(session, Step.HYPOTHESES)
    client.force_login(third)
    refused = client.post(url(session, "hypothesis_create"),
                          {"kind": "hypothesis", "new_text": "x", "text": "sneaky"})
    assert refused.status_code == 403
    assert "Join the session first" in refused.content.decode()
    assert not Hypothesis.objects.exists()
    client.get(url(session, "session_detail"))
    assert Participant.objects.filter(session=session, user=third).exists()


def entry_post(text, **criterion_fields):
    data = {"kind": "hypothesis", "text": text, "expected_direction": "more",
            "confidence": "80", "new-rows": "1"}
    data.update({f"new-0-{k}": v for k, v in criterion_fields.items()})
    return data


def test_a_hypothesis_with_a_criterion_built_in_the_form(client, session, teammate):
    session = move_to(session, Step.HYPOTHESES)
    client.force_login(teammate)
    response = client.post(url(session, "hypothesis_create"),
                           entry_post("Inviters buy more", kind="did_event",
                                      event="invite_teammate", within_days="7"), **HTMX)
    assert response.status_code == 200
    entry = Hypothesis.objects.get()
    assert entry.criterion == INVITED and entry.confidence == 80
    assert "Inviters buy more" in response.content.decode()


def test_builder_rows_are_added_without_saving(client, session, teammate):
    session = move_to(session, Step.HYPOTHESES)
    client.force_login(teammate)
    data = entry_post("half written", kind="property", user_property="plan", op="=",
                      value="pro")
    response = client.post(url(session, "hypothesis_create"), {**data, "builder": "add"},
                           **HTMX)
    html = response.content.decode()
    assert 'name="new-1-kind"' in html and "half written" in html
    assert not Hypothesis.objects.exists()


def test_a_criterion_naming_a_missing_column_is_a_clear_form_error(client, session, teammate):
    session = move_to(session, Step.HYPOTHESES)
    client.force_login(teammate)
    data = entry_post("x", kind="property", user_property="plna", op="=", value="pro")
    plain = client.post(url(session, "hypothesis_create"), data)
    assert plain.status_code == 400
    assert "unknown user property" in plain.content.decode()
    htmx = client.post(url(session, "hypothesis_create"), data, **HTMX)
    assert htmx.status_code == 200 and "unknown user property" in htmx.content.decode()
    assert not Hypothesis.objects.exists()


def test_a_fourth_hypothesis_gets_a_clear_message(client, session, teammate):
    session = move_to(session, Step.HYPOTHESES)
    client.force_login(teammate)
    for n in range(3):
        client.post(url(session, "hypothesis_create"), entry_post(f"idea {n}"), **HTMX)
    plain = client.post(url(session, "hypothesis_create"), entry_post("fourth"))
    assert plain.status_code == 409 and "already have 3 hypotheses" in plain.content.decode()
    htmx = client.post(url(session, "hypothesis_create"), entry_post("fourth"), **HTMX)
    assert htmx.status_code == 200 and "already have 3 hypotheses" in htmx.content.decode()
    assert Hypothesis.objects.count() == 3


def test_a_double_clicked_next_is_refused_the_second_time(client, session, owner, teammate):
    client.force_login(owner)
    move = {"to": Step.HYPOTHESES, "expected": Step.ALIGN}
    first = client.post(url(session, "session_move"), move)
    assert first.status_code == 302
    second = client.post(url(session, "session_move"), move)
    assert second.status_code == 409 and "already at Hypotheses" in second.content.decode()
    session.refresh_from_db()
    assert session.step == Step.HYPOTHESES
    client.force_login(teammate)
    assert client.post(url(session, "session_move"), {"to": Step.TEST,
                                                      "expected": Step.HYPOTHESES}
                       ).status_code == 403


def test_a_finding_after_the_deadline_is_refused_whatever_the_browser_sends(
        client, session, teammate):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        session = move_to(session, Step.TEST_AND_LEARN)
    client.force_login(teammate)
    data = {"text": "late", "kind": "insight", "step": "dig"}
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        plain = client.post(url(session, "finding_create"), data)
        assert plain.status_code == 409 and "Time is up" in plain.content.decode()
        htmx = client.post(url(session, "finding_create"), data, **HTMX)
        assert htmx.status_code == 200 and "Time is up" in htmx.content.decode()
        # A browser claiming another step gets nowhere either.
        sneaky = client.post(url(session, "finding_create"), {**data, "step": "results"})
        assert sneaky.status_code == 409
    with time_machine.travel(start + timedelta(minutes=19), tick=False):
        assert client.post(url(session, "finding_create"), data).status_code == 302
    assert list(Finding.objects.values_list("text", flat=True)) == ["late"]


def test_a_finding_links_only_a_hypothesis_latest_result_and_a_refusal_keeps_the_names(
        client, session, teammate):
    """Saving a finding checks its evidence against the latest tests' ids alone (no
    results read); a refused form is drawn again with each result's name."""
    session = move_to(session, Step.HYPOTHESES)
    entry = services.hypothesis_create(session=session, author=teammate,
                                       text="Inviters buy", criterion=INVITED)
    session = move_to(session, Step.TEST)
    first = services.hypothesis_test_run(hypothesis=entry, by=teammate)
    Hypothesis.objects.filter(pk=entry.pk).update(criterion=PRO)  # a new test of it
    latest = services.hypothesis_test_run(hypothesis=entry.__class__.objects.get(pk=entry.pk),
                                          by=teammate)
    assert latest.pk != first.pk
    client.force_login(teammate)
    data = {"text": "linked", "kind": "insight", "step": Step.TEST}
    refused = client.post(url(session, "finding_create"), {**data, "test": first.pk},
                          **HTMX).content.decode()
    assert "Select a valid choice" in refused
    option = refused.split(f'<option value="{latest.pk}"', 1)[1].split("</option>", 1)[0]
    assert "Inviters buy" in option  # named, not a bare id
    assert f'<option value="{first.pk}"' not in refused
    assert not Finding.objects.exists()
    assert client.post(url(session, "finding_create"),
                       {**data, "test": latest.pk}).status_code == 302
    assert Finding.objects.get().test_id == latest.pk


@pytest.mark.parametrize("step", [None, "", "bogus", "a\x00b"])
def test_a_finding_naming_no_step_or_an_unknown_one_is_a_400_not_a_500(
        client, session, teammate, step):
    """Issue 12, point 7: `step` missing, empty or bogus raised ValueError (a 500)."""
    session = move_to(session, Step.TEST)
    client.force_login(teammate)
    data = {"text": "crafted", "kind": "insight"}
    if step is not None:
        data["step"] = step
    plain = client.post(url(session, "finding_create"), data)
    assert plain.status_code == 400
    assert "named no step" in plain.content.decode()
    htmx = client.post(url(session, "finding_create"), data, **HTMX)
    assert htmx.status_code == 200 and "named no step" in htmx.content.decode()
    assert not Finding.objects.exists()


def test_tests_run_for_an_unknown_kind_are_refused(client, session, owner):
    session = move_to(session, Step.TEST)
    client.force_login(owner)
    response = client.post(url(session, "tests_run_all"), {"kind": "a\x00b"})
    assert response.status_code == 400


def test_a_closed_session_refuses_every_write(client, furnished, owner, teammate):
    session, entry, finding, next_step = furnished
    services.session_close(session=session, by=owner)
    gets, posts = session_urls(session, entry, finding, next_step)
    client.force_login(teammate)
    for address in posts:
        response = client.post(address, {"text": "x", "kind": "insight", "step": "closed",
                                         "to": "results", "expected": "closed", "rank": 1,
                                         "owner": teammate.pk, "minutes": 5,
                                         "dig_minutes": 5, "events": "purchase",
                                         "match": "any",
                                         "success_definition": session.success_definition_id})
        assert response.status_code in (403, 404, 409), (address, response.status_code)
    session.refresh_from_db()
    assert session.is_closed and Finding.objects.count() == 1
    assert Hypothesis.objects.get().text == "Inviters buy"


def test_the_session_list_searches_and_counts(client, team, owner, teammate, session):
    session = move_to(session, Step.HYPOTHESES)
    services.hypothesis_create(session=session, author=teammate, text="Inviters buy more",
                               criterion=INVITED)
    session = move_to(session, Step.TEST)
    services.session_tests_run(session=session, by=owner)
    services.session_close(session=session, by=owner)
    make_session(team, owner, dataset=session.dataset, success=session.success_definition,
                 title="Pricing page deep dive")
    client.force_login(teammate)
    listing = reverse("worksessions:session_list", kwargs={"team_slug": team.slug})
    html = client.get(listing).content.decode()
    assert "What makes users purchase?" in html and "Pricing page deep dive" in html
    assert "1 supported" in html
    found = client.get(listing, {"q": "inviters"}).content.decode()
    assert "What makes users purchase?" in found and "Pricing page deep dive" not in found
    assert "Nothing matches" in client.get(listing, {"q": "zebra"}).content.decode()


def test_the_list_query_count_does_not_grow_with_sessions(client, team, owner, session,
                                                         django_assert_max_num_queries):
    for n in range(4):
        make_session(team, owner, dataset=session.dataset, success=session.success_definition,
                     title=f"Session {n}")
    client.force_login(owner)
    listing = reverse("worksessions:session_list", kwargs={"team_slug": team.slug})
    client.get(listing)
    with django_assert_max_num_queries(12):
        assert client.get(listing).status_code == 200


def test_starting_a_session_from_the_form(client, team, owner, dataset, success):
    client.force_login(owner)
    new = reverse("worksessions:session_create", kwargs={"team_slug": team.slug})
    assert client.get(new).status_code == 200
    response = client.post(new, {"title": "Why do they buy?", "dataset": dataset.pk,
                                 "success_definition": success.pk, "dig_minutes": 15,
                                 "hide_entries": "on"})
    session = WorkingSession.objects.get()
    assert response.status_code == 302 and response["Location"] == url(session,
                                                                       "session_detail")
    assert session.facilitator == owner and session.dig_duration == timedelta(minutes=15)
    bad = client.post(new, {"title": " ", "dataset": dataset.pk,
                            "success_definition": success.pk, "dig_minutes": 0})
    assert bad.status_code == 200 and WorkingSession.objects.count() == 1


@pytest.mark.parametrize("step", [Step.TEST, Step.RESULTS, Step.UNSUCCESSFUL])
def test_drawing_a_step_costs_the_same_with_more_entries(client, session, owner, teammate,
                                                         third, step):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from .factories import MOBILE_FIRST, PRO

    services.session_join(session=session, user=third)
    session = move_to(session, Step.HYPOTHESES)
    client.force_login(owner)

    def queries() -> int:
        client.get(url(session, "session_detail"))  # warm (joins, caches)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url(session, "session_detail")).status_code == 200
        return len(captured)

    services.hypothesis_create(session=session, author=teammate, text="one",
                               criterion=INVITED)
    session = move_to(session, Step.TEST)
    services.session_tests_run(session=session, by=owner)
    session = move_to(session, step)
    few = queries()
    back = (session if step == Step.TEST
            else services.step_move(session=session, by=owner, to=Step.TEST, expected=step))
    for author in (owner, teammate, third):
        for text, criterion in (("a", PRO), ("b", MOBILE_FIRST), ("c", INVITED)):
            if author == teammate and text == "c":
                continue
            Hypothesis.objects.create(session=back, author=author, kind="hypothesis",
                                      slot=Hypothesis.objects.filter(author=author).count() + 1,
                                      rank=1, text=f"{author.pk}{text}", criterion=criterion,
                                      revealed_at=timezone.now())
    services.session_tests_run(session=back, by=owner)
    session = move_to(back, step)
    many = queries()
    assert many <= few + 2, (few, many)
    assert many <= 40
