"""The look before a session's test (issue 11): a value the data does not have warns, with
the closest values, before the entry is kept; a group of 0 or fewer than 30 users is
flagged by a quick count before the test is queued; the member may go on anyway."""

import pytest
from django.urls import reverse

from analytics import services as data_services
from analytics.models import AnalysisJob
from sessions import services
from sessions.models import Hypothesis, HypothesisTest
from sessions.steps import Step

from .factories import make_dataset, make_session, move_to, product_rows

HTMX = {"HTTP_HX_REQUEST": "true"}
N_USERS = 60


def url(session, name, **kwargs):
    return reverse(f"worksessions:{name}", kwargs={"team_slug": session.team.slug,
                                                   "session_id": session.pk, **kwargs})


def plan_is(value):
    return {"kind": "property", "property": "plan", "op": "=", "value": value}


@pytest.fixture
def small(team, owner, teammate):
    """A session on 60 users, so one plan's group is under 30 users and the other is not;
    the values of its version are read (as after an import)."""
    rows = product_rows(N_USERS)
    dataset = make_dataset(team, rows=rows)
    data_services.value_profile_ensure(dataset)
    session = make_session(team, owner, members=(teammate,), dataset=dataset)
    plans = [user["plan"] for user in rows[1]]
    return session, {"pro": plans.count("pro"), "free": plans.count("free")}


def entry_post(**fields):
    data = {"kind": "hypothesis", "text": "Pros buy more", "expected_direction": "more",
            "confidence": "80", "new-rows": "1"}
    data.update({f"new-0-{k}": v for k, v in fields.items()})
    return data


def test_a_value_typo_warns_with_the_closest_value_before_the_entry_is_kept(
        client, small, teammate):
    session = move_to(small[0], Step.HYPOTHESES)
    client.force_login(teammate)
    typo = entry_post(kind="property", user_property="plan", op="=", value="Pro")
    response = client.post(url(session, "hypothesis_create"), typo, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "&#x27;Pro&#x27; does not occur in plan; closest: &#x27;pro&#x27;" in html
    assert 'name="values_confirmed"' in html
    assert not Hypothesis.objects.exists()
    # Corrected, it is kept at once; or kept anyway as typed.
    client.post(url(session, "hypothesis_create"), {**typo, "values_confirmed": "1"}, **HTMX)
    assert Hypothesis.objects.get().criterion == plan_is("Pro")


def test_the_builder_offers_the_values_in_the_data(client, small, teammate):
    session = move_to(small[0], Step.HYPOTHESES)
    client.force_login(teammate)
    html = client.get(url(session, "session_detail")).content.decode()
    assert 'data-value-keys="user:plan\nproperty:plan"' in html
    assert f'<option value="pro" label="pro · {small[1]["pro"]} users">' in html
    assert 'data-value-from="user:id_new-0-user_property event:id_new-0-event_property"' in html
    assert "js/values.js" in html


def entries(session, teammate, *criteria):
    session = move_to(session, Step.HYPOTHESES)
    made = [services.hypothesis_create(session=session, author=teammate, text=f"entry {i}",
                                       criterion=c) for i, c in enumerate(criteria)]
    return move_to(session, Step.TEST), made


def test_a_group_under_30_users_is_flagged_before_the_test_is_queued(client, small, teammate):
    session, [entry] = entries(small[0], teammate, plan_is("pro"))
    assert small[1]["pro"] < 30
    client.force_login(teammate)
    response = client.post(url(session, "hypothesis_test", entry_id=entry.pk), **HTMX)
    html = response.content.decode()
    assert (f"This group holds {small[1]['pro']} users: too few for a verdict (30 needed)."
            in html)
    assert "Test anyway" in html and not HypothesisTest.objects.exists()
    client.post(url(session, "hypothesis_test", entry_id=entry.pk), {"confirmed": "1"},
                **HTMX)
    assert HypothesisTest.objects.get().hypothesis == entry


def test_an_empty_group_is_flagged_with_the_value_warning(client, small, teammate):
    session, [entry] = entries(small[0], teammate, plan_is("enterprise"))
    client.force_login(teammate)
    html = client.post(url(session, "hypothesis_test", entry_id=entry.pk),
                       **HTMX).content.decode()
    assert "This group holds 0 users" in html
    assert "&#x27;enterprise&#x27; does not occur in plan" in html
    assert not HypothesisTest.objects.exists()


def test_a_large_enough_group_is_tested_at_once(client, small, teammate):
    session, [entry] = entries(small[0], teammate, plan_is("free"))
    assert small[1]["free"] >= 30
    client.force_login(teammate)
    # The count made when the entry was kept through the form, or now: either way it is
    # known before the test, and the test is queued without a second look.
    data_services.group_count_submit(team=session.team, dataset=session.dataset,
                                     success=session.success_definition.definition,
                                     criterion=entry.criterion, created_by=teammate)
    client.post(url(session, "hypothesis_test", entry_id=entry.pk), **HTMX)
    assert HypothesisTest.objects.get().hypothesis == entry


def test_a_kept_entry_has_its_group_counted(client, small, teammate):
    session = move_to(small[0], Step.HYPOTHESES)
    client.force_login(teammate)
    client.post(url(session, "hypothesis_create"),
                entry_post(kind="property", user_property="plan", op="=", value="free"),
                **HTMX)
    assert Hypothesis.objects.exists()
    [count] = AnalysisJob.objects.filter(kind="count")
    assert count.result["group"]["users"] == small[1]["free"]


def test_outsiders_cannot_ask_for_a_check(client, small, outsider, teammate):
    session, [entry] = entries(small[0], teammate, plan_is("pro"))
    client.force_login(outsider)
    assert client.post(url(session, "hypothesis_test", entry_id=entry.pk)).status_code == 404
    assert not AnalysisJob.objects.filter(kind="count", created_by=outsider).exists()


def test_a_question_already_counted_is_not_counted_again(client, small, owner, teammate):
    """Two members keep entries with the same criterion: the group is counted once, and the
    second member's test takes that count (it is large enough: queued at once)."""
    session = move_to(small[0], Step.HYPOTHESES)
    for member in (owner, teammate):
        client.force_login(member)
        client.post(url(session, "hypothesis_create"),
                    entry_post(kind="property", user_property="plan", op="=", value="free"),
                    **HTMX)
    assert Hypothesis.objects.count() == 2
    [count] = AnalysisJob.objects.filter(kind="count")
    assert count.created_by == owner and count.result["group"]["users"] == small[1]["free"]
    # Another criterion is counted as before.
    client.post(url(session, "hypothesis_create"),
                entry_post(kind="property", user_property="plan", op="=", value="pro"),
                **HTMX)
    assert AnalysisJob.objects.filter(kind="count").count() == 2
    session = move_to(session, Step.TEST)
    theirs = Hypothesis.objects.filter(author=teammate).order_by("pk").first()
    client.post(url(session, "hypothesis_test", entry_id=theirs.pk), **HTMX)
    assert HypothesisTest.objects.filter(hypothesis=theirs).exists()
