"""The API's cast: the owner's token, a dataset with data and a success definition in the
owner's team, and a client that sends the token."""

from __future__ import annotations

import pytest
from django.test import Client

from api.services import token_create

# The browser fixtures (Chromium, a page that fails on anything the CSP blocks).
from tests.worksessions.factories import make_dataset, make_success


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class ApiClient:
    """Django's test client with `Authorization: Bearer <token>` on every call."""

    def __init__(self, token: str | None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, data=None, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return self.client.get(_url(path), data, headers=headers, **kwargs)

    def post(self, path: str, data=None, *, json: bool = True, **kwargs):
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if json:
            return self.client.post(_url(path), data=data, content_type="application/json",
                                    headers=headers, **kwargs)
        return self.client.post(_url(path), data=data, headers=headers, **kwargs)


def _url(path: str) -> str:
    return path if path.startswith("/api/v1/") else "/api/v1/" + path.lstrip("/")


@pytest.fixture
def third_member(team):
    from accounts.models import Membership
    from tests.conftest import make_user

    user = make_user("tess@example.com", "Tess Third")
    Membership.objects.create(team=team, user=user, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def owner_token(owner) -> str:
    return token_create(user=owner, name="Pipeline")[1]


@pytest.fixture
def api(owner_token) -> ApiClient:
    return ApiClient(owner_token)


def ready_dataset(team, **kwargs):
    """The worksessions factory's dataset, with the import row an upload leaves behind
    (dataset_append numbers versions from the imports)."""
    from analytics.models import DatasetImport, JobStatus

    dataset = make_dataset(team, **kwargs)
    DatasetImport.objects.create(dataset=dataset, version=1, status=JobStatus.DONE)
    return dataset


@pytest.fixture
def dataset(team):
    return ready_dataset(team)


@pytest.fixture
def success(team, dataset, owner):
    return make_success(team, dataset, by=owner)
