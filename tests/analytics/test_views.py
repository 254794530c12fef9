"""The data pages: list, two-step upload with the column mapping, and the detail page."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from analytics.models import Dataset, DatasetImport, JobStatus

EVENTS = (b"case_id,activity,time,amount\n"
          b"c1,A_SUBMITTED,2024-01-01T10:00:00Z,100\n"
          b"c1,A_APPROVED,2024-01-02T10:00:00Z,100\n"
          b"c2,A_SUBMITTED,2024-01-03T10:00:00+01:00,50\n")


def upload(client, team, **files):
    data = {"name": "Loans"}
    data.update(files)
    return client.post(f"/t/{team.slug}/data/new/", data)


def test_members_see_the_list_and_outsiders_get_404(client, team, owner, teammate, outsider):
    Dataset.objects.create(team=team, name="Product events")
    client.force_login(teammate)
    assert b"Product events" in client.get(f"/t/{team.slug}/data/").content
    client.force_login(outsider)
    assert client.get(f"/t/{team.slug}/data/").status_code == 404
    assert client.get(f"/t/{team.slug}/data/new/").status_code == 404


def test_upload_guess_confirm_and_import(client, team, owner):
    client.force_login(owner)
    response = upload(client, team, events=SimpleUploadedFile("loans.csv", EVENTS))
    assert response.status_code == 302
    mapping_page = client.get(response["Location"])
    html = mapping_page.content.decode()
    # The guesses are preselected from the header.
    assert 'value="case_id" selected' in html and 'value="activity" selected' in html
    assert 'value="time" selected' in html
    confirmed = client.post(response["Location"], {"user_id": "case_id", "event": "activity",
                                                   "timestamp": "time"})
    assert confirmed.status_code == 302
    dataset = Dataset.objects.get(team=team, name="Loans")
    assert dataset.current_version == 1
    assert dataset.schema["n_users"] == 2 and dataset.schema["events"]["A_SUBMITTED"] == 2
    detail = client.get(confirmed["Location"]).content.decode()
    assert "A_APPROVED" in detail and "amount" in detail


def test_the_mapping_refuses_one_column_for_two_roles(client, team, owner):
    client.force_login(owner)
    response = upload(client, team, events=SimpleUploadedFile("loans.csv", EVENTS))
    page = client.post(response["Location"], {"user_id": "case_id", "event": "case_id",
                                              "timestamp": "time"})
    assert page.status_code == 200
    assert "three different columns" in page.content.decode()
    assert not Dataset.objects.filter(name="Loans").exists()


def test_a_refused_import_says_where_and_publishes_nothing(client, team, owner):
    client.force_login(owner)
    bad = EVENTS + b"c3,A_SUBMITTED,yesterday,10\n"
    response = upload(client, team, events=SimpleUploadedFile("loans.csv", bad))
    confirmed = client.post(response["Location"], {"user_id": "case_id", "event": "activity",
                                                   "timestamp": "time"})
    dataset = Dataset.objects.get(name="Loans")
    job = DatasetImport.objects.get(dataset=dataset)
    assert job.status == JobStatus.FAILED
    assert "line 5" in job.error and "time" in job.error
    assert dataset.current_version is None and not dataset.version(1).path.exists()
    detail = client.get(confirmed["Location"]).content.decode()
    assert "line 5" in detail and "Nothing of this import is visible" in detail


@pytest.mark.parametrize("name", ["notes.docx", "image.png"])
def test_files_that_are_not_data_are_refused_on_the_form(client, team, owner, name):
    client.force_login(owner)
    response = upload(client, team, events=SimpleUploadedFile(name, b"x"))
    assert response.status_code == 200
    assert "CSV, Parquet or NDJSON" in response.content.decode()


def test_an_upload_draft_of_another_team_is_not_usable(client, team, owner, outsider):
    from accounts.models import Membership, Team

    other = Team.objects.create(name="Other", slug="other")
    Membership.objects.create(team=other, user=owner, role="owner")
    client.force_login(owner)
    response = upload(client, team, events=SimpleUploadedFile("loans.csv", EVENTS))
    token = response["Location"].rstrip("/").split("/")[-1]
    stolen = client.get(f"/t/other/data/new/{token}/")
    assert stolen.status_code == 302 and stolen["Location"].endswith("/t/other/data/new/")


def test_the_status_region_polls_while_importing_and_stops_when_done(client, team, owner):
    dataset = Dataset.objects.create(team=team, name="Pending")
    job = DatasetImport.objects.create(dataset=dataset, version=1, created_by=owner)
    client.force_login(owner)
    url = f"/t/{team.slug}/data/{dataset.pk}/"
    partial = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="import-status")
    html = partial.content.decode()
    assert "<html" not in html and 'hx-trigger="every 1s"' in html
    DatasetImport.objects.filter(pk=job.pk).update(status=JobStatus.DONE)
    html = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="import-status").content.decode()
    assert "every 1s" not in html


def test_another_teams_dataset_is_404(client, team, owner):
    from accounts.models import Team

    other = Team.objects.create(name="Other", slug="other")
    foreign = Dataset.objects.create(team=other, name="Secret")
    client.force_login(owner)
    assert client.get(f"/t/{team.slug}/data/{foreign.pk}/").status_code == 404
