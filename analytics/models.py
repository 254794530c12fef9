import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone

from .engine.storage import DatasetSchema, DatasetVersion, version_dir


class Dataset(models.Model):
    """A team's events and users. Its data lives as Parquet under DATA_DIR, one immutable
    directory per version; `current_version` is the one analyses read."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    current_version = models.PositiveIntegerField(null=True, blank=True)
    # A copy of the current version's schema.json, so that forms and validation never
    # read files in a request.
    schema = models.JSONField(null=True, blank=True)
    is_demo = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="dataset_name_unique_in_team")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def directory(self) -> Path:
        return Path(settings.DATA_DIR) / "datasets" / str(self.pk)

    @property
    def is_ready(self) -> bool:
        return self.current_version is not None

    def version(self, number: int | None = None) -> DatasetVersion:
        number = self.current_version if number is None else number
        if number is None:
            raise ValueError(f"dataset {self.pk} has no published version yet")
        return DatasetVersion(version_dir(self.directory, number))

    def schema_object(self) -> DatasetSchema | None:
        return DatasetSchema(**self.schema) if self.schema else None


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class JobFields(models.Model):
    """What every background job row has. The row, not the broker, is the truth about a
    job: a worker claims it with a conditional UPDATE and keeps a heartbeat while it runs,
    so a redelivered or duplicated message is harmless and a dead worker's job is picked
    up again."""

    status = models.CharField(
        max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class DatasetImport(JobFields):
    """One import (a new dataset or a new version from appended events)."""

    class Kind(models.TextChoices):
        CREATE = "create", "New dataset"
        APPEND = "append", "Appended events"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="imports")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CREATE)
    version = models.PositiveIntegerField()
    mapping = models.JSONField(default=dict)
    # Staged files: [{"role": "events"|"users", "path": "...", "name": "original.csv"}]
    files = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    idempotency_key = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "version"], name="one_import_per_version"),
            models.UniqueConstraint(
                fields=["dataset", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="import_idempotency_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} v{self.version} ({self.status})"


class AnalysisJob(JobFields):
    """One analysis: a criterion or breakdown test, or a discovery run, over one version of
    a dataset. `result` holds the engine's JSON exactly as the CLI prints it."""

    class Kind(models.TextChoices):
        ANALYZE = "analyze", "Test"
        DISCOVER = "discover", "Discovery"
        COMPARE = "compare", "Two groups"
        STRATIFY = "stratify", "Confounding check"
        SQL = "sql", "SQL query"
        TREND = "trend", "Dashboard trend"
        PROFILE = "profile", "Column values"
        # Issue 11: the values in the data for forms (one per dataset version), a quick
        # count of a criterion's group before a test, a success definition's population.
        VALUES = "values", "Values in the data"
        COUNT = "count", "Group size"
        PREVIEW = "preview", "Success preview"
        # Issue 13: discovery's behaviour measures of a version, kept after each import.
        PREPARE = "prepare", "Discovery measures"

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="+")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="jobs")
    dataset_version = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ANALYZE)
    success = models.JSONField()
    criterion = models.JSONField(null=True, blank=True)
    breakdown = models.JSONField(null=True, blank=True)
    # unsuccessful, population_filter, within_days, top, group_b, sql, segments
    options = models.JSONField(default=dict, blank=True)
    result = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    # Where the job was asked: in a working session's explorer, for a dashboard, with
    # which version of a success definition. A job outlives them all (its result stays
    # readable), so each link is cleared when its row goes.
    session = models.ForeignKey(
        "worksessions.WorkingSession", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    dashboard = models.ForeignKey(
        "dashboards.Dashboard", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    success_definition = models.ForeignKey(
        "analytics.SuccessDefinition", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} ({self.status})"


class SuccessDefinition(models.Model):
    """What counts as success for a team (definitions.md section 2), by name. Editing one
    that results already used makes a new version (a new row in the same lineage), so
    every result keeps pointing at the exact definition it was computed with."""

    team = models.ForeignKey(
        "accounts.Team", on_delete=models.CASCADE, related_name="success_definitions"
    )
    lineage = models.UUIDField(default=uuid.uuid4, db_index=True)
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    name = models.CharField(max_length=120)
    definition = models.JSONField()
    description = models.CharField(max_length=500, blank=True)  # in plain words
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["lineage", "version"], name="one_row_per_version"),
            models.UniqueConstraint(
                fields=["lineage"], condition=models.Q(is_current=True),
                name="one_current_version_per_lineage",
            ),
        ]

    def __str__(self) -> str:
        return self.name if self.version == 1 else f"{self.name} (v{self.version})"

    @property
    def window_days(self) -> int | None:
        return self.definition.get("within_days") if isinstance(self.definition, dict) else None
