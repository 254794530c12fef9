"""The Phase 1 demo that `make run` can load."""

import tempfile
from pathlib import Path

import pytest

from analytics.engine.demo_data import write_demo_files
from analytics.services import import_now, success_definition_create
from dashboards.demo import DEMO_SEGMENTS, create_demo_dashboard
from dashboards.models import Dashboard, WeeklySnapshot

pytestmark = pytest.mark.django_db


def test_demo_dashboard_is_set_up_reviewed_and_idempotent(team, owner, mailoutbox):
    with tempfile.TemporaryDirectory() as folder:
        events, users = write_demo_files(Path(folder), n_users=300)
        job = import_now(team=team, name="Demo", events=[events], users=users, mapping={},
                         created_by=owner, is_demo=True)
    dataset = job.dataset
    dataset.refresh_from_db()
    success = success_definition_create(team=team, name="Subscribed within 14 days",
                                        definition={"events": ["subscribe"],
                                                    "within_days": 14},
                                        created_by=owner, dataset=dataset)
    dashboard = create_demo_dashboard(team=team, dataset=dataset, success_definition=success,
                                      user=owner)
    assert dashboard.is_confirmed
    assert [s.catalog_key for s in dashboard.segments.all()] == DEMO_SEGMENTS
    assert dashboard.current_job.status == "done"
    snapshot = WeeklySnapshot.objects.get(dashboard=dashboard)
    assert snapshot.status == "done" and snapshot.changes["rows"]
    assert dashboard.notes.count() == 1
    assert mailoutbox == []  # the demo's members are not mailed
    again = create_demo_dashboard(team=team, dataset=dataset, success_definition=success,
                                  user=owner)
    assert again.pk == dashboard.pk and Dashboard.objects.count() == 1
    assert WeeklySnapshot.objects.count() == 1 and again.notes.count() == 1
