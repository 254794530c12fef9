"""A small product dataset with a real effect, and sessions built through the services."""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from accounts.models import Team, User
from analytics.models import Dataset, SuccessDefinition
from analytics.services import success_definition_create
from sessions import services
from sessions.models import Hypothesis, WorkingSession
from tests.analytics.builders import build_dataset

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

INVITED = {"kind": "did_event", "event": "invite_teammate", "within_days": 7}
PRO = {"kind": "property", "property": "plan", "op": "=", "value": "pro"}
MOBILE_FIRST = {"kind": "first_event_property", "property": "device", "op": "=",
                "value": "mobile"}
LOGINS = {"kind": "event_count", "event": "login", "op": ">=", "value": 3, "within_days": 7}


def product_rows(n_users: int = 240, seed: int = 3) -> tuple[list[dict], list[dict]]:
    """Users who invite a teammate in week one purchase far more often; plan pro a bit
    more; the first device does nothing."""
    rng = random.Random(seed)
    events: list[dict] = []
    users: list[dict] = []
    for number in range(n_users):
        user_id = f"u{number:04d}"
        plan = "pro" if rng.random() < 0.35 else "free"
        users.append({"user_id": user_id, "plan": plan, "company_size": rng.choice(
            ["1-10", "11-50", "51-200"])})
        first = START + timedelta(hours=number * 2)
        device = rng.choice(["mobile", "desktop"])
        events.append({"user_id": user_id, "event": "signup", "timestamp": first,
                       "device": device, "amount": None})
        invited = rng.random() < 0.4
        if invited:
            events.append({"user_id": user_id, "event": "invite_teammate",
                           "timestamp": first + timedelta(days=2), "device": device,
                           "amount": None})
        for login in range(rng.randint(0, 5)):
            events.append({"user_id": user_id, "event": "login",
                           "timestamp": first + timedelta(days=login + 1, minutes=3),
                           "device": device, "amount": None})
        chance = 0.55 if invited else 0.15
        chance += 0.05 if plan == "pro" else 0
        if rng.random() < chance:
            events.append({"user_id": user_id, "event": "purchase",
                           "timestamp": first + timedelta(days=5), "device": device,
                           "amount": round(rng.uniform(10, 90), 2)})
    # Data runs well past every window, so every user's 14 days are complete.
    events.append({"user_id": "u0000", "event": "login", "timestamp": START + timedelta(days=60),
                   "device": "desktop", "amount": None})
    return events, users


def make_dataset(team: Team, *, name: str = "Product events", n_users: int = 240,
                 rows: tuple[list[dict], list[dict]] | None = None) -> Dataset:
    """A Dataset row whose version 1 is written where the app looks for it."""
    events, users = rows or product_rows(n_users)
    dataset = Dataset.objects.create(team=team, name=name)
    version = build_dataset(dataset.directory, events, users, name="v1-build",
                            event_property_types={"amount": "float", "device": "text"})
    # build_dataset writes <dir>/<name>/v1; the app reads <dir>/v1.
    version.path.rename(dataset.directory / "v1")
    (dataset.directory / "v1-build").rmdir()
    Dataset.objects.filter(pk=dataset.pk).update(
        current_version=1, schema=asdict(dataset.version(1).schema()))
    dataset.refresh_from_db()
    return dataset


def make_success(team: Team, dataset: Dataset, *, name: str = "Purchased within 14 days",
                 definition: dict | None = None, by: User | None = None) -> SuccessDefinition:
    return success_definition_create(
        team=team, name=name, definition=definition or {"events": ["purchase"],
                                                        "within_days": 14},
        created_by=by, dataset=dataset)


def make_session(team: Team, facilitator: User, *, members: tuple[User, ...] = (),
                 dataset: Dataset | None = None, success: SuccessDefinition | None = None,
                 title: str = "What makes users purchase?", **options) -> WorkingSession:
    dataset = dataset or make_dataset(team)
    success = success or make_success(team, dataset, by=facilitator)
    session = services.session_create(team=team, dataset=dataset, success_definition=success,
                                      title=title, facilitator=facilitator, **options)
    for member in members:
        services.session_join(session=session, user=member)
    session.refresh_from_db()
    return session


def move_to(session: WorkingSession, step: str) -> WorkingSession:
    """Walk the session forward to `step` as its facilitator would."""
    from sessions import steps

    session.refresh_from_db()
    while session.step != step:
        session = services.step_move(session=session, by=session.facilitator,
                                     to=steps.next_step(session.step), expected=session.step)
    return session


def entry(text_start: str) -> Hypothesis:
    """The one entry whose words start so."""
    return Hypothesis.objects.get(text__startswith=text_start)
