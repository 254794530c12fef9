"""A team's members page and the owner actions on it. Every action is a POST that comes
back to the members page with a message; ids in URLs are looked up inside the team of the
URL, so an id from another team is a 404."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ..decorators import SESSION_TEAM_KEY, team_member_required, team_owner_required
from ..forms import InvitationForm
from ..selectors import (
    invitation_of_team,
    is_last_owner,
    member_of_team,
    members_of,
    pending_invitations,
)
from ..services import (
    invitation_create,
    invitation_revoke,
    member_demote,
    member_leave,
    member_promote,
    member_remove,
)


def _members_page(request: HttpRequest, invitation_form: InvitationForm | None = None
                  ) -> HttpResponse:
    team = request.team
    is_owner = request.membership.is_owner
    invitations = list(pending_invitations(team)) if is_owner else []
    for invitation in invitations:
        invitation.url = request.build_absolute_uri(
            reverse("accounts:join", args=[invitation.token])
        )
    context = {
        "team": team,
        "members": members_of(team),
        "me": request.membership,
        "is_owner": is_owner,
        "invitations": invitations,
        "invitation_form": invitation_form or InvitationForm(),
    }
    return render(request, "accounts/members.html", context)


@team_member_required
def members(request: HttpRequest, team_slug: str) -> HttpResponse:
    return _members_page(request)


@require_POST
@team_owner_required
def invite(request: HttpRequest, team_slug: str) -> HttpResponse:
    form = InvitationForm(request.POST)
    if not form.is_valid():
        return _members_page(request, invitation_form=form)
    email, anyone = form.cleaned_data["email"], form.cleaned_data["anyone_with_link"]
    invitation_create(team=request.team, created_by=request.user, email=email,
                      anyone_with_link=anyone)
    if email and not anyone:
        messages.success(request, f"Invitation emailed to {email}: only they can join with "
                                  "it. You can also copy the link below.")
    elif email:
        messages.success(request, f"Invitation emailed to {email}. Anyone with the link can "
                                  "join with it; you can also copy it below.")
    else:
        messages.success(request, "Invite link created: anyone with it can join. Copy it "
                                  "and send it to your teammate.")
    return redirect("accounts:members", team_slug=team_slug)


@require_POST
@team_owner_required
def revoke(request: HttpRequest, team_slug: str, invitation_id: int) -> HttpResponse:
    invitation = invitation_of_team(request.team, invitation_id)
    invitation_revoke(invitation=invitation, by=request.membership)
    messages.success(request, "Invite link revoked. It no longer works.")
    return redirect("accounts:members", team_slug=team_slug)


def _owner_action(action, done: str):
    @require_POST
    @team_owner_required
    def view(request: HttpRequest, team_slug: str, membership_id: int) -> HttpResponse:
        membership = member_of_team(request.team, membership_id)
        try:
            action(membership=membership, by=request.membership)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, done.format(name=membership.user.name))
        if membership.user_id == request.user.pk and action is member_remove:
            # An owner who removed themselves is no longer allowed on the members page.
            if not members_of(request.team).filter(user=request.user).exists():
                request.session.pop(SESSION_TEAM_KEY, None)
                return redirect("accounts:home")
        return redirect("accounts:members", team_slug=team_slug)

    view.__name__ = view.__qualname__ = action.__name__
    return view


remove = _owner_action(member_remove, "{name} was removed from the team.")
promote = _owner_action(member_promote, "{name} is now an owner.")
demote = _owner_action(member_demote, "{name} is now a member.")


@team_member_required
def leave(request: HttpRequest, team_slug: str) -> HttpResponse:
    if request.method == "POST":
        try:
            member_leave(membership=request.membership)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("accounts:members", team_slug=team_slug)
        request.session.pop(SESSION_TEAM_KEY, None)
        messages.success(request, f"You left {request.team.name}.")
        return redirect("accounts:home")
    return render(request, "accounts/leave.html",
                  {"team": request.team, "last_owner": is_last_owner(request.membership)})
