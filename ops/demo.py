"""The demo team that `make run` loads: three members, a realistic dataset, two success
definitions, a dashboard and one finished working session, so a newcomer can read a full
report and run a session in the first five minutes. Safe to run again: it only adds what
is missing. It lives in ops because it builds across the apps (analytics for the data,
dashboards, sessions); each app makes its own part."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from accounts.models import Membership, Team, User
from analytics.demo import demo_dataset, demo_success_definitions
from dashboards.demo import create_demo_dashboard
from sessions.demo import create_demo_session
from sessions.models import WorkingSession

DEMO_TEAM_SLUG = "demo"
DEMO_PASSWORD = "hypothesis-demo"
DEMO_MEMBERS = [
    ("ada@demo.hypothesislab.test", "Ada (facilitator)", Membership.Role.OWNER),
    ("ben@demo.hypothesislab.test", "Ben", Membership.Role.MEMBER),
    ("chloe@demo.hypothesislab.test", "Chloe", Membership.Role.MEMBER),
]


@dataclass
class Demo:
    team: Team
    members: list[User]
    dataset: object
    success_definitions: list


def ensure_demo(*, n_users: int = 4000, seed: int = 7, with_session: bool = True) -> Demo:
    team, members = _team_and_members()
    dataset = demo_dataset(team, members[0], n_users=n_users, seed=seed)
    definitions = demo_success_definitions(team, members[0], dataset)
    create_demo_dashboard(team=team, dataset=dataset, success_definition=definitions[0],
                          user=members[0])
    if with_session:
        _past_session(team, dataset, definitions[0], members)
    return Demo(team=team, members=members, dataset=dataset, success_definitions=definitions)


@transaction.atomic
def _team_and_members() -> tuple[Team, list[User]]:
    team, _ = Team.objects.get_or_create(slug=DEMO_TEAM_SLUG, defaults={"name": "Acme (demo team)"})
    members = []
    for email, name, role in DEMO_MEMBERS:
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(username=email, email=email, password=DEMO_PASSWORD,
                                            display_name=name)
        Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
        members.append(user)
    return team, members


def _past_session(team: Team, dataset, success_definition, members: list[User]) -> None:
    if WorkingSession.objects.filter(team=team).exists():
        return
    create_demo_session(team=team, dataset=dataset, success_definition=success_definition,
                        members=members)
