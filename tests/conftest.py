"""The cast every team-scoped test needs: an owner, a teammate and an outsider."""

import os
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.models import Membership, Team, User

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_addoption(parser):
    parser.addoption(
        "--clock-ahead", type=int, metavar="DAYS",
        default=int(os.environ.get("HYPOTHESISLAB_CLOCK_AHEAD_DAYS") or 0),
        help="run the whole suite with this process's clock DAYS ahead (time-machine), to "
             "catch tests that hold a calendar date which turns into the past")


def pytest_configure(config):
    days = config.getoption("--clock-ahead")
    if days:
        # tick=True: time still runs, only shifted; tests that travel themselves nest inside.
        config._clock_ahead = time_machine.travel(datetime.now(UTC) + timedelta(days=days),
                                                  tick=True)
        config._clock_ahead.start()


def pytest_unconfigure(config):
    if getattr(config, "_clock_ahead", None) is not None:
        config._clock_ahead.stop()


def require(condition: bool, reason: str) -> None:
    """Skip with a reason on a machine without a service; fail in CI, where it must exist."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Caches a web process keeps by row id (a live session's tests between drawings)
    start empty with each test's database: rolled back, it gives the same ids again."""
    from sessions import results

    results.forget_kept()


@pytest.fixture(autouse=True)
def _isolated_data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.TASKS_IN_BACKGROUND_THREAD = False
    # Hashing passwords properly is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_user(email: str, name: str = "", password: str = "correct-horse-battery") -> User:
    return User.objects.create_user(
        username=email, email=email, password=password, display_name=name
    )


@pytest.fixture
def owner(db) -> User:
    return make_user("olivia@example.com", "Olivia Owner")


@pytest.fixture
def teammate(db) -> User:
    return make_user("tom@example.com", "Tom Teammate")


@pytest.fixture
def outsider(db) -> User:
    return make_user("oscar@example.com", "Oscar Outsider")


@pytest.fixture
def team(owner, teammate) -> Team:
    team = Team.objects.create(name="Acme Growth", slug="acme-growth")
    Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)
    Membership.objects.create(team=team, user=teammate, role=Membership.Role.MEMBER)
    return team


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    """A real worker process through Redis (PostgreSQL + Redis needed; fails in CI without
    them, skips elsewhere). Rows must be committed for it to see them: transactional_db."""
    from tests.celery_worker import running_worker, worker_available

    available, reason = worker_available()
    require(available, reason)
    with running_worker(tmp_path / "worker.log") as process:
        yield process
