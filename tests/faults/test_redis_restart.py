"""Redis restarted in the middle of a session, with tests running and queued: nothing the
members wrote is lost, and every job runs, once.

Redis here keeps nothing on disk (as on the CI machine), so a restart loses every queued
message. The job rows are the truth: the sweeper (ops.requeue_stale_jobs, every minute in
production) sends new messages for the jobs still queued; the one that was running when
Redis went away finishes on its own, its result being written to PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from analytics.models import AnalysisJob, JobStatus
from ops import sweeper
from ops.tasks import requeue_stale_jobs
from sessions import services
from sessions.models import Finding, Hypothesis, HypothesisTest
from sessions.steps import Step
from tests.faults.conftest import waiting
from tests.load import processes
from tests.worksessions.factories import (
    INVITED,
    LOGINS,
    MOBILE_FIRST,
    PRO,
    make_dataset,
    make_session,
    move_to,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.celery_worker,
              pytest.mark.slow]

SLOW = 3  # seconds each analysis takes in the worker, so that jobs pile up behind it


def finished(jobs, workers, *, timeout: float = 60) -> None:
    def done() -> bool:
        return not AnalysisJob.objects.filter(pk__in=jobs).exclude(
            status__in=[JobStatus.DONE, JobStatus.FAILED]).exists()

    try:
        processes.wait_until(done, timeout=timeout, what="the jobs finished", every=0.3)
    except AssertionError:
        states = list(AnalysisJob.objects.filter(pk__in=jobs).values_list("pk", "status"))
        raise AssertionError(f"jobs {states}\n{workers.logs()}") from None


def test_redis_restarted_during_a_session(broker, workers, journal, web, team, owner,
                                          teammate):
    dataset = make_dataset(team, n_users=120)
    session = make_session(team, owner, members=(teammate,), dataset=dataset)
    session = move_to(session, Step.HYPOTHESES)
    entries = [services.hypothesis_create(session=session, author=teammate, text=text,
                                          criterion=criterion)
               for text, criterion in [("Inviters buy", INVITED), ("Pro buys", PRO),
                                       ("Mobile first buys less", MOBILE_FIRST)]]
    move_to(session, Step.TEST)
    workers.start(FAULT_SLOW_SECONDS=str(SLOW))
    tom, olivia = web.browser(teammate), web.browser(owner)
    base = f"/t/{team.slug}/sessions/{session.pk}/"
    assert tom.get(base, "page").status == 200  # the page, and its CSRF cookie
    assert olivia.get(base, "page").status == 200

    # Tom runs his three tests: the first one runs, two wait in Redis.
    for entry in entries:
        answer = tom.post(f"{base}entries/{entry.pk}/test/", "test", {"confirmed": "1"})
        assert answer.status == 302
    jobs = list(HypothesisTest.objects.filter(session=session)
                .values_list("job_id", flat=True).order_by("pk"))
    assert len(jobs) == 3
    processes.wait_until(lambda: journal.lines(event="started", job=jobs[0]), timeout=30,
                         what="the first test running")
    assert waiting(broker) == "2"

    broker.shutdown()
    # While Redis is away the meeting goes on: writes only need PostgreSQL.
    assert olivia.post(f"{base}entries/new/", "hypothesis", {
        "kind": "hypothesis", "text": "Frequent users buy", "new-rows": "1",
        "new-0-kind": "event_count", "new-0-event": "login", "new-0-op": ">=",
        "new-0-value": "3", "new-0-within_days": "7"}).status == 302
    assert tom.post(f"{base}findings/new/", "finding", {
        "text": "Inviting looks strong", "kind": "insight", "test": "", "step": Step.TEST,
    }).status == 302
    assert tom.get(base, "page").status == 200
    # A test asked for now is recorded, though its message cannot be sent (the answer is
    # an error page today: see the final report; the row is what matters here).
    fourth = Hypothesis.objects.get(session=session, text="Frequent users buy")
    assert fourth.criterion == LOGINS
    answer = olivia.post(f"{base}entries/{fourth.pk}/test/", "test", {"confirmed": "1"},
                         expect=(302, 500))
    assert answer is not None and answer.status in (302, 500)
    assert HypothesisTest.objects.filter(hypothesis=fourth).exists()
    broker.start()  # empty: the queued messages are gone
    assert waiting(broker) == "0"

    # The test that was running finishes on its own.
    finished(jobs[:1], workers)
    jobs = list(HypothesisTest.objects.filter(session=session)
                .values_list("job_id", flat=True).order_by("pk"))
    assert AnalysisJob.objects.filter(pk__in=jobs, status=JobStatus.QUEUED).count() == 3

    # Saving the fourth hypothesis also asked for a quick count of its group (issue 11),
    # queued while Redis was away: its message is gone too.
    counts = AnalysisJob.objects.filter(kind=AnalysisJob.Kind.COUNT, status=JobStatus.QUEUED)
    assert counts.count() == 1
    # A minute later the sweeper finds the queued jobs behind an empty queue.
    with time_machine.travel(timezone.now() + sweeper.QUEUED_GRACE + timedelta(seconds=5)):
        assert requeue_stale_jobs() == 3 + 1

    finished(jobs, workers)
    for job in AnalysisJob.objects.filter(pk__in=jobs):
        assert job.status == JobStatus.DONE and job.attempts == 1, (job.pk, job.error)
        assert [line["attempt"] for line in journal.lines(event="computed", job=job.pk)] == [1]
    # Nothing the members wrote is lost.
    assert Hypothesis.objects.filter(session=session).count() == 4
    assert Finding.objects.filter(session=session, text="Inviting looks strong").exists()
    assert tom.get(base, "page").status == 200
