"""The upload service's own rules, below the page and the API: what is left on disk after a
refusal, and the idempotency key when the early look-up is raced past."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from analytics import services, uploads
from analytics.models import Dataset, DatasetImport
from analytics.staging import stage_path, staging_dir

pytestmark = pytest.mark.django_db


def staged_directories() -> list[Path]:
    root = Path(settings.DATA_DIR) / "staging"
    return list(root.iterdir()) if root.exists() else []


def test_files_the_guess_cannot_read_are_refused_and_removed():
    with pytest.raises(uploads.UploadRefused, match="is not a Parquet file"):
        uploads.upload_begin(events=[SimpleUploadedFile("events.parquet", b"not parquet")],
                             users=None)
    assert staged_directories() == []


def test_a_duplicate_name_leaves_nothing_staged(team, owner):
    Dataset.objects.create(team=team, name="Shop")
    with pytest.raises(uploads.UploadRefused, match="already has a dataset named") as refused:
        uploads.upload_create(team=team, name="Shop", created_by=owner, users=None,
                              events=[SimpleUploadedFile("e.csv", b"user_id,event,timestamp\n")],
                              mapping='{"user_id": "user_id"}')
    assert refused.value.status == 400
    assert staged_directories() == []


def test_a_key_used_meanwhile_returns_its_import_and_adds_nothing(team, owner, tmp_path):
    """Two retries may both pass the look-up in events_append; the database's unique key
    lets only one of them add a version."""
    source = tmp_path / "b.csv"
    source.write_text("user_id,event,timestamp\nb,login,2024-01-02T00:00:00Z\n")
    dataset = Dataset.objects.create(team=team, name="Base", current_version=1)

    def append():
        files = [stage_path(staging_dir(), source, role="events")]
        return services.dataset_append(dataset=dataset, created_by=owner, files=files,
                                       mapping={}, idempotency_key="nightly")

    first, created = append()
    again, created_again = append()
    assert created and not created_again
    assert again.pk == first.pk
    assert DatasetImport.objects.filter(dataset=dataset).count() == 1


def age(directory: Path, hours: float) -> None:
    """Make the upload look `hours` old, by the file system's clock (as the sweep reads it)."""
    import os

    then = directory.stat().st_mtime - hours * 3600
    for path in [directory, *directory.rglob("*")]:
        os.utime(path, (then, then))


def test_abandoned_drafts_are_removed_after_a_day_unless_an_import_needs_them(team, owner):
    from analytics.staging import remove_abandoned

    def draft():
        return uploads.upload_begin(
            events=[SimpleUploadedFile("e.csv", b"user_id,event,timestamp\n"
                                                b"a,x,2024-01-01T00:00:00Z\n")], users=None)

    old, fresh, waiting = draft(), draft(), draft()
    old_dir, fresh_dir, waiting_dir = (Path(d.files[0]["path"]).parents[1]
                                       for d in (old, fresh, waiting))
    age(old_dir, 25)
    age(fresh_dir, 23)
    age(waiting_dir, 25)
    dataset = Dataset.objects.create(team=team, name="Waiting")
    DatasetImport.objects.create(dataset=dataset, version=1, files=waiting.files,
                                 mapping=waiting.mapping, status="queued")
    assert remove_abandoned() == [old_dir]
    assert sorted(staged_directories()) == sorted([fresh_dir, waiting_dir])
    # The next draft tidies up too, where no beat runs.
    age(fresh_dir, 25)
    draft()
    assert fresh_dir not in staged_directories() and waiting_dir in staged_directories()
