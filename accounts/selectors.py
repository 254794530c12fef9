from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import Resolver404, resolve
from django.utils import timezone

from .models import Invitation, Membership, Team, User


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


def teams_of(user: User) -> QuerySet[Team]:
    return Team.objects.filter(memberships__user=user).order_by("name")


def last_team_of(user: User, preferred_slug: str | None = None) -> Team | None:
    """The team to open for a signed-in user: the one of this browser session if they are
    still a member, else the one they last switched into, else the one they joined last."""
    memberships = Membership.objects.select_related("team").filter(user=user)
    if preferred_slug:
        membership = memberships.filter(team__slug=preferred_slug).first()
        if membership is not None:
            return membership.team
    membership = memberships.order_by(
        Coalesce("last_visited_at", "joined_at").desc(), "-pk"
    ).first()
    return membership.team if membership else None


def members_of(team: Team) -> QuerySet[Membership]:
    """The team's members, owners first, then by the date they joined."""
    owners_first = Case(
        When(role=Membership.Role.OWNER, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    return (
        Membership.objects.filter(team=team)
        .select_related("user")
        .order_by(owners_first, "joined_at", "pk")
    )


def is_last_owner(membership: Membership) -> bool:
    """Whether the team would have no owner without this membership's role."""
    return membership.is_owner and not (
        Membership.objects.filter(team_id=membership.team_id, role=Membership.Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


def member_of_team(team: Team, membership_id: int) -> Membership:
    """A membership of this team by id, or 404 (an id from another team is not found)."""
    membership = (
        Membership.objects.select_related("team", "user")
        .filter(team=team, pk=membership_id)
        .first()
    )
    if membership is None:
        raise Http404("No such member")
    return membership


def pending_invitations(team: Team) -> QuerySet[Invitation]:
    return (
        Invitation.objects.filter(
            team=team,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        )
        .select_related("created_by")
        .order_by("-created_at", "-pk")
    )


def invitation_of_team(team: Team, invitation_id: int) -> Invitation:
    invitation = (
        Invitation.objects.select_related("team").filter(team=team, pk=invitation_id).first()
    )
    if invitation is None:
        raise Http404("No such invitation")
    return invitation


def invitation_by_token(token: str) -> Invitation | None:
    return Invitation.objects.select_related("team", "created_by").filter(token=token).first()


def invitation_from_url(url: str | None) -> Invitation | None:
    """The invitation behind a `next` URL pointing at a join link, so that sign-up and log-in
    can say which team the person is about to join (and join it for them)."""
    if not url:
        return None
    try:
        match = resolve(url.split("?", 1)[0])
    except Resolver404:
        return None
    if match.view_name != "accounts:join":
        return None
    return invitation_by_token(match.kwargs["token"])
