from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    name = "dashboards"
    verbose_name = "Dashboards (Phase 1)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.overview import (
            ChecklistStep,
            OverviewSection,
            register_check,
            register_section,
        )

        from .models import Dashboard
        from .selectors import overview_of

        # The team's home page shows its dashboards and what last week's reviews flagged.
        register_section(OverviewSection(
            key="dashboards", title="Dashboards", template="dashboards/_overview.html",
            context=lambda request, team: overview_of(team), order=10))
        register_check(ChecklistStep(
            key="dashboard", title="Confirm a dashboard",
            text="Success by segment, confirmed by the team, reviewed every week.",
            url_name="dashboards:dashboard_list", order=30,
            done=lambda team: Dashboard.objects.filter(team=team,
                                                       confirmed_at__isnull=False).exists()))
