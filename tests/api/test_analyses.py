"""Success definitions and analyses through the API; results are exactly the CLI's."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from analytics.models import AnalysisJob, SuccessDefinition
from tests.worksessions.factories import INVITED

pytestmark = pytest.mark.django_db

PURCHASE_14 = {"events": ["purchase"], "within_days": 14}


def cli_analyze(dataset, success: dict, criterion: dict) -> dict:
    out = io.StringIO()
    call_command("analyze", "--dataset", str(dataset.pk), "--success", json.dumps(success),
                 "--criterion", json.dumps(criterion), stdout=out)
    return json.loads(out.getvalue())


def submit(api, team, body, capture):
    with capture(execute=True):
        return api.post(f"teams/{team.slug}/analyses", body)


def test_success_definitions_list_and_create(api, team, dataset, success):
    url = f"teams/{team.slug}/success-definitions"
    listed = api.get(url).json()
    assert [d["id"] for d in listed] == [success.pk]
    assert listed[0]["definition"] == success.definition

    response = api.post(url, {"name": "Any purchase", "dataset_id": dataset.pk,
                              "definition": {"events": "purchase"}})
    assert response.status_code == 201, response.content
    created = SuccessDefinition.objects.get(pk=response.json()["id"])
    # Stored in the engine's normalized form.
    assert created.definition == {"events": ["purchase"], "match": "any"}
    assert created.team == team and created.created_by.email == "olivia@example.com"
    assert response.json()["description"] == created.description


def test_a_definition_naming_an_unknown_event_is_400_with_close_matches(api, team, dataset):
    response = api.post(f"teams/{team.slug}/success-definitions",
                        {"name": "Typo", "dataset_id": dataset.pk,
                         "definition": {"events": ["purchse"]}})
    assert response.status_code == 400
    assert "purchase" in response.json()["detail"]
    assert not SuccessDefinition.objects.filter(name="Typo").exists()


def test_criterion_result_is_exactly_the_clis(api, team, dataset, success,
                                               django_capture_on_commit_callbacks):
    response = submit(api, team, {"dataset_id": dataset.pk,
                                  "success_definition_id": success.pk,
                                  "criterion": INVITED}, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    job_id = response.json()["id"]

    polled = api.get(f"teams/{team.slug}/analyses/{job_id}").json()
    assert polled["status"] == "done"
    expected = cli_analyze(dataset, success.definition, INVITED)
    assert polled["result"] == expected
    assert set(expected) == {"population", "group", "rest", "diff", "lift", "lift_ci95",
                             "p_value", "test"}
    alone = api.get(f"teams/{team.slug}/analyses/{job_id}/result")
    assert alone.status_code == 200
    assert alone.json() == expected == AnalysisJob.objects.get(pk=job_id).result


def test_breakdown_in_either_form_is_exactly_the_clis(api, team, dataset,
                                                       django_capture_on_commit_callbacks):
    breakdown = {"property": "company_size"}
    expected = cli_analyze(dataset, PURCHASE_14, {"breakdown": breakdown})
    for body in ({"breakdown": breakdown}, {"criterion": {"breakdown": breakdown}}):
        response = submit(api, team, {"dataset_id": dataset.pk, "success": PURCHASE_14, **body},
                          django_capture_on_commit_callbacks)
        assert response.status_code == 202, response.content
        result = api.get(f"teams/{team.slug}/analyses/{response.json()['id']}/result").json()
        assert result == expected
        assert [b["label"] for b in result["buckets"]] == [b["label"] for b in expected["buckets"]]


@pytest.mark.parametrize(("body", "message"), [
    ({"criterion": INVITED}, "Give either success_definition_id or success"),
    ({"success": PURCHASE_14}, "Give either a criterion or a breakdown"),
    ({"success": PURCHASE_14, "criterion": INVITED, "breakdown": {"property": "plan"}},
     "Give either a criterion or a breakdown"),
    ({"success": PURCHASE_14, "criterion": {"kind": "did_event", "event": "invite"}},
     "invite_teammate"),
    ({"success": {"events": ["nope"]}, "criterion": INVITED}, "nope"),
])
def test_bad_analyses_are_400_with_a_message(api, team, dataset, body, message):
    response = api.post(f"teams/{team.slug}/analyses", {"dataset_id": dataset.pk, **body})
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not AnalysisJob.objects.exists()


def test_result_before_the_job_is_done_is_409(api, team, dataset, success):
    response = api.post(f"teams/{team.slug}/analyses", {
        "dataset_id": dataset.pk, "success_definition_id": success.pk, "criterion": INVITED})
    assert response.status_code == 202
    job_id = response.json()["id"]
    AnalysisJob.objects.filter(pk=job_id).update(status="queued", result=None)
    assert api.get(f"teams/{team.slug}/analyses/{job_id}").json()["result"] is None
    pending = api.get(f"teams/{team.slug}/analyses/{job_id}/result")
    assert pending.status_code == 409 and "queued" in pending.json()["detail"]
    AnalysisJob.objects.filter(pk=job_id).update(status="failed", error="Stopped: too long.")
    failed = api.get(f"teams/{team.slug}/analyses/{job_id}/result")
    assert failed.status_code == 409 and "Stopped: too long." in failed.json()["detail"]
