"""Login throttling: after too many failed log-ins, further attempts are refused for the
rest of the window, before any password is checked.

Wired as the first authentication backend (settings.AUTHENTICATION_BACKENDS), so the log-in
form, the admin's and any other caller of `authenticate()` are covered without a change to
their code. Three counters, in the cache (Redis in production), each over a fixed window:

- one email from one address: the guessing of one account from one machine;
- one email from any address: a distributed guess at one account, with a higher limit so
  that nobody can lock a colleague out from a single machine;
- one address, whatever the email: one machine trying many accounts.

A successful log-in clears the first two for that email (not the address's: an attacker
with an account of their own must not be able to reset their address's count)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.http import HttpRequest

log = logging.getLogger(__name__)

CACHE_PREFIX = "login-throttle"


class LoginThrottled(ValidationError):
    """Raised from `authenticate()`: the log-in form shows it as its error."""


@dataclass(frozen=True)
class Limits:
    window_seconds: int
    per_email_and_address: int
    per_email: int
    per_address: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            window_seconds=settings.LOGIN_THROTTLE_WINDOW_SECONDS,
            per_email_and_address=settings.LOGIN_THROTTLE_PER_EMAIL_AND_ADDRESS,
            per_email=settings.LOGIN_THROTTLE_PER_EMAIL,
            per_address=settings.LOGIN_THROTTLE_PER_ADDRESS,
        )


def client_address(request: HttpRequest | None) -> str:
    if request is None:
        return "unknown"
    header = settings.LOGIN_THROTTLE_ADDRESS_HEADER
    value = request.META.get(header) or request.META.get("REMOTE_ADDR") or "unknown"
    # X-Forwarded-For is "what the client claimed, ..., what our proxy saw": only the last
    # entry, appended by our own proxy, cannot be made up by the client.
    return value.split(",")[-1].strip()[:64] or "unknown"


def _key(*parts: str) -> str:
    # Hashed: emails and addresses never appear in cache keys (and keys stay short).
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]
    return f"{CACHE_PREFIX}:{parts[0]}:{digest}"


def _keys(email: str, address: str) -> dict[str, str]:
    email = (email or "").strip().lower()
    return {
        "per_email_and_address": _key("pair", email, address),
        "per_email": _key("email", email),
        "per_address": _key("address", address),
    }


def is_throttled(email: str, request: HttpRequest | None) -> bool:
    limits = Limits.from_settings()
    keys = _keys(email, client_address(request))
    try:
        counts = cache.get_many(list(keys.values()))
    except Exception:  # the cache (Redis) is down: let people sign in rather than fail
        log.warning("login throttle: cache unavailable, not throttling", exc_info=True)
        return False
    return any(counts.get(keys[name], 0) >= getattr(limits, name) for name in keys)


def record_failure(email: str, request: HttpRequest | None) -> None:
    try:
        _count_failure(email, request)
    except Exception:  # the cache (Redis) is down; the failed login itself still fails
        log.warning("login throttle: cache unavailable, failure not counted", exc_info=True)


def _count_failure(email: str, request: HttpRequest | None) -> None:
    window = Limits.from_settings().window_seconds
    for key in _keys(email, client_address(request)).values():
        # add() starts the window at the first failure and later failures leave its end
        # where it is: a fixed window, so a lock always ends at a time one can tell.
        cache.add(key, 0, timeout=window)
        try:
            cache.incr(key)
        except ValueError:  # expired between add() and incr()
            cache.add(key, 1, timeout=window)


def record_success(email: str, request: HttpRequest | None) -> None:
    keys = _keys(email, client_address(request))
    try:
        cache.delete_many([keys["per_email_and_address"], keys["per_email"]])
    except Exception:
        log.warning("login throttle: cache unavailable, counters not reset", exc_info=True)


def message() -> str:
    minutes = max(1, round(Limits.from_settings().window_seconds / 60))
    return (f"Too many failed attempts to log in. For your account’s safety, wait up to "
            f"{minutes} minutes and try again, or reset your password.")


class LoginThrottleBackend(BaseBackend):
    """Checks no password: it only refuses while throttled, and otherwise lets the next
    backend (ModelBackend) decide."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is not None and is_throttled(username, request):
            raise LoginThrottled(message(), code="throttled")
        return None

    def get_user(self, user_id):
        # Sessions made by Client.force_login and the like name the first backend.
        return ModelBackend().get_user(user_id)


@receiver(user_login_failed, dispatch_uid="accounts.throttle.failed")
def _on_failure(sender, credentials, request=None, **kwargs):
    email = credentials.get("username")
    if email is not None:
        record_failure(email, request)


@receiver(user_logged_in, dispatch_uid="accounts.throttle.succeeded")
def _on_success(sender, request, user, **kwargs):
    record_success(getattr(user, "email", "") or "", request)
