import pytest
from django.core import mail
from django.urls import reverse

from accounts import services
from accounts.models import Invitation, Membership
from tests.conftest import make_user


def members_url(team) -> str:
    return reverse("accounts:members", args=[team.slug])


def action_url(team, action: str, membership) -> str:
    return reverse(f"accounts:member_{action}", args=[team.slug, membership.pk])


def test_members_page_for_the_owner(client, owner, team):
    services.invitation_create(team=team, created_by=owner, email="nina@example.com")
    client.force_login(owner)
    response = client.get(members_url(team))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Olivia Owner" in html and "tom@example.com" in html
    assert "Create invite link" in html and "nina@example.com" in html
    assert "Make owner" in html and "Remove" in html
    assert "data-copy=" in html
    invitation = Invitation.objects.get()
    assert f"http://testserver/join/{invitation.token}/" in html


def test_members_page_for_a_teammate_has_no_owner_controls(client, owner, teammate, team):
    services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    client.force_login(teammate)
    response = client.get(members_url(team))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Olivia Owner" in html
    assert "Make owner" not in html and "Create invite link" not in html
    assert "/join/" not in html  # pending links are the owners' business
    assert "Leave team" in html


def test_members_page_is_a_404_for_an_outsider(client, outsider, team):
    client.force_login(outsider)
    assert client.get(members_url(team)).status_code == 404


def test_members_page_query_count_does_not_grow_with_the_team(client, owner, team,
                                                              django_assert_max_num_queries):
    client.force_login(owner)
    services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    client.get(members_url(team))  # the session remembers the team: no write next time

    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(members_url(team)).status_code == 200
        return len(queries)

    small = count()
    for i in range(12):
        user = make_user(f"member{i}@example.com", f"Member {i}")
        Membership.objects.create(team=team, user=user)
        services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    assert count() == small
    with django_assert_max_num_queries(8):
        client.get(members_url(team))


def test_owner_creates_an_invite_link(client, owner, team):
    client.force_login(owner)
    # A link with no email is for anyone who holds it: the owner says so (issue 12).
    response = client.post(reverse("accounts:invite", args=[team.slug]),
                           {"email": "", "who": "anyone"})
    assert response.url == members_url(team)
    invitation = Invitation.objects.get()
    assert (invitation.team, invitation.created_by, invitation.email) == (team, owner, "")
    assert mail.outbox == []


def test_owner_invites_by_email(client, owner, team, django_capture_on_commit_callbacks):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("accounts:invite", args=[team.slug]), {"email": "nina@example.com"})
    assert mail.outbox[0].to == ["nina@example.com"]


def test_an_invalid_invite_email_shows_the_form_error(client, owner, team):
    client.force_login(owner)
    response = client.post(reverse("accounts:invite", args=[team.slug]), {"email": "nope"})
    assert response.status_code == 200
    assert "valid email" in response.content.decode()
    assert not Invitation.objects.exists()


def test_a_teammate_or_outsider_cannot_invite(client, teammate, outsider, team):
    for user in (teammate, outsider):
        client.force_login(user)
        assert client.post(reverse("accounts:invite", args=[team.slug])).status_code == 404
    assert not Invitation.objects.exists()


def test_inviting_needs_a_post(client, owner, team):
    client.force_login(owner)
    assert client.get(reverse("accounts:invite", args=[team.slug])).status_code == 405


def test_owner_revokes_an_invite_link(client, owner, team):
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    client.force_login(owner)
    client.post(reverse("accounts:revoke", args=[team.slug, invitation.pk]))
    invitation.refresh_from_db()
    assert invitation.status == "revoked"


def test_revoking_another_teams_invitation_is_a_404(client, owner, team, outsider, other_team):
    theirs = services.invitation_create(team=other_team, created_by=outsider, anyone_with_link=True)
    client.force_login(owner)
    # The owner's own team in the URL, the rival team's invitation id.
    response = client.post(reverse("accounts:revoke", args=[team.slug, theirs.pk]))
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_usable


def test_owner_promotes_demotes_and_removes(client, owner, team, teammate_membership):
    client.force_login(owner)
    client.post(action_url(team, "promote", teammate_membership))
    teammate_membership.refresh_from_db()
    assert teammate_membership.is_owner
    client.post(action_url(team, "demote", teammate_membership))
    teammate_membership.refresh_from_db()
    assert not teammate_membership.is_owner
    response = client.post(action_url(team, "remove", teammate_membership), follow=True)
    assert "Tom Teammate was removed from the team." in response.content.decode()
    assert not Membership.objects.filter(pk=teammate_membership.pk).exists()


@pytest.mark.parametrize("action", ["promote", "demote", "remove"])
def test_a_teammate_trying_owner_actions_gets_a_404(client, teammate, team, owner_membership,
                                                   action):
    client.force_login(teammate)
    assert client.post(action_url(team, action, owner_membership)).status_code == 404
    owner_membership.refresh_from_db()
    assert owner_membership.is_owner
    assert Membership.objects.filter(team=team).count() == 2


@pytest.mark.parametrize("action", ["promote", "demote", "remove"])
def test_forged_ids_from_another_team_are_a_404(client, owner, team, other_team, action):
    rival = Membership.objects.get(team=other_team)
    client.force_login(owner)
    assert client.post(action_url(team, action, rival)).status_code == 404
    # And the rival team's slug with the owner's own membership id: not a member there.
    own = Membership.objects.get(team=team, user=owner)
    assert client.post(action_url(other_team, action, own)).status_code == 404
    rival.refresh_from_db()
    assert rival.is_owner and Membership.objects.filter(team=other_team).count() == 1


def test_the_last_owner_cannot_demote_or_remove_themselves(client, owner, team,
                                                           owner_membership):
    client.force_login(owner)
    for action in ("demote", "remove"):
        response = client.post(action_url(team, action, owner_membership), follow=True)
        assert response.status_code == 200
        assert "at least one owner" in response.content.decode()
    owner_membership.refresh_from_db()
    assert owner_membership.is_owner


def test_an_owner_removing_themselves_goes_home(client, owner, team, owner_membership,
                                                teammate_membership):
    client.force_login(owner)
    client.post(action_url(team, "promote", teammate_membership))
    response = client.post(action_url(team, "remove", owner_membership))
    assert response.url == reverse("accounts:home")
    assert not Membership.objects.filter(pk=owner_membership.pk).exists()


def test_a_member_leaves(client, teammate, team):
    client.force_login(teammate)
    leave = reverse("accounts:leave", args=[team.slug])
    assert "Leave Acme Growth?" in client.get(leave).content.decode()
    response = client.post(leave)
    assert response.url == reverse("accounts:home")
    assert not Membership.objects.filter(team=team, user=teammate).exists()
    assert client.get(reverse("accounts:team_home", args=[team.slug])).status_code == 404


def test_the_last_owner_cannot_leave(client, owner, team):
    client.force_login(owner)
    leave = reverse("accounts:leave", args=[team.slug])
    page = client.get(leave).content.decode()
    assert "You are the last owner" in page and "disabled" in page
    response = client.post(leave, follow=True)
    assert "You are the last owner" in response.content.decode()
    assert Membership.objects.filter(team=team, user=owner, role="owner").exists()


def test_leaving_a_team_one_is_not_in_is_a_404(client, outsider, team):
    client.force_login(outsider)
    assert client.post(reverse("accounts:leave", args=[team.slug])).status_code == 404
