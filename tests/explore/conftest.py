import pytest

from tests.worksessions.factories import make_dataset, make_session, make_success, move_to


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The cast's accounts are made per test; the real hasher costs a second each here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def dataset(team):
    return make_dataset(team)


@pytest.fixture
def success(team, dataset, owner):
    return make_success(team, dataset, by=owner)


@pytest.fixture
def dig_session(team, owner, teammate, dataset, success):
    """Olivia facilitates, Tom has joined; the session is in Test and learn, timer running."""
    session = make_session(team, owner, members=(teammate,), dataset=dataset, success=success)
    return move_to(session, "dig")


@pytest.fixture
def client_of(client):
    def sign_in(user):
        client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        return client
    return sign_in
