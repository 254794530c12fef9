"""Opening an invitation link: /join/<token>/."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from ..models import Membership
from ..selectors import invitation_by_token
from ..services import invitation_accept, other_person_reason, unusable_reason

UNKNOWN = ("This invitation link is not valid. Check that you copied all of it, or ask the "
           "team for a new one.")


def join(request: HttpRequest, token: str) -> HttpResponse:
    invitation = invitation_by_token(token)
    if invitation is None:
        return render(request, "accounts/join_invalid.html", {"reason": UNKNOWN}, status=404)
    team = invitation.team
    user = request.user
    if user.is_authenticated and Membership.objects.filter(team=team, user=user).exists():
        messages.info(request, f"You are already a member of {team.name}.")
        return redirect("accounts:team_home", team_slug=team.slug)
    if not invitation.is_usable:
        return render(request, "accounts/join_invalid.html",
                      {"reason": unusable_reason(invitation), "team": team}, status=410)
    if user.is_authenticated and not invitation.admits(user):
        # Bound to another email: say so, and offer to switch accounts (issue 12).
        return render(request, "accounts/join.html", {
            "invitation": invitation, "team": team,
            "other_person": other_person_reason(invitation, user)}, status=403)
    if request.method == "POST" and user.is_authenticated:
        try:
            invitation_accept(invitation=invitation, user=user)
        except ValidationError as error:
            return render(request, "accounts/join_invalid.html",
                          {"reason": " ".join(error.messages), "team": team}, status=410)
        messages.success(request, f"Welcome to {team.name}!")
        return redirect("accounts:team_home", team_slug=team.slug)
    return render(request, "accounts/join.html", {"invitation": invitation, "team": team})
