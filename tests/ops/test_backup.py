"""export_team / import_team: a team's complete data moves to another instance (here: a
flushed database and an empty data directory) or beside itself under another slug, and
reads the same afterwards: the same rows, the same session report, the same results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import connection, models

from accounts.models import Team, User
from analytics.execution import engine_settings
from analytics.models import AnalysisJob, Dataset, DatasetImport, JobStatus, SuccessDefinition
from analytics.runners import RUNNERS
from ops import backup
from ops.backup import BackupRefused, export_team, rows_of, team_models
from ops.demo import DEMO_PASSWORD
from ops.restore import import_team
from sessions.models import Finding, SessionEvent, WorkingSession
from sessions.report import build_report, report_markdown


def snapshot(team: Team) -> dict:
    """What a team's data says, in words and numbers that do not depend on keys."""
    sessions = list(WorkingSession.objects.filter(team=team).order_by("created_at", "pk"))
    session = sessions[-1]
    jobs = AnalysisJob.objects.filter(team=team).order_by("created_at", "pk")
    return {
        "counts": {backup.label_of(m): rows_of(m, team).count() for m in team_models()},
        "reports": [report_markdown(build_report(s)) for s in sessions],
        "results": [(j.kind, j.status, j.result) for j in jobs],
        "members": sorted(team.memberships.values_list("user__email", "role")),
        "lineages": SuccessDefinition.objects.filter(team=team).values("lineage").distinct()
        .count(),
        # To the microsecond: the timer and the order of what was written.
        "deadline": session.dig_deadline(),
        "written_at": [*session.hypotheses.values_list("created_at", flat=True),
                       *session.findings.values_list("created_at", flat=True),
                       *session.events.values_list("at", flat=True)],
    }


