"""Appends build on each other in order, and never reuse a version number."""

from pathlib import Path

import pytest

from analytics import jobs
from analytics.execution import NotYetRunnable, import_execute
from analytics.models import Dataset, DatasetImport, JobStatus
from analytics.services import (
    dataset_append,
    import_now,
    stage_path,
    staging_dir,
)


def csv(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("user_id,event,timestamp\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture
def dataset(team, owner, tmp_path) -> Dataset:
    job = import_now(team=team, name="Base", mapping={}, users=None,
                     events=[csv(tmp_path, "a.csv", ["a,login,2024-01-01T00:00:00Z"])])
    return Dataset.objects.get(pk=job.dataset_id)


def test_each_append_adds_to_the_one_before(dataset, owner, tmp_path):
    for i, user in enumerate(["b", "c"]):
        files = [stage_path(staging_dir(), csv(tmp_path, f"{user}.csv",
                                               [f"{user},login,2024-01-0{i + 2}T00:00:00Z"]),
                            role="events")]
        dataset_append(dataset=dataset, created_by=owner, files=files, mapping={})
    dataset.refresh_from_db()
    assert dataset.current_version == 3
    assert dataset.schema["n_users"] == 3 and dataset.schema["n_events"] == 3


def test_an_append_waits_while_an_earlier_one_is_on_its_way(dataset, owner, tmp_path, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # as with a real worker: jobs may overtake
    first = DatasetImport.objects.create(dataset=dataset, kind="append", version=2, mapping={},
                                         files=[], created_by=owner)
    second = DatasetImport.objects.create(dataset=dataset, kind="append", version=3, mapping={},
                                          files=[], created_by=owner)
    claimed = jobs.claim(DatasetImport, second.pk)
    with pytest.raises(NotYetRunnable):
        import_execute(claimed)
    assert jobs.release(claimed)
    second.refresh_from_db()
    assert second.status == JobStatus.QUEUED
    assert first.status == JobStatus.QUEUED


def test_a_dataset_without_import_rows_gets_a_new_version_number(dataset, owner, tmp_path):
    dataset.imports.all().delete()  # e.g. a restored dataset
    files = [stage_path(staging_dir(), csv(tmp_path, "d.csv", ["d,login,2024-01-05T00:00:00Z"]),
                        role="events")]
    job, created = dataset_append(dataset=dataset, created_by=owner, files=files, mapping={})
    assert created and job.version == 2
    dataset.refresh_from_db()
    assert dataset.current_version == 2 and dataset.version(1).path.exists()
