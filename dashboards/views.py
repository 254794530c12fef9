"""Pages of Phase 1: dashboards, their segments, the weekly review and dataset mappings.
Thin: read with selectors, write with services; a page never computes numbers itself, it
shows a finished job's result and polls (htmx) while one runs."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import team_member_required
from analytics import selectors as data_selectors
from analytics.charts import trend_chart
from analytics.models import JobStatus
from segments import selectors as segment_selectors

from . import review, selectors, services
from .forms import DashboardForm, MappingForm, NoteForm, TeamSegmentForm
from .models import TeamSegment
from .report import dashboard_report, judged_line, version_markers
from .services import DashboardRefused


def _dashboard_url(dashboard, name: str = "dashboard_detail") -> str:
    return reverse(f"dashboards:{name}", kwargs={"team_slug": dashboard.team.slug,
                                                 "dashboard_id": dashboard.pk})


# ---------------------------------------------------------------- list and create


@team_member_required
def dashboard_list(request, team_slug: str):
    dashboards = selectors.dashboards_of(request.team)
    return render(request, "dashboards/dashboard_list.html", {
        "dashboards": dashboards,
        "datasets": data_selectors.ready_datasets_of(request.team),
        "definitions": selectors.success_definitions_with_use(request.team),
    })


@team_member_required
@require_http_methods(["GET", "POST"])
def dashboard_create(request, team_slug: str):
    datasets = data_selectors.ready_datasets_of(request.team)
    definitions = data_selectors.success_definitions_of(request.team)
    form = DashboardForm(request.POST or None, datasets=datasets, definitions=definitions)
    if request.method == "POST" and form.is_valid():
        try:
            dashboard = services.dashboard_create(
                team=request.team, name=form.cleaned_data["name"],
                dataset=form.cleaned_data["dataset"],
                success_definition=form.cleaned_data["success_definition"], user=request.user)
        except DashboardRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "Dashboard created. Now pick the segments that matter.")
            return redirect(_dashboard_url(dashboard, "dashboard_segments"))
    return render(request, "dashboards/dashboard_form.html", {
        "form": form, "has_datasets": datasets.exists(), "has_definitions": definitions.exists(),
    })


# ---------------------------------------------------------------- the dashboard


def _names(dashboard) -> dict[str, dict]:
    return {s.key: {"name": s.name, "group": s.group, "explanation": s.explanation,
                    "segment_id": s.pk}
            for s in dashboard.segments.all()}


@team_member_required
def dashboard_detail(request, team_slug: str, dashboard_id: int):
    dashboard = selectors.dashboard_of(request.team, dashboard_id)
    job = dashboard.current_job
    success = services.current_success(dashboard.success_definition)
    versions = selectors.success_versions(success)
    report = None
    if job is not None and job.status == JobStatus.DONE and job.result:
        report = dashboard_report(job.result, names=_names(dashboard),
                                  markers=version_markers(versions, job.result["weeks"]))
    used_version = None
    if job is not None:
        used_version = next((v for v in versions if v.pk == job.success_definition_id), None)
    context = {
        "dashboard": dashboard, "job": job, "report": report, "success": success,
        "versions": versions, "used_version": used_version,
        "running": selectors.job_is_running(job),
        "stale": services.dashboard_is_stale(dashboard),
        "latest_snapshot": selectors.snapshots_of(dashboard).first(),
        "this_week": review.week_of(),
    }
    if request.htmx and request.GET.get("part") == "body":
        return render(request, "dashboards/dashboard_detail.html#body", context)
    return render(request, "dashboards/dashboard_detail.html", context)


@team_member_required
@require_POST
def dashboard_refresh(request, team_slug: str, dashboard_id: int):
    dashboard = selectors.dashboard_of(request.team, dashboard_id)
    try:
        services.dashboard_compute(dashboard, user=request.user,
                                   force=request.POST.get("force") == "1")
    except DashboardRefused as refusal:
        messages.error(request, str(refusal))
    return redirect(_dashboard_url(dashboard))


@team_member_required
@require_POST
def dashboard_confirm(request, team_slug: str, dashboard_id: int):
    dashboard = selectors.dashboard_of(request.team, dashboard_id)
    try:
        services.dashboard_confirm(dashboard=dashboard, user=request.user)
    except DashboardRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "Set up. The weekly review will snapshot this dashboard "
                                  "every Monday and email the team a digest.")
    return redirect(_dashboard_url(dashboard))


# ---------------------------------------------------------------- segments


@team_member_required
@require_http_methods(["GET", "POST"])
def dashboard_segments(request, team_slug: str, dashboard_id: int):
    dashboard = selectors.dashboard_of(request.team, dashboard_id)
    mapping_row = segment_selectors.mapping_of(dashboard.dataset)
    if request.method == "POST":
        try:
            if request.POST.get("remove"):
                services.dashboard_remove_segment(dashboard=dashboard,
                                                  segment_id=int(request.POST["remove"]))
                messages.success(request, "Segment removed.")
            elif request.POST.get("team_segment"):
                own = get_object_or_404(TeamSegment, team=request.team,
                                        pk=int(request.POST["team_segment"]))
                services.dashboard_add_team_segment(dashboard=dashboard, team_segment=own)
                messages.success(request, f"“{own.name}” added.")
            else:
                keys = request.POST.getlist("catalog")
                if not keys:
                    raise DashboardRefused("Tick the segments to add.")
                added = services.dashboard_add_catalog_segments(
                    dashboard=dashboard, keys=keys, mapping_row=mapping_row)
                messages.success(request, f"{len(added)} segment(s) added; computing.")
        except (DashboardRefused, ValueError) as refusal:
            messages.error(request, str(refusal))
        return redirect(_dashboard_url(dashboard, "dashboard_segments"))
    present = {s.catalog_key for s in dashboard.segments.all() if s.catalog_key}
    own_present = {s.team_segment_id for s in dashboard.segments.all() if s.team_segment_id}
    return render(request, "dashboards/dashboard_segments.html", {
        "dashboard": dashboard, "mapping": mapping_row,
        "groups": segment_selectors.catalog_for(dashboard.dataset, mapping_row, present),
        "team_segments": [(s, s.pk in own_present)
                          for s in selectors.team_segments_of(request.team)],
        "limit": services.MAX_SEGMENTS_PER_DASHBOARD,
    })


@team_member_required
def team_segment_list(request, team_slug: str):
    return render(request, "dashboards/team_segment_list.html",
                  {"segments": selectors.team_segments_of(request.team)})


@team_member_required
@require_http_methods(["GET", "POST"])
def team_segment_create(request, team_slug: str):
    datasets = data_selectors.ready_datasets_of(request.team)
    dataset = _chosen_dataset(request, datasets)
    form = TeamSegmentForm(request.POST or None, datasets=datasets, dataset=dataset,
                           initial={"dataset": dataset})
    if request.method == "POST" and form.is_valid() and form.definition is not None:
        try:
            services.team_segment_create(team=request.team, name=form.cleaned_data["name"],
                                         definition=form.definition, dataset=dataset,
                                         user=request.user)
        except DashboardRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "Segment saved: add it to a dashboard from its "
                                      "segments page.")
            back = request.GET.get("next", "")
            if back.startswith(f"/t/{team_slug}/"):
                return redirect(back)
            return redirect("dashboards:team_segment_list", team_slug=team_slug)
    return render(request, "dashboards/team_segment_form.html",
                  {"form": form, "dataset": dataset})


def _chosen_dataset(request, datasets):
    wanted = request.POST.get("dataset") or request.GET.get("dataset")
    if wanted and str(wanted).isdigit():
        found = datasets.filter(pk=int(wanted)).first()
        if found is not None:
            return found
    return datasets.first()


# ---------------------------------------------------------------- weekly review


def _about_choices(dashboard, changes: dict | None = None) -> list:
    """A segment as a whole, or one of its buckets as that week's comparison listed them
    (flagged ones first, so a trend is logged against the move that raised it)."""
    choices: list = [(f"{segment.key}|", segment.name) for segment in dashboard.segments.all()]
    rows = sorted((changes or {}).get("rows", []), key=lambda r: not r["flagged"])
    buckets = [(f"{r['segment']}|{r['bucket']}",
                f"{r['segment_name']}: {r.get('bucket_label', r['bucket'])}"
                f"{' (moved)' if r['flagged'] else ''}")
               for r in rows if r["segment"] != "__all__"]
    if buckets:
        return [("Segments", choices), ("Buckets this week", buckets)]
    return choices


def _review_context(dashboard, *, with_forms: bool = True) -> dict:
    """The weekly review as the page, the shared link and the printable page show it."""
    snapshots = list(selectors.snapshots_of(dashboard))
    notes = selectors.notes_by_week(dashboard)
    names = selectors.segment_names(dashboard)
    for week_notes in notes.values():
        for note in week_notes:
            note.about_label = names.get(note.segment_key, note.segment_key)
    success = services.current_success(dashboard.success_definition)
    versions = selectors.success_versions(success)
    weeks = []
    previous_version = None
    for snapshot in reversed(snapshots):  # oldest first, to see version changes
        changed = previous_version is not None and snapshot.success_definition_id != \
            previous_version
        previous_version = snapshot.success_definition_id
        changes = (selectors.labelled_changes(snapshot)
                   if snapshot.status == snapshot.Status.DONE else None)
        weeks.append({
            "snapshot": snapshot, "notes": notes.pop(snapshot.week, []), "changes": changes,
            "definition_changed": changed,
            "judged": judged_line((snapshot.result or {}).get("weeks", []))
            if changes else None,
            "form": NoteForm(initial={"week": snapshot.week},
                             about_choices=_about_choices(dashboard, changes),
                             auto_id=f"note-{snapshot.pk}-%s") if with_forms else None,
        })
    weeks.reverse()
    this_week = review.week_of()
    return {
        "dashboard": dashboard, "weeks": weeks, "orphan_notes": notes,
        "history": _history_chart(list(reversed(snapshots))),
        "versions": versions, "success": success, "this_week": this_week,
        "has_this_week": any(w["snapshot"].week == this_week for w in weeks),
        "computing": any(w["snapshot"].status == "computing" for w in weeks),
        "missing_insight": [w for w in weeks if w["snapshot"].status == "done"
                            and not any(n.kind == "insight" for n in w["notes"])],
    }


@team_member_required
def dashboard_review(request, team_slug: str, dashboard_id: int):
    dashboard = selectors.dashboard_of(request.team, dashboard_id)
    context = _review_context(dashboard)
    if request.htmx and request.GET.get("part") == "weeks":
        return render(request, "dashboards/dashboard_review.html#weeks", context)
    return render(request, "dashboards/dashboard_review.html", context)


@team_member_required
def dashboard_review_print(request, team_slug: str, dashboard_id: int):
    """The review to share and print: read-only (no forms, no navigation), at a stable
    address that only the team's members can open (others get a 404, as everywhere)."""
    dashboard = selectors.dashboard_of(request.team, dashboard_id)
    return render(request, "dashboards/dashboard_review_print.html",
                  _review_context(dashboard, with_forms=False))


