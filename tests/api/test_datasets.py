"""Datasets through the API: create from files with a mapping, status, and batches of
events appended with an idempotency key."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from analytics.models import Dataset, DatasetImport

pytestmark = pytest.mark.django_db

EVENTS_CSV = (
    "case_id,activity,time,amount\n"
    "a,signup,2026-01-01T10:00:00Z,\n"
    "a,purchase,2026-01-02T10:00:00Z,20.5\n"
    "b,signup,2026-01-01T11:00:00Z,\n"
    "c,signup,2026-01-03T09:00:00+02:00,\n"
)
USERS_CSV = "case_id,plan\na,pro\nb,free\nc,free\nd,pro\n"
MAPPING = {"user_id": "case_id", "event": "activity", "timestamp": "time",
           "users_user_id": "case_id"}


def upload(api, team, *, name="Shop events", mapping=MAPPING, events=EVENTS_CSV,
           events_name="events.csv", users=USERS_CSV, **extra):
    data = {"name": name, **extra}
    if mapping is not None:
        data["mapping"] = json.dumps(mapping)
    if events is not None:
        data["events"] = [SimpleUploadedFile(events_name, events.encode())]
    if users is not None:
        data["users"] = SimpleUploadedFile("users.csv", users.encode())
    return api.post(f"teams/{team.slug}/datasets", data, json=False)


def test_create_from_files_with_a_mapping(api, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api, team)
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["import"]["kind"] == "create" and body["import"]["version"] == 1
    dataset_id = body["dataset"]["id"]

    detail = api.get(f"teams/{team.slug}/datasets/{dataset_id}").json()
    assert detail["status"] == "ready", detail
    assert detail["n_users"] == 4 and detail["n_events"] == 4
    assert detail["events"] == {"purchase": 1, "signup": 3}
    assert detail["user_properties"] == {"plan": "text"}
    assert detail["event_properties"] == {"amount": "float"}
    assert detail["latest_import"]["status"] == "done"
    listed = api.get(f"teams/{team.slug}/datasets").json()
    assert [d["id"] for d in listed] == [dataset_id]
    assert Dataset.objects.get(pk=dataset_id).created_by.email == "olivia@example.com"


def test_create_guesses_the_mapping_when_none_is_given(api, team,
                                                       django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api, team, mapping=None)
    assert response.status_code == 202, response.content
    job = DatasetImport.objects.get(pk=response.json()["import"]["id"])
    assert job.mapping["user_id"] == "case_id" and job.mapping["event"] == "activity"
    assert job.status == "done"


def test_bad_files_fail_the_import_with_the_importers_message(
        api, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(api, team, events="case_id,activity,time\na,signup,not a time\n",
                          users=None)
    assert response.status_code == 202
    detail = api.get(f"teams/{team.slug}/datasets/{response.json()['dataset']['id']}").json()
    assert detail["status"] == "failed"
    assert "time" in detail["latest_import"]["error"]


@pytest.mark.parametrize(("extra", "message"), [
    ({"mapping": {"user": "x"}}, "Unknown mapping keys: user"),
    ({"mapping": ["case_id"]}, "mapping must be a JSON object"),
    ({"mapping": {"user_id": 3}}, "mapping 'user_id' has the wrong type"),
    ({"events": None, "users": None}, "Add at least one events file or a users file"),
    ({"events_name": "events.exe"}, "use CSV, Parquet or NDJSON"),
])
def test_bad_requests_are_400_with_a_message(api, team, extra, message):
    response = upload(api, team, **extra)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Dataset.objects.exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
def test_a_blank_or_long_name_breaks_the_document(api, team, name):
    assert upload(api, team, name=name).status_code == 422
    assert not Dataset.objects.exists()


def test_a_duplicate_name_is_refused(api, team, dataset):
    response = upload(api, team, name=dataset.name)
    assert response.status_code == 400
    assert "already has a dataset named" in response.json()["detail"]


def test_an_upload_over_the_size_limit_is_refused(api, team, settings):
    settings.MAX_UPLOAD_BYTES = 50
    response = upload(api, team)
    assert response.status_code == 400
    assert "larger than" in response.json()["detail"]


def batch(n: int, *, start: int = 0, user: str = "u9000") -> list[dict]:
    return [{"user_id": user, "event": "login", "timestamp": f"2026-05-01T10:{i % 60:02d}:00Z",
             "properties": {"device": "mobile", "n": start + i}} for i in range(n)]


def test_append_a_batch_makes_a_new_version(api, team, dataset,
                                             django_capture_on_commit_callbacks):
    before = dataset.schema["n_events"]
    url = f"teams/{team.slug}/datasets/{dataset.pk}/events"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url, {"events": batch(3)}, headers={"Idempotency-Key": "run-1"})
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["created"] is True and body["import"]["kind"] == "append"
    dataset.refresh_from_db()
    assert dataset.current_version == 2
    assert dataset.schema["n_events"] == before + 3
    assert dataset.schema["event_properties"]["n"] == "integer"
    status = api.get(f"teams/{team.slug}/datasets/{dataset.pk}/imports/{body['import']['id']}")
    assert status.json()["status"] == "done"


def test_a_retried_batch_adds_nothing(api, team, dataset, django_capture_on_commit_callbacks):
    url = f"teams/{team.slug}/datasets/{dataset.pk}/events"
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(url, {"events": batch(2), "idempotency_key": "nightly-2026-05-01"})
        again = api.post(url, {"events": batch(2)},
                         headers={"Idempotency-Key": "nightly-2026-05-01"})
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["created"] is False
    assert again.json()["import"]["id"] == first.json()["import"]["id"]
    dataset.refresh_from_db()
    assert dataset.current_version == 2
    assert DatasetImport.objects.filter(dataset=dataset, kind="append").count() == 1


def test_ten_thousand_events_is_the_most_in_one_call(api, team, dataset,
                                                      django_capture_on_commit_callbacks):
    url = f"teams/{team.slug}/datasets/{dataset.pk}/events"
    too_many = api.post(url, {"events": batch(10_001)})
    assert too_many.status_code == 422
    with django_capture_on_commit_callbacks(execute=True):
        most = api.post(url, {"events": batch(10_000)})
    assert most.status_code == 202, most.content
    dataset.refresh_from_db()
    assert dataset.schema["events"]["login"] >= 10_000


@pytest.mark.parametrize("events", [
    [],
    [{"user_id": "u1", "event": "", "timestamp": "2026-05-01T10:00:00Z"}],
    [{"user_id": "  ", "event": "x", "timestamp": 1}],
    [{"user_id": "u1", "event": "x", "timestamp": float("nan")}],
    [{"user_id": "u1", "event": "x"}],
    [{"user_id": "u1", "event": "x", "timestamp": "2026-05-01", "extra": 1}],
    [{"user_id": "u1", "event": "x", "timestamp": "2026-05-01", "properties": {"a": [1]}}],
])
def test_malformed_batches_are_422(api, team, dataset, events):
    response = api.post(f"teams/{team.slug}/datasets/{dataset.pk}/events", {"events": events})
    assert response.status_code == 422


def test_bad_event_values_fail_the_import_and_publish_nothing(
        api, team, dataset, django_capture_on_commit_callbacks):
    url = f"teams/{team.slug}/datasets/{dataset.pk}/events"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url, {"events": [
            {"user_id": "u1", "event": "x", "timestamp": "yesterday-ish"}]})
    assert response.status_code == 202
    job = DatasetImport.objects.get(pk=response.json()["import"]["id"])
    assert job.status == "failed" and "timestamp" in job.error
    dataset.refresh_from_db()
    assert dataset.current_version == 1


def test_conflicting_idempotency_keys_are_400(api, team, dataset):
    url = f"teams/{team.slug}/datasets/{dataset.pk}/events"
    conflict = api.post(url, {"events": batch(1), "idempotency_key": "a"},
                        headers={"Idempotency-Key": "b"})
    assert conflict.status_code == 400


def test_one_append_at_a_time(api, team, dataset, django_capture_on_commit_callbacks):
    url = f"teams/{team.slug}/datasets/{dataset.pk}/events"
    first = api.post(url, {"events": batch(1), "idempotency_key": "a"})
    assert first.status_code == 202
    job = DatasetImport.objects.get(pk=first.json()["import"]["id"])
    DatasetImport.objects.filter(pk=job.pk).update(status="running")
    second = api.post(url, {"events": batch(1, user="u9001"), "idempotency_key": "b"})
    assert second.status_code == 409 and "still running" in second.json()["detail"]
    # A retry of the first one is still answered with its import.
    assert api.post(url, {"events": batch(1), "idempotency_key": "a"}).status_code == 200
    DatasetImport.objects.filter(pk=job.pk).update(status="done")
    with django_capture_on_commit_callbacks(execute=True):
        third = api.post(url, {"events": batch(1, user="u9001"), "idempotency_key": "b"})
    assert third.status_code == 202


def test_appending_to_a_dataset_still_importing_is_409(api, team):
    dataset = Dataset.objects.create(team=team, name="Empty")
    response = api.post(f"teams/{team.slug}/datasets/{dataset.pk}/events",
                        {"events": batch(1)})
    assert response.status_code == 409
