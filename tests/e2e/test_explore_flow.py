"""Browser test of issue 5's "Done when": during a session's Test and learn step a member
explores a breakdown, runs a SQL query and saves both as findings; after the deadline both
are refused by the server; the findings keep their snapshots for the report."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import NoReverseMatch, reverse

from accounts.models import Membership, Team
from sessions.models import Finding, WorkingSession
from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, PHONE
from tests.worksessions.factories import make_dataset, make_session, make_success, move_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def dig_session():
    owner = make_user("olivia@example.com", "Olivia Owner", password=PASSWORD)
    member = make_user("tom@example.com", "Tom Teammate", password=PASSWORD)
    team = Team.objects.create(name="Acme Growth", slug="acme-growth")
    Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
    Membership.objects.create(team=team, user=member, role=Membership.Role.MEMBER)
    dataset = make_dataset(team)
    success = make_success(team, dataset, by=owner)
    session = make_session(team, owner, members=(member,), dataset=dataset, success=success)
    return move_to(session, "dig")


def report_url(session) -> str | None:
    for name in ("worksessions:session_report", "worksessions:report"):
        try:
            return reverse(name, kwargs={"team_slug": session.team.slug,
                                         "session_id": session.pk})
        except NoReverseMatch:
            continue
    return None


def test_dig_with_the_explorer_and_the_console(new_page, live_server, log_in, shot,
                                                 dig_session):
    page = new_page()
    log_in(page, live_server, "tom@example.com")
    explore = f"/t/acme-growth/explore/breakdown/?session={dig_session.pk}"

    # A breakdown, kept as a finding.
    page.goto(explore)
    page.get_by_role("combobox", name="Break down by").select_option(label="plan")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_url(re.compile(r"/explore/results/\d+/"))
    page.get_by_role("img", name=re.compile("Success rate by plan")).wait_for()
    assert page.get_by_role("table").get_by_role("rowheader", name="pro").is_visible()
    shot(page, "explore-breakdown")
    page.get_by_label("What did you find?").fill("Pro users purchase more often.")
    page.get_by_role("button", name="Save as finding").click()
    page.get_by_text("Saved as a finding").wait_for()

    # A SQL query, kept as a finding; the tables are described next to the editor.
    page.goto(f"/t/acme-growth/explore/sql/?session={dig_session.pk}")
    page.get_by_label(re.compile("^SQL")).fill(
        "SELECT plan, count(*) AS users FROM users GROUP BY plan ORDER BY plan")
    page.get_by_role("button", name="Run").click()
    page.wait_for_url(re.compile(r"/explore/results/\d+/"))
    page.get_by_text(re.compile(r"2 rows · \d+ ms")).wait_for()
    shot(page, "explore-sql")
    page.get_by_role("link", name="Download CSV").wait_for()
    page.get_by_label("What did you find?").fill("Two plans; most users are free.")
    page.get_by_role("button", name="Save as finding").click()
    page.get_by_text("Saved as a finding").wait_for()
    sql_result = page.url

    # An escape attempt is refused on the page, with the reason.
    page.goto(f"/t/acme-growth/explore/sql/?session={dig_session.pk}")
    page.get_by_label(re.compile("^SQL")).fill("SELECT * FROM read_csv('/etc/passwd')")
    page.get_by_role("button", name="Run").click()
    page.get_by_text("read_csv() cannot be used").wait_for()

    findings = list(Finding.objects.filter(session=dig_session).order_by("pk"))
    assert [f.evidence["source"] for f in findings] == ["breakdown", "sql"]
    assert findings[1].evidence["table"]["rows"][0][0] == "free"

    # The countdown reaches zero (the server's clock decides; the step started 21 min ago).
    started = dig_session.dig_started_at - dig_session.dig_duration - timedelta(minutes=1)
    WorkingSession.objects.filter(pk=dig_session.pk).update(dig_started_at=started)
    page.goto(explore)
    page.get_by_text("Time is up").first.wait_for()
    assert page.get_by_role("button", name="Ask").is_disabled()
    # Even a form sent anyway (a stale page) is refused by the server.
    response = page.request.post(f"{live_server.url}/t/acme-growth/explore/sql/", form={
        "session": str(dig_session.pk), "sql": "SELECT 1",
        "csrfmiddlewaretoken": page.context.cookies()[0]["value"]}, headers={
        "X-CSRFToken": next(c["value"] for c in page.context.cookies()
                            if c["name"] == "csrftoken"),
        "Referer": live_server.url + explore})
    assert response.status == 409 and "Time is up" in response.text()
    page.goto(sql_result)
    assert page.get_by_role("button", name="Save as finding").is_disabled()
    assert Finding.objects.filter(session=dig_session).count() == 2

    # The report shows what the team saw (once the sessions' report page exists).
    url = report_url(dig_session)
    if url is not None:
        page.goto(url)
        page.get_by_text("Pro users purchase more often.").wait_for()
        page.get_by_text("Two plans; most users are free.").wait_for()
        breakdown = page.locator("details", has_text="Success rate by plan")
        breakdown.locator("summary").click()
        assert breakdown.get_by_role("cell", name="pro", exact=True).is_visible()
        query = page.locator("details", has_text="SQL: SELECT plan, count(*)")
        query.locator("summary").click()
        assert query.get_by_role("cell", name="155", exact=True).is_visible()
        shot(page, "explore-report")


def test_explorer_pages_on_a_phone(new_page, live_server, log_in, shot, dig_session):
    page = new_page(viewport=PHONE)
    log_in(page, live_server, "olivia@example.com")
    page.goto(f"/t/acme-growth/explore/confounding/?session={dig_session.pk}")
    page.get_by_role("combobox", name="The group: users where").select_option(
        label="did invite_teammate")
    page.get_by_role("combobox", name="Check within each").select_option(label="plan")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_url(re.compile(r"/explore/results/\d+/"))
    # The plain sentence first; the pooled statistics behind "What this means".
    page.locator(".result-plain").first.wait_for()
    page.get_by_text("What this means").first.click()
    page.get_by_text("Mantel-Haenszel").first.wait_for()
    shot(page, "explore-stratify-phone")
