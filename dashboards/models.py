"""Phase 1: the team's own segments, segmented dashboards, their weekly snapshots and the
trends and insights the team logs. A dataset's role mapping lives in segments.models; a
session finding pinned to a dashboard in sessions.models (sessions sits above dashboards).

Numbers are never computed here: a dashboard's trend is an AnalysisJob (kind "trend") that
a Celery worker runs; a weekly snapshot keeps a copy of its job's result, so that history
stays readable when the data or the definitions change later."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class TeamSegment(models.Model):
    """A segment the team defined itself, beside the catalog's: a breakdown, a criterion
    or ordered criteria buckets (analytics.engine.trends.validate_segment), checked against the
    dataset it was made for."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE,
                             related_name="own_segments")
    name = models.CharField(max_length=120)
    definition = models.JSONField()
    description = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="team_segment_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Dashboard(models.Model):
    """Success by segment over time for one dataset and one success definition (its
    lineage: a revised definition is followed, and charts mark where it changed)."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE,
                             related_name="dashboards")
    name = models.CharField(max_length=120)
    dataset = models.ForeignKey("analytics.Dataset", on_delete=models.PROTECT,
                                related_name="dashboards")
    # The version chosen when the dashboard was made; computations use the lineage's
    # current version and record which one they used.
    success_definition = models.ForeignKey("analytics.SuccessDefinition",
                                           on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The latest live computation and what it was computed from.
    current_job = models.ForeignKey("analytics.AnalysisJob", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    current_fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="dashboard_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class DashboardSegment(models.Model):
    """One segment on a dashboard. `definition` is the engine segment frozen when it was
    added (from the catalog through the mapping, or a team segment), so a later change
    of mapping does not silently change what the history means."""

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="segments")
    position = models.PositiveSmallIntegerField(default=0)
    catalog_key = models.CharField(max_length=40, blank=True)
    team_segment = models.ForeignKey(TeamSegment, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=120)
    group = models.CharField(max_length=40, blank=True)
    definition = models.JSONField()
    explanation = models.CharField(max_length=500, blank=True)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["dashboard", "catalog_key"],
                                    condition=~models.Q(catalog_key=""),
                                    name="catalog_segment_once_per_dashboard"),
            models.UniqueConstraint(fields=["dashboard", "team_segment"],
                                    condition=models.Q(team_segment__isnull=False),
                                    name="team_segment_once_per_dashboard"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def key(self) -> str:
        return self.definition.get("key", "")


class WeeklySnapshot(models.Model):
    """A dashboard as it stood in one ISO week, taken by the weekly review. One per
    (dashboard, week): the beat job may run twice, a second run finds the row and adds
    nothing."""

    class Status(models.TextChoices):
        COMPUTING = "computing", "Computing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="snapshots")
    week = models.DateField(help_text="Monday of the ISO week the snapshot belongs to")
    success_definition = models.ForeignKey("analytics.SuccessDefinition",
                                           on_delete=models.PROTECT, related_name="+")
    dataset_version = models.PositiveIntegerField()
    segments = models.JSONField(default=list)  # [{"key", "name", "group"}] as they were
    job = models.ForeignKey("analytics.AnalysisJob", null=True, blank=True,
                            on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices,
                              default=Status.COMPUTING)
    result = models.JSONField(null=True, blank=True)  # the trend, copied from the job
    changes = models.JSONField(null=True, blank=True)  # analytics.engine.trends.week_changes
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    digest_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-week"]
        constraints = [
            models.UniqueConstraint(fields=["dashboard", "week"],
                                    name="one_snapshot_per_dashboard_week"),
        ]

    def __str__(self) -> str:
        return f"{self.dashboard} · week of {self.week:%d %b %Y}"

    @property
    def iso_week(self) -> str:
        year, number, _ = self.week.isocalendar()
        return f"{year}-W{number:02d}"


class ReviewNote(models.Model):
    """A trend the team noticed or an insight it shares, logged against a week and,
    optionally, one bucket of one segment."""

    class Kind(models.TextChoices):
        TREND = "trend", "Trend"
        INSIGHT = "insight", "Insight"

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="notes")
    week = models.DateField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.INSIGHT)
    segment_key = models.CharField(max_length=120, blank=True)
    bucket = models.CharField(max_length=120, blank=True)
    text = models.TextField(max_length=2000)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-week", "created_at"]

    def __str__(self) -> str:
        return self.text[:80]
