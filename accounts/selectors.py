from django.http import Http404

from .models import Membership, Team, User


def membership_for(user: User, team_slug: str) -> Membership:
    """The user's membership of the team, or 404: to a non-member a team does not exist."""
    if not user.is_authenticated:
        raise Http404("No such team")
    membership = (
        Membership.objects.select_related("team")
        .filter(team__slug=team_slug, user=user)
        .first()
    )
    if membership is None:
        raise Http404("No such team")
    return membership


def teams_of(user: User):
    return Team.objects.filter(memberships__user=user).order_by("name")
