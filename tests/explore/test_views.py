"""The explorer's pages: permissions, each tool's happy path and bad input, the SQL
console's refusals, CSV export, findings with evidence, and the timer's rule."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from analytics.models import AnalysisJob
from sessions.models import Finding

pytestmark = pytest.mark.django_db

PRO = '{"kind": "property", "property": "plan", "op": "=", "value": "pro"}'


def url(name, team, **kwargs):
    return reverse(f"explore:{name}", kwargs={"team_slug": team.slug, **kwargs})


def where(dataset, success):
    return {"dataset": dataset.pk, "success": success.pk}


@pytest.fixture(autouse=True)
def _run_jobs(django_capture_on_commit_callbacks, monkeypatch):
    """Jobs are queued after commit; run them in the request, as the embedded default does."""
    global _capture
    _capture = django_capture_on_commit_callbacks


_capture = None


def ask(client, team, tool, data, **kwargs):
    with _capture(execute=True):
        return client.post(url(tool, team), data, **kwargs)


def last_job() -> AnalysisJob:
    return AnalysisJob.objects.order_by("-pk").first()


# ---------------------------------------------------------------- permissions


@pytest.mark.parametrize("name", ["home", "breakdown", "compare", "stratify", "console"])
def test_pages_open_for_teammates_and_404_for_outsiders(client_of, team, teammate, outsider,
                                                        dataset, success, name):
    assert client_of(teammate).get(url(name, team)).status_code == 200
    assert client_of(outsider).get(url(name, team)).status_code == 404


def test_results_of_a_team_are_404_to_outsiders(client_of, team, owner, outsider, dataset,
                                                success):
    client = client_of(owner)
    response = ask(client, team, "breakdown", {**where(dataset, success), "by_subject":
                                               "property:plan"})
    job = last_job()
    assert response.status_code == 302
    outsider_client = client_of(outsider)
    for name in ("result", "result_csv"):
        assert outsider_client.get(url(name, team, job_id=job.pk)).status_code == 404
    assert outsider_client.post(url("result_finding", team, job_id=job.pk),
                                {"text": "x"}).status_code == 404


def test_another_teams_session_or_dataset_is_404(client_of, team, owner, outsider, dataset,
                                                 success, dig_session):
    from accounts.models import Membership, Team

    other = Team.objects.create(name="Other", slug="other")
    Membership.objects.create(team=other, user=outsider, role=Membership.Role.OWNER)
    client = client_of(outsider)
    assert client.get(url("breakdown", other) + f"?session={dig_session.pk}").status_code == 404
    assert client.get(url("breakdown", other) + f"?dataset={dataset.pk}").status_code == 404


# ---------------------------------------------------------------- the tools


def test_breakdown_shows_chart_and_table(client_of, team, teammate, dataset, success):
    client = client_of(teammate)
    response = ask(client, team, "breakdown", {**where(dataset, success),
                                               "by_subject": "property:plan"})
    job = last_job()
    assert response.status_code == 302 and response["Location"].startswith(
        url("result", team, job_id=job.pk))
    assert job.kind == "analyze" and job.status == "done"
    assert job.breakdown == {"property": "plan"}
    page = client.get(response["Location"])
    html = page.content.decode()
    assert "<svg" in html and 'role="img"' in html and "<desc" in html
    labels = [b["label"] for b in job.result["buckets"]]
    assert set(labels) == {"free", "pro"}
    for bucket in job.result["buckets"]:
        assert f"{bucket['rate'] * 100:.1f}%" in html
    # The question is listed among the recent ones of this dataset.
    home = client.get(url("home", team), where(dataset, success)).content.decode()
    assert "Success rate by plan" in home


def test_breakdown_with_bins_and_a_filter(client_of, team, owner, dataset, success):
    client = client_of(owner)
    ask(client, team, "breakdown", {**where(dataset, success), "by_subject": "count:login",
                                    "by_bins": "1, 3", "by_days": 7, "filter_json": PRO})
    job = last_job()
    assert job.breakdown == {"metric": {"kind": "event_count", "event": "login",
                                        "within_days": 7}, "bins": [1, 3]}
    assert job.options["population_filter"]["value"] == "pro"
    assert [b["label"] for b in job.result["buckets"]] == ["< 1", "1-3", ">= 3", "(none)"]


def test_bad_input_is_a_form_error(client_of, team, owner, dataset, success):
    client = client_of(owner)
    response = ask(client, team, "breakdown", {**where(dataset, success),
                                               "by_subject": "property:plan",
                                               "filter_json": '{"kind": "property", '
                                               '"property": "plann", "op": "=", "value": 1}'})
    assert response.status_code == 200
    assert "did you mean" in response.content.decode()
    assert not AnalysisJob.objects.exists()


def test_compare_two_groups(client_of, team, owner, dataset, success):
    client = client_of(owner)
    response = ask(client, team, "compare", {
        **where(dataset, success), "a_subject": "first:device", "a_op": "=", "a_value": "mobile",
        "b_subject": "first:device", "b_op": "=", "b_value": "desktop",
        "filter_subject": "property:plan", "filter_op": "=", "filter_value": "pro"})
    job = last_job()
    assert response.status_code == 302 and job.kind == "compare" and job.status == "done"
    result = job.result
    assert result["a"]["users"] + result["b"]["users"] == result["population"]["users"]
    html = client.get(response["Location"]).content.decode()
    assert "Group B" in html and "<svg" in html


def test_confounding_check_flags_and_tables(client_of, team, owner, dataset, success):
    client = client_of(owner)
    response = ask(client, team, "stratify", {
        **where(dataset, success), "group_subject": "did:invite_teammate", "group_value": "yes",
        "group_days": 7, "by_subject": "property:plan"})
    job = last_job()
    assert response.status_code == 302 and job.kind == "stratify", response.content
    assert {s["label"] for s in job.result["strata"]} == {"free", "pro"}
    html = client.get(response["Location"]).content.decode()
    assert "Mantel-Haenszel" in html


def test_sql_console_runs_and_exports_csv(client_of, team, teammate, dataset, success):
    client = client_of(teammate)
    response = ask(client, team, "console", {
        **where(dataset, success),
        "sql": "SELECT plan, count(*) AS users FROM users GROUP BY plan ORDER BY plan"})
    job = last_job()
    assert response.status_code == 302 and job.kind == "sql" and job.status == "done"
    html = client.get(response["Location"]).content.decode()
    assert "row" in html and ">plan<" in html
    csv = client.get(url("result_csv", team, job_id=job.pk))
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().strip().splitlines()
    assert lines[0] == "plan,users" and lines[1].startswith("free,")


def test_sql_console_refusals_are_shown_and_queue_nothing(client_of, team, owner, dataset,
                                                          success):
    client = client_of(owner)
    response = ask(client, team, "console", {**where(dataset, success),
                                             "sql": "SELECT * FROM read_csv('/etc/passwd')"})
    assert response.status_code == 400
    assert "read_csv() cannot be used" in response.content.decode()
    assert not AnalysisJob.objects.exists()


def test_a_stopped_query_fails_its_job_with_the_reason(client_of, team, owner, dataset,
                                                       success, settings):
    settings.CONSOLE_TIME_LIMIT = 0.3
    client = client_of(owner)
    response = ask(client, team, "console", {
        **where(dataset, success),
        "sql": "SELECT count(*) FROM range(1000000000000) a CROSS JOIN events b"})
    job = last_job()
    assert job.status == "failed" and "took longer than 0.3 s" in job.error
    assert "took longer" in client.get(response["Location"]).content.decode()
    # The same worker runs the next one normally.
    ask(client, team, "console", {**where(dataset, success), "sql": "SELECT 1 AS one"})
    assert last_job().status == "done" and last_job().result["rows"] == [[1]]


def test_a_result_past_the_byte_cap_is_stored_cut_with_a_note(client_of, team, owner, dataset,
                                                              success, settings):
    settings.CONSOLE_MAX_RESULT_BYTES = 2_000
    client = client_of(owner)
    response = ask(client, team, "console", {
        **where(dataset, success), "sql": "SELECT repeat('x', 300) AS s FROM range(100)"})
    job = last_job()
    assert job.status == "done", job.error
    assert job.result["truncated_by"] == "bytes" and job.result["limits"]["bytes"] == 2_000
    assert len(json.dumps(job.result["rows"])) <= 2_000 and 0 < job.result["row_count"] < 100
    html = client.get(response["Location"]).content.decode()
    assert f"{job.result['row_count']} rows" in html
    assert "the console keeps at most 2.0\xa0KB of results" in html
    page = client.get(url("console", team), where(dataset, success)).content.decode()
    assert "at most 2.0\xa0KB of results" in page


def test_csv_cells_cannot_become_spreadsheet_formulas(client_of, team, owner, dataset, success):
    client = client_of(owner)
    ask(client, team, "console", {**where(dataset, success), "sql": "SELECT '=1+2' AS f"})
    body = client.get(url("result_csv", team, job_id=last_job().pk)).content.decode()
    assert "'=1+2" in body


# ---------------------------------------------------------------- inside a session


def test_findings_keep_a_snapshot_of_the_result(client_of, team, teammate, dig_session):
    client = client_of(teammate)
    response = ask(client, team, "breakdown", {"session": dig_session.pk,
                                               "by_subject": "property:plan"})
    job = last_job()
    assert job.session_id == dig_session.pk
    assert f"session={dig_session.pk}" in response["Location"]
    saved = client.post(url("result_finding", team, job_id=job.pk),
                        {"text": "Pro users buy more", "kind": "insight"})
    assert saved.status_code == 302
    finding = Finding.objects.get()
    assert finding.step == "dig" and finding.author == teammate
    evidence = finding.evidence
    assert evidence["source"] == "breakdown"
    assert evidence["definition"]["breakdown"] == {"property": "plan"}
    assert evidence["definition"]["success"] == dig_session.success_definition.definition
    assert evidence["table"]["rows"][0][0] in ("free", "pro")
    assert evidence["numbers"]["population"] == job.result["population"]
    # The snapshot does not follow later changes of the job's row.
    AnalysisJob.objects.filter(pk=job.pk).update(result={"buckets": []})
    finding.refresh_from_db()
    assert evidence == finding.evidence


def test_sql_result_as_a_finding(client_of, team, teammate, dig_session):
    client = client_of(teammate)
    ask(client, team, "console", {"session": dig_session.pk,
                                  "sql": "SELECT count(*) AS n FROM users"})
    job = last_job()
    client.post(url("result_finding", team, job_id=job.pk), {"text": "240 users",
                                                              "kind": "insight"})
    evidence = Finding.objects.get().evidence
    assert evidence["source"] == "sql" and evidence["definition"]["sql"].startswith("SELECT")
    assert evidence["table"] == {"columns": ["n"], "rows": [[240]], "total_rows": 1,
                                 "cut": False}


def test_outside_a_session_a_result_is_kept_as_a_team_finding(client_of, team, owner, dataset,
                                                               success):
    # Issue 11 changed this: outside a session the finding is the team's (it was refused).
    client = client_of(owner)
    ask(client, team, "console", {**where(dataset, success), "sql": "SELECT 1 AS x"})
    page = client.get(url("result", team, job_id=last_job().pk)).content.decode()
    assert "Keep as a team finding" in page
    response = client.post(url("result_finding", team, job_id=last_job().pk),
                           {"text": "One row", "kind": "insight"})
    assert response.status_code == 302
    finding = Finding.objects.get()
    assert finding.team == team and finding.session is None and finding.author == owner
    assert finding.evidence["source"] == "sql" and finding.evidence["table"]["rows"] == [[1]]
    home = client.get(url("home", team)).content.decode()
    assert "Team findings not in a session yet" in home and "One row" in home


def test_an_empty_team_finding_is_refused(client_of, team, owner, dataset, success):
    client = client_of(owner)
    ask(client, team, "console", {**where(dataset, success), "sql": "SELECT 1 AS x"})
    response = client.post(url("result_finding", team, job_id=last_job().pk),
                           {"text": "", "kind": "insight"})
    assert response.status_code == 400 and not Finding.objects.exists()


@pytest.fixture
def team_finding(client_of, team, owner, dataset, success):
    client = client_of(owner)
    ask(client, team, "breakdown", {**where(dataset, success), "by_subject": "property:plan"})
    client.post(url("result_finding", team, job_id=last_job().pk),
                {"text": "Pro users buy more", "kind": "insight"})
    return Finding.objects.get()


def test_a_team_finding_is_attached_to_an_open_session(client_of, team, teammate, team_finding,
                                                       dig_session):
    client = client_of(teammate)
    home = client.get(url("home", team)).content.decode()
    assert "Attach to session" in home and dig_session.title in home
    response = client.post(url("finding_attach", team, finding_id=team_finding.pk),
                           {"session": dig_session.pk})
    assert response.status_code == 302
    team_finding.refresh_from_db()
    assert team_finding.session == dig_session and team_finding.step == "dig"
    assert team_finding.evidence["source"] == "breakdown"
    assert list(dig_session.findings.all()) == [team_finding]
    # Attached, it leaves the team's list, and cannot be attached twice.
    assert "Pro users buy more" not in client.get(url("home", team)).content.decode()
    again = client.post(url("finding_attach", team, finding_id=team_finding.pk),
                        {"session": dig_session.pk})
    assert again.status_code == 404


def test_attaching_is_404_for_outsiders_and_for_another_teams_session(
        client_of, team, outsider, teammate, team_finding, dig_session):
    from accounts.models import Membership, Team
    from tests.worksessions.factories import make_session

    assert client_of(outsider).post(url("finding_attach", team, finding_id=team_finding.pk),
                                    {"session": dig_session.pk}).status_code == 404
    other = Team.objects.create(name="Other", slug="other")
    Membership.objects.create(team=other, user=outsider, role=Membership.Role.OWNER)
    elsewhere = make_session(other, outsider)
    # An outsider's session named from our team's page: no such session here.
    assert client_of(teammate).post(url("finding_attach", team, finding_id=team_finding.pk),
                                    {"session": elsewhere.pk}).status_code == 404
    # Our finding named under the other team: no such finding there.
    assert client_of(outsider).post(url("finding_attach", other, finding_id=team_finding.pk),
                                    {"session": elsewhere.pk}).status_code == 404
    team_finding.refresh_from_db()
    assert team_finding.session is None


def test_attaching_refuses_bad_input_and_closed_sessions(client_of, team, owner, team_finding,
                                                         dig_session):
    from sessions import services as session_services

    client = client_of(owner)
    for bad in ({}, {"session": "abc"}):
        response = client.post(url("finding_attach", team, finding_id=team_finding.pk), bad)
        assert response.status_code == 400
        assert "Choose the session" in response.content.decode()
    session_services.session_close(session=dig_session, by=owner)
    refused = client.post(url("finding_attach", team, finding_id=team_finding.pk),
                          {"session": dig_session.pk})
    assert refused.status_code == 409
    team_finding.refresh_from_db()
    assert team_finding.session is None
    # A closed session is not offered.
    assert "Attach to session" not in client.get(url("home", team)).content.decode()


def test_after_the_deadline_questions_and_findings_are_refused(client_of, team, teammate,
                                                                dig_session):
    client = client_of(teammate)
    ask(client, team, "console", {"session": dig_session.pk, "sql": "SELECT 1 AS x"})
    job = last_job()
    deadline = dig_session.dig_deadline()
    with time_machine.travel(deadline - timedelta(microseconds=1), tick=False):
        assert ask(client, team, "console", {"session": dig_session.pk,
                                             "sql": "SELECT 2 AS x"}).status_code == 302
    with time_machine.travel(deadline, tick=False):
        refused = ask(client, team, "breakdown", {"session": dig_session.pk,
                                                  "by_subject": "property:plan"})
        assert refused.status_code == 409
        assert "Time is up" in refused.content.decode()
        refused = client.post(url("result_finding", team, job_id=job.pk),
                              {"text": "too late", "kind": "insight"})
        assert refused.status_code == 409 and "Time is up" in refused.content.decode()
        # An htmx form gets the message in a 200 fragment (htmx does not swap 4xx).
        fragment = client.post(url("console", team), {"session": dig_session.pk,
                                                      "sql": "SELECT 3"},
                               headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and "Time is up" in fragment.content.decode()
        # Results stay readable.
        assert client.get(url("result", team, job_id=job.pk)).status_code == 200
    assert AnalysisJob.objects.count() == 2 and not Finding.objects.exists()
    assert timezone.now() < deadline + timedelta(days=1)


def test_simpsons_paradox_is_shown_on_the_page(client_of, team, owner):
    from tests.analytics.test_explore import kidney_rows
    from tests.worksessions.factories import make_dataset, make_success

    users, events = kidney_rows()
    kidney = make_dataset(team, name="Kidney stones", rows=(events, users))
    cured = make_success(team, kidney, name="Cured", definition={"events": ["cured"]})
    client = client_of(owner)
    response = ask(client, team, "stratify", {
        "dataset": kidney.pk, "success": cured.pk, "group_subject": "property:treatment",
        "group_op": "=", "group_value": "A", "by_subject": "property:stone"})
    html = client.get(response["Location"]).content.decode()
    assert "The direction flips (Simpson’s paradox)" in html
    assert "Overall the group does worse" in html and "it does better" in html


def test_a_running_job_follows_its_result_region(client_of, team, owner, dataset, success):
    job = AnalysisJob.objects.create(team=team, dataset=dataset, dataset_version=1,
                                     kind="sql", success=success.definition,
                                     options={"sql": "SELECT 1"}, success_definition=success)
    client = client_of(owner)
    page = client.get(url("result", team, job_id=job.pk)).content.decode()
    live = url("result_live", team, job_id=job.pk)
    assert f'data-job-live="{live}"' in page and 'hx-trigger="job-done"' in page
    assert "Working on it" in page and "every 1s" not in page
    fragment = client.get(url("result", team, job_id=job.pk),
                          headers={"HX-Request": "true", "HX-Target": "result"})
    body = fragment.content.decode()
    assert body.lstrip().startswith('<div id="result"') and "<html" not in body
    AnalysisJob.objects.filter(pk=job.pk).update(status="done", result={
        "columns": [{"name": "x", "type": "INTEGER"}], "rows": [[1]], "row_count": 1,
        "truncated": False, "cut_cells": 0, "elapsed_ms": 1.0, "limits": {"rows": 1000}})
    done = client.get(url("result", team, job_id=job.pk),
                      headers={"HX-Request": "true", "HX-Target": "result"}).content.decode()
    assert "data-job-live" not in done and "job-done" not in done and "1 row" in done
    # The result arrives with its way to keep it: no reload needed.
    assert "Keep as a team finding" in done and 'id="finding-form"' in done


def test_a_session_result_that_finishes_after_the_page_loaded_offers_the_finding(
        client_of, team, teammate, dig_session):
    client = client_of(teammate)
    ask(client, team, "breakdown", {"session": dig_session.pk, "by_subject": "property:plan"})
    job = last_job()
    finished = {"status": job.status, "result": job.result}
    AnalysisJob.objects.filter(pk=job.pk).update(status="queued", result=None)
    page = client.get(url("result", team, job_id=job.pk)).content.decode()
    assert "Working on it" in page and "Keep it as a finding" not in page
    AnalysisJob.objects.filter(pk=job.pk).update(**finished)
    done = client.get(url("result", team, job_id=job.pk),
                      headers={"HX-Request": "true", "HX-Target": "result"}).content.decode()
    assert "Keep it as a finding" in done and "Save as finding" in done


def test_change_the_question_fills_the_form_again(client_of, team, owner, dataset, success):
    client = client_of(owner)
    ask(client, team, "compare", {**where(dataset, success), "a_json": PRO,
                                  "b_subject": "property:plan", "b_op": "=", "b_value": "free"})
    first = last_job()
    page = client.get(url("result", team, job_id=first.pk)).content.decode()
    link = re.search(r'href="([^"]+)">Change the question', page).group(1).replace("&amp;", "&")
    form_page = client.get(link).content.decode()
    assert "&quot;pro&quot;" in form_page and "&quot;free&quot;" in form_page
    # Sent back unchanged, the pre-filled form asks the same question.
    params = dict(parse_qsl(urlsplit(link).query))
    ask(client, team, "compare", params)
    again = last_job()
    assert again.pk != first.pk
    assert (again.criterion, again.options["group_b"]) == (first.criterion,
                                                          first.options["group_b"])


def test_every_result_page_leads_with_its_sentence_before_the_statistics(
        client_of, team, owner, dataset, success):
    client = client_of(owner)
    for kind, question in [
        ("compare", {"a_subject": "first:device", "a_op": "=", "a_value": "mobile",
                     "b_subject": "first:device", "b_op": "=", "b_value": "desktop"}),
        ("breakdown", {"by_subject": "property:plan"}),
        ("stratify", {"group_subject": "did:invite_teammate", "group_value": "yes",
                      "group_days": 7, "by_subject": "property:plan"}),
    ]:
        response = ask(client, team, kind, {**where(dataset, success), **question})
        assert response.status_code == 302, (kind, response.content[:500])
        assert last_job().status == "done"
        html = client.get(response["Location"]).content.decode()
        lead, stats = html.index('class="result-plain"'), html.index("What this means")
        assert lead < stats, kind
        sentence = html[lead:html.index("</p>", lead)]
        assert "%" in sentence and "q <" not in sentence and "p =" not in sentence, kind


# ---------------------------------------------------------------- recent questions


def test_recent_questions_say_what_was_asked(client_of, team, owner, dataset, success):
    """Issue 11: every question read "Test"; each now names its tool and what it asked."""
    from analytics.services import analysis_submit

    common = {"team": team, "dataset": dataset, "success": success.definition,
              "success_definition": success, "created_by": owner, "start": False}
    pro = json.loads(PRO)
    analysis_submit(**common, criterion=pro)  # a session's hypothesis test
    analysis_submit(**common, kind=AnalysisJob.Kind.COMPARE, criterion=pro,
                    options={"group_b": {"kind": "property", "property": "plan", "op": "=",
                                         "value": "free"}})
    analysis_submit(**common, breakdown={"property": "plan"})
    home = client_of(owner).get(url("home", team), where(dataset, success)).content.decode()
    rows = re.findall(r"<tr>(.*?)</tr>", home, flags=re.S)
    text = [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in rows]
    assert not any(cells.startswith("Test ") for cells in text), text
    assert any("plan is pro vs the rest" in cells.lower() and "Hypothesis test" in cells
               for cells in text), text
    assert any("plan is pro vs plan is free" in cells.lower() and "Two groups" in cells
               for cells in text), text
    assert any("Success rate by plan" in cells and "Breakdown" in cells for cells in text), text
