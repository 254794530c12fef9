"""The production path: a job queued by the app is run by a separate Celery worker
process that takes it from Redis, and its result is the same JSON the CLI prints."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from analytics.models import AnalysisJob, DatasetImport, JobStatus
from analytics.services import analysis_submit, dataset_create, stage_path, staging_dir
from tests.celery_worker import wait_for

pytestmark = [pytest.mark.celery_worker, pytest.mark.redis, pytest.mark.postgres]

EVENTS = """user_id,event,timestamp
a,signup,2024-01-01T10:00:00Z
a,purchase,2024-01-02T10:00:00Z
b,signup,2024-01-01T09:00:00Z
c,signup,2024-01-05T09:00:00Z
c,login,2024-01-05T09:30:00Z
c,purchase,2024-01-05T10:00:00Z
"""


def test_an_import_and_an_analysis_run_in_the_worker_process(celery_worker, team, owner, tmp_path):
    source = tmp_path / "events.csv"
    source.write_text(EVENTS)
    directory = staging_dir()
    job = dataset_create(team=team, name="Through Redis", created_by=owner,
                         files=[stage_path(directory, source, role="events")], mapping={})
    done = wait_for(lambda: DatasetImport.objects.filter(
        pk=job.pk, status__in=[JobStatus.DONE, JobStatus.FAILED]).first(), timeout=90)
    assert done.status == JobStatus.DONE, done.error
    dataset = done.dataset
    dataset.refresh_from_db()
    assert dataset.current_version == 1 and dataset.schema["n_users"] == 3

    success = {"events": ["purchase"]}
    criterion = {"kind": "did_event", "event": "login"}
    analysis = analysis_submit(team=team, dataset=dataset, success=success, criterion=criterion,
                               created_by=owner)
    finished = wait_for(lambda: AnalysisJob.objects.filter(
        pk=analysis.pk, status__in=[JobStatus.DONE, JobStatus.FAILED]).first(), timeout=90)
    assert finished.status == JobStatus.DONE, finished.error
    assert finished.attempts == 1

    out = StringIO()
    call_command("analyze", "--events", str(source), "--success", json.dumps(success),
                 "--criterion", json.dumps(criterion), stdout=out)
    assert finished.result == json.loads(out.getvalue())

    log = (tmp_path / "worker.log").read_text()
    assert "analytics.run_analysis[" in log and "succeeded" in log
