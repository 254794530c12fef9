from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Count

from .models import Invitation, Membership, Team, User


class UserCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "username", "display_name")


class UserChangeFormByEmail(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    fields = ["user", "role", "joined_at", "last_visited_at"]
    readonly_fields = ["last_visited_at"]


class UserMembershipInline(MembershipInline):
    autocomplete_fields = ["team"]
    fields = ["team", "role", "joined_at", "last_visited_at"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserChangeFormByEmail
    list_display = ["email", "display_name", "is_active", "is_staff", "date_joined",
                    "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "display_name", "username"]
    ordering = ["email"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["display_name", "username", "first_name",
                                      "last_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups",
                                    "user_permissions"]}),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {
            "classes": ["wide"],
            "fields": ["email", "username", "display_name", "usable_password", "password1",
                       "password2"],
        }),
    ]
    inlines = [UserMembershipInline]

    def get_inlines(self, request, obj):
        # Teams are added once the person exists.
        return self.inlines if obj is not None else []


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "member_count", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    date_hierarchy = "created_at"
    inlines = [MembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_member_count=Count("memberships"))

    @admin.display(description="members", ordering="_member_count")
    def member_count(self, team: Team) -> int:
        return team._member_count


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "joined_at", "last_visited_at"]
    list_filter = ["role"]
    list_select_related = ["user", "team"]
    search_fields = ["user__email", "user__display_name", "team__name", "team__slug"]
    autocomplete_fields = ["user", "team"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["team", "email", "anyone_with_link", "created_by", "created_at",
                    "expires_at", "status", "accepted_by"]
    list_select_related = ["team", "created_by", "accepted_by"]
    search_fields = ["team__name", "team__slug", "email", "created_by__email",
                     "accepted_by__email"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["team", "created_by", "accepted_by"]
    readonly_fields = ["token"]

    @admin.display(description="status")
    def status(self, invitation: Invitation) -> str:
        return invitation.status.label
