"""A dataset's column-role mapping (segments.roles) as the team confirmed it.

The table kept its name from when the model lived in dashboards (dashboards_datasetmapping):
the move changed only where the code lives, no row moved."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class DatasetMapping(models.Model):
    """What a dataset's events and columns mean (segments.roles), guessed from names and
    values, confirmed by the team once."""

    dataset = models.OneToOneField("analytics.Dataset", on_delete=models.CASCADE,
                                   related_name="segment_mapping")
    roles = models.JSONField(default=dict, blank=True)
    # The app's guesses, {role: {"value", "reason"}}, kept to show why next to each field.
    guesses = models.JSONField(default=dict, blank=True)
    # Values of the columns (analytics.engine.trends.dataset_profile), read by a job.
    profile_job = models.ForeignKey("analytics.AnalysisJob", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    guessed_version = models.PositiveIntegerField(null=True, blank=True)
    # Whether the guesses have used the profile job's values yet (the follow-up task can be
    # lost with a broker; the mapping page then applies them itself).
    guessed_with_values = models.BooleanField(default=False)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "dashboards_datasetmapping"

    def __str__(self) -> str:
        return f"Mapping of {self.dataset}"

    @property
    def is_confirmed(self) -> bool:
        return self.confirmed_at is not None


class MappingChange(models.Model):
    """One change of a dataset's mapping, kept for good (issue 12: every change is logged):
    who made it, when, and each role's value before and after. The mapping page lists
    them. `changed_by` is empty when the app itself updated a confirmed mapping (the values
    of a property role, read from a new version of the data)."""

    class Action(models.TextChoices):
        CONFIRMED = "confirmed", "confirmed the mapping"
        CHANGED = "changed", "changed the mapping"
        REFRESHED = "refreshed", "updated the values from the data"

    mapping = models.ForeignKey(DatasetMapping, on_delete=models.CASCADE,
                                related_name="changes")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=12, choices=Action.choices)
    # {role key: {"from": value, "to": value}}, in the stored shape of segments.roles.
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} at {self.at:%Y-%m-%d %H:%M}"
