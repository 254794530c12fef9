"""A team with something in every corner, for the backup tests: the demo team (members,
an imported dataset, success definitions, its past session) plus a session walked through
every step with the services, an explorer result kept as evidence, a dashboard, an
invitation, and a second team that must stay out of it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from accounts.models import Invitation, Membership, Team
from analytics.models import AnalysisJob
from analytics.services import analysis_submit
from ops.demo import ensure_demo
from sessions import services
from sessions.models import WorkingSession
from sessions.steps import Step
from tests.conftest import make_user
from tests.worksessions.factories import make_dataset, make_session, make_success, move_to

DEMO_USERS = 150
INVITED = {"kind": "did_event", "event": "invite_teammate", "within_days": 7}
INTEGRATION = {"kind": "did_event", "event": "connect_integration", "within_days": 14}
MOBILE = {"kind": "first_event_property", "property": "device", "op": "=", "value": "mobile"}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Cast:
    team: Team
    session: WorkingSession
    explore_job: AnalysisJob
    other_team: Team


def walk_a_session(demo) -> WorkingSession:
    ada, ben, chloe = demo.members
    first, second = demo.success_definitions
    session = services.session_create(team=demo.team, dataset=demo.dataset,
                                      success_definition=second, title="What makes users pay?",
                                      facilitator=ada, dig_minutes=20)
    for member in (ben, chloe):
        services.session_join(session=session, user=member)
    # Logged with the keys of both definitions (JSON that names rows).
    session = services.definition_change(session=session, by=ada, success_definition=first)
    services.definition_confirm(session=session, by=ben)
    session = move_to(session, Step.HYPOTHESES)
    invited = services.hypothesis_create(session=session, author=ben, text="Inviters subscribe",
                                         criterion=INVITED, expected_direction="more",
                                         confidence=80)
    services.hypothesis_create(session=session, author=chloe, text="Mobile users subscribe less",
                               criterion=MOBILE, expected_direction="less")
    services.hypothesis_create(session=session, author=chloe, text="Support matters")
    session = move_to(session, Step.TEST)
    services.session_tests_run(session=session, by=ada)
    test = invited.tests.get()
    services.finding_create(session=session, author=ben, step=Step.TEST, test=test,
                            text="Inviting a teammate is the strongest signal")
    session = move_to(session, Step.EXPLORE)
    idea = services.hypothesis_create(session=session, author=ben, kind="idea",
                                      text="Integrations help", criterion=INTEGRATION)
    services.hypothesis_test_run(hypothesis=idea, by=ben)
    session = move_to(session, Step.TEST_AND_LEARN)
    services.timer_extend(session=session, by=ada, minutes=5)
    session = move_to(session, Step.RESULTS)
    services.finding_create(session=session, author=chloe, step=Step.RESULTS,
                            kind="unsuccessful", text="Company size shows nothing")
    session = move_to(session, Step.NEXT_STEPS)
    step = services.next_step_create(session=session, by=ada, owner=ben,
                                     text="Prompt invites in onboarding")
    services.next_step_set_done(next_step=step, by=ada, session=session)
    return services.session_close(session=session, by=ada)


@pytest.fixture
def cast(db, settings) -> Cast:
    demo = ensure_demo(n_users=DEMO_USERS)  # with its past session
    ada = demo.members[0]
    session = walk_a_session(demo)
    # An explorer result saved as a finding's evidence names its job by key; the job
    # points at its session.
    explore_job = analysis_submit(
        team=demo.team, dataset=demo.dataset, success=demo.success_definitions[0].definition,
        kind=AnalysisJob.Kind.COMPARE, criterion=INVITED,
        options={"group_b": MOBILE}, success_definition=demo.success_definitions[0],
        session=session, created_by=ada)
    from sessions.models import Finding

    Finding.objects.create(session=session, author=ada, step=Step.TEST_AND_LEARN, text="From the explorer",
                           evidence={"source": "comparison", "title": "Inviters vs mobile",
                                     "job": explore_job.pk})
    Invitation.objects.create(team=demo.team, created_by=ada, email="dan@example.com")
    from dashboards.services import dashboard_create

    dashboard = dashboard_create(team=demo.team, name="Subscriptions", dataset=demo.dataset,
                                 success_definition=demo.success_definitions[0], user=ada)
    # A dashboard's computation points at its dashboard (as dashboards.trend_submit does).
    AnalysisJob.objects.create(
        team=demo.team, dataset=demo.dataset, dataset_version=demo.dataset.current_version,
        kind=AnalysisJob.Kind.TREND, success=demo.success_definitions[0].definition,
        status="done", options={"segments": []}, dashboard=dashboard,
        success_definition=demo.success_definitions[0])

    other = Team.objects.create(name="Other team", slug="other")
    stranger = make_user("sam@other.example", "Sam")
    Membership.objects.create(team=other, user=stranger, role=Membership.Role.OWNER)
    other_dataset = make_dataset(other, n_users=40)
    other_session = make_session(other, stranger, dataset=other_dataset,
                                 success=make_success(other, other_dataset, by=stranger))
    move_to(other_session, Step.HYPOTHESES)
    return Cast(team=demo.team, session=session, explore_job=explore_job, other_team=other)


@pytest.fixture
def small_team(team, owner, teammate):
    """Two members, a small dataset, one session with a tested hypothesis: for the tests
    that need some of everything but not the demo's size."""
    dataset = make_dataset(team, n_users=40)
    success = make_success(team, dataset, by=owner)
    session = make_session(team, owner, members=(teammate,), dataset=dataset, success=success)
    session = move_to(session, Step.HYPOTHESES)
    entry = services.hypothesis_create(session=session, author=teammate, text="Inviters buy",
                                       criterion=INVITED)
    session = move_to(session, Step.TEST)
    services.hypothesis_test_run(hypothesis=entry, by=teammate)
    return team
