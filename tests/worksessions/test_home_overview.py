"""The team's home page (issue 11): "My open next steps" across the team's sessions, with
due dates and overdue ones marked, and a get-started checklist that completes from the
team's own data."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboards.models import Dashboard
from sessions import services
from sessions.models import Finding, NextStep
from tests.worksessions.factories import make_dataset, make_session, make_success

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def home(client, user, team) -> str:
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    response = client.get(reverse("accounts:team_home", args=[team.slug]))
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, title_id: str) -> str:
    match = re.search(rf'<section class="card" aria-labelledby="{title_id}">(.*?)</section>',
                      html, flags=re.S)
    return match.group(1) if match else ""


def test_my_open_next_steps_across_sessions_with_due_dates(client, team, owner, teammate,
                                                           outsider):
    from accounts.models import Membership, Team

    today = timezone.localdate()
    dataset = make_dataset(team)
    success = make_success(team, dataset, by=owner)
    first = make_session(team, owner, dataset=dataset, success=success, title="First session")
    second = make_session(team, owner, dataset=dataset, success=success, title="Second session")

    def step(session, text, owner, due=None, done=False):
        return NextStep.objects.create(session=session, text=text, owner=owner, due_date=due,
                                       created_by=owner,
                                       done_at=timezone.now() if done else None)

    step(first, "Call five churned Pro users", teammate, today - timedelta(days=2))
    step(second, "Run the onboarding email test", teammate, today + timedelta(days=5))
    step(second, "Look at mobile sign-ups", teammate)
    step(first, "Already shipped the change", teammate, today, done=True)
    step(first, "Olivia's own experiment", owner, today)
    other = Team.objects.create(name="Other", slug="other")
    Membership.objects.create(team=other, user=teammate, role=Membership.Role.MEMBER)
    Membership.objects.create(team=other, user=outsider, role=Membership.Role.OWNER)
    elsewhere = make_session(other, outsider, title="Another team's session")
    step(elsewhere, "Another team's errand", teammate, today)

    html = section(home(client, teammate, team), "section-my-next-steps")
    # Mine, open, of both sessions, soonest due first, those without a date last.
    texts = re.findall(r'<a href="[^"]+">([^<]+)</a>', html)
    assert texts == ["Call five churned Pro users", "Run the onboarding email test",
                     "Look at mobile sign-ups"]
    assert "First session" in html and "Second session" in html
    overdue = re.findall(r'<li class="my-next-step([^"]*)"', html)
    assert overdue == [" is-overdue", "", ""]
    assert html.count("Overdue") == 1
    assert (today + timedelta(days=5)).strftime("%Y-%m-%d") in html
    assert "no due date" in html
    # Olivia sees hers only; someone with none sees no section.
    assert "Olivia&#x27;s own experiment" in home(client, owner, team)
    assert "My open next steps" not in home(client, outsider, other)


def test_the_get_started_checklist_completes_from_the_teams_data(client, team, owner):
    html = home(client, owner, team)
    checklist = section(html, "get-started")
    for title in ("Import your data", "Say what success means", "Confirm a dashboard",
                  "Run a working session", "Write down a finding"):
        assert title in checklist
    assert "is-done" not in checklist

    dataset = make_dataset(team)
    checklist = section(home(client, owner, team), "get-started")
    assert checklist.count('class="is-done"') == 1
    success = make_success(team, dataset, by=owner)
    Dashboard.objects.create(team=team, name="Weekly", dataset=dataset,
                             success_definition=success, confirmed_at=timezone.now(),
                             confirmed_by=owner)
    session = make_session(team, owner, dataset=dataset, success=success)
    checklist = section(home(client, owner, team), "get-started")
    assert checklist.count('class="is-done"') == 3  # an open session is not run yet
    Finding.objects.create(session=session, author=owner, step="dig", text="Pro buys more")
    services.session_close(session=session, by=owner)

    html = home(client, owner, team)
    assert 'aria-labelledby="get-started"' not in html
    assert "Get started: all 5 steps done" in html


def test_a_session_finding_takes_its_team(team, owner):
    session = make_session(team, owner)
    finding = Finding.objects.create(session=session, author=owner, step="dig", text="x")
    assert finding.team_id == team.pk
