"""The production path of the SQL console: a runaway query sent through Redis is stopped
in the worker within its limit, and the same worker runs the next job normally."""

import pytest

from analytics.models import AnalysisJob, JobStatus
from explore import services
from explore.selectors import Where
from tests.celery_worker import wait_for
from tests.worksessions.factories import make_dataset, make_success

pytestmark = [pytest.mark.celery_worker, pytest.mark.redis, pytest.mark.postgres]


def finished(job):
    return wait_for(lambda: AnalysisJob.objects.filter(
        pk=job.pk, status__in=[JobStatus.DONE, JobStatus.FAILED]).first(), timeout=90)


def test_runaway_queries_stop_and_the_worker_stays_healthy(celery_worker, team, owner):
    dataset = make_dataset(team)
    where = Where(dataset=dataset, success=make_success(team, dataset, by=owner))

    def ask(sql):
        return services.question_ask(team=team, user=owner, where=where, kind="sql",
                                     question={"sql": sql})

    huge = finished(ask("SELECT length(repeat('x', 2000000000)) AS n"))
    assert huge.status == JobStatus.FAILED and "memory" in huge.error
    hungry = finished(ask("SELECT list(repeat('x', 1000000)) FROM range(100000)"))
    assert hungry.status == JobStatus.FAILED and "memory" in hungry.error
    assert celery_worker.poll() is None  # the worker process is alive
    after = finished(ask("SELECT count(*) AS n FROM users"))
    assert after.status == JobStatus.DONE and after.result["rows"] == [[240]]