@team_member_required
@require_POST
def snapshot_now(request, team_slug: str, dashboard_id: int):
    dashboard = selectors.dashboard_of(request.team, dashboard_id)
    try:
        snapshot, created = review.snapshot_now(dashboard)
    except DashboardRefused as refusal:
        messages.error(request, str(refusal))
        return redirect(_dashboard_url(dashboard, "dashboard_review"))
    if created:
        messages.success(request, "This week’s snapshot is taken: log what the team sees "
                                  "and learns below.")
    else:
        messages.info(request, "This week already has its snapshot (one per week).")
    return redirect(_dashboard_url(dashboard, "dashboard_review")
                    + f"#week-{snapshot.week.isoformat()}")


def _history_chart(snapshots: list) -> dict | None:
    """All users' rate in the week each snapshot judged, snapshot after snapshot, with a
    marker where the success definition's version changed."""
    done = [s for s in snapshots if s.status == "done" and s.changes and s.changes.get("week")]
    if not done:
        return None
    weeks, cells, markers = [], [], []
    last = None
    for snapshot in done:
        row = next((r for r in snapshot.changes["rows"] if r["segment"] == "__all__"), None)
        now = row["now"] if row else {"users": 0, "successes": 0}
        weeks.append({"week": snapshot.week.isoformat(), "complete": True})
        cells.append([now["users"], now["successes"]])
        if last is not None and snapshot.success_definition_id != last.success_definition_id:
            markers.append({"week": snapshot.week.isoformat(),
                            "label": f"v{snapshot.success_definition.version}"})
        last = snapshot
    return {"chart": trend_chart(weeks, [{"label": "All users", "cells": cells}],
                                 markers=markers, height=200, x_title="snapshot week"),
            "rows": list(zip(done, cells, strict=True))}


