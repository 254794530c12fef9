"""Datasets, definitions and dashboards for Phase 1 tests."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from analytics.models import Dataset, SuccessDefinition
from analytics.services import success_definition_create
from dashboards import services
from dashboards.models import Dashboard
from tests.analytics.builders import build_dataset

START = datetime(2026, 9, 7, 10, 0, tzinfo=UTC)  # a Monday


def make_dataset(team, events: list[dict], users: list[dict] | None = None,
                 name: str = "Product events") -> Dataset:
    """A Dataset row whose version 1 is written from Python rows (no importer)."""
    dataset = Dataset.objects.create(team=team, name=name, current_version=1)
    version = build_dataset(Path(dataset.directory).parent, events, users, name=str(dataset.pk))
    dataset.schema = asdict(version.schema())
    dataset.save(update_fields=["schema"])
    return dataset


def weekly_product(weeks: int = 4, per_week: int = 40, *, jump: bool = True
                   ) -> tuple[list[dict], list[dict]]:
    """Users signing up week after week; mobile users succeed far more in the last week
    when `jump`, so a week-over-week move is there to find."""
    events, users = [], []
    for week in range(weeks):
        for i in range(per_week):
            uid = f"w{week}u{i}"
            device = "mobile" if i % 2 else "desktop"
            first = START + timedelta(days=7 * week, hours=i % 90)
            users.append({"user_id": uid, "plan": ["free", "pro"][i % 3 == 0],
                          "company_size": ["1-10", "11-50", "51-200"][i % 3]})
            events.append({"user_id": uid, "event": "signup", "timestamp": first,
                           "device": device})
            logins = i % 4
            for k in range(logins):
                events.append({"user_id": uid, "event": "login",
                               "timestamp": first + timedelta(days=1 + k), "device": device})
            rate_cut = 8 if (jump and week == weeks - 1 and device == "mobile") else 2
            if i % 10 < rate_cut:
                events.append({"user_id": uid, "event": "subscribe",
                               "timestamp": first + timedelta(days=3), "device": device})
    # The data runs on past the last signups, so every window is over.
    events.append({"user_id": "late", "event": "signup",
                   "timestamp": START + timedelta(days=7 * weeks + 30), "device": "desktop"})
    return events, users


def make_success(team, dataset, name: str = "Subscribed within 7 days",
                 definition: dict | None = None, user=None) -> SuccessDefinition:
    return success_definition_create(
        team=team, name=name, definition=definition or {"events": ["subscribe"],
                                                        "within_days": 7},
        created_by=user, dataset=dataset)


def make_dashboard(team, dataset, success, user=None, name: str = "Activation") -> Dashboard:
    return services.dashboard_create(team=team, name=name, dataset=dataset,
                                     success_definition=success, user=user)
