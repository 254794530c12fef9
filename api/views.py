"""The API tokens page of a person's account: create a token (shown once) and revoke one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import TokenForm

# The new token travels from the POST to the next page in the session, once.
NEW_TOKEN_KEY = "api_new_token"


@login_required
@never_cache
def token_list(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            row, token = services.token_create(
                user=request.user, name=form.cleaned_data["name"],
                expires_in_days=form.cleaned_data["expires_in_days"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            request.session[NEW_TOKEN_KEY] = {"id": row.pk, "token": token}
            return redirect("api:tokens")
    new = request.session.pop(NEW_TOKEN_KEY, None)
    return render(request, "api/tokens.html", {
        "form": form, "tokens": selectors.tokens_of(request.user), "new_token": new,
        "docs_url": reverse("api_v1:openapi-view"),
        "openapi_url": reverse("api_v1:openapi-json"),
        "api_root": request.build_absolute_uri(reverse("api_v1:api-root")),
    })


@login_required
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = selectors.token_of(request.user, token_id)
    services.token_revoke(token=token)
    messages.success(request, f"The token “{token.name}” is revoked: calls with it now "
                              "answer 401.")
    return redirect("api:tokens")
