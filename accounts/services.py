"""Every write to people, teams, memberships and invitations goes through here.

Rules that protect a team (someone must stay owner; an invitation is used once) are
enforced in these functions, not in views, so that the admin, a command or a later API
cannot break them. A broken rule raises ValidationError with a message for the person;
acting without the right raises PermissionDenied (a 403, never a 500)."""

import uuid

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from .models import Invitation, Membership, Team, User
from .selectors import is_last_owner

SLUG_MAX = Team._meta.get_field("slug").max_length


def normalize_email(email: str) -> str:
    # One person, one account: Olivia@Example.com and olivia@example.com are the same.
    return email.strip().lower()


def _free_username(email: str) -> str:
    # Django's User still needs a unique username; people never see or type it.
    if len(email) <= 150 and not User.objects.filter(username=email).exists():
        return email
    return uuid.uuid4().hex


def user_create(*, email: str, name: str, password: str) -> User:
    email = normalize_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError("An account with this email already exists.", code="taken")
    return User.objects.create_user(
        username=_free_username(email),
        email=email,
        password=password,
        display_name=name.strip(),
    )


def user_rename(*, user: User, name: str) -> User:
    user.display_name = name.strip()
    user.save(update_fields=["display_name"])
    return user


def _unique_slug(name: str) -> str:
    base = slugify(name)[: SLUG_MAX - 4].strip("-") or "team"
    slug, n = base, 2
    while Team.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def team_create(*, name: str, creator: User) -> Team:
    """A new team with its creator as the first owner. The slug comes from the name and
    gets a number when taken ("acme", "acme-2")."""
    name = name.strip()
    if not name:
        raise ValidationError("A team needs a name.", code="required")
    for _attempt in range(5):
        try:
            with transaction.atomic():
                team = Team.objects.create(name=name, slug=_unique_slug(name))
                Membership.objects.create(
                    team=team, user=creator, role=Membership.Role.OWNER,
                    last_visited_at=timezone.now(),
                )
                return team
        except IntegrityError:
            # Someone took the same slug between our check and our insert: try the next.
            continue
    raise ValidationError("Could not create the team, please try again.", code="slug")


def _require_owner(by: Membership, team: Team) -> None:
    if by.team_id != team.pk or not by.is_owner:
        raise PermissionDenied("Only an owner of this team may do this.")


def invitation_url(invitation: Invitation) -> str:
    return settings.SITE_URL + reverse("accounts:join", args=[invitation.token])


NO_ONE_INVITED = ("Enter the email of the person to invite, or choose “Anyone with the "
                  "link”.")


def invitation_create(*, team: Team, created_by: User, email: str = "",
                      anyone_with_link: bool = False) -> Invitation:
    """A single-use join link, valid 7 days. Only owners invite. With an email, the link
    is mailed to that address and only that person can use it, unless the owner chose
    `anyone_with_link`; a link with no email must be that explicit choice."""
    membership = Membership.objects.filter(team=team, user=created_by).first()
    if membership is None:
        raise PermissionDenied("Only an owner of this team may invite people.")
    _require_owner(membership, team)
    email = normalize_email(email)
    if not email and not anyone_with_link:
        raise ValidationError(NO_ONE_INVITED, code="no_email")
    invitation = Invitation.objects.create(team=team, created_by=created_by, email=email,
                                           anyone_with_link=anyone_with_link)
    if email:
        transaction.on_commit(lambda: _send_invitation_email(invitation))
    return invitation


