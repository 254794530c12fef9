"""`Authorization: Bearer <token>` for every API operation. The session cookie is never
accepted, so the API needs no CSRF token and a page cannot call it on a user's behalf."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from accounts.models import User

from .selectors import active_token
from .services import token_touch


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        row = active_token(token.strip())
        if row is None:
            return None
        token_touch(token=row)
        # Views and services read request.user, as they do for pages.
        request.user = row.user
        request.api_token = row
        return row.user
