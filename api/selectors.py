"""Reads of personal API tokens, always scoped to their owner."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User

from .models import ApiToken
from .services import TOKEN_PREFIX, hash_token


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")


def token_of(user: User, token_id: int) -> ApiToken:
    """One of the user's tokens, or 404: another person's token does not exist for them."""
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise Http404("No such token")
    return token


def active_token(token: str) -> ApiToken | None:
    """The live token row for a presented token, with its (active) user, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = (ApiToken.objects.select_related("user")
           .filter(key_hash=hash_token(token), revoked_at__isnull=True).first())
    if row is None or not row.user.is_active:
        return None
    if row.expires_at is not None and row.expires_at <= timezone.now():
        return None
    return row
