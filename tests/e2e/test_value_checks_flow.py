"""Browser tests of issue 11's values from the data: a value typo shows the warning with
the closest value before anything runs (the entry is not kept, no test queued); the value
input offers the values in the data; the success preview shows the numbers that
`manage.py analyze` gives on the same data."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import Membership, Team
from analytics import services as data_services
from analytics.models import AnalysisJob
from sessions.models import Hypothesis
from tests.analytics.test_cli import EVENTS, USERS
from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD
from tests.worksessions.factories import make_dataset, make_session, make_success, move_to

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cast():
    owner = make_user("olivia@example.com", "Olivia Owner", password=PASSWORD)
    member = make_user("tom@example.com", "Tom Teammate", password=PASSWORD)
    team = Team.objects.create(name="Acme Growth", slug="acme-growth")
    Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
    Membership.objects.create(team=team, user=member, role=Membership.Role.MEMBER)
    return team, owner, member


def test_a_value_typo_warns_with_the_closest_value_before_anything_runs(
        cast, new_page, live_server, log_in):
    team, owner, member = cast
    dataset = make_dataset(team)
    data_services.value_profile_ensure(dataset)  # as after an import
    success = make_success(team, dataset, by=owner)
    session = make_session(team, owner, members=(member,), dataset=dataset, success=success)
    session = move_to(session, "hypotheses")

    page = log_in(new_page(), live_server, member.email)
    page.goto(f"/t/{team.slug}/sessions/{session.pk}/")
    form = page.locator("form.entry-form").first
    form.get_by_label("In your own words").fill("Pro users purchase more")
    form.get_by_label("Condition 1").select_option("property")
    form.get_by_label("User property", exact=True).select_option("plan")
    value = form.get_by_label("Value", exact=True).first
    value.click()
    # The input offers plan's values in the data (a datalist, with user counts).
    list_id = value.get_attribute("list")
    assert list_id and page.locator(f"datalist#{list_id} option[value=pro]").count() == 1
    value.fill("Pro")
    jobs_before = AnalysisJob.objects.exclude(kind__in=["values", "count"]).count()
    form.get_by_role("button", name="Add hypothesis").click()
    warning = page.locator("[data-value-warning]").first
    warning.wait_for()
    assert warning.inner_text() == "'Pro' does not occur in plan; closest: 'pro'"
    assert not Hypothesis.objects.exists()
    assert AnalysisJob.objects.exclude(kind__in=["values", "count"]).count() == jobs_before

    # Corrected, the entry is kept.
    form = page.locator("form.entry-form").first
    form.get_by_label("Value", exact=True).first.fill("pro")
    form.get_by_role("button", name="Add hypothesis").click()
    page.locator("#mine").get_by_text("Users whose plan is pro").wait_for()
    assert Hypothesis.objects.get().criterion["value"] == "pro"


def test_the_success_preview_shows_the_numbers_of_manage_py_analyze(
        cast, new_page, live_server, log_in, tmp_path):
    team, owner, _ = cast
    events, users = tmp_path / "events.csv", tmp_path / "users.csv"
    events.write_text(EVENTS)
    users.write_text(USERS)
    data_services.import_now(team=team, name="shop", events=[events], users=users, mapping={})
    success = {"events": ["purchase"], "match": "any", "within_days": 2}
    out = StringIO()
    call_command("analyze", "--events", str(events), "--users", str(users),
                 "--success", json.dumps(success),
                 "--criterion", json.dumps({"kind": "did_event", "event": "login"}), stdout=out)
    expected = json.loads(out.getvalue())["population"]

    page = log_in(new_page(), live_server, owner.email)
    page.goto(f"/t/{team.slug}/success/new/")
    page.get_by_label("Name").fill("Bought within 2 days")
    page.get_by_label("purchase").check()
    page.get_by_label("Within days of their first visit").fill("2")
    preview = page.locator("#preview [data-check-job=preview][data-state=done]")
    preview.wait_for()
    numbers = {name: preview.locator(f"[data-preview={name}]").inner_text()
               for name in ("users", "successes", "excluded_incomplete")}
    assert numbers == {name: f"{expected[name]:,}" for name in numbers}
    assert re.match(r"^\d+(\.\d)?%$", preview.locator("[data-preview=rate]").inner_text())
    assert preview.locator("[data-preview=rate]").inner_text() == f"{expected['rate']:.1%}"
