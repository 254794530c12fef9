"""The explorer's value checks (issue 11): the condition inputs offer the values in the
data, and a value the data does not have warns, with the closest ones, before anything is
queued; "Ask anyway" goes on."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics import services as data_services
from analytics.models import AnalysisJob

pytestmark = pytest.mark.django_db


def url(name, team):
    return reverse(f"explore:{name}", kwargs={"team_slug": team.slug})


@pytest.fixture
def profiled(dataset, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        data_services.value_profile_ensure(dataset)
    return dataset


def questions():
    return AnalysisJob.objects.exclude(kind="values")


def test_a_value_typo_warns_before_the_question_is_queued(client_of, team, owner, profiled,
                                                         success,
                                                         django_capture_on_commit_callbacks):
    client = client_of(owner)
    data = {"dataset": profiled.pk, "success": success.pk,
            "a_subject": "first:device", "a_op": "=", "a_value": "mobil",
            "b_subject": "property:plan", "a_days": "", "b_op": "in", "b_value": "pro, Free"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("compare", team), data, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "&#x27;mobil&#x27; does not occur in device; closest: &#x27;mobile&#x27;" in html
    assert "&#x27;Free&#x27; does not occur in plan; closest: &#x27;free&#x27;" in html
    assert "Ask anyway" in html and not questions().exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("compare", team), {**data, "values_confirmed": "1"},
                               HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and questions().get().kind == "compare"


def test_the_condition_inputs_offer_the_values_in_the_data(client_of, team, owner, profiled,
                                                          success):
    html = client_of(owner).get(url("compare", team), {"dataset": profiled.pk,
                                                       "success": success.pk}).content.decode()
    assert 'data-value-from="id_a_subject"' in html
    assert 'data-value-keys="event:device\nfirst:device"' in html
    assert "min " in html and "quartiles" in html  # amount, a number


def test_an_unprofiled_version_asks_for_its_values_without_writing(client_of, team, owner,
                                                                  dataset, success):
    html = client_of(owner).get(url("compare", team), {"dataset": dataset.pk,
                                                       "success": success.pk}).content.decode()
    ensure = reverse("analytics:values_ensure",
                     kwargs={"team_slug": team.slug, "dataset_id": dataset.pk})
    assert f'hx-post="{ensure}"' in html and not AnalysisJob.objects.exists()
