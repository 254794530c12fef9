from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Membership


def join_url(invitation) -> str:
    return reverse("accounts:join", args=[invitation.token])


def test_an_unknown_link_is_a_404_with_a_message(client, db):
    response = client.get("/join/not-a-real-token/")
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_signed_out_the_link_offers_sign_up_and_log_in(client, team, owner):
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    response = client.get(join_url(invitation))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Join Acme Growth" in html and "Olivia Owner invited you" in html
    assert f"/signup/?next=/join/{invitation.token}/" in html
    assert f"/login/?next=/join/{invitation.token}/" in html
    # Opening the link does not use it, nor does a signed-out POST.
    assert client.post(join_url(invitation)).status_code == 200
    invitation.refresh_from_db()
    assert invitation.is_usable


def test_signed_in_the_person_joins_with_a_post(client, team, owner, newcomer):
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    client.force_login(newcomer)
    page = client.get(join_url(invitation))
    assert page.status_code == 200 and "Join Acme Growth" in page.content.decode()
    assert not Membership.objects.filter(user=newcomer).exists()
    response = client.post(join_url(invitation))
    assert response.url == reverse("accounts:team_home", args=[team.slug])
    assert Membership.objects.get(user=newcomer).team == team


def test_a_member_opening_a_link_goes_to_the_team(client, team, owner, teammate):
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    client.force_login(teammate)
    response = client.get(join_url(invitation))
    assert response.url == reverse("accounts:team_home", args=[team.slug])
    invitation.refresh_from_db()
    assert invitation.is_usable


def test_a_used_link_says_so(client, team, owner, newcomer, outsider):
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    services.invitation_accept(invitation=invitation, user=newcomer)
    client.force_login(outsider)
    for response in (client.get(join_url(invitation)), client.post(join_url(invitation))):
        assert response.status_code == 410
        assert "already been used" in response.content.decode()
    assert not Membership.objects.filter(team=team, user=outsider).exists()


def test_an_expired_link_says_so(client, team, owner, newcomer, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    time_machine.shift(timedelta(days=7, seconds=1))
    client.force_login(newcomer)
    response = client.post(join_url(invitation))
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    assert not Membership.objects.filter(user=newcomer).exists()


def test_a_revoked_link_says_so(client, team, owner_membership, newcomer):
    invitation = services.invitation_create(team=team, created_by=owner_membership.user, anyone_with_link=True)
    services.invitation_revoke(invitation=invitation, by=owner_membership)
    response = client.get(join_url(invitation))
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()
