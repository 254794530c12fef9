"""Reads of Phase 1, always scoped to a team. Nothing here scans data: numbers come from
finished AnalysisJobs and snapshots."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.db.models import Count, Max, Prefetch
from django.shortcuts import get_object_or_404

from accounts.models import Team
from analytics.charts import bin_labels_shown, week_label
from analytics.models import JobStatus, SuccessDefinition
from analytics.numbers import percent

from .models import (
    Dashboard,
    DashboardSegment,
    ReviewNote,
    TeamSegment,
    WeeklySnapshot,
)


def dashboards_of(team: Team):
    return (Dashboard.objects.filter(team=team)
            .select_related("dataset", "success_definition", "current_job")
            .annotate(segment_count=Count("segments", distinct=True),
                      last_week=Max("snapshots__week")))


def dashboard_of(team: Team, dashboard_id: int) -> Dashboard:
    return get_object_or_404(
        Dashboard.objects.select_related("dataset", "success_definition", "current_job",
                                         "confirmed_by", "team")
        .prefetch_related(Prefetch("segments", DashboardSegment.objects.order_by("position",
                                                                               "pk"))),
        team=team, pk=dashboard_id)


def team_segments_of(team: Team):
    return TeamSegment.objects.filter(team=team).select_related("created_by")


def success_versions(definition: SuccessDefinition) -> list[SuccessDefinition]:
    return list(SuccessDefinition.objects.filter(lineage=definition.lineage)
                .select_related("created_by").order_by("version"))


def success_definitions_with_use(team: Team):
    """Current definitions, each with how many dashboards follow its lineage."""
    definitions = list(SuccessDefinition.objects.filter(team=team, is_current=True)
                       .select_related("created_by").order_by("name"))
    used: dict = defaultdict(int)
    for lineage in Dashboard.objects.filter(team=team).values_list(
            "success_definition__lineage", flat=True):
        used[lineage] += 1
    for definition in definitions:
        definition.dashboard_count = used[definition.lineage]
    return definitions


def snapshots_of(dashboard: Dashboard):
    return (WeeklySnapshot.objects.filter(dashboard=dashboard)
            .select_related("success_definition").order_by("-week"))


def notes_by_week(dashboard: Dashboard) -> dict[date, list[ReviewNote]]:
    found: dict[date, list[ReviewNote]] = defaultdict(list)
    for note in ReviewNote.objects.filter(dashboard=dashboard).select_related("author") \
            .order_by("week", "created_at"):
        found[note.week].append(note)
    return found


def segment_names(snapshot_or_dashboard) -> dict[str, str]:
    if isinstance(snapshot_or_dashboard, WeeklySnapshot):
        names = {s["key"]: s["name"] for s in snapshot_or_dashboard.segments}
    else:
        names = {s.key: s.name for s in snapshot_or_dashboard.segments.all()}
    return {"__all__": "All users", **names}


def labelled_changes(snapshot: WeeklySnapshot) -> dict:
    """The snapshot's week-over-week comparison, each row with its segment's name."""
    changes = dict(snapshot.changes or {"rows": [], "tests": 0, "flagged": 0})
    names = segment_names(snapshot)
    read: dict[str, dict[str, str]] = defaultdict(dict)
    for segment in (snapshot.result or {}).get("segments", []):
        read[segment["key"]] = bin_labels_shown([b["label"] for b in segment["buckets"]])
    rows = []
    for row in changes.get("rows", []):
        if not row["now"]["users"] and not row["before"]["users"]:
            continue  # an empty bucket, e.g. no one without a value: nothing to read
        rows.append({**row, "segment_name": names.get(row["segment"], row["segment"]),
                     "bucket_label": read[row["segment"]].get(row["bucket"], row["bucket"])})
    changes["rows"] = rows
    if changes.get("week"):
        changes["week_label"] = week_label(changes["week"])
        changes["previous_label"] = week_label(changes["previous_week"])
    changes["expected_by_chance"] = round(0.05 * changes.get("tests", 0), 1)
    changes["plain"] = moves_sentence(rows)
    return changes


def moves_sentence(rows: list[dict], shown: int = 3) -> str:
    """What moved beyond chance since the week before, as one would say it aloud."""
    moved = sorted((r for r in rows if r.get("flagged")), key=lambda r: -abs(r["diff"] or 0))
    if not moved:
        return "Nothing moved beyond chance since the week before."
    parts = []
    for row in moved[:shown]:
        who = row["segment_name"] if row["segment"] == "__all__" else \
            f"{row['segment_name']}: {row['bucket_label']}"
        way = "rose" if row["diff"] > 0 else "fell"
        parts.append(f"{who} {way} from {percent(row['before']['rate'])} to "
                     f"{percent(row['now']['rate'])}")
    more = f", and {len(moved) - shown} more" if len(moved) > shown else ""
    return "; ".join(parts) + more + "."


def job_is_running(job) -> bool:
    return job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING)


def overview_of(team: Team) -> dict | None:
    """The team home's section: each dashboard with its latest snapshot; None without any."""
    dashboards = list(Dashboard.objects.filter(team=team).select_related("success_definition")
                      .order_by("name")[:6])
    if not dashboards:
        return None
    latest: dict[int, WeeklySnapshot] = {}
    for snapshot in WeeklySnapshot.objects.filter(dashboard__in=dashboards).order_by("week"):
        latest[snapshot.dashboard_id] = snapshot
    rows = []
    for dashboard in dashboards:
        snapshot = latest.get(dashboard.pk)
        flagged = (snapshot.changes or {}).get("flagged", 0) if snapshot else 0
        rows.append({"dashboard": dashboard, "snapshot": snapshot, "flagged": flagged})
    return {"rows": rows}