def wipe_instance() -> None:
    """Empty every table and the data directory, as on a new instance (inside the test's
    transaction)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # TRUNCATE refuses tables with foreign key checks still pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(django_settings.DATA_DIR, ignore_errors=True)


def files_of(team: Team) -> dict[str, bytes]:
    found = {}
    for dataset in Dataset.objects.filter(team=team):
        for path in sorted(dataset.directory.rglob("*")):
            if path.is_file() and "cache" not in path.relative_to(dataset.directory).parts:
                found[f"{dataset.name}/{path.relative_to(dataset.directory)}"] = path.read_bytes()
    return found


def test_every_model_is_in_a_team_backup_or_excluded_with_a_reason():
    every = {backup.label_of(m) for m in apps.get_models(include_auto_created=True)}
    scoped = {backup.label_of(m) for m in team_models()}
    missing = every - scoped - set(backup.EXCLUDED)
    assert not missing, f"decide whether these belong to a team's backup: {sorted(missing)}"
    assert not scoped & set(backup.EXCLUDED)
    assert set(backup.EXCLUDED) <= every, "EXCLUDED names a model that no longer exists"
    for model in team_models():
        assert backup.team_lookups(model), backup.label_of(model)


def test_the_team_models_are_the_ones_that_belong_to_a_team():
    scoped = {backup.label_of(m) for m in team_models()}
    assert {"accounts.Membership", "accounts.Invitation", "analytics.Dataset",
            "analytics.DatasetImport", "analytics.AnalysisJob", "analytics.SuccessDefinition",
            "worksessions.WorkingSession", "worksessions.Hypothesis",
            "worksessions.HypothesisTest", "worksessions.Finding", "worksessions.NextStep",
            "worksessions.SessionEvent", "worksessions.Participant",
            "dashboards.Dashboard"} <= scoped
    order = [backup.label_of(m) for m in team_models()]
    assert order.index("analytics.Dataset") < order.index("worksessions.WorkingSession")
    assert order.index("worksessions.Hypothesis") < order.index("worksessions.HypothesisTest")


def test_json_references_name_real_fields_and_models():
    for label, columns in backup.JSON_REFERENCES.items():
        model = apps.get_model(label)
        for column, pointers in columns.items():
            assert isinstance(model._meta.get_field(column), models.JSONField)
            for target in pointers.values():
                assert apps.get_model(target) in team_models()


@pytest.mark.slow  # the demo team is imported for real (a few seconds)
def test_round_trip_to_a_fresh_instance(cast, tmp_path, settings):
    before, files_before = snapshot(cast.team), files_of(cast.team)
    assert before["counts"]["worksessions.WorkingSession"] == 2
    assert before["counts"]["worksessions.Finding"] > 3
    other_counts = {label: rows_of(apps.get_model(label), cast.other_team).count()
                    for label in before["counts"]}
    target = tmp_path / "backup"
    call_command("export_team", "demo", str(target), stdout=_Quiet())
    manifest = backup.read_manifest(target)
    assert manifest.models == before["counts"]
    assert manifest.users == 3 and manifest.passwords

    # Another instance: nothing in the database, nothing on disk.
    wipe_instance()
    assert not Team.objects.exists() and not User.objects.exists()

    call_command("import_team", str(target), stdout=_Quiet())
    team = Team.objects.get(slug="demo")
    assert snapshot(team) == before
    assert files_of(team) == files_before
    assert not Team.objects.filter(slug="other").exists()
    assert sum(other_counts.values()) > 0
    # Everyone signs in with the password they had.
    assert authenticate(email="ben@demo.hypothesislab.test", password=DEMO_PASSWORD)
    # The restored dataset is read by the engine like the original.
    job = AnalysisJob.objects.filter(team=team, kind="analyze").first()
    version = job.dataset.version(job.dataset_version)
    assert RUNNERS["analyze"](version, job, engine_settings()) == job.result


@pytest.mark.slow
def test_restored_beside_itself_under_another_slug(cast, tmp_path):
    before = snapshot(cast.team)
    export_team(cast.team, tmp_path / "backup")
    with pytest.raises(BackupRefused, match="--rename"):
        import_team(tmp_path / "backup")

    restored = import_team(tmp_path / "backup", slug="demo-copy", name="Demo (copy)")
    copy = restored.team
    assert restored.users_matched == 3 and restored.users_created == 0
    assert snapshot(copy) == before
    assert snapshot(cast.team) == before  # the original is untouched
    # Every key now points inside the copy: foreign keys and the keys JSON holds.
    copy_definitions = set(SuccessDefinition.objects.filter(team=copy)
                           .values_list("pk", flat=True))
    change = SessionEvent.objects.get(session__team=copy, kind="definition_changed")
    assert {change.data["from_id"], change.data["to_id"]} <= copy_definitions
    pinned = Finding.objects.get(session__team=copy, text="From the explorer")
    job = AnalysisJob.objects.get(pk=pinned.evidence["job"])
    assert job.team == copy and job.session_id == pinned.session_id
    assert job.success_definition_id in copy_definitions
    trends = AnalysisJob.objects.filter(team=copy, kind="trend").select_related("dashboard")
    assert trends and all(t.dashboard.team == copy and t.success_definition_id in copy_definitions
                          for t in trends)
    for label, columns in backup.JSON_REFERENCES.items():
        for column, pointers in columns.items():
            for key, target in pointers.items():
                rows = rows_of(apps.get_model(label), copy).filter(**{f"{column}__has_key": key})
                assert rows.exists(), f"the cast has no {label}.{column}[{key}] to check"
                inside = set(rows_of(apps.get_model(target), copy).values_list("pk", flat=True))
                for value in rows.values_list(column, flat=True):
                    assert value[key] in inside, (label, column, key)
    for dataset in Dataset.objects.filter(team=copy):
        assert dataset.directory != Dataset.objects.get(team=cast.team,
                                                        name=dataset.name).directory
        assert dataset.version().schema_path.is_file()
    # Generated identities were taken here already: fresh ones, never shared.
    assert not (set(SuccessDefinition.objects.filter(team=copy).values_list("lineage", flat=True))
                & set(SuccessDefinition.objects.filter(team=cast.team)
                      .values_list("lineage", flat=True)))


def test_without_passwords_people_must_set_a_new_one(small_team, teammate, tmp_path):
    teammate.is_staff = teammate.is_superuser = True
    teammate.save()
    export_team(small_team, tmp_path / "backup", passwords=False)
    assert "pbkdf2" not in (tmp_path / "backup" / "rows" / "accounts.User.jsonl").read_text()
    assert "md5$" not in (tmp_path / "backup" / "rows" / "accounts.User.jsonl").read_text()
    wipe_instance()
    import_team(tmp_path / "backup")
    tom = User.objects.get(email=teammate.email)
    assert not tom.has_usable_password()
    assert not tom.is_staff and not tom.is_superuser  # a team's backup grants nothing here


def test_unfinished_jobs_are_queued_again_and_imports_marked_interrupted(small_team, tmp_path):
    job = AnalysisJob.objects.get(team=small_team)
    AnalysisJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, result=None)
    DatasetImport.objects.create(dataset=job.dataset, version=2, status=JobStatus.QUEUED)
    export_team(small_team, tmp_path / "backup")
    restored = import_team(tmp_path / "backup", slug="again")
    assert restored.jobs_requeued == 1
    # Tests run tasks at once: the queued analysis has already run again.
    again = AnalysisJob.objects.get(team=restored.team, created_at=job.created_at)
    assert again.status == JobStatus.DONE and again.result is not None
    interrupted = DatasetImport.objects.get(dataset__team=restored.team, version=2)
    assert interrupted.status == JobStatus.FAILED and "restored" in interrupted.error


def test_refusals(small_team, tmp_path):
    with pytest.raises(CommandError, match="No team"):
        call_command("export_team", "nobody", str(tmp_path / "x"))
    (tmp_path / "exists").mkdir()
    with pytest.raises(CommandError, match="exists already"):
        call_command("export_team", small_team.slug, str(tmp_path / "exists"))
    target = tmp_path / "backup"
    export_team(small_team, target)
    with pytest.raises(CommandError, match="--rename"):
        call_command("import_team", str(target))
    with pytest.raises(CommandError, match="not a slug"):
        call_command("import_team", str(target), rename="no spaces")
    some_file = next(p for p in sorted((target / "files").rglob("*.parquet")))
    some_file.write_bytes(some_file.read_bytes()[:-1] + b"X")
    with pytest.raises(CommandError, match="damaged"):
        call_command("import_team", str(target), rename="copy")
    assert not Team.objects.filter(slug="copy").exists()
    with pytest.raises(CommandError, match="not a team backup"):
        call_command("import_team", str(tmp_path / "exists"))


def test_a_failed_restore_leaves_no_rows_and_no_files(small_team, tmp_path, monkeypatch,
                                                      settings):
    export_team(small_team, tmp_path / "backup")
    datasets_before = set((Path(settings.DATA_DIR) / "datasets").iterdir())
    from ops import restore

    def copy_then_fail(source, target, **options):
        shutil.copytree(source, target, **options)
        raise OSError("No space left on device")

    monkeypatch.setattr(restore, "shutil",
                        SimpleNamespace(copytree=copy_then_fail, rmtree=shutil.rmtree))
    with pytest.raises(OSError, match="No space"):
        import_team(tmp_path / "backup", slug="broken")
    assert not Team.objects.filter(slug="broken").exists()
    assert set((Path(settings.DATA_DIR) / "datasets").iterdir()) == datasets_before


class _Quiet:
    def write(self, *args, **kwargs):
        pass

    def flush(self):
        pass


def test_a_backup_made_before_the_models_moved_still_restores(cast, tmp_path):
    """Pins and mappings lived in the dashboards app, and a job's links were ids inside its
    options: such a backup restores into today's models."""
    from dashboards.models import Dashboard
    from sessions.models import DashboardPin
    from sessions.services.pins import pin_finding

    finding = Finding.objects.get(session__team=cast.team, text="From the explorer")
    dashboard = Dashboard.objects.get(team=cast.team, name="Subscriptions")
    pin_finding(dashboard=dashboard, finding=finding, user=finding.author)
    export_team(cast.team, tmp_path / "backup")
    rows_dir = tmp_path / "backup" / "rows"
    manifest_path = tmp_path / "backup" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for new, old in [("worksessions.DashboardPin", "dashboards.DashboardPin"),
                     ("segments.DatasetMapping", "dashboards.DatasetMapping")]:
        if new not in manifest["models"]:
            continue
        lines = (rows_dir / f"{new}.jsonl").read_text().splitlines()
        records = [json.loads(line) | {"model": old.lower()} for line in lines]
        (rows_dir / f"{new}.jsonl").unlink()
        (rows_dir / f"{old}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        manifest["models"][old] = manifest["models"].pop(new)
        manifest["order"] = [old if label == new else label for label in manifest["order"]]
    jobs = rows_dir / "analytics.AnalysisJob.jsonl"
    records = []
    for line in jobs.read_text().splitlines():
        record = json.loads(line)
        for link in ("session", "dashboard", "success_definition"):
            value = record["fields"].pop(link, None)
            if value is not None:
                record["fields"]["options"][link] = value
        records.append(record)
    jobs.write_text("".join(json.dumps(r) + "\n" for r in records))
    manifest_path.write_text(json.dumps(manifest))

    copy = import_team(tmp_path / "backup", slug="old-form").team
    pinned = DashboardPin.objects.get(dashboard__team=copy)
    assert pinned.finding.session.team == copy and pinned.finding.text == "From the explorer"
    job = AnalysisJob.objects.get(pk=Finding.objects.get(session__team=copy,
                                                         text="From the explorer").evidence["job"])
    assert job.session.team == copy and job.success_definition.team == copy
    assert "session" not in job.options
    assert AnalysisJob.objects.filter(team=copy, kind="trend", dashboard__team=copy).exists()
