from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = "Dashboards (Phase 1)"
    default_auto_field = "django.db.models.BigAutoField"
