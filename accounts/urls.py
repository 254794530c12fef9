from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from .views import auth, invitations, members, styleguide, teams

app_name = "accounts"

team = "t/<slug:team_slug>/"

urlpatterns = [
    path("", teams.home, name="home"),
    # Accounts
    path("signup/", auth.signup, name="signup"),
    path("login/", auth.LoginView.as_view(), name="login"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("account/", auth.account, name="account"),
    path("account/password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            email_template_name="registration/password_reset_email.txt",
            subject_template_name="registration/password_reset_subject.txt",
            success_url=reverse_lazy("accounts:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("accounts:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # Teams
    path("teams/new/", teams.team_create, name="team_create"),
    path(team, teams.team_home, name="team_home"),
    path(team + "members/", members.members, name="members"),
    path(team + "members/invite/", members.invite, name="invite"),
    path(team + "invitations/<int:invitation_id>/revoke/", members.revoke, name="revoke"),
    path(team + "members/<int:membership_id>/remove/", members.remove, name="member_remove"),
    path(team + "members/<int:membership_id>/promote/", members.promote,
         name="member_promote"),
    path(team + "members/<int:membership_id>/demote/", members.demote, name="member_demote"),
    path(team + "leave/", members.leave, name="leave"),
    path("join/<str:token>/", invitations.join, name="join"),
    path("styleguide/", styleguide.styleguide, name="styleguide"),
]
