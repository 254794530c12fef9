"""Writes of personal API tokens: create (the only moment the token is visible), revoke,
and the "last used" stamp."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import User

from .models import ApiToken

# Recognisable in logs and by secret scanners; the rest is 256 random bits.
TOKEN_PREFIX = "hlab_"
SHOWN_CHARACTERS = 12
MAX_ACTIVE_TOKENS = 20
# A token used again within this long is not stamped again.
TOUCH_EVERY = timedelta(minutes=1)


def hash_token(token: str) -> str:
    """SHA-256 is enough here: the token is random, so there is no dictionary to try."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_create(*, user: User, name: str, expires_in_days: int | None = None
                 ) -> tuple[ApiToken, str]:
    """A new token for the user; returns the row and the token itself, which is not kept."""
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("Name the token after what will use it, e.g. “Nightly import”.")
    if len(name) > 100:
        raise ValidationError("Keep the name under 100 characters.")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise ValidationError("A token lasts from 1 day to 10 years, or until revoked.")
    active = ApiToken.objects.filter(user=user, revoked_at__isnull=True).exclude(
        expires_at__lte=timezone.now())
    if active.count() >= MAX_ACTIVE_TOKENS:
        raise ValidationError(f"You already have {MAX_ACTIVE_TOKENS} active tokens: revoke "
                              "one you no longer use first.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    row = ApiToken.objects.create(
        user=user, name=name, prefix=token[:SHOWN_CHARACTERS], key_hash=hash_token(token),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    return row, token


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Stop the token working from the next call on (idempotent)."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now())
    token.refresh_from_db()
    return token


def token_touch(*, token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
