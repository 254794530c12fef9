"""In Chromium, under the Content-Security-Policy: the API tokens page (create, copy,
use, revoke) and the browsable API docs. Anything the policy blocks fails the test (the
e2e fixtures watch the console)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_create_copy_use_and_revoke_a_token(new_page, sign_up, live_server):
    page = new_page()
    sign_up(page, live_server, "pat@example.com", "Pat Pipeline")
    page.goto(f"{live_server.url}/account/tokens/")
    page.get_by_label("Name").fill("Nightly import")
    page.get_by_label("Expires").select_option("30")
    page.get_by_role("button", name="Create token").click()
    token = page.get_by_label("New API token").input_value()
    assert token.startswith("hlab_")
    page.get_by_role("button", name="Copy token").click()
    assert page.evaluate("navigator.clipboard.readText()") == token

    api = Client()
    assert api.get("/api/v1/teams", headers={"Authorization": f"Bearer {token}"}
                   ).status_code == 200

    page.reload()
    assert page.get_by_label("New API token").count() == 0  # shown once
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke Nightly import").click()
    page.get_by_text("is revoked").wait_for()
    assert api.get("/api/v1/teams", headers={"Authorization": f"Bearer {token}"}
                   ).status_code == 401


def test_the_api_docs_render_under_the_policy(new_page, live_server):
    page = new_page()
    page.goto(f"{live_server.url}/api/v1/docs")
    page.get_by_text("HypothesisLab API").first.wait_for()
    page.get_by_text("/api/v1/teams/{team_slug}/datasets/{dataset_id}/events").first.wait_for()
