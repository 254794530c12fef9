"""Mappings, dashboards and their computations through the services (tasks run in-process)."""

import pytest

from analytics.models import AnalysisJob, JobStatus
from analytics.services import success_definition_revise
from dashboards import services
from dashboards.models import DashboardSegment
from segments.models import DatasetMapping

pytestmark = pytest.mark.django_db


def test_mapping_starts_with_name_guesses_then_values_refine_them(product, run_on_commit):
    mapping = run_on_commit(services.mapping_start, dataset=product)
    mapping.refresh_from_db()
    assert mapping.profile_job.kind == AnalysisJob.Kind.PROFILE
    assert mapping.profile_job.status == JobStatus.DONE  # run by the chain, in-process
    assert mapping.roles["login_event"] == "login"
    device = mapping.roles["device"]
    assert (device["scope"], device["name"]) == ("event", "device")
    # the values came from the profile, through dashboards.apply_profile
    assert set(device["values"]) == {"mobile", "desktop"}
    assert mapping.roles["mobile_values"] == ["mobile"]
    assert mapping.guessed_version == 1 and not mapping.is_confirmed


def test_mapping_start_is_reused_and_profiles_once(product, run_on_commit):
    first = run_on_commit(services.mapping_start, dataset=product)
    again = run_on_commit(services.mapping_start, dataset=product)
    assert first.pk == again.pk
    assert AnalysisJob.objects.filter(kind="profile").count() == 1


def test_confirm_refuses_names_the_data_does_not_have(product, owner, run_on_commit):
    mapping = run_on_commit(services.mapping_start, dataset=product)
    roles = {**mapping.roles, "login_event": "log_in"}
    with pytest.raises(services.DashboardRefused, match="no event “log_in”"):
        services.mapping_confirm(mapping_row=mapping, roles=roles, user=owner)
    services.mapping_confirm(mapping_row=mapping, roles=mapping.roles, user=owner)
    assert DatasetMapping.objects.get(pk=mapping.pk).confirmed_by == owner


def confirmed(product, owner, run_on_commit):
    mapping = run_on_commit(services.mapping_start, dataset=product)
    mapping.refresh_from_db()
    return services.mapping_confirm(mapping_row=mapping, roles=mapping.roles, user=owner)


def test_catalog_segments_need_a_confirmed_mapping(dashboard, product, run_on_commit):
    mapping = run_on_commit(services.mapping_start, dataset=product)
    with pytest.raises(services.DashboardRefused, match="Confirm the dataset's mapping"):
        services.dashboard_add_catalog_segments(dashboard=dashboard, keys=["saas.logins"],
                                                mapping_row=mapping)


def test_adding_segments_freezes_them_and_computes(dashboard, product, owner, run_on_commit):
    mapping = confirmed(product, owner, run_on_commit)
    added = run_on_commit(services.dashboard_add_catalog_segments, dashboard=dashboard,
                          keys=["saas.logins", "tech.mobile", "firmo.company_size"],
                          mapping_row=mapping)
    assert [s.catalog_key for s in added] == ["saas.logins", "tech.mobile",
                                              "firmo.company_size"]
    assert added[0].definition["breakdown"]["metric"]["event"] == "login"
    dashboard.refresh_from_db()
    job = dashboard.current_job
    assert job.kind == "trend" and job.status == JobStatus.DONE
    assert [s["key"] for s in job.result["segments"]] == ["saas.logins", "tech.mobile",
                                                          "firmo.company_size"]
    # adding the same segment again adds nothing
    assert services.dashboard_add_catalog_segments(
        dashboard=dashboard, keys=["tech.mobile"], mapping_row=mapping) == []


def test_unsupported_catalog_segment_is_refused_with_the_reason(dashboard, product, owner,
                                                               run_on_commit):
    mapping = confirmed(product, owner, run_on_commit)
    with pytest.raises(services.DashboardRefused, match="No column looks like ownership"):
        services.dashboard_add_catalog_segments(dashboard=dashboard, keys=["firmo.ownership"],
                                                mapping_row=mapping)
    assert not DashboardSegment.objects.exists()


def test_computation_is_reused_until_something_changes(dashboard, product, owner, success,
                                                       run_on_commit):
    mapping = confirmed(product, owner, run_on_commit)
    run_on_commit(services.dashboard_add_catalog_segments, dashboard=dashboard,
                  keys=["tech.mobile"], mapping_row=mapping)
    dashboard.refresh_from_db()
    first = dashboard.current_job
    assert run_on_commit(services.dashboard_compute, dashboard) == first
    assert not services.dashboard_is_stale(dashboard)
    # a new version of the success definition makes the numbers stale
    revised = success_definition_revise(current=success, definition={
        "events": ["subscribe"], "within_days": 3}, created_by=owner, dataset=product)
    dashboard.refresh_from_db()
    assert services.dashboard_is_stale(dashboard)
    second = run_on_commit(services.dashboard_compute, dashboard)
    assert second.pk != first.pk
    assert second.success_definition_id == revised.pk
    assert second.success == {"events": ["subscribe"], "match": "any", "within_days": 3}


def test_confirm_needs_a_segment(dashboard, owner):
    with pytest.raises(services.DashboardRefused, match="at least one segment"):
        services.dashboard_confirm(dashboard=dashboard, user=owner)


def test_team_segment_is_checked_against_the_data(team, product, owner):
    with pytest.raises(services.DashboardRefused, match="did you mean 'plan'"):
        services.team_segment_create(team=team, name="By plan", dataset=product, user=owner,
                                     definition={"breakdown": {"property": "plann"}})
    own = services.team_segment_create(team=team, name="By plan", dataset=product,
                                       user=owner, definition={"breakdown": {"property": "plan"}})
    assert own.description == "split by plan"
    with pytest.raises(services.DashboardRefused, match="already has a segment"):
        services.team_segment_create(team=team, name="By plan", dataset=product, user=owner,
                                     definition={"breakdown": {"property": "plan"}})


def test_dashboard_refuses_a_definition_that_does_not_fit(team, product, owner):
    from tests.dashboards.factories import make_success

    other = make_success(team, None, name="Bought", definition={"events": ["purchase"]})
    with pytest.raises(services.DashboardRefused, match="does not fit"):
        services.dashboard_create(team=team, name="X", dataset=product,
                                  success_definition=other, user=owner)
