from django.http import HttpRequest

from .navigation import TeamNav


def current_team(request: HttpRequest) -> dict:
    """The team the signed-in user is working in (set by team_member_required), and the
    header's lazy team switcher and navigation (`team_nav.teams`, `.team`, `.items`)."""
    return {"current_team": getattr(request, "team", None), "team_nav": TeamNav(request)}
