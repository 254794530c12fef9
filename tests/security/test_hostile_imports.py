"""Issue 12, points 4 and 5, through the upload page and the API: a decompression bomb
costs the web request no more than a bounded peek and the import no more than its cap;
a team's storage has a quota; staged files go whatever the outcome; a long file name is
no 500; and what people read names no server path and holds no control character."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from analytics.engine.importing.files import PEEK_TEXT_BYTES
from analytics.models import Dataset, DatasetImport
from analytics.staging import MAX_NAME_BYTES
from api.services import token_create

from .world import ready_dataset

pytestmark = pytest.mark.django_db

MB = 1024**2
CSV = b"user_id,event,timestamp\nu1,signup,2026-01-01T00:00:00Z\n"
MAPPING = json.dumps({"user_id": "user_id", "event": "event", "timestamp": "timestamp"})


@pytest.fixture
def member(team, owner):
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def api_headers(owner):
    return {"Authorization": f"Bearer {token_create(user=owner, name='imports')[1]}"}


@pytest.fixture
def private_tmp(monkeypatch, tmp_path):
    """The system's temporary directory, watched: nothing of an upload may land there."""
    watched = tmp_path / "system-tmp"
    watched.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(watched))
    return watched


@pytest.fixture
def decompressed(monkeypatch):
    """How many bytes gzip hands out, whoever reads."""
    counted = {"bytes": 0}
    original = gzip.GzipFile.read

    def read(self, size=-1):
        data = original(self, size)
        counted["bytes"] += len(data)
        return data

    monkeypatch.setattr(gzip.GzipFile, "read", read)
    return counted


