"""The weekly review: one snapshot per dashboard and ISO week (time moved with
time-machine), moves flagged with a test and Benjamini-Hochberg, a digest email once."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core import mail
from django.db import IntegrityError, transaction

from analytics.models import AnalysisJob, JobStatus
from dashboards import review, services
from dashboards.models import ReviewNote, WeeklySnapshot
from dashboards.tasks import weekly_review

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
THURSDAY = datetime(2026, 11, 5, 15, 0, tzinfo=UTC)
NEXT_MONDAY = datetime(2026, 11, 9, 6, 0, tzinfo=UTC)


@pytest.fixture
def ready(dashboard, product, owner, run_on_commit):
    mapping = run_on_commit(services.mapping_start, dataset=product)
    mapping.refresh_from_db()
    services.mapping_confirm(mapping_row=mapping, roles=mapping.roles, user=owner)
    run_on_commit(services.dashboard_add_catalog_segments, dashboard=dashboard,
                  keys=["tech.mobile", "saas.logins"], mapping_row=mapping)
    services.dashboard_confirm(dashboard=dashboard, user=owner)
    dashboard.refresh_from_db()
    return dashboard


def test_week_of_is_the_iso_monday():
    assert review.week_of(datetime(2026, 11, 8, 23, 59, tzinfo=UTC)) == date(2026, 11, 2)
    assert review.week_of(datetime(2026, 11, 9, 0, 0, tzinfo=UTC)) == date(2026, 11, 9)


def test_weekly_job_snapshots_flags_and_mails_once_per_week(ready, run_on_commit, settings):
    settings.SITE_URL = "https://lab.example.com"
    with time_machine.travel(MONDAY, tick=False):
        assert run_on_commit(weekly_review) == 1
    snapshot = WeeklySnapshot.objects.get()
    assert snapshot.week == date(2026, 11, 2) and snapshot.iso_week == "2026-W45"
    assert snapshot.status == "done"
    # the live computation matched exactly, so the snapshot reused it
    assert snapshot.job_id == ready.current_job_id
    changes = snapshot.changes
    assert changes["week"] == "2026-09-28" and changes["previous_week"] == "2026-09-21"
    flagged = {(r["segment"], r["bucket"]) for r in changes["rows"] if r["flagged"]}
    assert ("tech.mobile", "mobile (first visit)") in flagged
    assert ("tech.mobile", "other devices") not in flagged

    assert sorted(m.to[0] for m in mail.outbox) == ["olivia@example.com", "tom@example.com"]
    message = mail.outbox[0]
    assert "Weekly review of Activation" in message.subject
    assert "beyond chance" in message.subject
    url = f"https://lab.example.com/t/acme-growth/dashboards/{ready.pk}/review/"
    assert url in message.body
    assert "Mobile users: mobile (first visit) — 20.0% → 80.0%" in message.body
    assert url in message.alternatives[0].content

    # the beat fires again in the same week: nothing new
    with time_machine.travel(THURSDAY, tick=False):
        run_on_commit(weekly_review)
    assert WeeklySnapshot.objects.count() == 1 and len(mail.outbox) == 2

    # next week: a new snapshot and a new digest
    with time_machine.travel(NEXT_MONDAY, tick=False):
        run_on_commit(weekly_review)
    assert list(WeeklySnapshot.objects.values_list("week", flat=True)) == [
        date(2026, 11, 9), date(2026, 11, 2)]
    assert len(mail.outbox) == 4


def test_the_database_refuses_a_second_snapshot_for_a_week(ready):
    WeeklySnapshot.objects.create(dashboard=ready, week=date(2026, 11, 2),
                                  success_definition=ready.success_definition,
                                  dataset_version=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        WeeklySnapshot.objects.create(dashboard=ready, week=date(2026, 11, 2),
                                      success_definition=ready.success_definition,
                                      dataset_version=1)


def test_a_changed_dashboard_is_computed_again_for_the_snapshot(ready, owner, success,
                                                                 product, run_on_commit):
    from analytics.services import success_definition_revise

    revised = success_definition_revise(current=success, definition={
        "events": ["subscribe"], "within_days": 5}, created_by=owner, dataset=product)
    with time_machine.travel(MONDAY, tick=False):
        run_on_commit(weekly_review)
    snapshot = WeeklySnapshot.objects.get()
    assert snapshot.job_id != ready.current_job_id
    assert snapshot.success_definition == revised
    assert snapshot.job.success["within_days"] == 5 and snapshot.status == "done"


def test_drafts_are_not_reviewed(dashboard, run_on_commit):
    with time_machine.travel(MONDAY, tick=False):
        assert run_on_commit(weekly_review) == 0
    assert not WeeklySnapshot.objects.exists() and not mail.outbox


def test_a_failed_computation_fails_the_snapshot_and_says_so(ready, run_on_commit):
    with time_machine.travel(MONDAY, tick=False):
        snapshot = WeeklySnapshot.objects.create(
            dashboard=ready, week=review.week_of(), dataset_version=1,
            success_definition=ready.success_definition,
            job=AnalysisJob.objects.create(team=ready.team, dataset=ready.dataset,
                                           dataset_version=1, kind="trend", success={},
                                           status=JobStatus.FAILED, error="disk full"))
        run_on_commit(weekly_review)  # finds this week's snapshot and finishes it
    snapshot.refresh_from_db()
    assert snapshot.status == "failed" and snapshot.error == "disk full"
    assert len(mail.outbox) == 2 and "could not be computed: disk full" in mail.outbox[0].body


def test_a_lost_follow_up_is_finished_by_the_next_run(ready, run_on_commit):
    with time_machine.travel(MONDAY, tick=False):
        snapshot = WeeklySnapshot.objects.create(
            dashboard=ready, week=review.week_of(), dataset_version=1,
            success_definition=ready.success_definition, job=ready.current_job)
        assert snapshot.status == "computing"
        run_on_commit(weekly_review)
    snapshot.refresh_from_db()
    assert snapshot.status == "done" and snapshot.digest_sent_at is not None


def test_the_digest_goes_out_once(ready, run_on_commit):
    with time_machine.travel(MONDAY, tick=False):
        run_on_commit(weekly_review)
    snapshot = WeeklySnapshot.objects.get()
    assert review.digest_send(snapshot) is False
    assert len(mail.outbox) == 2


def test_notes_belong_to_a_week_and_a_segment_of_the_dashboard(ready, owner):
    note = review.note_add(dashboard=ready, week=date(2026, 11, 2), text=" Mobile jumped ",
                           author=owner, segment_key="tech.mobile", bucket="mobile")
    assert note.text == "Mobile jumped" and note.kind == ReviewNote.Kind.INSIGHT
    with pytest.raises(services.DashboardRefused, match="Write"):
        review.note_add(dashboard=ready, week=date(2026, 11, 2), text="  ", author=owner)
    with pytest.raises(services.DashboardRefused, match="Monday"):
        review.note_add(dashboard=ready, week=date(2026, 11, 3), text="x", author=owner)
    with pytest.raises(services.DashboardRefused, match="not on this dashboard"):
        review.note_add(dashboard=ready, week=date(2026, 11, 2), text="x", author=owner,
                        segment_key="firmo.ownership")


def test_a_definition_that_no_longer_fits_fails_the_week_and_says_why(ready, run_on_commit,
                                                                      success):
    # The definition was edited outside the app's checks (an admin, an old API client).
    success.definition = {"events": ["churned"]}
    success.save()
    with time_machine.travel(MONDAY, tick=False):
        run_on_commit(weekly_review)
    snapshot = WeeklySnapshot.objects.get()
    assert snapshot.status == "failed" and "unknown event 'churned'" in snapshot.error
    assert len(mail.outbox) == 2 and "could not be computed" in mail.outbox[0].body


def test_charts_mark_where_the_success_definition_changed(ready, owner, success, product,
                                                          run_on_commit, client):
    from analytics.services import success_definition_revise
    from dashboards.report import version_markers

    with time_machine.travel(MONDAY, tick=False):
        run_on_commit(weekly_review)
    with time_machine.travel(NEXT_MONDAY, tick=False):
        revised = success_definition_revise(current=success, definition={
            "events": ["subscribe"], "within_days": 5}, created_by=owner, dataset=product)
        run_on_commit(weekly_review)
    first, second = WeeklySnapshot.objects.order_by("week")
    assert (first.success_definition, second.success_definition) == (success, revised)
    client.force_login(owner)
    html = client.get(f"/t/acme-growth/dashboards/{ready.pk}/review/").content.decode()
    assert 'class="chart-marker-label"' in html and ">success v2</text>" in html
    assert "The success definition changed before this snapshot" in html
    # on the weekly chart, a version made during the weeks shown is marked at its week
    weeks = [{"week": "2026-11-02"}, {"week": "2026-11-09"}]
    assert version_markers([success, revised], weeks) == [{"week": "2026-11-09",
                                                          "label": "v2"}]


def test_the_review_leads_with_what_moved_in_plain_words():
    from dashboards.selectors import moves_sentence

    def row(segment, bucket, before, now, flagged):
        return {"segment": segment, "segment_name": "Device" if segment != "__all__" else
                "All users", "bucket": bucket, "bucket_label": bucket, "flagged": flagged,
                "before": {"rate": before}, "now": {"rate": now}, "diff": now - before}

    rows = [row("tech.mobile", "mobile", 0.30, 0.21, True), row("__all__", "", 0.25, 0.27, True),
            row("tech.mobile", "desktop", 0.20, 0.21, False)]
    assert moves_sentence(rows) == ("Device: mobile fell from 30.0% to 21.0%; "
                                    "All users rose from 25.0% to 27.0%.")
    assert moves_sentence(rows[2:]) == "Nothing moved beyond chance since the week before."
    many = [row("tech.mobile", f"b{i}", 0.1, 0.1 + i / 100, True) for i in range(1, 6)]
    assert moves_sentence(many).endswith(", and 2 more.")
