"""Every API operation under /teams/{team_slug}/ starts here: the caller's team, or 404.
A team the caller does not belong to does not exist for them, exactly as on pages."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.models import Membership, Team
from accounts.selectors import membership_for


def membership_of(request: HttpRequest, team_slug: str) -> Membership:
    return membership_for(request.auth, team_slug)


def team_of(request: HttpRequest, team_slug: str) -> Team:
    return membership_of(request, team_slug).team
