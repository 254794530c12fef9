"""Login throttling: after too many failures, attempts are refused before any password is
checked, for the rest of the window, on the log-in page and the admin's alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import throttle
from tests.conftest import make_user

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.LOGIN_THROTTLE_WINDOW_SECONDS = 900
    settings.LOGIN_THROTTLE_PER_EMAIL_AND_ADDRESS = 3
    settings.LOGIN_THROTTLE_PER_EMAIL = 5
    settings.LOGIN_THROTTLE_PER_ADDRESS = 8
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def olivia(db):
    return make_user("olivia@example.com", "Olivia Owner", password=PASSWORD)


def log_in(email: str, password: str, *, address: str = "203.0.113.7", url: str = ""):
    client = Client(REMOTE_ADDR=address)
    response = client.post(url or reverse("accounts:login"),
                           {"username": email, "password": password})
    return client, response


def is_signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_after_three_failures_even_the_right_password_waits(olivia):
    for _ in range(3):
        client, response = log_in(olivia.email, "wrong")
        assert response.status_code == 200 and not is_signed_in(client)
    client, response = log_in(olivia.email, PASSWORD)
    assert not is_signed_in(client)
    assert "Too many failed attempts" in response.content.decode()
    assert "do not match" not in response.content.decode()
    # Another machine is not locked out by this one (below the email's own limit).
    elsewhere, _ = log_in(olivia.email, PASSWORD, address="198.51.100.2")
    assert is_signed_in(elsewhere)


def test_the_lock_ends_with_the_window(olivia):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(3):
            log_in(olivia.email, "wrong")
        assert not is_signed_in(log_in(olivia.email, PASSWORD)[0])
    with time_machine.travel(start + timedelta(seconds=899), tick=False):
        assert not is_signed_in(log_in(olivia.email, PASSWORD)[0])
    with time_machine.travel(start + timedelta(seconds=901), tick=False):
        assert is_signed_in(log_in(olivia.email, PASSWORD)[0])


def test_a_success_clears_the_accounts_count(olivia):
    for _ in range(2):
        log_in(olivia.email, "wrong")
    assert is_signed_in(log_in(olivia.email, PASSWORD)[0])
    for _ in range(2):
        log_in(olivia.email, "wrong")
    assert is_signed_in(log_in(olivia.email, PASSWORD)[0])


def test_a_guess_from_many_addresses_locks_the_account_for_a_while(olivia):
    for number in range(5):
        log_in(olivia.email, "wrong", address=f"192.0.2.{number}")
    client, response = log_in(olivia.email, PASSWORD, address="192.0.2.200")
    assert not is_signed_in(client) and "Too many failed attempts" in response.content.decode()


def test_one_address_trying_many_accounts_is_stopped(olivia):
    for number in range(8):
        log_in(f"someone{number}@example.com", "guess")
    client, _ = log_in(olivia.email, PASSWORD)
    assert not is_signed_in(client)
    assert is_signed_in(log_in(olivia.email, PASSWORD, address="198.51.100.9")[0])


def test_capitals_do_not_make_a_new_account_to_guess(olivia):
    for email in ("OLIVIA@example.com", "Olivia@Example.com", "olivia@EXAMPLE.COM"):
        log_in(email, "wrong")
    assert not is_signed_in(log_in(olivia.email, PASSWORD)[0])


def test_the_admin_login_is_throttled_too(olivia):
    olivia.is_staff = True
    olivia.save()
    admin = reverse("admin:login")
    for _ in range(3):
        log_in(olivia.email, "wrong", url=admin)
    client, response = log_in(olivia.email, PASSWORD, url=admin)
    assert not is_signed_in(client)
    assert "Too many failed attempts" in response.content.decode()


def test_the_address_comes_from_the_configured_header(settings, rf):
    settings.LOGIN_THROTTLE_ADDRESS_HEADER = "HTTP_X_REAL_IP"
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="203.0.113.9")
    assert throttle.client_address(request) == "203.0.113.9"
    settings.LOGIN_THROTTLE_ADDRESS_HEADER = "REMOTE_ADDR"
    assert throttle.client_address(request) == "10.0.0.1"


def test_behind_a_proxy_a_made_up_forwarded_for_does_not_escape_the_count(settings, olivia):
    settings.LOGIN_THROTTLE_ADDRESS_HEADER = "HTTP_X_FORWARDED_FOR"
    for number in range(3):
        # The attacker claims a new address each time; the proxy appends the real one.
        client = Client(REMOTE_ADDR="10.0.0.1",
                        HTTP_X_FORWARDED_FOR=f"198.51.100.{number}, 203.0.113.7")
        client.post(reverse("accounts:login"), {"username": olivia.email, "password": "x"})
    client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.99, 203.0.113.7")
    client.post(reverse("accounts:login"), {"username": olivia.email, "password": PASSWORD})
    assert not is_signed_in(client)
    # Someone else behind the same proxy is not locked out with them.
    other = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.50")
    other.post(reverse("accounts:login"), {"username": olivia.email, "password": PASSWORD})
    assert is_signed_in(other)


def test_https_deployments_count_the_forwarded_address_by_default(monkeypatch):
    import importlib

    import hypothesislab.settings as module

    monkeypatch.setenv("HTTPS", "1")
    monkeypatch.setenv("DEBUG", "0")
    monkeypatch.setenv("LOGIN_THROTTLE_ADDRESS_HEADER", "")  # as .env.example leaves it
    try:
        assert importlib.reload(module).LOGIN_THROTTLE_ADDRESS_HEADER == "HTTP_X_FORWARDED_FOR"
    finally:
        monkeypatch.undo()
        assert importlib.reload(module).LOGIN_THROTTLE_ADDRESS_HEADER == "REMOTE_ADDR"
