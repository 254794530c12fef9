"""Browser test of issue 11's "a new dashboard gets a snapshot and an insight the same
day": a member confirms a new dashboard, takes this week's snapshot at once (no Monday to
wait for), reads which week it judges, logs an insight, and opens the read-only page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from dashboards import services
from dashboards.models import ReviewNote, WeeklySnapshot
from tests.dashboards.factories import make_dashboard, make_success
from tests.e2e.test_dashboard_flow import demo_team  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_dashboard_gets_a_snapshot_and_an_insight_the_same_day(
        new_page, live_server, log_in, shot, demo_team):  # noqa: F811
    team, dataset = demo_team
    owner = team.memberships.get(user__email="olivia@example.com").user
    mapping = services.mapping_start(dataset=dataset)
    mapping.refresh_from_db()
    services.mapping_confirm(mapping_row=mapping, roles=mapping.roles, user=owner)
    success = make_success(team, dataset, user=owner)
    dashboard = make_dashboard(team, dataset, success, user=owner, name="Today")
    services.dashboard_add_catalog_segments(dashboard=dashboard, keys=["tech.mobile"],
                                            mapping_row=mapping)

    page = new_page()
    log_in(page, live_server, "tom@example.com")
    page.goto(f"/t/{team.slug}/dashboards/{dashboard.pk}/")
    page.get_by_role("button", name="Confirm set-up").click()
    page.get_by_text("Set up. The weekly review").wait_for()
    page.get_by_role("button", name="Take this week’s snapshot now").click()

    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    week = f"Week of {monday.day} {monday:%b %Y}"
    page.get_by_role("heading", name=re.compile(re.escape(week))).wait_for()
    page.get_by_text(re.compile(r"^Judged: the week of ")).first.wait_for()
    assert WeeklySnapshot.objects.filter(dashboard=dashboard).count() == 1
    shot(page, "review-today")
    page.get_by_label("What the team sees or learned").fill("Mobile users subscribe less.")
    page.get_by_role("button", name="Log it").click()
    page.get_by_text("Logged.").wait_for()
    note = ReviewNote.objects.get(dashboard=dashboard)
    assert note.week == monday and note.kind == "insight"

    page.get_by_role("link", name="Share or print").click()
    page.get_by_text("Mobile users subscribe less.").wait_for()
    assert page.locator("form").count() == 0
    shot(page, "review-today-print")
