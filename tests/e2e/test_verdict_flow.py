"""An "expect less" hypothesis that the data confirms reads supported in the browser: its
badge on the session page, the counts, the report page, the Markdown export and the API."""

import re

import pytest

from accounts.models import Membership, Team
from api.services import token_create
from sessions import services
from sessions.steps import Step
from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD
from tests.worksessions.factories import (
    INVITED,
    PRO,
    make_dataset,
    make_session,
    make_success,
    move_to,
)

pytestmark = [pytest.mark.browser]

TEXT = "Users who never invite a teammate buy less"


@pytest.fixture
def tested(transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    team = Team.objects.create(name="Acme Growth", slug="acme-growth")
    olivia = make_user("olivia@example.com", "Olivia Owner", password=PASSWORD)
    tom = make_user("tom@example.com", "Tom Teammate", password=PASSWORD)
    Membership.objects.create(team=team, user=olivia, role="owner")
    Membership.objects.create(team=team, user=tom, role="member")
    dataset = make_dataset(team)
    success = make_success(team, dataset, by=olivia)
    session = make_session(team, olivia, members=(tom,), dataset=dataset, success=success)
    session = move_to(session, Step.HYPOTHESES)
    services.hypothesis_create(session=session, author=tom, text=TEXT,
                               criterion={**INVITED, "did": False}, expected_direction="less")
    services.hypothesis_create(session=session, author=olivia, text="Pro plans", criterion=PRO)
    services.entries_reveal(session=session, by=olivia)
    session = move_to(session, Step.TEST)
    services.session_tests_run(session=session, by=olivia)
    return team, session, tom


def test_expect_less_confirmed_reads_supported(new_page, log_in, live_server, tested, shot):
    team, session, tom = tested
    page = new_page()
    log_in(page, live_server, "tom@example.com")
    page.goto(f"/t/{team.slug}/sessions/{session.pk}/")
    entry = page.locator("article", has_text=TEXT).first
    badge = entry.locator(".result-head .badge").first
    badge.wait_for(timeout=30_000)
    assert badge.inner_text() == "Supported"
    assert "badge-supported" in badge.get_attribute("class")
    assert "succeed less often than the rest" in entry.locator(".result-sentence").inner_text()
    # The statistics wait behind "What this means".
    stats = entry.locator("details.result-stats")
    assert not stats.locator(".stats-glossary").is_visible()
    stats.locator("summary").click()
    assert stats.locator(".stats-glossary").is_visible()
    assert "the expectation was “succeed less often”" in stats.inner_text()
    counts = page.locator(".family-note .verdict-counts")
    shown = [int(n) for n in re.findall(r"(\d+) ", counts.inner_text())]
    assert sum(shown) == 2 and "supported" in counts.inner_text()
    shot(page, "verdict-session")

    page.goto(f"/t/{team.slug}/sessions/{session.pk}/report/")
    report_entry = page.locator("article.report-entry", has_text=TEXT)
    assert report_entry.locator(".result-head .badge").first.inner_text() == "Supported"
    assert report_entry.get_by_text("expectation right").is_visible()
    shot(page, "verdict-report")

    markdown = page.request.get(f"/t/{team.slug}/sessions/{session.pk}/report.md").text()
    block = markdown.split(f"### {TEXT}")[1].split("###")[0]
    assert "- Result: Supported (expectation right)." in block

    token = token_create(user=tom, name="e2e")[1]
    answer = page.request.get(f"/api/v1/teams/{team.slug}/sessions/{session.pk}",
                              headers={"Authorization": f"Bearer {token}"}).json()
    result = next(h for h in answer["hypotheses"] if h["text"] == TEXT)["result"]
    assert (result["verdict"], result["direction"]) == ("supported", "less")
    assert sum(answer["counts"].values()) == 2 and answer["counts"]["supported"] >= 1
