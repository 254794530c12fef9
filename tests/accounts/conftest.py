import pytest

from accounts.models import Membership, Team
from tests.conftest import make_user

PASSWORD = "correct-horse-battery"  # what tests.conftest.make_user gives everyone


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The default hasher is slow on purpose; these tests log people in a lot.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def other_team(outsider) -> Team:
    """The outsider's own team, to forge ids from."""
    team = Team.objects.create(name="Rival Corp", slug="rival-corp")
    Membership.objects.create(team=team, user=outsider, role=Membership.Role.OWNER)
    return team


@pytest.fixture
def owner_membership(team, owner) -> Membership:
    return Membership.objects.get(team=team, user=owner)


@pytest.fixture
def teammate_membership(team, teammate) -> Membership:
    return Membership.objects.get(team=team, user=teammate)


@pytest.fixture
def newcomer(db):
    return make_user("nina@example.com", "Nina Newcomer")
