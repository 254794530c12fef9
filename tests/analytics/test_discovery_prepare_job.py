"""The job made after each import that keeps a version's discovery measures: one per
version, behind everyone's jobs, and a working session's discovery then reads no events
and answers as computing them does."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from analytics import services
from analytics.engine import discovery, discovery_store, discovery_table
from analytics.models import AnalysisJob, JobStatus
from analytics.scheduling import BACKGROUND_PRIORITY
from tests.analytics.test_discovery import SUBSCRIBE, product

SUCCESS = SUBSCRIBE


def _csv(path, rows):
    names = list(dict.fromkeys(k for row in rows for k in row))
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, names)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: v.isoformat() if hasattr(v, "isoformat") else v
                             for k, v in row.items()})
    return path


@pytest.fixture
def imported(tmp_path, team):
    events, users = product(seed=21, n_users=300, n_events=9, n_properties=6)
    job = services.import_now(team=team, name="shop", events=[_csv(tmp_path / "e.csv", events)],
                              users=_csv(tmp_path / "u.csv", users), mapping={})
    job.dataset.refresh_from_db()
    return job.dataset


def test_an_import_leaves_the_discovery_measures_of_its_version(imported):
    [job] = AnalysisJob.objects.filter(dataset=imported, kind=AnalysisJob.Kind.PREPARE)
    assert job.dataset_version == imported.current_version and job.status == JobStatus.DONE
    assert job.options == {"within_days": services.DISCOVERY_WINDOW_DAYS}
    assert job.result["measures"] > 0
    assert discovery_store.store_dir(imported.version(), services.DISCOVERY_WINDOW_DAYS).is_dir()
    # One per version: asking again gives the same job.
    assert services.discovery_prepare_ensure(imported).pk == job.pk


def test_it_waits_behind_everyones_jobs(imported, monkeypatch):
    sent = []
    monkeypatch.setattr(services, "enqueue",
                        lambda name, *args, then=None, priority=None: sent.append(priority))
    AnalysisJob.objects.filter(kind=AnalysisJob.Kind.PREPARE).delete()
    services.discovery_prepare_ensure(imported)
    assert sent == [BACKGROUND_PRIORITY]


def test_a_discovery_job_reads_the_kept_measures(imported, team, monkeypatch):
    version = imported.version()
    reads = []
    real = discovery_table.read_window_rows
    monkeypatch.setattr(discovery_table, "read_window_rows",
                        lambda *args: reads.append(args) or real(*args))
    job = services.analysis_submit(team=team, dataset=imported, success=SUCCESS,
                                   kind=AnalysisJob.Kind.DISCOVER,
                                   options={"within_days": services.DISCOVERY_WINDOW_DAYS,
                                            "top": 100})
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and reads == []
    shutil.rmtree(version.cache_dir)
    computed = discovery.discover(version, SUCCESS, within_days=services.DISCOVERY_WINDOW_DAYS,
                                  top=100)
    assert reads and computed["tried"] > 40
    assert job.result == json.loads(json.dumps(computed))
