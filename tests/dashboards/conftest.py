import pytest

from tests.dashboards.factories import make_dashboard, make_dataset, make_success, weekly_product


@pytest.fixture
def product(team):
    events, users = weekly_product()
    return make_dataset(team, events, users)


@pytest.fixture
def success(team, product, owner):
    return make_success(team, product, user=owner)


@pytest.fixture
def dashboard(team, product, success, owner):
    return make_dashboard(team, product, success, user=owner)


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run the tasks queued after commit (they run synchronously in tests)."""
    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)
    return run