@team_member_required
@require_POST
def note_create(request, team_slug: str, dashboard_id: int):
    dashboard = selectors.dashboard_of(request.team, dashboard_id)
    week = request.POST.get("week", "")
    snapshot = dashboard.snapshots.filter(week=week).first() if _is_date(week) else None
    changes = selectors.labelled_changes(snapshot) if snapshot and snapshot.changes else None
    form = NoteForm(request.POST, about_choices=_about_choices(dashboard, changes))
    if form.is_valid():
        key, bucket = form.about_parts()
        try:
            review.note_add(dashboard=dashboard, week=form.cleaned_data["week"],
                            kind=form.cleaned_data["kind"], text=form.cleaned_data["text"],
                            segment_key=key, bucket=bucket, author=request.user)
        except DashboardRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(request, "Logged.")
    else:
        messages.error(request, "Write the note first.")
    # Back to the week's notes; only a real date goes into the address.
    return redirect(_dashboard_url(dashboard, "dashboard_review")
                    + (f"#week-{week}" if _is_date(week) else ""))


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------- mapping


@team_member_required
@require_http_methods(["GET", "POST"])
def dataset_mapping(request, team_slug: str, dataset_id: int):
    dataset = data_selectors.dataset_of(request.team, dataset_id)
    if not dataset.is_ready:
        raise Http404("The dataset has no data yet")
    mapping_row = segment_selectors.mapping_of(dataset)
    if mapping_row is None:
        try:
            mapping_row = services.mapping_start(dataset=dataset)
        except DashboardRefused as refusal:
            messages.error(request, str(refusal))
            return redirect("analytics:dataset_detail", team_slug=team_slug, dataset_id=dataset.pk)
        mapping_row = segment_selectors.mapping_of(dataset)
    elif request.method == "GET" and (
            mapping_row.profile_job is None
            or mapping_row.profile_job.dataset_version != dataset.current_version
            or (mapping_row.profile_job.status == JobStatus.DONE
                and not mapping_row.guessed_with_values)):
        # A new version to profile, or values read whose follow-up task was lost.
        services.mapping_start(dataset=dataset)
        mapping_row = segment_selectors.mapping_of(dataset)
    profile = services.profile_of(mapping_row)
    job = mapping_row.profile_job
    context = {"dataset": dataset, "mapping": mapping_row, "job": job,
               "profiling": selectors.job_is_running(job)}
    if request.htmx and request.GET.get("part") == "profile":
        return render(request, "dashboards/mapping.html#profile_status", context)
    schema = dataset.schema_object()
    can_change = services.mapping_can_change(mapping_row, request.user)
    # A POST with no field at all is a form left empty, not a page to draw.
    form = MappingForm(request.POST if request.method == "POST" else None, schema=schema,
                       profile=profile, roles=mapping_row.roles, guesses=mapping_row.guesses,
                       disabled=not can_change)
    status, refused = 200, None
    if request.method == "POST" and not can_change:
        form = MappingForm(schema=schema, profile=profile, roles=mapping_row.roles,
                           guesses=mapping_row.guesses, disabled=True)
        refused, status = services.OWNERS_ONLY, 403
    elif request.method == "POST" and form.is_valid():
        try:
            services.mapping_confirm(mapping_row=mapping_row, roles=form.cleaned_data["roles"],
                                     user=request.user)
        except DashboardRefused as refusal:
            form.add_error(None, str(refusal))
            status = 403 if refusal.status == 403 else status
        else:
            messages.success(request, "Mapping confirmed. The segment catalog now builds on it.")
            back = request.GET.get("next", "")
            if back.startswith(f"/t/{team_slug}/"):
                return redirect(back)
            return redirect("dashboards:dataset_mapping", team_slug=team_slug,
                            dataset_id=dataset.pk)
    context.update(form=form, groups=segment_selectors.catalog_for(dataset, mapping_row),
                   can_change=can_change, refused=refused,
                   history=segment_selectors.mapping_history(mapping_row))
    return render(request, "dashboards/mapping.html", context, status=status)
