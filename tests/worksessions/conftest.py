import pytest

from accounts.models import Membership
from sessions import services
from sessions.steps import Step
from tests.conftest import make_user

from .factories import INVITED, MOBILE_FIRST, PRO, make_dataset, make_session, make_success, move_to


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The default hasher costs over a second per user on a busy machine; these tests
    # are about sessions, not passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _jobs_run_when_queued(request, monkeypatch):
    """Tests run inside a transaction that never commits, so work queued "on commit" (the
    analysis jobs) would never run: run it at once instead, on the same connection, as the
    embedded default would right after the commit. Transactional tests commit for real."""
    marker = request.node.get_closest_marker("django_db")
    if ("transactional_db" in request.fixturenames or "live_server" in request.fixturenames
            or (marker is not None and marker.kwargs.get("transaction"))):
        return
    from django.db import transaction

    monkeypatch.setattr(transaction, "on_commit",
                        lambda func, using=None, robust=False: func())


@pytest.fixture
def third(team):
    """A third member, for three-person sessions."""
    user = make_user("tess@example.com", "Tess Third")
    Membership.objects.create(team=team, user=user, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def dataset(team):
    return make_dataset(team)


@pytest.fixture
def success(team, dataset, owner):
    return make_success(team, dataset, by=owner)


@pytest.fixture
def session(team, owner, teammate, dataset, success):
    """Olivia facilitates; Tom has joined."""
    return make_session(team, owner, members=(teammate,), dataset=dataset, success=success)


@pytest.fixture
def testing(session, owner, teammate):
    """Tom wrote three hypotheses with criteria; the session is at Test."""
    session = move_to(session, Step.HYPOTHESES)
    for text, criterion in (("Inviters purchase more", INVITED), ("Pro users purchase more", PRO),
                            ("Mobile-first users purchase less", MOBILE_FIRST)):
        services.hypothesis_create(session=session, author=teammate, text=text,
                                   criterion=criterion, expected_direction="more")
    return move_to(session, Step.TEST)
