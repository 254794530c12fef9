from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import Invitation, Membership, Team, User


def test_user_create_normalises_the_email_and_refuses_a_second_account(db):
    user = services.user_create(email=" Ada@Example.COM ", name=" Ada ", password="x-very-long-1")
    assert (user.email, user.display_name) == ("ada@example.com", "Ada")
    assert user.check_password("x-very-long-1")
    with pytest.raises(ValidationError):
        services.user_create(email="ADA@example.com", name="Again", password="x-very-long-1")
    assert User.objects.count() == 1


def test_team_create_makes_the_creator_owner_and_a_unique_slug(owner, teammate):
    first = services.team_create(name="Acme Growth", creator=owner)
    second = services.team_create(name="Acme  growth!", creator=teammate)
    third = services.team_create(name="ACME GROWTH", creator=teammate)
    assert [first.slug, second.slug, third.slug] == ["acme-growth", "acme-growth-2", "acme-growth-3"]
    membership = Membership.objects.get(team=first)
    assert (membership.user, membership.role) == (owner, Membership.Role.OWNER)
    assert Membership.objects.get(team=second).user == teammate


@pytest.mark.parametrize("name", ["Команда", "!!!", "数据团队"])
def test_team_create_with_a_name_that_has_no_latin_letters(owner, name):
    team = services.team_create(name=name, creator=owner)
    assert team.name == name
    assert team.slug.startswith("team")


def test_team_create_with_a_very_long_name_keeps_the_slug_within_its_column(owner):
    name = "x" * 100
    first = services.team_create(name=name, creator=owner)
    second = services.team_create(name=name, creator=owner)
    assert len(second.slug) <= Team._meta.get_field("slug").max_length
    assert first.slug != second.slug


def test_team_create_refuses_a_blank_name(owner):
    with pytest.raises(ValidationError):
        services.team_create(name="   ", creator=owner)
    assert not Team.objects.exists()


def test_only_an_owner_creates_invitations(team, owner, teammate, outsider):
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    assert invitation.is_usable and invitation.team == team
    assert abs(invitation.expires_at - invitation.created_at - timedelta(days=7)) < timedelta(seconds=1)
    for who in (teammate, outsider):
        with pytest.raises(PermissionDenied):
            services.invitation_create(team=team, created_by=who, anyone_with_link=True)
    assert Invitation.objects.count() == 1


def test_an_invitation_with_an_email_is_mailed(team, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(team=team, created_by=owner,
                                                email="Nina@Example.com")
    assert invitation.email == "nina@example.com"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nina@example.com"]
    assert "Acme Growth" in message.subject
    assert f"/join/{invitation.token}/" in message.body


def test_accepting_an_invitation_makes_a_member_once(team, owner, newcomer, outsider):
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    membership = services.invitation_accept(invitation=invitation, user=newcomer)
    assert (membership.team, membership.user, membership.role) == (team, newcomer, "member")
    invitation.refresh_from_db()
    assert invitation.accepted_by == newcomer and invitation.status == "accepted"
    with pytest.raises(ValidationError, match="already been used"):
        services.invitation_accept(invitation=invitation, user=outsider)
    assert not Membership.objects.filter(user=outsider).exists()


def test_a_stale_invitation_object_cannot_be_used_twice(team, owner, newcomer, outsider):
    # Two requests loaded the same link; the second to accept must lose, not join.
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    stale_copy = Invitation.objects.get(pk=invitation.pk)
    services.invitation_accept(invitation=invitation, user=newcomer)
    assert stale_copy.is_usable  # as far as the stale copy knows
    with pytest.raises(ValidationError):
        services.invitation_accept(invitation=stale_copy, user=outsider)
    assert not Membership.objects.filter(user=outsider).exists()


def test_an_expired_invitation_is_refused(team, owner, newcomer, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    time_machine.shift(timedelta(days=7) - timedelta(seconds=1))
    assert invitation.is_usable
    time_machine.shift(timedelta(seconds=1))
    assert invitation.status == "expired"
    with pytest.raises(ValidationError, match="expired"):
        services.invitation_accept(invitation=invitation, user=newcomer)
    assert not Membership.objects.filter(user=newcomer).exists()


def test_a_revoked_invitation_is_refused(team, owner_membership, newcomer):
    invitation = services.invitation_create(team=team, created_by=owner_membership.user, anyone_with_link=True)
    services.invitation_revoke(invitation=invitation, by=owner_membership)
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
    with pytest.raises(ValidationError, match="withdrawn"):
        services.invitation_accept(invitation=invitation, user=newcomer)


def test_a_member_cannot_revoke(team, owner, teammate_membership):
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    with pytest.raises(PermissionDenied):
        services.invitation_revoke(invitation=invitation, by=teammate_membership)
    invitation.refresh_from_db()
    assert invitation.is_usable


def test_an_existing_member_keeps_the_link_unused(team, owner, teammate, teammate_membership):
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    assert services.invitation_accept(invitation=invitation, user=teammate) == teammate_membership
    invitation.refresh_from_db()
    assert invitation.is_usable


def test_promote_and_demote(owner_membership, teammate_membership):
    promoted = services.member_promote(membership=teammate_membership, by=owner_membership)
    assert promoted.is_owner
    # With two owners, the first may step down.
    demoted = services.member_demote(membership=owner_membership, by=promoted)
    assert not demoted.is_owner


def test_the_last_owner_cannot_be_demoted_removed_or_leave(owner_membership):
    for act in (
        lambda: services.member_demote(membership=owner_membership, by=owner_membership),
        lambda: services.member_remove(membership=owner_membership, by=owner_membership),
        lambda: services.member_leave(membership=owner_membership),
    ):
        with pytest.raises(ValidationError, match="owner"):
            act()
    owner_membership.refresh_from_db()
    assert owner_membership.is_owner


def test_a_member_leaves_and_an_owner_removes(team, owner_membership, teammate_membership,
                                              newcomer):
    services.member_leave(membership=teammate_membership)
    invitation = services.invitation_create(team=team, created_by=owner_membership.user, anyone_with_link=True)
    newcomer_membership = services.invitation_accept(invitation=invitation, user=newcomer)
    services.member_remove(membership=newcomer_membership, by=owner_membership)
    assert list(Membership.objects.filter(team=team)) == [owner_membership]


def test_member_actions_need_an_owner_of_the_same_team(team, owner_membership,
                                                       teammate_membership, other_team):
    rival_owner = Membership.objects.get(team=other_team)
    for by in (teammate_membership, rival_owner):
        for act in (services.member_promote, services.member_demote, services.member_remove):
            with pytest.raises(PermissionDenied):
                act(membership=owner_membership if act is services.member_demote
                    else teammate_membership, by=by)
    assert Membership.objects.filter(team=team).count() == 2
    teammate_membership.refresh_from_db()
    owner_membership.refresh_from_db()
    assert owner_membership.is_owner and not teammate_membership.is_owner


def test_an_owner_demoted_meanwhile_can_no_longer_act(team, owner_membership,
                                                      teammate_membership):
    services.member_promote(membership=teammate_membership, by=owner_membership)
    stale_owner = Membership.objects.get(pk=owner_membership.pk)  # loaded as an owner
    services.member_demote(membership=owner_membership, by=teammate_membership)
    assert stale_owner.is_owner
    with pytest.raises(PermissionDenied):
        services.member_remove(membership=teammate_membership, by=stale_owner)
    assert Membership.objects.filter(team=team).count() == 2
