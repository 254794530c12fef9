from django.apps import AppConfig


class WorkSessionsConfig(AppConfig):
    # django.contrib.sessions owns the label "sessions"; ours is "worksessions".
    name = "sessions"
    label = "worksessions"
    verbose_name = "Working sessions"

    def ready(self) -> None:
        # Inside ready(): models import only once the app registry is loaded.
        from accounts.overview import OverviewSection, register_section

        from .selectors import recent_sessions

        register_section(OverviewSection(
            key="recent-sessions",
            title="Recent sessions",
            template="worksessions/_overview_recent.html",
            context=lambda request, team: {"sessions": recent_sessions(team)},
            order=20,
        ))
