"""Sign up, log in, log out and the account page. Password change and reset are Django's
own views, wired with our templates in accounts/urls.py."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from ..forms import EmailAuthenticationForm, ProfileForm, SignUpForm
from ..models import Invitation, Membership, User
from ..selectors import invitation_from_url
from ..services import invitation_accept, user_create, user_rename
from ._helpers import safe_next


def _join_after_auth(request: HttpRequest, invitation: Invitation | None, user: User):
    """Coming from an invitation link, signing up or in means joining: do it, and land in
    the team. If the link went stale meanwhile, go back to it for the explanation."""
    if invitation is None:
        return None
    team = invitation.team
    if Membership.objects.filter(team=team, user=user).exists():
        messages.info(request, f"You are already a member of {team.name}.")
    else:
        try:
            invitation_accept(invitation=invitation, user=user)
        except ValidationError:
            return redirect("accounts:join", token=invitation.token)
        messages.success(request, f"Welcome to {team.name}!")
    return redirect("accounts:team_home", team_slug=team.slug)


def signup(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request)
    if request.user.is_authenticated:
        return redirect(next_url or reverse("accounts:home"))
    invitation = invitation_from_url(next_url)
    if request.method == "POST":
        form = SignUpForm(request.POST)
        if form.is_valid():
            try:
                user = user_create(
                    email=form.cleaned_data["email"],
                    name=form.cleaned_data["name"],
                    password=form.cleaned_data["password1"],
                )
            except ValidationError as error:
                # Someone signed up with this email between validation and creation.
                form.add_error("email", error)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                joined = _join_after_auth(request, invitation, user)
                if joined is not None:
                    return joined
                return redirect(next_url or reverse("accounts:home"))
    else:
        form = SignUpForm(initial={"email": invitation.email if invitation else ""})
    return render(
        request,
        "registration/signup.html",
        {"form": form, "next": next_url, "invitation": invitation},
    )


class LoginView(auth_views.LoginView):
    form_class = EmailAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["invitation"] = invitation_from_url(self.get_redirect_url())
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        invitation = invitation_from_url(self.get_redirect_url())
        return _join_after_auth(self.request, invitation, form.get_user()) or response


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, "You have been logged out.")
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change_form.html"

    def form_valid(self, form):
        messages.success(self.request, "Your password has been changed.")
        return super().form_valid(form)

    def get_success_url(self):
        return reverse("accounts:account")


@login_required
def account(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            user_rename(user=request.user, name=form.cleaned_data["name"])
            messages.success(request, "Your name has been updated.")
            return redirect("accounts:account")
    else:
        form = ProfileForm(initial={"name": request.user.display_name})
    return render(request, "accounts/account.html", {"form": form})
