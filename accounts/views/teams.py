"""The front door, creating a team, and a team's overview page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from ..decorators import SESSION_TEAM_KEY, team_member_required
from ..forms import TeamForm
from ..overview import checklist_for, sections_for
from ..selectors import last_team_of, members_of, pending_invitations
from ..services import team_create as create_team


def home(request: HttpRequest) -> HttpResponse:
    """Signed in: straight to work in the last team (or to creating one). Otherwise, a
    short landing page."""
    if not request.user.is_authenticated:
        return render(request, "accounts/landing.html")
    team = last_team_of(request.user, request.session.get(SESSION_TEAM_KEY))
    if team is None:
        return redirect("accounts:team_create")
    return redirect("accounts:team_home", team_slug=team.slug)


@login_required
def team_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = TeamForm(request.POST)
        if form.is_valid():
            try:
                team = create_team(name=form.cleaned_data["name"], creator=request.user)
            except ValidationError as error:
                form.add_error("name", error)
            else:
                messages.success(request, f"{team.name} is ready. Invite your teammates.")
                return redirect("accounts:members", team_slug=team.slug)
    else:
        form = TeamForm()
    first_team = not request.user.memberships.exists()
    return render(request, "accounts/team_create.html", {"form": form, "first_team": first_team})


@team_member_required
def team_home(request: HttpRequest, team_slug: str) -> HttpResponse:
    team = request.team
    members = list(members_of(team))
    steps = checklist_for(team)
    context = {
        "team": team,
        "members": members[:8],
        "member_count": len(members),
        "pending_invitation_count": (
            pending_invitations(team).count() if request.membership.is_owner else 0
        ),
        "steps": steps,
        "steps_done": all(step["done"] for step in steps),
        "sections": sections_for(request, team),
    }
    return render(request, "accounts/team_home.html", context)
