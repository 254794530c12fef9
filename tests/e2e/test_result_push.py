"""A result page under uvicorn follows its job by server push: while the job runs it asks
the server nothing (no polling), and once the job has finished it shows the result and
its "Keep it as a finding" without a reload."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics.models import AnalysisJob, JobStatus
from tests.e2e.conftest import LAPTOP, acme_trio
from tests.worksessions.factories import make_dataset, make_success

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SQL_RESULT = {"columns": [{"name": "x", "type": "INTEGER"}], "rows": [[1]], "row_count": 1,
              "truncated": False, "cut_cells": 0, "elapsed_ms": 1.0, "limits": {"rows": 1000}}


@pytest.fixture
def app_url(asgi_server) -> str:
    return asgi_server.url


def test_a_result_page_asks_nothing_while_its_job_runs(asgi_server, new_page, sign_in):
    team, (olivia, _, _) = acme_trio()
    dataset = make_dataset(team)
    success = make_success(team, dataset, by=olivia)
    # Queued and never run (no worker takes it): the test finishes it, as a worker would
    # in another process whose notice this server does not hear.
    job = AnalysisJob.objects.create(team=team, dataset=dataset, dataset_version=1, kind="sql",
                                     success=success.definition, options={"sql": "SELECT 1"},
                                     success_definition=success)
    url = reverse("explore:result", kwargs={"team_slug": team.slug, "job_id": job.pk})
    page = sign_in(new_page(LAPTOP), asgi_server, olivia)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if url in r.url and "/live/" not in r.url
            else None)
    with page.expect_response(lambda r: "/live/" in r.url and r.status == 200):
        page.goto(url)
    page.get_by_text("Working on it").wait_for()
    page.wait_for_timeout(2500)
    assert len(asked) == 1, asked  # the page itself; no region fetched while it runs
    loaded = page.evaluate("() => performance.timeOrigin")

    AnalysisJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, result=SQL_RESULT)
    # Without the notice the server reads the job's row every 5 seconds.
    page.get_by_text("1 row").first.wait_for(timeout=10_000)
    page.get_by_role("button", name="Keep as a team finding").wait_for()
    assert len(asked) == 2, asked  # the region, once
    assert page.evaluate("() => performance.timeOrigin") == loaded
