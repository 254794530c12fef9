"""A world with one of everything, built through the apps' services: team A (Olivia owns
it, Tom is a member) holds a dataset, a success definition, a working session with a
hypothesis, a test, a discovery, a finding and a next step, an explorer job, a dashboard
with a segment, a snapshot, a note and a pin, an invitation and an API token. Team B
(Bea's) has a dataset of its own, so that Bea is a real member somewhere.

`url_kwargs` maps every URL keyword the project uses to team A's objects; a keyword it
does not know is a test failure naming the pattern, so that a new route cannot slip past
the authorization walk."""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.models import Membership, Team, User
from accounts.services import invitation_create
from analytics.models import AnalysisJob, DatasetImport, JobStatus
from analytics.services import analysis_submit, group_count_submit
from api.services import token_create
from sessions import services as session_services
from tests.conftest import make_user
from tests.worksessions.factories import (
    INVITED,
    PRO,
    make_dataset,
    make_session,
    make_success,
    move_to,
)


@dataclass
class World:
    team_a: Team
    team_b: Team
    owner: User
    teammate: User
    outsider: User
    bea: User  # a member of team B only
    objects: dict[str, object] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def pk(self, name: str) -> int:
        return self.objects[name].pk


def _run_queued_jobs() -> None:
    """Tests run tasks in-process; run any job still queued (on_commit may not have fired)."""
    from analytics.tasks import run_analysis, run_import

    for job_id in AnalysisJob.objects.filter(status=JobStatus.QUEUED).values_list("pk",
                                                                                flat=True):
        run_analysis.apply(args=[job_id])
    for job_id in DatasetImport.objects.filter(status=JobStatus.QUEUED).values_list("pk",
                                                                                  flat=True):
        run_import.apply(args=[job_id])


def ready_dataset(team: Team, **kwargs):
    dataset = make_dataset(team, **kwargs)
    DatasetImport.objects.create(dataset=dataset, version=1, status=JobStatus.DONE)
    return dataset


def build_world() -> World:
    owner = make_user("olivia@example.com", "Olivia Owner")
    teammate = make_user("tom@example.com", "Tom Teammate")
    outsider = make_user("oscar@example.com", "Oscar Outsider")
    bea = make_user("bea@example.com", "Bea Other")
    team_a = Team.objects.create(name="Acme Growth", slug="acme-growth")
    Membership.objects.create(team=team_a, user=owner, role=Membership.Role.OWNER)
    teammate_membership = Membership.objects.create(team=team_a, user=teammate)
    team_b = Team.objects.create(name="Bravo Checkout", slug="bravo-checkout")
    Membership.objects.create(team=team_b, user=bea, role=Membership.Role.OWNER)
    world = World(team_a=team_a, team_b=team_b, owner=owner, teammate=teammate,
                  outsider=outsider, bea=bea)
    o = world.objects
    o["membership"] = teammate_membership

    o["dataset"] = dataset = ready_dataset(team_a)
    o["import"] = DatasetImport.objects.get(dataset=dataset)
    o["success"] = success = make_success(team_a, dataset, by=owner)
    o["dataset_b"] = ready_dataset(team_b, name="Bravo events")
    make_success(team_b, o["dataset_b"], by=bea)

    session = make_session(team_a, owner, members=(teammate,), dataset=dataset,
                           success=success)
    session = move_to(session, "hypotheses")
    o["hypothesis"] = session_services.hypothesis_create(
        session=session, author=owner, text="Pro plans succeed more", criterion=PRO,
        expected_direction="more", confidence=65)
    session_services.hypothesis_create(session=session, author=teammate,
                                       text="Inviting a teammate matters", criterion=INVITED)
    session_services.entries_reveal(session=session, by=owner)
    session = move_to(session, "test")
    tests = session_services.session_tests_run(session=session, by=owner)
    _run_queued_jobs()
    o["test"] = tests[0]
    o["finding"] = session_services.finding_create(
        session=session, author=owner, text="Pro users buy more, as expected", step="test",
        test=tests[0])
    session = move_to(session, "explore")
    o["discovery"] = session_services.discovery_run(session=session, by=owner)
    _run_queued_jobs()
    o["idea"] = session_services.hypothesis_create(
        session=session, author=teammate, text="Mobile-first users succeed less",
        kind="idea", criterion={"kind": "first_event_property", "property": "device",
                                "op": "=", "value": "mobile"})
    session = move_to(session, "next_steps")
    o["next_step"] = session_services.next_step_create(
        session=session, by=owner, owner=teammate, text="Test an invite prompt on day one")
    o["session"] = session

    o["job"] = analysis_submit(team=team_a, dataset=dataset, success=success.definition,
                               breakdown={"property": "plan"}, created_by=owner)
    # A quick count before a test (issue 11): readable by the member who asked it.
    o["check"] = group_count_submit(team=team_a, dataset=dataset,
                                    success=success.definition, criterion=PRO,
                                    created_by=owner)
    _run_queued_jobs()

    _build_dashboards(world)
    o["invitation"] = invitation_create(team=team_a, created_by=owner, email="new@example.com")
    o["token_row"], world.tokens["owner"] = token_create(user=owner, name="Owner's pipeline")
    world.tokens["outsider"] = token_create(user=outsider, name="Outsider's script")[1]
    world.tokens["bea"] = token_create(user=bea, name="Bea's script")[1]
    return world


