"""A result page follows its job by server push (explore.live, views.result_live): its
stream says `done` once the job has finished, whoever finished it, and the page then
fetches its region once. Driven through the ASGI application, as uvicorn would serve it."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse

from analytics.jobs import job_changed
from analytics.models import AnalysisJob, JobStatus
from explore import live, views
from tests.worksessions.test_push import Stream, cookie_of, run, streams  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("streams")]


@pytest.fixture
def job(team, dataset, success):
    return AnalysisJob.objects.create(team=team, dataset=dataset, dataset_version=1, kind="sql",
                                      success=success.definition, options={"sql": "SELECT 1"},
                                      success_definition=success)


def live_path(job) -> str:
    return reverse("explore:result_live", kwargs={"team_slug": job.team.slug, "job_id": job.pk})


async def following(job) -> None:
    """Until the stream has read the job as running and waits for news of it."""
    for _ in range(500):
        if job.pk in live.WAITING:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the stream never followed the job")


def finish(job) -> None:
    """As a worker ends a job: the row, then the signal."""
    AnalysisJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE)
    job_changed.send(sender=AnalysisJob, job_id=job.pk)


def following_as(owner, job, monkeypatch, check_every: float) -> tuple[str, str]:
    """(the stream's path, the owner's cookie), the job's row read this often."""
    monkeypatch.setattr(views, "LIVE_CHECK_EVERY", check_every)
    return live_path(job), cookie_of(owner)


def test_a_job_ending_elsewhere_reaches_its_result_page(job, owner, monkeypatch):
    # Only the notice can tell the stream this soon: it would read the row in a minute.
    path, cookie = following_as(owner, job, monkeypatch, 60.0)

    async def scenario():
        async with Stream(path, cookie) as stream:
            await following(job)
            with pytest.raises(TimeoutError):
                await stream.event(timeout=0.5)  # still working: nothing to say
            assert stream.status == 200
            await sync_to_async(finish)(job)
            assert (await stream.event(timeout=5))["event"] == "done"
        assert job.pk not in live.WAITING  # the stream let go of its wait

    run(scenario())


def test_a_lost_notice_costs_seconds_not_the_result(job, owner, monkeypatch):
    path, cookie = following_as(owner, job, monkeypatch, 0.3)

    async def scenario():
        async with Stream(path, cookie) as stream:
            await following(job)
            # The row changes and no notice is sent (a process cut off from Redis).
            await sync_to_async(lambda: AnalysisJob.objects.filter(pk=job.pk).update(
                status=JobStatus.FAILED))()
            assert (await stream.event(timeout=5))["event"] == "done"

    run(scenario())


def test_a_finished_job_says_done_at_once_and_outsiders_get_nothing(job, owner, outsider):
    AnalysisJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE)
    path, cookie, outsiders = live_path(job), cookie_of(owner), cookie_of(outsider)

    async def scenario():
        async with Stream(path, cookie) as stream:
            assert (await stream.event(timeout=5))["event"] == "done"
        async with Stream(path, outsiders) as stream:
            with pytest.raises(TimeoutError):
                await stream.event(timeout=1)
            assert stream.status == 404
        async with Stream(path, "") as stream:
            with pytest.raises(TimeoutError):
                await stream.event(timeout=1)
            assert stream.status == 404

    run(scenario())


def test_a_wsgi_server_says_it_cannot_stream(client, job, owner):
    client.force_login(owner)
    # On a thread of its own: the test client runs the async view with async_to_sync,
    # which refuses a thread where Playwright keeps its loop running.
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(client.get, live_path(job)).result()
    assert answer.status_code == 200 and answer["Content-Type"] == "text/event-stream"
    assert answer.content.decode().startswith("event: unsupported")
