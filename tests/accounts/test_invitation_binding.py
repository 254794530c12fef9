"""Invitations are bound to the invited email by default (issue 12, point 10): another
signed-in person cannot use the link, and is told why. "Anyone with the link" is the
owner's explicit choice, shown as such in the team's list, and expires and is revoked
like any link."""

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import services
from accounts.models import Invitation, Membership
from tests.accounts.conftest import PASSWORD


def join_url(invitation) -> str:
    return reverse("accounts:join", args=[invitation.token])


def members_url(team) -> str:
    return reverse("accounts:members", args=[team.slug])


@pytest.fixture
def for_nina(team, owner):
    return services.invitation_create(team=team, created_by=owner, email="Nina@Example.com")


def test_another_signed_in_person_cannot_accept_a_link_made_for_someone(
        client, team, for_nina, outsider):
    """The reproduction: Oscar, signed in, opened Nina's link and joined."""
    client.force_login(outsider)
    for response in (client.get(join_url(for_nina)), client.post(join_url(for_nina))):
        assert response.status_code == 403
        html = response.content.decode()
        assert "This invitation is for n…@example.com" in html
        assert "you are signed in as oscar@example.com" in html
        assert "Log out and use another account" in html
        assert "nina@example.com" not in html  # the address stays the invitee's
    assert not Membership.objects.filter(team=team, user=outsider).exists()
    for_nina.refresh_from_db()
    assert for_nina.is_usable
    with pytest.raises(ValidationError) as refusal:
        services.invitation_accept(invitation=for_nina, user=outsider)
    assert refusal.value.code == "other_person"


def test_the_invited_person_joins_whatever_the_case_of_their_email(client, team, for_nina,
                                                                   newcomer):
    newcomer.email = "NINA@example.COM"
    newcomer.save(update_fields=["email"])
    client.force_login(newcomer)
    response = client.post(join_url(for_nina))
    assert response.url == reverse("accounts:team_home", args=[team.slug])
    assert Membership.objects.filter(team=team, user=newcomer).exists()


def test_logging_in_through_the_link_with_another_account_does_not_join(client, team,
                                                                         for_nina, outsider):
    response = client.post(reverse("accounts:login") + f"?next={join_url(for_nina)}",
                           {"username": "oscar@example.com", "password": PASSWORD},
                           follow=True)
    assert response.redirect_chain[-1][0] == join_url(for_nina)
    assert "This invitation is for n…@example.com" in response.content.decode()
    assert not Membership.objects.filter(team=team, user=outsider).exists()


def test_a_link_for_anyone_is_an_explicit_choice(client, team, owner):
    with pytest.raises(ValidationError, match="Anyone with the link"):
        services.invitation_create(team=team, created_by=owner)
    client.force_login(owner)
    response = client.post(reverse("accounts:invite", args=[team.slug]), {"email": ""})
    assert response.status_code == 200
    assert "Enter the email of the person to invite, or choose" in response.content.decode()
    assert not Invitation.objects.exists()
    # An unknown choice is the form's error too, never a 500.
    response = client.post(reverse("accounts:invite", args=[team.slug]),
                           {"email": "", "who": "bogus"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert not Invitation.objects.exists()


def test_the_list_shows_who_each_link_is_for_with_expiry_and_revocation(
        client, team, owner, django_capture_on_commit_callbacks):
    client.force_login(owner)
    invite = reverse("accounts:invite", args=[team.slug])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(invite, {"email": "nina@example.com"})  # bound: the default
        client.post(invite, {"email": "sam@example.com", "who": "anyone"})
        client.post(invite, {"email": "", "who": "anyone"})
    bound, copied, open_link = Invitation.objects.order_by("pk")
    assert (bound.anyone_with_link, copied.anyone_with_link, open_link.anyone_with_link) == (
        False, True, True)
    assert sorted(m.to[0] for m in mail.outbox) == ["nina@example.com", "sam@example.com"]
    html = client.get(members_url(team)).content.decode()
    assert '<span class="badge">Only nina@example.com</span>' in html
    assert html.count("Anyone with the link</span>") == 2
    assert "sent to sam@example.com" in html
    assert html.count("expires in") == 3
    assert html.count("Revoke<span") == 3
    client.post(reverse("accounts:revoke", args=[team.slug, open_link.pk]))
    open_link.refresh_from_db()
    assert open_link.status == "revoked"
    assert client.get(members_url(team)).content.decode().count("Revoke<span") == 2


def test_anyone_with_the_link_may_join_even_with_an_email_on_it(client, team, owner,
                                                               outsider):
    invitation = services.invitation_create(team=team, created_by=owner,
                                            email="sam@example.com", anyone_with_link=True)
    client.force_login(outsider)
    client.post(join_url(invitation))
    assert Membership.objects.filter(team=team, user=outsider).exists()
