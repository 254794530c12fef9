"""A Phase 1 demo for `make run`: the demo dataset mapped and confirmed, a dashboard with
the worksheet's segments that matter for the demo product, set up, with this week's
snapshot and an insight. Runs every job in this process (a demo must be ready when the
command returns) and is safe to run again: it only adds what is missing."""

from __future__ import annotations

import time

from accounts.models import Team, User
from analytics.models import AnalysisJob, Dataset, JobStatus, SuccessDefinition
from analytics.tasks import run_analysis

from . import review, services
from .models import Dashboard, WeeklySnapshot

DEMO_DASHBOARD = "Activation by segment (demo)"
DEMO_SEGMENTS = ["saas.logins", "tech.integrations", "tech.mobile", "firmo.company_size",
                 "firmo.growth", "saas.adoption"]
DEMO_INSIGHT = ("Users who connect an integration in their first two weeks subscribe about "
                "twice as often: worth a nudge in onboarding.")


def _run_now(job: AnalysisJob | None, *, wait_seconds: float = 300) -> None:
    """Run a queued job here and now (a copy of its task arriving later finds it done), or
    wait for the worker thread that took it first."""

    if job is None:
        return
    job.refresh_from_db()
    if job.status == JobStatus.QUEUED:
        run_analysis(job.pk)
    deadline = time.monotonic() + wait_seconds
    while not job.is_finished and time.monotonic() < deadline:
        time.sleep(0.2)  # a command waiting for a thread of its own process
        job.refresh_from_db()


def create_demo_dashboard(*, team: Team, dataset: Dataset,
                          success_definition: SuccessDefinition, user: User) -> Dashboard:
    mapping_row = services.mapping_start(dataset=dataset)
    mapping_row.refresh_from_db()
    _run_now(mapping_row.profile_job)
    if not mapping_row.guessed_with_values:
        services.mapping_apply_profile(mapping_row.pk)
        mapping_row.refresh_from_db()
    if not mapping_row.is_confirmed:
        services.mapping_confirm(mapping_row=mapping_row, roles=mapping_row.roles, user=user)

    dashboard = Dashboard.objects.filter(team=team, name=DEMO_DASHBOARD).first()
    if dashboard is None:
        dashboard = services.dashboard_create(team=team, name=DEMO_DASHBOARD, dataset=dataset,
                                              success_definition=success_definition,
                                              user=user)
    if not dashboard.segments.exists():
        services.dashboard_add_catalog_segments(dashboard=dashboard, keys=DEMO_SEGMENTS,
                                                mapping_row=mapping_row)
    dashboard.refresh_from_db()
    _run_now(services.dashboard_compute(dashboard))
    if not dashboard.is_confirmed:
        services.dashboard_confirm(dashboard=dashboard, user=user)
    dashboard.refresh_from_db()

    week = review.week_of()
    snapshot = WeeklySnapshot.objects.filter(dashboard=dashboard, week=week).first()
    if snapshot is None:
        # The demo's members are not real people: no digest for this first snapshot.
        snapshot, _ = review.snapshot_take(dashboard, week=week, send_digest=False)
        _run_now(snapshot.job)
        review.snapshot_finish(snapshot.pk)
    if not dashboard.notes.exists():
        review.note_add(dashboard=dashboard, week=week, text=DEMO_INSIGHT, author=user,
                        segment_key="tech.integrations")
    return dashboard
