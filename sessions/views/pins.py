"""Pinning a finding to a dashboard, from the dashboard's page. The routes keep the
dashboards' URLs and names (hypothesislab.urls mounts them there): a pin is written by
sessions, which sits above dashboards, but it is asked for on the dashboard."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.decorators import team_member_required
from dashboards import selectors as dashboard_selectors

from .. import services
from ..models import Finding


def _dashboard_url(dashboard) -> str:
    return reverse("dashboards:dashboard_detail", kwargs={"team_slug": dashboard.team.slug,
                                                          "dashboard_id": dashboard.pk})


@team_member_required
@require_POST
def pin_create(request, team_slug: str, dashboard_id: int):
    dashboard = dashboard_selectors.dashboard_of(request.team, dashboard_id)
    finding_id = request.POST.get("finding", "")
    if not finding_id.isdigit():
        messages.error(request, "Pick a finding to pin.")
        return redirect(_dashboard_url(dashboard))
    finding = get_object_or_404(Finding, pk=int(finding_id), session__team=request.team)
    services.pin_finding(dashboard=dashboard, finding=finding, user=request.user)
    messages.success(request, "Finding pinned.")
    return redirect(_dashboard_url(dashboard) + "#pins")


@team_member_required
@require_POST
def pin_delete(request, team_slug: str, dashboard_id: int, pin_id: int):
    dashboard = dashboard_selectors.dashboard_of(request.team, dashboard_id)
    services.unpin_finding(dashboard=dashboard, pin_id=pin_id)
    return redirect(_dashboard_url(dashboard) + "#pins")
