"""Every Phase 1 page: the happy path, the teammate, the outsider (404) and bad input."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from analytics.engine import duck
from analytics.models import JobStatus, SuccessDefinition
from dashboards import review, services
from dashboards.models import Dashboard, ReviewNote, TeamSegment, WeeklySnapshot
from dashboards.tasks import weekly_review
from segments.models import DatasetMapping
from sessions.models import DashboardPin

pytestmark = pytest.mark.django_db
SLUG = "acme-growth"


def url(name, **kwargs):
    return reverse(name, kwargs={"team_slug": SLUG, **kwargs})


@pytest.fixture
def ready(dashboard, product, owner, run_on_commit):
    mapping = run_on_commit(services.mapping_start, dataset=product)
    mapping.refresh_from_db()
    services.mapping_confirm(mapping_row=mapping, roles=mapping.roles, user=owner)
    run_on_commit(services.dashboard_add_catalog_segments, dashboard=dashboard,
                  keys=["tech.mobile", "saas.logins", "firmo.company_size"],
                  mapping_row=mapping)
    dashboard.refresh_from_db()
    return dashboard


@pytest.fixture
def as_teammate(client, teammate):
    client.force_login(teammate)
    return client


@pytest.fixture
def as_outsider(client, outsider):
    client.force_login(outsider)
    return client


def test_outsider_gets_404_everywhere(as_outsider, ready, product, success, team):
    own = TeamSegment.objects.create(team=team, name="x", definition={})
    pages = [
        url("dashboards:dashboard_list"), url("dashboards:dashboard_create"),
        url("dashboards:dashboard_detail", dashboard_id=ready.pk),
        url("dashboards:dashboard_segments", dashboard_id=ready.pk),
        url("dashboards:dashboard_review", dashboard_id=ready.pk),
        url("dashboards:team_segment_list"), url("dashboards:team_segment_create"),
        url("dashboards:dataset_mapping", dataset_id=product.pk),
        url("success:success_list"), url("success:success_create"),
        url("success:success_detail", definition_id=success.pk),
    ]
    for page in pages:
        assert as_outsider.get(page).status_code == 404, page
    posts = [
        url("dashboards:dashboard_refresh", dashboard_id=ready.pk),
        url("dashboards:dashboard_confirm", dashboard_id=ready.pk),
        url("dashboards:note_create", dashboard_id=ready.pk),
        url("dashboards:pin_create", dashboard_id=ready.pk),
    ]
    for page in posts:
        assert as_outsider.post(page, {"team_segment": own.pk}).status_code == 404, page
    assert Dashboard.objects.get(pk=ready.pk).confirmed_at is None


def test_anonymous_is_sent_to_log_in(client, ready):
    response = client.get(url("dashboards:dashboard_detail", dashboard_id=ready.pk))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_list_shows_dashboards_with_few_queries(as_teammate, ready, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        response = as_teammate.get(url("dashboards:dashboard_list"))
    assert response.status_code == 200
    assert b"Activation" in response.content and b"Draft" in response.content


def test_create_a_dashboard(as_teammate, product, success):
    response = as_teammate.post(url("dashboards:dashboard_create"), {
        "name": "Weekly activation", "dataset": product.pk, "success_definition": success.pk})
    created = Dashboard.objects.get(name="Weekly activation")
    assert response.status_code == 302
    assert response["Location"] == url("dashboards:dashboard_segments", dashboard_id=created.pk)


def test_create_refuses_bad_input(as_teammate, product, success, dashboard):
    empty = as_teammate.post(url("dashboards:dashboard_create"), {
        "name": "", "dataset": product.pk, "success_definition": success.pk})
    assert empty.status_code == 200 and b"This field is required" in empty.content
    taken = as_teammate.post(url("dashboards:dashboard_create"), {
        "name": "Activation", "dataset": product.pk, "success_definition": success.pk})
    assert taken.status_code == 200 and "already has a dashboard" in taken.content.decode()


def test_detail_draws_charts_and_tables_without_touching_the_data(as_teammate, ready,
                                                                  monkeypatch):
    def no_duckdb(*args, **kwargs):
        raise AssertionError("a page must not read the data")

    monkeypatch.setattr(duck, "connect", no_duckdb)
    response = as_teammate.get(url("dashboards:dashboard_detail", dashboard_id=ready.pk))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="chart-svg"') >= 7  # overall + a line chart and bars per segment
    assert "Mobile users" in html and "Number of logins" in html
    assert "Week by week (table)" in html and "95% interval" in html
    assert "Confirm set-up" in html
    assert 'hx-trigger="every 2s"' not in html


def test_detail_polls_while_computing(as_teammate, ready):
    ready.current_job.status = JobStatus.RUNNING
    ready.current_job.save()
    page = url("dashboards:dashboard_detail", dashboard_id=ready.pk)
    html = as_teammate.get(page).content.decode()
    assert 'hx-trigger="every 2s"' in html and "Computing" in html
    fragment = as_teammate.get(page + "?part=body", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith('<div id="dashboard-body"')
    assert "<html" not in fragment
    ready.current_job.status = JobStatus.DONE
    ready.current_job.save()
    done = as_teammate.get(page + "?part=body", HTTP_HX_REQUEST="true").content.decode()
    assert "every 2s" not in done and "chart-svg" in done


def test_detail_marks_a_new_success_version(as_teammate, ready, success, owner, product,
                                            run_on_commit):
    from analytics.services import success_definition_revise

    success_definition_revise(current=success, definition={"events": ["subscribe"],
                                                           "within_days": 4},
                              created_by=owner, dataset=product)
    page = url("dashboards:dashboard_detail", dashboard_id=ready.pk)
    html = as_teammate.get(page).content.decode()
    assert "The data or the success definition changed" in html
    run_on_commit(as_teammate.post, url("dashboards:dashboard_refresh", dashboard_id=ready.pk))
    html = as_teammate.get(page).content.decode()
    assert "v2" in html and "changed since" not in html


def test_segments_page_says_why_a_segment_is_not_available(as_teammate, ready):
    html = as_teammate.get(url("dashboards:dashboard_segments", dashboard_id=ready.pk)).content
    html = html.decode()
    assert "Not available: No column looks like ownership." in html
    assert 'value="saas.time_in_app"' in html  # supported, not yet on the dashboard
    assert "on the dashboard" in html


def test_segments_add_and_remove(as_teammate, ready, run_on_commit):
    page = url("dashboards:dashboard_segments", dashboard_id=ready.pk)
    refused = run_on_commit(as_teammate.post, page,
                            {"catalog": ["saas.time_in_app", "demo.location"]}, follow=True)
    assert "Location: No column looks like location." in refused.content.decode()
    assert not ready.segments.filter(catalog_key="saas.time_in_app").exists()  # all or none
    run_on_commit(as_teammate.post, page, {"catalog": ["saas.time_in_app"]})
    assert ready.segments.filter(catalog_key="saas.time_in_app").exists()
    nothing = as_teammate.post(page, {}, follow=True)
    assert "Tick the segments to add." in nothing.content.decode()
    segment = ready.segments.get(catalog_key="saas.time_in_app")
    run_on_commit(as_teammate.post, page, {"remove": segment.pk})
    assert not ready.segments.filter(pk=segment.pk).exists()


def test_add_a_team_segment(as_teammate, ready, team, product, owner, run_on_commit):
    own = services.team_segment_create(team=team, name="By plan", dataset=product, user=owner,
                                       definition={"breakdown": {"property": "plan"}})
    page = url("dashboards:dashboard_segments", dashboard_id=ready.pk)
    run_on_commit(as_teammate.post, page, {"team_segment": own.pk})
    assert ready.segments.filter(team_segment=own).exists()


def test_confirm(as_teammate, ready, teammate):
    as_teammate.post(url("dashboards:dashboard_confirm", dashboard_id=ready.pk))
    ready.refresh_from_db()
    assert ready.confirmed_by == teammate and ready.is_confirmed


def test_review_page_asks_for_an_insight_and_logs_one(as_teammate, ready, owner,
                                                      run_on_commit, teammate):
    services.dashboard_confirm(dashboard=ready, user=owner)
    with time_machine.travel(datetime(2026, 11, 2, 6, tzinfo=UTC), tick=False):
        run_on_commit(weekly_review)
    page = url("dashboards:dashboard_review", dashboard_id=ready.pk)
    html = as_teammate.get(page).content.decode()
    assert "Week of 2 Nov 2026" in html and "No insight for this week yet" in html
    assert "moved" in html and "Benjamini-Hochberg" in html
    response = as_teammate.post(url("dashboards:note_create", dashboard_id=ready.pk), {
        "week": "2026-11-02", "kind": "insight", "about": "tech.mobile|",
        "text": "Mobile users convert since the new app."})
    assert response.status_code == 302 and "#week-2026-11-02" in response["Location"]
    note = ReviewNote.objects.get()
    assert (note.author, note.segment_key) == (teammate, "tech.mobile")
    html = as_teammate.get(page).content.decode()
    assert "Mobile users convert since the new app." in html
    assert "No insight for this week yet" not in html


def test_note_needs_text(as_teammate, ready):
    response = as_teammate.post(url("dashboards:note_create", dashboard_id=ready.pk),
                                {"week": "2026-11-02", "kind": "insight", "text": ""},
                                follow=True)
    assert "Write the note first." in response.content.decode()
    assert not ReviewNote.objects.exists()


def test_mapping_page_guesses_and_confirms(as_teammate, product, run_on_commit, teammate):
    page = url("dashboards:dataset_mapping", dataset_id=product.pk)
    html = run_on_commit(as_teammate.get, page).content.decode()
    assert "Guess: an event named “login”." in html
    assert 'value="event:device" selected' in html
    row = DatasetMapping.objects.get(dataset=product)
    html = as_teammate.get(page).content.decode()  # the values are in now
    data = {"login_event": "login", "device": "event:device", "mobile_values": "mobile",
            "age_bins": "18, 30", "core_events": ["login"]}
    response = as_teammate.post(page, data)
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.confirmed_by == teammate and row.roles["mobile_values"] == ["mobile"]
    assert row.roles["age_bins"] == [18, 30] and row.roles["device"]["type"] == "text"
    assert row.roles["signup_event"] is None


def test_mapping_page_refuses_bad_input(as_teammate, product, run_on_commit):
    page = url("dashboards:dataset_mapping", dataset_id=product.pk)
    run_on_commit(as_teammate.get, page)
    response = as_teammate.post(page, {"login_event": "nope", "age_bins": "30, 18"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice" in html and "increasing order" in html
    assert not DatasetMapping.objects.get(dataset=product).is_confirmed


def test_success_definition_create_preview_and_new_version(as_teammate, product, team):
    create = url("success:success_create")
    assert as_teammate.get(create).status_code == 200
    fields = {"name": "Logged in twice", "dataset": product.pk, "basis": "events",
              "events": ["login"], "match": "any", "within_days": "7",
              "complete_windows": "on", "where_property": "device", "where_op": "=",
              "where_value": "mobile"}
    preview = as_teammate.post(create, {**fields, "preview": "1"}, HTTP_HX_REQUEST="true")
    assert "did login (device is mobile) within 7 days of first visit" in \
        preview.content.decode()
    assert not SuccessDefinition.objects.filter(name="Logged in twice").exists()
    as_teammate.post(create, fields)
    first = SuccessDefinition.objects.get(name="Logged in twice")
    assert first.definition == {"events": ["login"], "match": "any", "within_days": 7,
                                "where": [{"property": "device", "op": "=", "value": "mobile"}]}
    detail = url("success:success_detail", definition_id=first.pk)
    assert "did login" in as_teammate.get(detail).content.decode()
    # Nothing used it yet: the edit changes it in place.
    response = as_teammate.post(detail, {**fields, "within_days": "3"})
    edited = SuccessDefinition.objects.get(lineage=first.lineage, is_current=True)
    assert edited.pk == first.pk and edited.version == 1
    assert edited.definition["within_days"] == 3
    # Once a dashboard uses it, an edit makes version 2 and the dashboard keeps version 1.
    from dashboards.models import Dashboard

    used_by = Dashboard.objects.create(team=team, name="Weekly", dataset=product,
                                       success_definition=edited)
    response = as_teammate.post(detail, {**fields, "within_days": "5"})
    second = SuccessDefinition.objects.get(lineage=first.lineage, is_current=True)
    assert second.version == 2 and second.definition["within_days"] == 5
    assert response["Location"] == url("success:success_detail", definition_id=second.pk)
    used_by.refresh_from_db()
    assert used_by.success_definition.definition["within_days"] == 3


def test_success_definition_refuses_bad_input(as_teammate, product):
    response = as_teammate.post(url("success:success_create"), {
        "name": "Nothing", "dataset": product.pk, "basis": "events", "match": "any"})
    assert response.status_code == 200 and "This field is required." in \
        response.content.decode()
    response = as_teammate.post(url("success:success_create"), {
        "name": "Soon", "dataset": product.pk, "basis": "events", "events": ["login"],
        "match": "any", "within_days": "0"})
    assert "greater than or equal to 1" in response.content.decode()
    assert not SuccessDefinition.objects.filter(name__in=["Nothing", "Soon"]).exists()


def test_team_segment_form(as_teammate, product, team):
    page = url("dashboards:team_segment_create")
    as_teammate.post(page, {"name": "Logins", "dataset": product.pk, "kind": "event_count",
                            "event": "login", "within_days": "7", "bins": "1, 3"})
    own = TeamSegment.objects.get(team=team)
    assert own.definition["breakdown"] == {"metric": {"kind": "event_count", "event": "login",
                                                      "within_days": 7}, "bins": [1, 3]}
    bad = as_teammate.post(page, {"name": "J", "dataset": product.pk, "kind": "json",
                                  "definition_json": "{nope"})
    assert bad.status_code == 200 and "Not JSON" in bad.content.decode()


def test_pin_a_finding(as_teammate, ready, team, product, success, owner):
    from sessions.models import Finding, WorkingSession

    session = WorkingSession.objects.create(team=team, dataset=product,
                                            success_definition=success, title="Kickoff")
    finding = Finding.objects.create(session=session, author=owner, step="dig",
                                     text="Referral users stick")
    page = url("dashboards:dashboard_detail", dashboard_id=ready.pk)
    assert "Referral users stick" in as_teammate.get(page).content.decode()  # offered
    as_teammate.post(url("dashboards:pin_create", dashboard_id=ready.pk),
                     {"finding": finding.pk})
    pin = DashboardPin.objects.get()
    assert pin.finding == finding
    as_teammate.post(url("dashboards:pin_delete", dashboard_id=ready.pk, pin_id=pin.pk))
    assert not DashboardPin.objects.exists()
    bad = as_teammate.post(url("dashboards:pin_create", dashboard_id=ready.pk),
                           {"finding": "x"}, follow=True)
    assert "Pick a finding" in bad.content.decode()


def test_a_trend_about_a_flagged_bucket(as_teammate, ready, owner, run_on_commit):
    services.dashboard_confirm(dashboard=ready, user=owner)
    with time_machine.travel(datetime(2026, 11, 2, 6, tzinfo=UTC), tick=False):
        run_on_commit(weekly_review)
    html = as_teammate.get(url("dashboards:dashboard_review", dashboard_id=ready.pk)).content
    assert "Mobile users: mobile (first visit) (moved)" in html.decode()
    as_teammate.post(url("dashboards:note_create", dashboard_id=ready.pk), {
        "week": "2026-11-02", "kind": "trend", "about": "tech.mobile|mobile (first visit)",
        "text": "Mobile jumped."})
    note = ReviewNote.objects.get()
    assert (note.kind, note.segment_key, note.bucket) == ("trend", "tech.mobile",
                                                          "mobile (first visit)")
    html = as_teammate.get(url("dashboards:dashboard_review", dashboard_id=ready.pk)).content
    assert "about Mobile users: mobile (first visit)" in html.decode()


def test_detail_page_queries_are_bounded(as_teammate, ready, django_assert_max_num_queries):
    page = url("dashboards:dashboard_detail", dashboard_id=ready.pk)
    as_teammate.get(page)
    with django_assert_max_num_queries(16):
        assert as_teammate.get(page).status_code == 200


def test_team_home_shows_the_dashboards(as_teammate, ready, owner, run_on_commit):
    services.dashboard_confirm(dashboard=ready, user=owner)
    with time_machine.travel(datetime(2026, 11, 2, 6, tzinfo=UTC), tick=False):
        run_on_commit(weekly_review)
    html = as_teammate.get(reverse("accounts:team_home", kwargs={"team_slug": SLUG}))
    html = html.content.decode()
    assert "Activation" in html and "week of 2 Nov" in html and "moved" in html


def test_the_hypothesis_picker_offers_catalog_segments(ready, product):
    from django.template import Context, Template

    html = Template("{% load dashboards_ui %}{% catalog_segment_picker dataset %}").render(
        Context({"dataset": product}))
    assert "Start from a catalog segment" in html
    assert '?from_segment=saas.logins"' in html
    assert "Users who have 3 or more login events in the first week succeed more often" in html
    assert "&quot;kind&quot;: &quot;event_count&quot;" in html  # data-criterion, escaped
    assert "?from_segment=firmo.company_size&amp;value=1-10" in html


# ---------------------------------------------------------------- review today (issue 11)

TUESDAY = datetime(2026, 11, 3, 10, tzinfo=UTC)


def test_take_this_weeks_snapshot_now_once_and_log_an_insight(as_teammate, ready, owner,
                                                              run_on_commit, teammate):
    services.dashboard_confirm(dashboard=ready, user=owner)
    review_page = url("dashboards:dashboard_review", dashboard_id=ready.pk)
    with time_machine.travel(TUESDAY, tick=False):
        html = as_teammate.get(review_page).content.decode()
        assert "Take this week’s snapshot now" in html
        now = url("dashboards:snapshot_now", dashboard_id=ready.pk)
        response = run_on_commit(as_teammate.post, now)
        assert response.status_code == 302
        assert response["Location"].endswith("/review/#week-2026-11-02")
        run_on_commit(as_teammate.post, now)  # twice in one week: still one snapshot
        assert WeeklySnapshot.objects.filter(dashboard=ready).count() == 1
        run_on_commit(weekly_review)  # and Monday's beat job would find it too
        assert WeeklySnapshot.objects.filter(dashboard=ready).count() == 1
        snapshot = WeeklySnapshot.objects.get()
        assert snapshot.week.isoformat() == "2026-11-02" and snapshot.status == "done"
        html = as_teammate.get(review_page).content.decode()
        assert "Take this week’s snapshot now" not in html
        assert "Judged: the week of 28 Sep (the last complete week)" in html
        response = as_teammate.post(url("dashboards:note_create", dashboard_id=ready.pk), {
            "week": "2026-11-02", "kind": "insight", "about": "tech.mobile|",
            "text": "Seen the same day."})
        assert response.status_code == 302
        assert ReviewNote.objects.get().text == "Seen the same day."
        detail = as_teammate.get(url("dashboards:dashboard_detail", dashboard_id=ready.pk))
        assert "Judged: the week of 28 Sep (the last complete week)" in detail.content.decode()


def test_snapshot_now_needs_a_confirmed_dashboard_and_a_member(as_teammate, ready, client,
                                                               outsider, owner):
    now = url("dashboards:snapshot_now", dashboard_id=ready.pk)
    response = as_teammate.post(now, follow=True)
    assert "Confirm the dashboard" in response.content.decode()
    assert not WeeklySnapshot.objects.exists()
    services.dashboard_confirm(dashboard=ready, user=owner)
    assert as_teammate.get(now).status_code == 405
    client.force_login(outsider)
    assert client.post(now).status_code == 404
    assert not WeeklySnapshot.objects.exists()


def test_the_review_shares_read_only_with_members(as_teammate, ready, owner, run_on_commit,
                                                  client, outsider):
    services.dashboard_confirm(dashboard=ready, user=owner)
    with time_machine.travel(TUESDAY, tick=False):
        run_on_commit(weekly_review)
    review.note_add(dashboard=ready, week=datetime(2026, 11, 2).date(), text="A shared insight",
                    author=owner)
    page = url("dashboards:dashboard_review_print", dashboard_id=ready.pk)
    assert page in as_teammate.get(url("dashboards:dashboard_review",
                                       dashboard_id=ready.pk)).content.decode()
    response = as_teammate.get(page)
    html = response.content.decode()
    assert response.status_code == 200 and "A shared insight" in html
    assert "<form" not in html and "<nav" not in html and "topbar" not in html
    assert "Judged: the week of 28 Sep" in html
    client.force_login(outsider)
    assert client.get(page).status_code == 404
