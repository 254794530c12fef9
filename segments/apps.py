from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    """The worksheet's segment catalog, its templates and the column-role mapping they read,
    shared by dashboards and working sessions (both sit above it)."""

    name = "segments"
    label = "segments"
    verbose_name = "Segments"
    default_auto_field = "django.db.models.BigAutoField"
