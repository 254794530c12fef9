"""Migration 0006 moves the ids AnalysisJob.options held into its foreign keys: ids of
rows that are gone, or of another team, leave the link empty; the keys leave options."""

from importlib import import_module

from django.apps import apps

from accounts.models import Team
from analytics.models import AnalysisJob, Dataset, SuccessDefinition
from dashboards.models import Dashboard
from sessions.models import WorkingSession

migration = import_module("analytics.migrations.0006_analysisjob_links_from_options")


def _job(team, dataset, **options) -> AnalysisJob:
    return AnalysisJob.objects.create(team=team, dataset=dataset, dataset_version=1,
                                      kind="sql", success={}, options=options)


def test_ids_in_options_become_foreign_keys(team, owner):
    dataset = Dataset.objects.create(team=team, name="Events")
    success = SuccessDefinition.objects.create(team=team, name="Pays", definition={})
    session = WorkingSession.objects.create(team=team, dataset=dataset, title="Why",
                                            success_definition=success)
    dashboard = Dashboard.objects.create(team=team, name="Weekly", dataset=dataset,
                                         success_definition=success)
    other = Team.objects.create(name="Other", slug="other")
    foreign = SuccessDefinition.objects.create(team=other, name="Theirs", definition={})

    linked = _job(team, dataset, sql="SELECT 1", session=session.pk,
                  success_definition=success.pk, dashboard=dashboard.pk)
    dangling = _job(team, dataset, session=999_999, success_definition=foreign.pk,
                    dashboard="nonsense")
    plain = _job(team, dataset, sql="SELECT 2")

    migration.forwards(apps, None)
    for job in (linked, dangling, plain):
        job.refresh_from_db()
    assert (linked.session, linked.dashboard, linked.success_definition) == (
        session, dashboard, success)
    assert linked.options == {"sql": "SELECT 1"}
    assert (dangling.session, dangling.dashboard, dangling.success_definition) == (
        None, None, None)
    assert dangling.options == {}
    assert plain.options == {"sql": "SELECT 2"} and plain.session is None

    migration.backwards(apps, None)
    linked.refresh_from_db()
    assert linked.options == {"sql": "SELECT 1", "session": session.pk,
                              "success_definition": success.pk, "dashboard": dashboard.pk}
