from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = "Dashboards (Phase 1)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.overview import OverviewSection, register_section

        from .selectors import overview_of

        # The team's home page shows its dashboards and what last week's reviews flagged.
        register_section(OverviewSection(
            key="dashboards", title="Dashboards", template="dashboards/_overview.html",
            context=lambda request, team: overview_of(team), order=10))
