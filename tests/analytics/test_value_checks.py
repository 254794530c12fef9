"""The values job made after each import, the success preview against the CLI, and the
views of the checks (who may read a quick count, asking for a missing values job); a web
request never starts a DuckDB query."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from analytics import services
from analytics.engine import duck
from analytics.engine.value_profile import value_profile
from analytics.models import AnalysisJob, JobStatus
from tests.analytics.test_cli import EVENTS, USERS

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def files(tmp_path):
    events, users = tmp_path / "events.csv", tmp_path / "users.csv"
    events.write_text(EVENTS)
    users.write_text(USERS)
    return events, users


@pytest.fixture
def imported(files, team):
    events, users = files
    job = services.import_now(team=team, name="shop", events=[events], users=users, mapping={})
    job.dataset.refresh_from_db()
    return job.dataset


@pytest.fixture
def client_of(client):
    def sign_in(user):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client
    return sign_in


def test_an_import_leaves_the_values_of_its_version(imported):
    [job] = AnalysisJob.objects.filter(dataset=imported, kind="values")
    assert job.dataset_version == imported.current_version and job.status == JobStatus.DONE
    assert job.result == value_profile(imported.version())
    assert job.result["user_properties"]["plan"]["top"] == [["free", 2], ["pro", 2]]
    # One per version: asking again gives the same job.
    assert services.value_profile_ensure(imported).pk == job.pk


def test_a_request_reads_the_values_jobs_once_and_each_use_keeps_its_rule(
        imported, django_assert_num_queries):
    """A new entry's value check and the form its answer draws read the version's values
    jobs once (kept on the dataset's instance). The form shows the latest job, so a
    failed rerun shows no values; the check uses the latest that did not fail."""
    from analytics import checks, selectors
    from analytics.models import Dataset

    [done] = AnalysisJob.objects.filter(dataset=imported, kind="values")
    failed = AnalysisJob.objects.get(pk=done.pk)  # saved again as a new, later job
    failed.pk, failed.status, failed.result = None, JobStatus.FAILED, None
    failed._state.adding = True
    failed.save()
    AnalysisJob.objects.filter(pk=failed.pk).update(created_at=done.created_at.replace(
        year=done.created_at.year + 1))
    dataset = Dataset.objects.get(pk=imported.pk)  # one request's instance
    with django_assert_num_queries(1):
        assert selectors.value_profile_of(dataset) == done.result
        form = checks.profile_for_form(dataset)
        assert checks.criterion_warnings(dataset, {"kind": "property", "property": "plan",
                                                   "op": "=", "value": "pro"}) == []
    assert form.profile is None and form.missing_for is None
    # Another request (another instance) sees a job made since.
    AnalysisJob.objects.filter(pk=failed.pk).delete()
    assert checks.profile_for_form(Dataset.objects.get(pk=imported.pk)).profile == done.result


def cli_population(events, users, success: dict) -> dict:
    out = StringIO()
    call_command("analyze", "--events", str(events), "--users", str(users),
                 "--success", json.dumps(success),
                 "--criterion", json.dumps({"kind": "did_event", "event": "login"}), stdout=out)
    return json.loads(out.getvalue())["population"]


@pytest.mark.parametrize("days", ["", "2", "30"])
def test_the_success_preview_equals_manage_py_analyze(files, imported, team, owner, client_of,
                                                      days):
    """Through the success form as a member edits it: the preview job's numbers are the
    CLI's population block for the same files and success JSON."""
    events, users = files
    fields = {"name": "Bought", "dataset": imported.pk, "basis": "events",
              "events": ["purchase"], "match": "any", "within_days": days,
              "complete_windows": "on", "preview": "1"}
    client = client_of(owner)
    response = client.post(reverse("success:success_create", kwargs={"team_slug": team.slug}),
                           fields, **HTMX)
    assert response.status_code == 200
    job = AnalysisJob.objects.get(kind="preview", created_by=owner)
    success = {"events": ["purchase"], "match": "any"}
    if days:
        success["within_days"] = int(days)
    assert job.success == success and job.status == JobStatus.DONE
    assert job.result["population"] == cli_population(events, users, success)
    # The fragment polls the job until it is done, then shows its numbers.
    status = client.get(reverse("analytics:check_status",
                                kwargs={"team_slug": team.slug, "check_id": job.pk}))
    html = status.content.decode()
    assert f'data-preview="users">{job.result["population"]["users"]}<' in html
    assert "hx-trigger" not in html


def test_a_quick_count_is_for_the_member_who_asked(imported, team, owner, teammate, outsider,
                                                   client_of):
    job = services.group_count_submit(
        team=team, dataset=imported, success={"events": ["purchase"]},
        criterion={"kind": "property", "property": "plan", "op": "=", "value": "pro"},
        created_by=owner)
    job.refresh_from_db()
    assert job.result["group"]["users"] == 2
    path = reverse("analytics:check_status", kwargs={"team_slug": team.slug, "check_id": job.pk})
    html = client_of(owner).get(path).content.decode()
    assert "This group holds 2 users: too few for a verdict (30 needed)." in html
    assert client_of(teammate).get(path).status_code == 404
    assert client_of(outsider).get(path).status_code == 404
    other = AnalysisJob.objects.get(kind="values", dataset=imported)
    assert client_of(owner).get(reverse("analytics:check_status", kwargs={
        "team_slug": team.slug, "check_id": other.pk})).status_code == 404  # not a check


def test_a_form_asks_for_a_missing_values_job(imported, team, teammate, outsider, client_of):
    AnalysisJob.objects.filter(kind="values").delete()
    path = reverse("analytics:values_ensure",
                   kwargs={"team_slug": team.slug, "dataset_id": imported.pk})
    assert client_of(outsider).post(path).status_code == 404
    client = client_of(teammate)
    assert client.get(path).status_code == 405
    assert client.post(path).status_code == 204
    assert client.post(path).status_code == 204
    assert AnalysisJob.objects.filter(kind="values", dataset=imported).count() == 1
    assert client.post(reverse("analytics:values_ensure", kwargs={
        "team_slug": team.slug, "dataset_id": imported.pk + 99})).status_code == 404


def test_a_success_preview_with_a_bad_value_says_so_and_queues_nothing(
        imported, team, owner, client_of):
    fields = {"name": "x", "dataset": imported.pk, "basis": "property", "property": "plan",
              "property_op": "in", "property_value": "", "preview": "1"}
    response = client_of(owner).post(
        reverse("success:success_create", kwargs={"team_slug": team.slug}), fields, **HTMX)
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not AnalysisJob.objects.filter(kind="preview").exists()


def test_a_success_value_not_in_the_data_warns_with_the_closest(imported, team, owner,
                                                                client_of):
    fields = {"name": "Pros", "dataset": imported.pk, "basis": "property", "property": "plan",
              "property_op": "=", "property_value": "Pro", "match": "any",
              "preview": "1"}
    html = client_of(owner).post(reverse("success:success_create",
                                         kwargs={"team_slug": team.slug}),
                                 fields, **HTMX).content.decode()
    assert "&#x27;Pro&#x27; does not occur in plan; closest: &#x27;pro&#x27;" in html


@pytest.fixture
def no_duckdb(monkeypatch, settings):
    """Jobs stay queued (as they would for a worker) and DuckDB refuses to start."""
    settings.TASKS_RUN_IMMEDIATELY = False

    def refuse(*args, **kwargs):
        raise AssertionError("a web request started a DuckDB query")

    monkeypatch.setattr(duck, "engine_cursor", refuse)
    monkeypatch.setattr(duck, "connect", refuse)


def test_the_checks_never_start_duckdb_in_a_request(imported, team, owner, client_of,
                                                    no_duckdb):
    client = client_of(owner)
    fields = {"name": "Bought", "dataset": imported.pk, "basis": "events",
              "events": ["purchase"], "match": "any", "within_days": "3",
              "complete_windows": "on", "preview": "1"}
    response = client.post(reverse("success:success_create", kwargs={"team_slug": team.slug}),
                           fields, **HTMX)
    job = AnalysisJob.objects.get(kind="preview")
    assert job.status == JobStatus.QUEUED
    assert 'hx-trigger="load delay:1s"' in response.content.decode()
    status = client.get(reverse("analytics:check_status",
                                kwargs={"team_slug": team.slug, "check_id": job.pk}))
    assert "Counting the users it covers" in status.content.decode()
    assert client.get(reverse("success:success_create",
                              kwargs={"team_slug": team.slug})).status_code == 200
