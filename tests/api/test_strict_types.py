"""Issue 12, point 6: a batch's values have strict types. JSON's true and false are not
the numbers 1 and 0, so never a time (pydantic's lax mode stored `"timestamp": false` at
1970-01-01) nor a user id; and the OpenAPI document says exactly what is checked."""

from __future__ import annotations

import pytest

from analytics.models import DatasetImport
from api.schemas import EPOCH_MAX, EPOCH_MIN

pytestmark = pytest.mark.django_db

GOOD = {"user_id": "u1", "event": "login", "timestamp": "2026-05-01T10:00:00Z"}


@pytest.mark.parametrize("changes", [
    {"timestamp": False},
    {"timestamp": True},
    {"timestamp": None},
    {"timestamp": ""},
    {"timestamp": []},
    {"timestamp": {"seconds": 1}},
    {"timestamp": EPOCH_MAX + 1},
    {"timestamp": float(EPOCH_MIN) - 1.5},
    {"timestamp": 1e300},
    {"user_id": True},
    {"user_id": False},
    {"user_id": 1.5},
    {"event": True},
    {"event": 7},
])
def test_a_value_of_the_wrong_type_is_422_and_adds_nothing(api, team, dataset, changes):
    response = api.post(f"teams/{team.slug}/datasets/{dataset.pk}/events",
                        {"events": [{**GOOD, **changes}]})
    assert response.status_code == 422, response.content
    assert DatasetImport.objects.filter(dataset=dataset).count() == 1


@pytest.mark.parametrize("timestamp", [1_780_000_000, 1_780_000_000.25, EPOCH_MIN, EPOCH_MAX,
                                       "2026-05-01", "2026-05-01T10:00:00+02:00"])
def test_times_of_every_documented_form_are_taken(api, team, dataset, timestamp,
                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"teams/{team.slug}/datasets/{dataset.pk}/events",
                            {"events": [{**GOOD, "timestamp": timestamp}]})
    assert response.status_code == 202, response.content
    job = DatasetImport.objects.get(pk=response.json()["import"]["id"])
    assert job.status == "done", job.error


def test_the_document_is_as_strict_as_the_checks(client):
    document = client.get("/api/v1/openapi.json").json()
    event = document["components"]["schemas"]["EventIn"]["properties"]
    kinds = {branch["type"]: branch for branch in event["timestamp"]["anyOf"]}
    assert set(kinds) == {"string", "integer", "number"}
    assert kinds["string"]["minLength"] == 1
    for number in ("integer", "number"):
        assert (kinds[number]["minimum"], kinds[number]["maximum"]) == (EPOCH_MIN, EPOCH_MAX)
    assert {branch["type"] for branch in event["user_id"]["anyOf"]} == {"string", "integer"}
    assert event["event"]["type"] == "string"
