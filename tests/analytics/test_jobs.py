"""The job row is the truth: claims are conditional, stale heartbeats are taken over, and
an attempt that lost its claim cannot write."""

from datetime import timedelta

import pytest
from django.utils import timezone

from analytics import jobs
from analytics.models import Dataset, DatasetImport, JobStatus


@pytest.fixture
def import_job(team, owner):
    dataset = Dataset.objects.create(team=team, name="Events", created_by=owner)
    return DatasetImport.objects.create(dataset=dataset, version=1, created_by=owner)


def test_a_queued_job_is_claimed_once(import_job):
    first = jobs.claim(DatasetImport, import_job.pk)
    second = jobs.claim(DatasetImport, import_job.pk)
    assert first is not None and first.status == JobStatus.RUNNING and first.attempts == 1
    assert second is None


def test_a_queued_job_is_claimed_in_two_queries(import_job, django_assert_num_queries):
    """The claim and the row: the look for a job that used up its attempts comes only
    when the claim fails (a worker starts hundreds of jobs in a meeting)."""
    with django_assert_num_queries(2):
        assert jobs.claim(DatasetImport, import_job.pk) is not None


def test_a_finished_job_is_never_claimed_again(import_job):
    job = jobs.claim(DatasetImport, import_job.pk)
    assert jobs.finish(job, status=JobStatus.DONE)
    assert jobs.claim(DatasetImport, import_job.pk) is None
    assert not jobs.is_running_elsewhere(DatasetImport, import_job.pk)


def test_a_job_whose_worker_went_quiet_is_taken_over_and_the_old_attempt_cannot_write(import_job):
    old = jobs.claim(DatasetImport, import_job.pk)
    DatasetImport.objects.filter(pk=import_job.pk).update(
        heartbeat_at=timezone.now() - jobs.STALE_AFTER - timedelta(seconds=1)
    )
    new = jobs.claim(DatasetImport, import_job.pk)
    assert new is not None and new.attempts == 2
    assert not jobs.finish(old, status=JobStatus.FAILED, error="late")
    assert jobs.finish(new, status=JobStatus.DONE)
    import_job.refresh_from_db()
    assert import_job.status == JobStatus.DONE and import_job.error == ""


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone(import_job):
    jobs.claim(DatasetImport, import_job.pk)
    assert jobs.claim(DatasetImport, import_job.pk) is None
    assert jobs.is_running_elsewhere(DatasetImport, import_job.pk)


def test_a_job_that_keeps_killing_its_worker_is_failed_after_the_last_attempt(import_job):
    for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
        claimed = jobs.claim(DatasetImport, import_job.pk)
        assert claimed is not None and claimed.attempts == attempt
        DatasetImport.objects.filter(pk=import_job.pk).update(
            heartbeat_at=timezone.now() - jobs.STALE_AFTER - timedelta(seconds=1)
        )
    assert jobs.claim(DatasetImport, import_job.pk) is None
    import_job.refresh_from_db()
    assert import_job.status == JobStatus.FAILED
    assert f"after {jobs.MAX_ATTEMPTS} attempts" in import_job.error


def test_a_released_job_does_not_use_up_an_attempt(import_job):
    claimed = jobs.claim(DatasetImport, import_job.pk)
    assert jobs.release(claimed)
    again = jobs.claim(DatasetImport, import_job.pk)
    assert again.attempts == 1