def _send_invitation_email(invitation: Invitation) -> None:
    context = {
        "invitation": invitation,
        "team": invitation.team,
        "inviter": invitation.created_by,
        "url": invitation_url(invitation),
    }
    send_mail(
        subject=f"{invitation.created_by.name} invited you to {invitation.team.name} "
        "on HypothesisLab",
        message=render_to_string("accounts/emails/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


def invitation_revoke(*, invitation: Invitation, by: Membership) -> None:
    _require_owner(by, invitation.team)
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def invitation_accept(*, invitation: Invitation, user: User) -> Membership:
    """Join the invitation's team. Someone already in the team keeps their membership and
    leaves the link unused, for the person it was meant for; so does someone signed in
    with another email than the one invited (the link is theirs to use, not this one's)."""
    existing = Membership.objects.filter(team_id=invitation.team_id, user=user).first()
    if existing is not None:
        return existing
    if not invitation.admits(user):
        raise ValidationError(other_person_reason(invitation, user), code="other_person")
    now = timezone.now()
    with transaction.atomic():
        # Claim the link with a conditional UPDATE: if two people open it at once, exactly
        # one of them gets it; the other sees "already used".
        claimed = Invitation.objects.filter(
            pk=invitation.pk,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).update(accepted_at=now, accepted_by=user)
        if not claimed:
            invitation.refresh_from_db()
            raise ValidationError(_UNUSABLE[invitation.status], code=invitation.status)
        return Membership.objects.create(
            team_id=invitation.team_id, user=user, role=Membership.Role.MEMBER,
            last_visited_at=now,
        )


_UNUSABLE = {
    Invitation.Status.ACCEPTED: "This invitation link has already been used. "
    "Ask the team for a new one.",
    Invitation.Status.REVOKED: "This invitation link was withdrawn by the team. "
    "Ask the team for a new one.",
    Invitation.Status.EXPIRED: "This invitation link has expired. Ask the team for a new one.",
    # Only reached through a race: the link was usable a moment ago.
    Invitation.Status.PENDING: "This invitation link could not be used. Please try again.",
}


def unusable_reason(invitation: Invitation) -> str:
    return _UNUSABLE[invitation.status]


def other_person_reason(invitation: Invitation, user: User) -> str:
    """Why a signed-in person cannot use a link made for someone else. The invited address
    is shown masked: whoever holds a forwarded link learns the domain, not the person."""
    return (f"This invitation is for {mask_email(invitation.email)}, and you are signed in "
            f"as {user.email}. Log out and sign in (or sign up) with the invited address, "
            "or ask the team for an invitation of your own.")


def mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "another address"


def _lock_team(team: Team) -> None:
    # Changes to owners are serialised per team, so two owners demoting each other at the
    # same moment cannot leave a team with none. (SQLite serialises all writes anyway.)
    Team.objects.select_for_update().filter(pk=team.pk).first()


def _reload(membership: Membership) -> Membership:
    return Membership.objects.select_related("team", "user").get(pk=membership.pk)


def _locked_for_owner(membership: Membership, by: Membership) -> Membership:
    """Inside a transaction: lock the team, then check `by` as it is now (it may have been
    demoted since the request loaded it) and return the target membership as it is now."""
    _lock_team(membership.team)
    current = Membership.objects.filter(pk=by.pk).first()
    if current is None:  # removed from the team meanwhile
        raise PermissionDenied("Only an owner of this team may do this.")
    _require_owner(current, membership.team)
    return _reload(membership)


LAST_OWNER = "A team needs at least one owner. Make someone else an owner first."


def member_remove(*, membership: Membership, by: Membership) -> None:
    """An owner removes someone from the team (themselves included, unless they are the
    last owner)."""
    with transaction.atomic():
        membership = _locked_for_owner(membership, by)
        if is_last_owner(membership):
            raise ValidationError(LAST_OWNER, code="last_owner")
        membership.delete()


def member_promote(*, membership: Membership, by: Membership) -> Membership:
    with transaction.atomic():
        membership = _locked_for_owner(membership, by)
        Membership.objects.filter(pk=membership.pk).update(role=Membership.Role.OWNER)
    return _reload(membership)


def member_demote(*, membership: Membership, by: Membership) -> Membership:
    with transaction.atomic():
        membership = _locked_for_owner(membership, by)
        if is_last_owner(membership):
            raise ValidationError(LAST_OWNER, code="last_owner")
        Membership.objects.filter(pk=membership.pk).update(role=Membership.Role.MEMBER)
    return _reload(membership)


def member_leave(*, membership: Membership) -> None:
    with transaction.atomic():
        _lock_team(membership.team)
        membership = _reload(membership)
        if is_last_owner(membership):
            raise ValidationError(
                "You are the last owner of this team. Make someone else an owner "
                "before you leave.",
                code="last_owner",
            )
        membership.delete()


def membership_visit(*, membership: Membership) -> None:
    """Remember that the member switched into this team (see Membership.last_visited_at)."""
    now = timezone.now()
    Membership.objects.filter(pk=membership.pk).update(last_visited_at=now)
    membership.last_visited_at = now
