"""Working sessions through the API: the list, the report as JSON and Markdown, and
hypotheses added under the session page's rules."""

from __future__ import annotations

import pytest

from api.services import token_create
from sessions import services
from sessions.models import Hypothesis
from tests.worksessions.factories import INVITED, PRO, make_session, move_to

from .conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def session(team, owner, teammate, dataset, success):
    return make_session(team, owner, members=(teammate,), dataset=dataset, success=success)


@pytest.fixture
def teammate_api(teammate) -> ApiClient:
    return ApiClient(token_create(user=teammate, name="Wiki")[1])


def url(team, session, tail: str = "") -> str:
    return f"teams/{team.slug}/sessions/{session.pk}{tail}"


def test_list_and_search(api, team, owner, dataset, success, session):
    other = make_session(team, owner, dataset=dataset, success=success,
                         title="Why do teams churn?")
    listed = api.get(f"teams/{team.slug}/sessions").json()
    assert [s["id"] for s in listed] == [other.pk, session.pk]
    assert listed[1]["facilitator"] == "Olivia Owner" and listed[1]["step"] == "align"
    found = api.get(f"teams/{team.slug}/sessions", {"q": "churn"}).json()
    assert [s["id"] for s in found] == [other.pk]


def test_add_a_hypothesis_under_the_page_rules(api, teammate_api, team, session, teammate):
    body = {"text": "Users who invite a teammate succeed more", "criterion": INVITED,
            "expected_direction": "more", "confidence": 80}
    early = teammate_api.post(url(team, session, "/hypotheses"), body)
    assert early.status_code == 409 and "Hypotheses" in early.json()["detail"]

    move_to(session, "hypotheses")
    created = teammate_api.post(url(team, session, "/hypotheses"), body)
    assert created.status_code == 201, created.content
    entry = Hypothesis.objects.get(pk=created.json()["id"])
    assert entry.author == teammate and entry.criterion == INVITED and entry.rank == 1
    assert created.json()["revealed"] is False

    for n in range(2):
        assert teammate_api.post(url(team, session, "/hypotheses"),
                                 {"text": f"Idea {n}"}).status_code == 201
    fourth = teammate_api.post(url(team, session, "/hypotheses"), {"text": "One more"})
    assert fourth.status_code == 409 and "already have 3" in fourth.json()["detail"]
    assert Hypothesis.objects.filter(author=teammate).count() == 3


def test_a_member_who_never_opened_the_session_joins_by_writing(api, team, owner, third_member,
                                                                 session):
    move_to(session, "hypotheses")
    client = ApiClient(token_create(user=third_member, name="Script")[1])
    response = client.post(url(team, session, "/hypotheses"), {"text": "Pro plans succeed"})
    assert response.status_code == 201
    assert session.participants.filter(user=third_member).exists()


def test_a_criterion_that_cannot_be_tested_is_400(api, team, session):
    move_to(session, "hypotheses")
    response = api.post(url(team, session, "/hypotheses"), {
        "text": "Typo", "criterion": {"kind": "did_event", "event": "invte"}})
    assert response.status_code == 400 and "invite_teammate" in response.json()["detail"]


def test_a_closed_session_takes_nothing(api, team, owner, session):
    move_to(session, "hypotheses")
    services.session_close(session=session, by=owner)
    response = api.post(url(team, session, "/hypotheses"), {"text": "Too late"})
    assert response.status_code == 409 and "closed" in response.json()["detail"]


def test_report_shows_what_the_report_page_shows(api, teammate_api, team, owner, teammate,
                                                 session, django_capture_on_commit_callbacks):
    session = move_to(session, "hypotheses")
    services.hypothesis_create(session=session, author=owner, text="Pro plans succeed",
                               criterion=PRO)
    services.hypothesis_create(session=session, author=teammate, text="Invites matter",
                               criterion=INVITED, expected_direction="more")
    # Not revealed yet: the report, like its page, shows none of them.
    hidden = teammate_api.get(url(team, session)).json()
    assert hidden["hypotheses"] == [] and hidden["hidden_entries"] == 2

    services.entries_reveal(session=session, by=owner)
    with django_capture_on_commit_callbacks(execute=True):
        session = move_to(session, "test")
        services.session_tests_run(session=session, by=owner)
    report = teammate_api.get(url(team, session)).json()
    assert report["hidden_entries"] == 0 and report["family_size"] == 2
    assert report["success_definition"]["definition"] == session.success_definition.definition
    entries = {h["text"]: h for h in report["hypotheses"]}
    assert set(entries) == {"Pro plans succeed", "Invites matter"}
    invited = entries["Invites matter"]
    assert invited["author"] == "Tom Teammate" and invited["expected_direction"] == "more"
    result = invited["result"]
    assert result["status"] == "done" and result["verdict"] == "supported"
    assert result["q_value"] is not None and result["q_value"] >= result["p_value"]
    job = session.tests.get(hypothesis__text="Invites matter").job
    assert result["group"] == job.result["group"] and result["p_value"] == job.result["p_value"]
    other = invited["unsuccessful_side"]
    assert other["group"]["users"] == result["group"]["users"]
    assert other["group"]["successes"] == result["group"]["users"] - result["group"]["successes"]
    assert report["counts"]["supported"] >= 1


def test_markdown_report_is_the_report_pages_export(api, client, team, owner, session):
    session = move_to(session, "hypotheses")
    session.hide_entries = False
    session.save(update_fields=["hide_entries"])
    services.hypothesis_create(session=session, author=owner,
                               text="<script>alert(1)</script> users *succeed*")
    response = api.get(url(team, session, "/report.md"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    text = response.content.decode()
    client.force_login(owner)
    page = client.get(f"/t/{team.slug}/sessions/{session.pk}/report.md")
    assert text == page.content.decode()
    assert "<script>" not in text and r"\*succeed\*" in text
