from django.apps import AppConfig
from django.utils import timezone


class WorkSessionsConfig(AppConfig):
    # django.contrib.sessions owns the label "sessions"; ours is "worksessions".
    name = "sessions"
    label = "worksessions"
    verbose_name = "Working sessions"

    def ready(self) -> None:
        # Inside ready(): models import only once the app registry is loaded.
        from accounts.overview import (
            ChecklistStep,
            OverviewSection,
            register_check,
            register_section,
        )
        from analytics.jobs import job_changed

        from .models import Finding, WorkingSession
        from .push import job_changed as follow_job
        from .readings import store_readings
        from .selectors import open_next_steps_of, recent_sessions
        from .steps import Step

        # A test's job that is done gets what its own numbers allow (sessions.readings),
        # then the session's live page is told: receivers run in the order connected.
        job_changed.connect(store_readings, dispatch_uid="worksessions-readings")
        # A session's job starting or ending changes the session's live page.
        job_changed.connect(follow_job, dispatch_uid="worksessions-live-jobs")
        register_section(OverviewSection(
            key="recent-sessions",
            title="Recent sessions",
            template="worksessions/_overview_recent.html",
            context=lambda request, team: {"sessions": recent_sessions(team)},
            order=20,
        ))
        # The person's own open next steps, across the team's sessions, soonest due first.
        register_section(OverviewSection(
            key="my-next-steps",
            title="My open next steps",
            template="worksessions/_overview_next_steps.html",
            context=lambda request, team: _my_next_steps(request, team, open_next_steps_of),
            order=5,
        ))
        register_check(ChecklistStep(
            key="session", title="Run a working session",
            text="An hour with your team: hypotheses, tests, and what you learned. Done once "
                 "a session is closed.",
            url_name="worksessions:session_list", order=40,
            done=lambda team: WorkingSession.objects.filter(team=team,
                                                            step=Step.CLOSED).exists()))
        register_check(ChecklistStep(
            key="finding", title="Write down a finding",
            text="In a session, or from a Test and learn result: what you learned, with its "
                 "evidence.",
            url_name="worksessions:session_list", order=50,
            done=lambda team: Finding.objects.filter(team=team).exists()))


def _my_next_steps(request, team, open_next_steps_of) -> dict | None:
    """The viewer's open next steps in this team; hidden when there are none."""
    steps = open_next_steps_of(team, request.user)
    if not steps:
        return None
    today = timezone.localdate()
    return {"next_steps": steps, "today": today,
            "overdue": {step.pk for step in steps if step.due_date and step.due_date < today}}