def _build_dashboards(world: World) -> None:
    from dashboards import review, services

    o = world.objects
    o["mapping"] = services.mapping_start(dataset=o["dataset"])
    o["team_segment"] = services.team_segment_create(
        team=world.team_a, name="By plan", definition={"breakdown": {"property": "plan"}},
        dataset=o["dataset"], user=world.owner)
    o["dashboard"] = dashboard = services.dashboard_create(
        team=world.team_a, name="Purchases by plan", dataset=o["dataset"],
        success_definition=o["success"], user=world.owner)
    o["dashboard_segment"] = services.dashboard_add_team_segment(
        dashboard=dashboard, team_segment=o["team_segment"])
    _run_queued_jobs()
    week = review.week_of()
    o["snapshot"], _ = review.snapshot_take(dashboard, week=week)
    _run_queued_jobs()
    o["note"] = review.note_add(dashboard=dashboard, week=week, text="Pro keeps rising",
                                author=world.owner)
    o["pin"] = session_services.pin_finding(dashboard=dashboard, finding=o["finding"],
                                            user=world.owner)


# URL keyword -> the world object (or value) it names, for team A.
KWARG_OBJECTS = {
    "dataset_id": "dataset",
    "session_id": "session",
    "entry_id": "hypothesis",
    "discovery_id": "discovery",
    "finding_id": "finding",
    "next_step_id": "next_step",
    "dashboard_id": "dashboard",
    "pin_id": "pin",
    "definition_id": "success",
    "job_id": "job",
    "check_id": "check",
    "invitation_id": "invitation",
    "membership_id": "membership",
    "token_id": "token_row",
    "import_id": "import",
    "analysis_id": "job",
}


class UnknownUrlKeyword(AssertionError):
    pass


def url_kwargs(world: World, pattern_name: str, keywords: list[str], *,
               team: Team | None = None) -> dict:
    """Values for a pattern's keywords from team A's objects (and `team`'s slug)."""
    values: dict = {}
    for keyword in keywords:
        if keyword == "team_slug":
            values[keyword] = (team or world.team_a).slug
        elif keyword in KWARG_OBJECTS:
            values[keyword] = world.pk(KWARG_OBJECTS[keyword])
        elif keyword == "user_id":
            values[keyword] = world.teammate.pk
        elif keyword == "index":
            values[keyword] = 0
        elif keyword == "token" and pattern_name == "analytics:dataset_mapping":
            values[keyword] = "0123456789abcdef0123456789abcdef"  # an upload draft's key
        elif keyword == "token" and pattern_name == "accounts:join":
            values[keyword] = world.objects["invitation"].token
        elif keyword in ("uidb64",) or (keyword == "token"
                                        and pattern_name == "accounts:password_reset_confirm"):
            values[keyword] = "MQ" if keyword == "uidb64" else "set-password"
        else:
            raise UnknownUrlKeyword(
                f"{pattern_name}: the URL keyword {keyword!r} is unknown to "
                "tests/security/world.py; add the object it names to the world")
    return values
