"""The demo team that `make run` loads: three members, a realistic dataset, two success
definitions and one finished working session, so a newcomer can read a full report and run
a session in the first five minutes. Safe to run again: it only adds what is missing."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from accounts.models import Membership, Team, User

DEMO_TEAM_SLUG = "demo"
DEMO_PASSWORD = "hypothesis-demo"
DEMO_MEMBERS = [
    ("ada@demo.hypothesislab.test", "Ada (facilitator)", Membership.Role.OWNER),
    ("ben@demo.hypothesislab.test", "Ben", Membership.Role.MEMBER),
    ("chloe@demo.hypothesislab.test", "Chloe", Membership.Role.MEMBER),
]
DEMO_DATASET = "Acme product events (demo)"
DEMO_SUCCESS = [
    ("Subscribed within 14 days", {"events": ["subscribe"], "within_days": 14}),
    ("Purchased within 30 days", {"events": ["purchase"], "within_days": 30}),
]


@dataclass
class Demo:
    team: Team
    members: list[User]
    dataset: object
    success_definitions: list


def ensure_demo(*, n_users: int = 4000, seed: int = 7, with_session: bool = True) -> Demo:
    team, members = _team_and_members()
    dataset = _dataset(team, members[0], n_users=n_users, seed=seed)
    definitions = _success_definitions(team, members[0], dataset)
    _dashboard(team, dataset, definitions[0], members[0])
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


def _dataset(team: Team, owner: User, *, n_users: int, seed: int):
    from .engine.demo_data import write_demo_files
    from .models import Dataset
    from .services import import_now

    existing = Dataset.objects.filter(team=team, name=DEMO_DATASET).first()
    if existing is not None and existing.is_ready:
        return existing
    if existing is not None:
        existing.delete()  # a half-made demo from an interrupted run
    with tempfile.TemporaryDirectory(prefix="hypothesislab-demo-") as tmp:
        events, users = write_demo_files(Path(tmp), seed=seed, n_users=n_users)
        job = import_now(team=team, name=DEMO_DATASET, events=[events], users=users,
                         mapping={}, created_by=owner, is_demo=True)
    if job.status != "done":
        raise RuntimeError(f"the demo dataset did not import: {job.error}")
    job.dataset.refresh_from_db()
    return job.dataset


def _success_definitions(team: Team, owner: User, dataset) -> list:
    from .models import SuccessDefinition
    from .services import success_definition_create

    found = []
    for name, definition in DEMO_SUCCESS:
        current = SuccessDefinition.objects.filter(team=team, name=name, is_current=True).first()
        if current is None:
            current = success_definition_create(team=team, name=name, definition=definition,
                                                created_by=owner, dataset=dataset)
        found.append(current)
    return found


def _dashboard(team: Team, dataset, success_definition, owner: User) -> None:
    from dashboards.demo import create_demo_dashboard

    create_demo_dashboard(team=team, dataset=dataset, success_definition=success_definition,
                          user=owner)


def _past_session(team: Team, dataset, success_definition, members: list[User]) -> None:
    from sessions.demo import create_demo_session
    from sessions.models import WorkingSession

    if WorkingSession.objects.filter(team=team).exists():
        return
    create_demo_session(team=team, dataset=dataset, success_definition=success_definition,
                        members=members)
