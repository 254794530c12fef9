"""The weekly review: every confirmed dashboard is snapshotted once per ISO week (a
database constraint makes a second run of the beat job a no-op), each segment's latest
complete week is compared with the week before (analytics.engine.trends.week_changes: a test per
bucket, Benjamini-Hochberg across them), and the members get a digest email with the
flagged moves and a link. The team logs trends and insights against a week."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from analytics.engine.weeks import week_changes
from analytics.models import JobStatus
from hypothesislab.tasks_runner import enqueue

from .models import Dashboard, ReviewNote, WeeklySnapshot
from .selectors import labelled_changes
from .services import (
    DashboardRefused,
    current_success,
    engine_segments,
    fingerprint,
    trend_submit,
)

log = logging.getLogger(__name__)


def week_of(moment: datetime | None = None) -> date:
    """Monday of the ISO week of a moment (UTC), by default now."""
    day = (moment or timezone.now()).astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def review_all(*, now: datetime | None = None) -> list[WeeklySnapshot]:
    """The beat job's work: a snapshot of every confirmed dashboard for this week, and a
    second chance for snapshots whose follow-up was lost (a restarted broker)."""
    week = week_of(now)
    taken = []
    for dashboard in Dashboard.objects.filter(confirmed_at__isnull=False).select_related(
            "dataset", "success_definition", "team"):
        try:
            snapshot, _ = snapshot_take(dashboard, week=week)
        except DashboardRefused as refusal:
            log.warning("weekly review of dashboard %s refused: %s", dashboard.pk, refusal)
            continue
        taken.append(snapshot)
    for snapshot in WeeklySnapshot.objects.filter(
            status=WeeklySnapshot.Status.COMPUTING, job__status__in=[JobStatus.DONE,
                                                                    JobStatus.FAILED]):
        snapshot_finish(snapshot.pk)
    return taken


def snapshot_now(dashboard: Dashboard, *, now: datetime | None = None
                 ) -> tuple[WeeklySnapshot, bool]:
    """"Take this week's snapshot now": the beat job's own per-dashboard step, for this
    ISO week, so a team can review a dashboard the day it is set up. A second press (or
    Monday's beat) finds the same row: one snapshot per week."""
    if not dashboard.is_confirmed:
        raise DashboardRefused("Confirm the dashboard's set-up first: only a set-up "
                               "dashboard is reviewed.")
    return snapshot_take(dashboard, week=week_of(now))


def snapshot_take(dashboard: Dashboard, *, week: date,
                  send_digest: bool = True) -> tuple[WeeklySnapshot, bool]:
    """The dashboard's snapshot for `week`, created (and its computation queued) once.
    Without `send_digest` the snapshot is born with its digest counted as sent (a demo)."""
    existing = WeeklySnapshot.objects.filter(dashboard=dashboard, week=week).first()
    if existing is not None:
        return existing, False
    segments = engine_segments(dashboard)
    if not segments:
        raise DashboardRefused("the dashboard has no segments")
    success = current_success(dashboard.success_definition)
    described = [{"key": s.key, "name": s.name, "group": s.group}
                 for s in dashboard.segments.all()]
    try:
        with transaction.atomic():
            snapshot = WeeklySnapshot.objects.create(
                dashboard=dashboard, week=week, success_definition=success,
                dataset_version=dashboard.dataset.current_version, segments=described,
                digest_sent_at=None if send_digest else timezone.now())
    except IntegrityError:
        # Another run of the beat job got there first.
        return WeeklySnapshot.objects.get(dashboard=dashboard, week=week), False
    live = dashboard.current_job
    if (live is not None and live.status == JobStatus.DONE
            and dashboard.current_fingerprint == fingerprint(dashboard, success, segments)):
        # The dashboard's own computation is exactly this one: no need to compute again.
        WeeklySnapshot.objects.filter(pk=snapshot.pk).update(job=live)
        enqueue("dashboards.finish_snapshot", snapshot.pk)
    else:
        try:
            job = trend_submit(dashboard=dashboard, success=success, segments=segments,
                               then=("dashboards.finish_snapshot", snapshot.pk))
        except DashboardRefused as refusal:
            # E.g. the success definition no longer fits the data: the week's snapshot
            # says so, and the team hears about it in the digest.
            WeeklySnapshot.objects.filter(pk=snapshot.pk).update(
                status=WeeklySnapshot.Status.FAILED, error=str(refusal),
                finished_at=timezone.now())
            snapshot.refresh_from_db()
            digest_send(snapshot)
            return snapshot, True
        WeeklySnapshot.objects.filter(pk=snapshot.pk).update(job=job)
    snapshot.refresh_from_db()
    return snapshot, True


def snapshot_finish(snapshot_id: int) -> WeeklySnapshot | None:
    """Copy the finished computation into the snapshot, find the week's moves, and send
    the digest (once). Does nothing while the computation runs."""

    snapshot = WeeklySnapshot.objects.select_related("job", "dashboard").filter(
        pk=snapshot_id).first()
    if snapshot is None or snapshot.job is None or not snapshot.job.is_finished:
        return snapshot
    if snapshot.status == WeeklySnapshot.Status.COMPUTING:
        now = timezone.now()
        if snapshot.job.status == JobStatus.DONE:
            result = snapshot.job.result
            fields = {"status": WeeklySnapshot.Status.DONE, "result": result,
                      "changes": week_changes(result), "finished_at": now}
        else:
            fields = {"status": WeeklySnapshot.Status.FAILED, "error": snapshot.job.error,
                      "finished_at": now}
        WeeklySnapshot.objects.filter(pk=snapshot.pk,
                                      status=WeeklySnapshot.Status.COMPUTING).update(**fields)
        snapshot.refresh_from_db()
    digest_send(snapshot)
    return snapshot


def digest_send(snapshot: WeeklySnapshot) -> bool:
    """Email the week's digest to the team's members, once per snapshot: the row is
    claimed with a conditional UPDATE, so two workers cannot both send it."""
    if snapshot.status == WeeklySnapshot.Status.COMPUTING:
        return False
    claimed = WeeklySnapshot.objects.filter(pk=snapshot.pk, digest_sent_at__isnull=True) \
        .update(digest_sent_at=timezone.now())
    if not claimed:
        return False
    dashboard = snapshot.dashboard
    members = list(User.objects.filter(memberships__team_id=dashboard.team_id, is_active=True)
                   .exclude(email="").order_by("email"))
    context = digest_context(snapshot)
    subject = render_to_string("dashboards/emails/digest_subject.txt", context).strip()
    text = render_to_string("dashboards/emails/digest.txt", context)
    html = render_to_string("dashboards/emails/digest.html", context)
    messages = []
    for member in members:
        message = EmailMultiAlternatives(subject=" ".join(subject.split()), body=text,
                                         from_email=settings.DEFAULT_FROM_EMAIL,
                                         to=[member.email])
        message.attach_alternative(html, "text/html")
        messages.append(message)
    if messages:
        mailers.default.send_messages(messages)
    return True


def review_url(dashboard: Dashboard) -> str:
    path = reverse("dashboards:dashboard_review",
                   kwargs={"team_slug": dashboard.team.slug, "dashboard_id": dashboard.pk})
    return settings.SITE_URL + path


def digest_context(snapshot: WeeklySnapshot) -> dict:
    changes = labelled_changes(snapshot)
    return {"snapshot": snapshot, "dashboard": snapshot.dashboard, "changes": changes,
            "flagged": [row for row in changes["rows"] if row["flagged"]],
            "url": review_url(snapshot.dashboard)}


def note_add(*, dashboard: Dashboard, week: date, text: str, author: User,
             kind: str = ReviewNote.Kind.INSIGHT, segment_key: str = "",
             bucket: str = "") -> ReviewNote:
    text = text.strip()
    if not text:
        raise DashboardRefused("Write the trend or insight first.")
    if kind not in ReviewNote.Kind.values:
        raise DashboardRefused("A note is a trend or an insight.")
    if week.weekday() != 0:
        raise DashboardRefused("A note belongs to a week (its Monday).")
    if segment_key and segment_key not in {s.key for s in dashboard.segments.all()} | {
            "__all__"}:
        raise DashboardRefused("That segment is not on this dashboard.")
    return ReviewNote.objects.create(dashboard=dashboard, week=week, kind=kind, text=text,
                                     segment_key=segment_key, bucket=bucket[:120],
                                     author=author)
