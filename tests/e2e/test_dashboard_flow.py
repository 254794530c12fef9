"""Browser test of issue 6's "Done when": a member maps the demo dataset, says what success
is, builds a dashboard with five catalog segments, confirms it; the weekly job runs (time
moved with time-machine); the member logs an insight, and the digest is in the outbox."""

from __future__ import annotations

import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core import mail

from accounts.models import Membership, Team
from analytics.engine.demo_data import write_demo_files
from analytics.models import SuccessDefinition
from analytics.services import import_now
from dashboards.models import Dashboard, ReviewNote, WeeklySnapshot
from dashboards.tasks import weekly_review
from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIVE = ["Number of logins", "Integrations", "Mobile users", "Company size", "Growth trends"]


@pytest.fixture
def demo_team():
    owner = make_user("olivia@example.com", "Olivia Owner", password=PASSWORD)
    member = make_user("tom@example.com", "Tom Teammate", password=PASSWORD)
    team = Team.objects.create(name="Acme Growth", slug="acme-growth")
    Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
    Membership.objects.create(team=team, user=member, role=Membership.Role.MEMBER)
    with tempfile.TemporaryDirectory() as folder:
        events, users = write_demo_files(Path(folder), n_users=800)
        job = import_now(team=team, name="Acme demo", events=[events], users=users,
                         mapping={}, created_by=owner, is_demo=True)
    assert job.status == "done", job.error
    dataset = job.dataset
    dataset.refresh_from_db()
    return team, dataset


def next_monday(moment: datetime) -> datetime:
    days = 7 - moment.weekday()
    return (moment + timedelta(days=days)).replace(hour=6, minute=0, second=0, microsecond=0)


def test_map_build_confirm_review_and_digest(new_page, live_server, log_in, shot, demo_team):
    team, dataset = demo_team
    page = new_page()
    log_in(page, live_server, "tom@example.com")

    # 1. Map the demo dataset: the guesses are there, with their reasons; confirm them.
    page.goto(f"/t/{team.slug}/dashboards/data/{dataset.pk}/mapping/")
    page.get_by_role("heading", name="What the data means").wait_for()
    assert page.get_by_label("Login", exact=True).input_value() == "login"
    assert page.get_by_label("Device", exact=True).input_value() == "event:device"
    assert page.get_by_label("Mobile values").input_value() == "mobile"
    page.get_by_text("Guess: an event named “login”.").wait_for()
    shot(page, "dashboards-mapping")
    page.get_by_role("button", name="Confirm the mapping").click()
    page.get_by_text("Mapping confirmed").wait_for()

    # 2. Say what success is: the form writes the definition and says it in plain words.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboards").click()
    page.get_by_role("link", name="Define success").click()
    page.get_by_label("Name").fill("Subscribed within 14 days")
    page.get_by_label("subscribe", exact=True).check()
    page.get_by_label("Within days of their first visit").fill("14")
    page.get_by_text("Success = users who did subscribe within 14 days of first visit") \
        .wait_for()
    shot(page, "dashboards-success")
    page.get_by_role("button", name="Save").click()
    assert SuccessDefinition.objects.get().definition == {
        "events": ["subscribe"], "match": "any", "within_days": 14}

    # 3. A dashboard on it (the form comes next by itself).
    page.get_by_role("heading", name="New dashboard").wait_for()
    page.get_by_label("Name").fill("Activation by segment")
    page.get_by_label("Dataset").select_option(label="Acme demo")
    page.get_by_label("Success").select_option(
        label="Subscribed within 14 days — did subscribe within 14 days of first visit")
    page.get_by_role("button", name="Create and pick segments").click()
    page.get_by_role("heading", name="Segments", exact=True).wait_for()

    # 4. Five segments from the catalog; one the data cannot support says why.
    assert page.get_by_text("Not available: No column looks like number of policies.") \
        .is_visible()
    for name in FIVE:
        page.get_by_label(re.compile(rf"^{re.escape(name)}")).check()
    shot(page, "dashboards-catalog")
    page.get_by_role("button", name="Add the ticked segments").click()
    page.get_by_text("5 segment(s) added").wait_for()
    page.get_by_role("link", name="See the dashboard").click()

    # 5. The dashboard: a chart and a table per segment; confirm the set-up.
    for name in FIVE:
        page.get_by_role("heading", name=name).wait_for()
    page.get_by_role("img", name=re.compile("Mobile users: success rate by week")).wait_for()
    assert page.get_by_role("rowheader", name="mobile (first visit)").is_visible()
    shot(page, "dashboards-dashboard")
    page.get_by_role("button", name="Confirm set-up").click()
    page.get_by_text("Set up. The weekly review").wait_for()
    dashboard = Dashboard.objects.get(name="Activation by segment")
    assert dashboard.confirmed_at is not None and dashboard.segments.count() == 5

    # 6. Monday comes: the beat job snapshots the dashboard and mails the digest.
    monday = next_monday(datetime.now(UTC))
    with time_machine.travel(monday, tick=True):
        assert weekly_review() == 1
        assert weekly_review() == 1  # the beat firing twice changes nothing
        assert WeeklySnapshot.objects.filter(dashboard=dashboard).count() == 1

        # 7. The review page asks for an insight; the member logs one.
        page.get_by_role("link", name="Weekly review").first.click()
        week = f"Week of {monday.day} {monday:%b %Y}"
        page.get_by_role("heading", name=re.compile(re.escape(week))).wait_for()
        page.get_by_text("No insight for this week yet").first.wait_for()
        shot(page, "dashboards-review")
        page.get_by_label("What the team sees or learned").fill(
            "Users who connect an integration in week one subscribe far more often.")
        page.get_by_role("button", name="Log it").click()
        page.get_by_text("Logged.").wait_for()
        page.get_by_text("Users who connect an integration in week one").wait_for()
    note = ReviewNote.objects.get()
    assert note.week == monday.date() and note.author.email == "tom@example.com"

    # 8. The digest went to both members, with a link to the review.
    assert sorted(m.to[0] for m in mail.outbox) == ["olivia@example.com", "tom@example.com"]
    digest = mail.outbox[0]
    assert "Weekly review of Activation by segment" in digest.subject
    assert f"/t/{team.slug}/dashboards/{dashboard.pk}/review/" in digest.body

    # The review page reads on a phone too.
    phone = new_page(viewport=PHONE)
    log_in(phone, live_server, "olivia@example.com")
    phone.goto(f"/t/{team.slug}/dashboards/{dashboard.pk}/")
    phone.get_by_role("heading", name="Mobile users").wait_for()
    shot(phone, "dashboards-dashboard-phone")
