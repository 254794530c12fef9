import re

import pytest
from django.contrib.auth import get_user
from django.core import mail
from django.urls import reverse

from accounts import services
from accounts.models import Membership, User

from .conftest import PASSWORD

NEW_PASSWORD = "a-brand-new-passphrase-7"


def sign_up(client, **overrides):
    data = {"email": "ada@example.com", "name": "Ada Lovelace",
            "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, **overrides}
    return client.post(reverse("accounts:signup"), data)


def test_sign_up_logs_in_and_asks_for_a_first_team(client, db):
    response = sign_up(client, email="Ada@Example.com")
    assert response.status_code == 302
    assert response.url == reverse("accounts:home")
    user = get_user(client)
    assert user.is_authenticated and user.email == "ada@example.com"
    assert user.display_name == "Ada Lovelace"
    assert client.get(response.url).url == reverse("accounts:team_create")


def test_sign_up_page_has_labelled_fields(client, db):
    html = client.get(reverse("accounts:signup")).content.decode()
    for field_id, label in [("id_email", "Work email"), ("id_name", "Your name"),
                            ("id_password1", "Password"), ("id_password2", "Password again")]:
        assert f'<label for="{field_id}">{label}</label>' in html
    assert 'autocomplete="new-password"' in html


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"password2": "something-else-entirely"}, "password2", "not the same"),
        ({"password1": "short", "password2": "short"}, "password1", "too short"),
        ({"password1": "ada@example.com1", "password2": "ada@example.com1"}, "password1",
         "too similar"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_sign_up_with_bad_input_shows_the_form_again(client, db, overrides, field, message):
    response = sign_up(client, **overrides)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert message in " ".join(errors[field])
    assert 'aria-invalid="true"' in response.content.decode()
    assert not User.objects.exists()


def test_sign_up_with_a_taken_email_whatever_its_case(client, owner):
    response = sign_up(client, email="OLIVIA@example.com")
    assert response.status_code == 200
    assert "already exists" in " ".join(response.context["form"].errors["email"])
    assert User.objects.count() == 1


def test_sign_up_ignores_a_next_url_to_another_site(client, db):
    response = client.post(reverse("accounts:signup") + "?next=https://evil.example/",
                           {"email": "ada@example.com", "name": "Ada", "password1": NEW_PASSWORD,
                            "password2": NEW_PASSWORD, "next": "https://evil.example/"})
    assert response.url == reverse("accounts:home")


def test_signed_in_people_skip_sign_up(client, owner):
    client.force_login(owner)
    assert client.get(reverse("accounts:signup")).status_code == 302


def test_log_in_by_email_whatever_its_case(client, owner):
    response = client.post(reverse("accounts:login"),
                           {"username": "Olivia@EXAMPLE.com", "password": PASSWORD})
    assert response.status_code == 302
    assert get_user(client) == owner


def test_log_in_with_a_wrong_password_says_so(client, owner):
    response = client.post(reverse("accounts:login"),
                           {"username": "olivia@example.com", "password": "wrong"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "do not match an account" in html
    assert 'role="alert"' in html
    assert not get_user(client).is_authenticated


def test_log_in_page_has_an_email_field(client, db):
    html = client.get(reverse("accounts:login")).content.decode()
    assert '<label for="id_username">Email</label>' in html
    assert 'type="email"' in html


def test_log_out_is_a_post(client, owner):
    client.force_login(owner)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert get_user(client).is_authenticated
    response = client.post(reverse("accounts:logout"), follow=True)
    assert not get_user(client).is_authenticated
    assert "You have been logged out." in response.content.decode()


def test_password_change(client, owner):
    client.force_login(owner)
    url = reverse("accounts:password_change")
    assert client.get(url).status_code == 200
    wrong = client.post(url, {"old_password": "nope", "new_password1": NEW_PASSWORD,
                              "new_password2": NEW_PASSWORD})
    assert wrong.status_code == 200 and "old_password" in wrong.context["form"].errors
    right = client.post(url, {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                              "new_password2": NEW_PASSWORD})
    assert right.status_code == 302
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)
    assert get_user(client).is_authenticated  # the session survives its own change


def test_password_change_needs_a_login(client, db):
    response = client.get(reverse("accounts:password_change"))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_password_reset_by_email(client, owner):
    response = client.post(reverse("accounts:password_reset"), {"email": "olivia@example.com"})
    assert response.url == reverse("accounts:password_reset_done")
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link).url  # Django swaps the token for a session marker
    response = client.post(form_url, {"new_password1": NEW_PASSWORD,
                                      "new_password2": NEW_PASSWORD})
    assert response.url == reverse("accounts:password_reset_complete")
    owner.refresh_from_db()
    assert owner.check_password(NEW_PASSWORD)
    # The link works once.
    assert "no longer works" in client.get(link, follow=True).content.decode()


def test_password_reset_for_an_unknown_email_tells_nothing(client, db):
    response = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.com"})
    assert response.url == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_sign_up_from_an_invitation_joins_the_team(client, team, owner):
    invitation = services.invitation_create(team=team, created_by=owner, email="nina@example.com")
    join_url = reverse("accounts:join", args=[invitation.token])
    page = client.get(reverse("accounts:signup"), {"next": join_url})
    assert "to join Acme Growth" in page.content.decode()
    assert page.context["form"].initial["email"] == "nina@example.com"
    response = sign_up(client, email="nina@example.com", next=join_url)
    assert response.url == reverse("accounts:team_home", args=[team.slug])
    assert Membership.objects.filter(team=team, user__email="nina@example.com").exists()


def test_sign_up_from_a_used_invitation_creates_the_account_and_explains(client, team, owner,
                                                                        teammate):
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    join_url = reverse("accounts:join", args=[invitation.token])
    services.invitation_accept(invitation=invitation, user=User.objects.create_user(
        username="x", email="x@example.com", password="x"))
    response = sign_up(client, next=join_url)
    assert response.url == join_url
    assert client.get(join_url).status_code == 410
    assert not Membership.objects.filter(user__email="ada@example.com").exists()


def test_log_in_from_an_invitation_joins_the_team(client, team, owner, outsider):
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    join_url = reverse("accounts:join", args=[invitation.token])
    page = client.get(reverse("accounts:login"), {"next": join_url})
    assert "Log in to join Acme Growth" in page.content.decode()
    response = client.post(reverse("accounts:login") + f"?next={join_url}",
                           {"username": "oscar@example.com", "password": PASSWORD})
    assert response.url == reverse("accounts:team_home", args=[team.slug])
    assert Membership.objects.filter(team=team, user=outsider).exists()


def test_account_page_renames(client, owner):
    client.force_login(owner)
    url = reverse("accounts:account")
    assert client.get(url).status_code == 200
    assert client.post(url, {"name": ""}).status_code == 200
    assert client.post(url, {"name": "Olivia O."}).status_code == 302
    owner.refresh_from_db()
    assert owner.display_name == "Olivia O."


def test_a_member_logging_in_through_a_link_is_told_and_the_link_stays_unused(client, team,
                                                                              owner, teammate):
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    join_url = reverse("accounts:join", args=[invitation.token])
    response = client.post(reverse("accounts:login") + f"?next={join_url}",
                           {"username": "tom@example.com", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("accounts:team_home", args=[team.slug])
    assert "already a member of Acme Growth" in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.is_usable


def test_log_out_from_an_invitation_comes_back_to_it(client, team, owner, teammate):
    invitation = services.invitation_create(team=team, created_by=owner, anyone_with_link=True)
    join_url = reverse("accounts:join", args=[invitation.token])
    client.force_login(teammate)
    response = client.post(reverse("accounts:logout"), {"next": join_url})
    assert response.url == join_url
    assert not get_user(client).is_authenticated
