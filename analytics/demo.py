"""The demo team's data: a realistic dataset (analytics.engine.demo_data) imported for a
team, and its two success definitions. ops.demo builds the rest of the demo team (members,
a dashboard, a past session) across the apps above this one."""

from __future__ import annotations

import tempfile
from pathlib import Path

from accounts.models import Team, User

from .engine.demo_data import write_demo_files
from .models import Dataset, SuccessDefinition
from .services import import_now, success_definition_create

DEMO_DATASET = "Acme product events (demo)"
DEMO_SUCCESS = [
    ("Subscribed within 14 days", {"events": ["subscribe"], "within_days": 14}),
    ("Purchased within 30 days", {"events": ["purchase"], "within_days": 30}),
]


def demo_dataset(team: Team, owner: User, *, n_users: int, seed: int) -> Dataset:
    """The team's demo dataset, imported now unless a ready one is there already."""
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


def demo_success_definitions(team: Team, owner: User, dataset: Dataset) -> list:
    """The demo's success definitions (current versions), created when missing."""
    found = []
    for name, definition in DEMO_SUCCESS:
        current = SuccessDefinition.objects.filter(team=team, name=name, is_current=True).first()
        if current is None:
            current = success_definition_create(team=team, name=name, definition=definition,
                                                created_by=owner, dataset=dataset)
        found.append(current)
    return found
