import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Invitation, Membership, Team, User

MODELS = [User, Team, Membership, Invitation]


@pytest.fixture
def everything(team, owner):
    services.invitation_create(team=team, created_by=owner, email="nina@example.com")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_admin_pages_load(admin_client, everything, model):
    prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
    changelist = admin_client.get(reverse(f"{prefix}_changelist"), {"q": "acme"})
    assert changelist.status_code == 200
    assert admin_client.get(reverse(f"{prefix}_add")).status_code == 200
    obj = model.objects.first()
    assert admin_client.get(reverse(f"{prefix}_change", args=[obj.pk])).status_code == 200


def test_admin_lists_every_accounts_model():
    from django.contrib import admin

    assert {m for m in admin.site._registry if m._meta.app_label == "accounts"} == set(MODELS)


def test_admin_creates_a_user_by_email(admin_client, db):
    response = admin_client.post(reverse("admin:accounts_user_add"), {
        "email": "new@example.com", "username": "new@example.com", "display_name": "New",
        "usable_password": "true", "password1": "a-long-passphrase-9",
        "password2": "a-long-passphrase-9",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(email="new@example.com").check_password("a-long-passphrase-9")


def test_every_model_of_the_project_is_in_the_admin():
    from pathlib import Path

    from django.apps import apps
    from django.conf import settings
    from django.contrib import admin

    ours = [app for app in apps.get_app_configs()
            if Path(app.path).resolve().parent == Path(settings.BASE_DIR).resolve()]
    shown = {m._meta.label for m in admin.site._registry} | {
        inline.model._meta.label for model_admin in admin.site._registry.values()
        for inline in model_admin.inlines}
    missing = {m._meta.label for app in ours for m in app.get_models()} - shown
    assert not missing, f"register these (or inline them) in their app's admin.py: {sorted(missing)}"