def csv_bomb(expands_to: int) -> bytes:
    """Valid CSV of one row repeated up to `expands_to` bytes, gzipped (~1/500 the size)."""
    row = b"u1,login,2024-01-01T00:00:00Z\n"
    block = row * (MB // len(row))
    compressor = gzip.compress(b"user_id,event,timestamp\n" + block * (expands_to // len(block)),
                               compresslevel=9)
    return compressor


def zeros_bomb(expands_to: int, head: bytes) -> bytes:
    return gzip.compress(head + b"\0" * expands_to, compresslevel=9)


def staged_files(settings) -> list[Path]:
    staging = settings.DATA_DIR / "staging"
    return [p for p in staging.rglob("*") if p.is_file()] if staging.exists() else []


def upload_page(member, team, files: dict, name: str = "Hostile"):
    return member.post(reverse("analytics:dataset_upload", kwargs={"team_slug": team.slug}),
                       {"name": name, **files})


def api_upload(client, team, headers, files: list, mapping: str = MAPPING, name="Hostile"):
    return client.post(f"/api/v1/teams/{team.slug}/datasets",
                       {"name": name, "events": files, "mapping": mapping}, headers=headers)


# --- decompression bombs -------------------------------------------------------------------

def test_the_upload_page_peeks_at_a_gzipped_parquet_bomb_and_stops(
        member, team, settings, private_tmp, decompressed):
    bomb = zeros_bomb(200 * MB, head=b"PAR1")
    assert len(bomb) < 1 * MB
    response = upload_page(member, team, {"events": [SimpleUploadedFile("e.parquet.gz", bomb)]})
    assert response.status_code == 200
    page = response.content.decode()
    assert "read on upload only up to 64 MB" in page
    assert str(settings.DATA_DIR) not in page and "/tmp" not in page
    assert decompressed["bytes"] <= 64 * MB + 64 * 1024 + 1
    assert staged_files(settings) == [] and list(private_tmp.iterdir()) == []


def test_the_upload_page_guesses_a_csv_bomb_from_its_first_megabyte(
        member, team, settings, private_tmp, decompressed):
    response = upload_page(member, team,
                           {"events": [SimpleUploadedFile("e.csv.gz", csv_bomb(100 * MB))]})
    assert response.status_code == 302
    assert decompressed["bytes"] <= PEEK_TEXT_BYTES + 64 * 1024 + 1
    assert [p.name for p in staged_files(settings)] == ["e.csv.gz"]
    assert list(private_tmp.iterdir()) == []


def test_the_api_decompresses_nothing_when_given_the_mapping(
        client, team, api_headers, settings, decompressed):
    settings.TASKS_RUN_IMMEDIATELY = False  # the request alone, not the import it queues
    response = api_upload(client, team, api_headers,
                          [SimpleUploadedFile("e.csv.gz", csv_bomb(100 * MB))])
    assert response.status_code == 202
    assert decompressed["bytes"] <= 64 * 1024  # the check of its first bytes


def test_a_csv_bomb_stops_at_max_import_bytes_in_the_import(
        client, team, api_headers, settings, private_tmp, django_capture_on_commit_callbacks):
    settings.MAX_IMPORT_BYTES = 4 * MB
    with django_capture_on_commit_callbacks(execute=True):
        response = api_upload(client, team, api_headers,
                              [SimpleUploadedFile("events.csv.gz", csv_bomb(60 * MB))])
    assert response.status_code == 202
    job = DatasetImport.objects.get(pk=response.json()["import"]["id"])
    assert job.status == "failed"
    assert job.error == ("events.csv.gz: expands past the 4 MB limit on the data of one "
                         "import (MAX_IMPORT_BYTES)")
    dataset = Dataset.objects.get()
    assert dataset.current_version is None and not any(dataset.directory.rglob("*.csv"))
    assert staged_files(settings) == [] and list(private_tmp.iterdir()) == []


def test_rows_past_max_import_rows_fail_the_import(client, team, api_headers, settings,
                                                   django_capture_on_commit_callbacks):
    settings.MAX_IMPORT_ROWS = 10
    body = b"user_id,event,timestamp\n" + b"u1,e,2026-01-01T00:00:00Z\n" * 11
    with django_capture_on_commit_callbacks(execute=True):
        response = api_upload(client, team, api_headers, [SimpleUploadedFile("e.csv", body)])
    job = DatasetImport.objects.get(pk=response.json()["import"]["id"])
    assert job.status == "failed" and job.error.endswith("(MAX_IMPORT_ROWS)")
    assert "10 rows" in job.error


# --- the storage quota ---------------------------------------------------------------------

def test_a_full_quota_refuses_uploads_and_appends(client, team, api_headers, settings):
    dataset = ready_dataset(team)
    settings.TEAM_STORAGE_QUOTA_BYTES = 1000
    response = api_upload(client, team, api_headers, [SimpleUploadedFile("e.csv", CSV)])
    assert response.status_code == 400
    assert "(TEAM_STORAGE_QUOTA_BYTES)" in response.json()["detail"]
    appended = client.post(f"/api/v1/teams/{team.slug}/datasets/{dataset.pk}/events",
                           {"events": [{"user_id": "u1", "event": "e", "timestamp": 1}]},
                           content_type="application/json", headers=api_headers)
    assert appended.status_code == 400
    assert "(TEAM_STORAGE_QUOTA_BYTES)" in appended.json()["detail"]
    assert staged_files(settings) == []


def test_an_import_larger_than_the_room_left_fails(client, team, api_headers, settings,
                                                   django_capture_on_commit_callbacks):
    settings.TEAM_STORAGE_QUOTA_BYTES = 100
    with django_capture_on_commit_callbacks(execute=True):
        response = api_upload(client, team, api_headers, [SimpleUploadedFile("e.csv", CSV)])
    job = DatasetImport.objects.get(pk=response.json()["import"]["id"])
    assert job.status == "failed" and "(TEAM_STORAGE_QUOTA_BYTES)" in job.error
    assert Dataset.objects.get().current_version is None


def test_the_quota_counts_the_teams_files(team):
    from accounts.models import Team
    from analytics.selectors import team_storage_bytes

    other_team = Team.objects.create(name="Other", slug="other")
    assert team_storage_bytes(team) == 0
    dataset = ready_dataset(team)
    on_disk = sum(p.stat().st_size for p in dataset.directory.rglob("*") if p.is_file())
    assert team_storage_bytes(team) == on_disk > 0
    assert team_storage_bytes(other_team) == 0


# --- staged files go whatever the outcome ------------------------------------------------------

def test_staged_files_go_after_a_success(client, team, api_headers, settings,
                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_upload(client, team, api_headers, [SimpleUploadedFile("e.csv", CSV)])
    assert DatasetImport.objects.get(pk=response.json()["import"]["id"]).status == "done"
    assert staged_files(settings) == []


def test_staged_files_go_after_a_refusal(client, team, api_headers, settings,
                                         django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_upload(client, team, api_headers,
                              [SimpleUploadedFile("e.csv", CSV + b"u2,,2026-01-01\n")])
    assert DatasetImport.objects.get(pk=response.json()["import"]["id"]).status == "failed"
    assert staged_files(settings) == []


def test_staged_files_go_after_a_crash(client, team, api_headers, settings, monkeypatch,
                                       django_capture_on_commit_callbacks):
    def crash(**kwargs):
        raise RuntimeError("a bug of ours")

    monkeypatch.setattr("analytics.engine.importer.import_dataset", crash)
    client.raise_request_exception = False  # tests let a task's error through; a 500 here
    api_upload(client, team, api_headers, [SimpleUploadedFile("e.csv", CSV)])
    job = DatasetImport.objects.get()
    assert job.status == "failed" and "went wrong on our side" in job.error
    assert staged_files(settings) == []


# --- file names ---------------------------------------------------------------------------------

def test_a_300_character_name_is_shortened_on_the_upload_page(member, team, settings):
    name = "x" * 300 + ".csv"
    response = upload_page(member, team, {"events": [SimpleUploadedFile(name, CSV)]})
    assert response.status_code == 302
    [staged] = staged_files(settings)
    assert staged.name.endswith(".csv") and len(staged.name.encode()) <= MAX_NAME_BYTES


def test_a_300_character_name_is_shortened_through_the_api(
        client, team, api_headers, settings, django_capture_on_commit_callbacks):
    name = "é" * 300 + ".csv"  # Django keeps the last suffix of a name it cuts to 255
    with django_capture_on_commit_callbacks(execute=True):
        response = api_upload(client, team, api_headers,
                              [SimpleUploadedFile(name, CSV)], mapping="")
    assert response.status_code == 202, response.content
    job = DatasetImport.objects.get(pk=response.json()["import"]["id"])
    assert job.status == "done"
    [shown] = Dataset.objects.get().schema["source_files"]
    assert shown.endswith("….csv") and len(shown.encode()) <= MAX_NAME_BYTES
    # A cut name that lost its format says so: a refusal, not a 500.
    cut = api_upload(client, team, api_headers,
                     [SimpleUploadedFile("x" * 300 + ".csv.gz", gzip.compress(CSV))], name="Cut")
    assert cut.status_code == 400 and "use CSV, Parquet or NDJSON" in cut.json()["detail"]


def test_a_name_with_path_and_control_characters_is_normalised(member, team, settings):
    response = upload_page(member, team, {
        "events": [SimpleUploadedFile("../../ev\x00il\x7f.csv", CSV)]})
    assert response.status_code == 302
    [staged] = staged_files(settings)
    assert staged.name in ("ev_il_.csv", "evil.csv")  # Django drops some itself
    assert staged.is_relative_to(settings.DATA_DIR / "staging")


# --- what people read ---------------------------------------------------------------------------

def test_a_broken_ndjson_names_no_server_path(client, team, api_headers, settings):
    body = b'{"user_id": "u1", "event": "e", "timestamp": "2026-01-01"}\n{"user_id": "u1",\n'
    response = api_upload(client, team, api_headers,
                          [SimpleUploadedFile("e.ndjson", body)], mapping="")
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "e.ndjson" in detail and str(settings.DATA_DIR) not in detail
    assert "staging" not in detail


@pytest.mark.parametrize(("body", "where"), [
    (b"u1,e,2026-01-01T00:00:00Z,extra\n", "line 3"),
    (b"u1,e,294247-01-10T04:00:54\n", "line 3, column 'timestamp'"),
    (b"u1,e,-5000-01-01\n", "line 3, column 'timestamp'"),
    (b"u1,e,-infinity\n", "line 3, column 'timestamp'"),
    (b"u\x01,e,2026-01-01\n", "line 3, column 'user_id'"),
])
def test_import_errors_name_the_line_and_no_path(client, team, api_headers, settings, body,
                                                 where, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_upload(client, team, api_headers,
                              [SimpleUploadedFile("e.csv", CSV + body)])
    job = DatasetImport.objects.get(pk=response.json()["import"]["id"])
    assert job.status == "failed"
    assert job.error.startswith(f"e.csv, {where}:"), job.error
    assert str(settings.DATA_DIR) not in job.error and "/" not in job.error.split(":", 1)[1]


@pytest.mark.parametrize(("event", "message"), [
    ("log\u0000in", "the event name 'log\\x00in' contains a control character (U+0000)"),
    ("tab\tbed", "the event name 'tab\\tbed' contains a control character (U+0009)"),
])
def test_a_batch_with_a_control_character_in_an_event_name_fails_with_its_line(
        client, team, api_headers, event, message, django_capture_on_commit_callbacks):
    dataset = ready_dataset(team)
    events = [{"user_id": "u1", "event": "ok", "timestamp": 1_780_000_000},
              {"user_id": "u1", "event": event, "timestamp": 1_780_000_001}]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/teams/{team.slug}/datasets/{dataset.pk}/events",
                               {"events": events}, content_type="application/json",
                               headers=api_headers)
    assert response.status_code == 202
    job = DatasetImport.objects.get(pk=response.json()["import"]["id"])
    assert job.status == "failed"
    assert job.error == f"api-batch.ndjson, line 2, column 'event': {message}"
    dataset.refresh_from_db()
    assert dataset.current_version == 1


@pytest.mark.parametrize("timestamp", ["-infinity", "294247-01-10T04:00:54", "-5000-01-01"])
def test_a_batch_with_a_time_out_of_range_fails_with_its_line(
        client, team, api_headers, timestamp, django_capture_on_commit_callbacks):
    dataset = ready_dataset(team)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/teams/{team.slug}/datasets/{dataset.pk}/events",
                               {"events": [{"user_id": "u1", "event": "e",
                                            "timestamp": timestamp}]},
                               content_type="application/json", headers=api_headers)
    assert response.status_code == 202
    job = DatasetImport.objects.get(pk=response.json()["import"]["id"])
    assert job.status == "failed"
    assert job.error.startswith("api-batch.ndjson, line 1, column 'timestamp': ")
    assert "out of range" in job.error
