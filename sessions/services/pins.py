"""Findings pinned to a dashboard, where the team reviews weekly. Written here because a
pin belongs to the session's finding and sessions sits above dashboards."""

from __future__ import annotations

from accounts.models import User
from dashboards.models import Dashboard
from dashboards.services import DashboardRefused

from ..models import DashboardPin, Finding


def pin_finding(*, dashboard: Dashboard, finding: Finding, user: User) -> DashboardPin:
    if finding.team_id != dashboard.team_id:
        raise DashboardRefused("That finding belongs to another team.")
    pin, _ = DashboardPin.objects.get_or_create(dashboard=dashboard, finding=finding,
                                                defaults={"pinned_by": user})
    return pin


def unpin_finding(*, dashboard: Dashboard, pin_id: int) -> None:
    DashboardPin.objects.filter(dashboard=dashboard, pk=pin_id).delete()
