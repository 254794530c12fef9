"""Personal API tokens: stored hashed, shown once, revoked from the account page, and the
only way into the API."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken
from api.services import hash_token, token_create, token_revoke

from .conftest import ApiClient

pytestmark = pytest.mark.django_db


def test_only_a_hash_of_the_token_is_stored(owner):
    row, token = token_create(user=owner, name="Nightly import")
    assert token.startswith("hlab_") and len(token) > 40
    stored = ApiToken.objects.get(pk=row.pk)
    assert stored.key_hash == hash_token(token) != token
    assert token not in " ".join(str(v) for v in ApiToken.objects.values_list().get())
    assert stored.prefix == token[:12]


def test_a_token_calls_the_api_as_its_owner(owner, team):
    _, token = token_create(user=owner, name="CI")
    response = ApiClient(token).get("teams")
    assert response.status_code == 200
    assert response.json() == [{"slug": team.slug, "name": team.name, "role": "owner"}]


@pytest.mark.parametrize("header", [
    None, "Bearer", "Bearer ", "Bearer hlab_not-a-real-token", "Token abc", "Basic b3dlbjpwdw==",
])
def test_no_valid_token_is_401(header, team):
    client = ApiClient(None)
    headers = {"Authorization": header} if header is not None else {}
    response = client.get("teams", headers=headers)
    assert response.status_code == 401
    assert response.json()["detail"].startswith("Send a valid personal API token")
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_session_cookie_does_not_open_the_api(client, owner, team):
    client.force_login(owner)
    assert client.get("/api/v1/teams").status_code == 401


def test_revoked_expired_and_deactivated_tokens_are_refused(owner, team):
    row, token = token_create(user=owner, name="CI", expires_in_days=30)
    api = ApiClient(token)
    assert api.get("teams").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=30, seconds=1)):
        assert api.get("teams").status_code == 401
    token_revoke(token=row)
    assert api.get("teams").status_code == 401

    _, other = token_create(user=owner, name="Other")
    owner.is_active = False
    owner.save()
    assert ApiClient(other).get("teams").status_code == 401


def test_last_use_is_stamped_at_most_once_a_minute(owner, team):
    row, token = token_create(user=owner, name="CI")
    api = ApiClient(token)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        api.get("teams")
        row.refresh_from_db()
        assert row.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        api.get("teams")
        row.refresh_from_db()
        assert row.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        api.get("teams")
        row.refresh_from_db()
        assert row.last_used_at == start + timedelta(seconds=61)


def test_token_page_creates_shows_once_and_revokes(client, owner, team):
    client.force_login(owner)
    url = reverse("api:tokens")
    response = client.post(url, {"name": "Wiki export", "expires_in_days": "90"})
    assert response.status_code == 302
    page = client.get(url)
    row = ApiToken.objects.get(user=owner)
    token = page.context["new_token"]["token"]
    assert hash_token(token) == row.key_hash
    assert token in page.content.decode()
    assert row.expires_at is not None
    # Shown once: the next visit no longer has it.
    again = client.get(url).content.decode()
    assert token not in again and row.prefix in again
    assert ApiClient(token).get("teams").status_code == 200

    response = client.post(reverse("api:token_revoke", kwargs={"token_id": row.pk}))
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.revoked_at is not None
    assert ApiClient(token).get("teams").status_code == 401


def test_token_page_refuses_an_empty_name(client, owner):
    client.force_login(owner)
    response = client.post(reverse("api:tokens"), {"name": "   ", "expires_in_days": ""})
    assert response.status_code == 200
    assert not ApiToken.objects.exists()


def test_nobody_revokes_someone_elses_token(client, owner, outsider):
    row, token = token_create(user=owner, name="Olivia's nightly import")
    client.force_login(outsider)
    response = client.post(reverse("api:token_revoke", kwargs={"token_id": row.pk}))
    assert response.status_code == 404
    row.refresh_from_db()
    assert row.revoked_at is None
    assert "nightly import" not in client.get(reverse("api:tokens")).content.decode()


def test_token_page_needs_a_login(client):
    response = client.get(reverse("api:tokens"))
    assert response.status_code == 302 and "/login/" in response["Location"]
