"""Two people in two browsers: Ada creates a team and invites Ben, who signs up on the way
and lands in it. Plus the layout on a phone and with the keyboard."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from tests.conftest import make_user
from tests.e2e.conftest import PASSWORD, PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_invite_a_teammate_who_signs_up_on_the_way(new_page, live_server, sign_up, shot):
    ada = new_page()
    ada.goto("/")
    shot(ada, "landing")
    sign_up(ada, live_server, "ada@example.com", "Ada Lovelace")
    # A new person has no team yet: "/" sends them to create one.
    expect(ada.get_by_role("heading", name="Create your team")).to_be_visible()
    shot(ada, "team_create")
    ada.get_by_label("Team name").fill("Checkout Squad")
    ada.get_by_role("button", name="Create team").click()

    expect(ada).to_have_url(re.compile(r"/t/checkout-squad/members/$"))
    # No email: a link for anyone who holds it, which the owner chooses (issue 12).
    ada.get_by_label("Anyone with the link", exact=True).check()
    ada.get_by_role("button", name="Create invite link").click()
    ada.get_by_role("button", name="Copy link").click()
    expect(ada.get_by_role("button", name="Copied")).to_be_visible()
    link = ada.evaluate("navigator.clipboard.readText()")
    assert re.fullmatch(rf"{re.escape(live_server.url)}/join/[\w-]+/", link), link
    shot(ada, "members_owner")

    ben = new_page()
    ben.goto(link)
    expect(ben.get_by_role("heading", name="Join Checkout Squad")).to_be_visible()
    expect(ben.get_by_text("Ada Lovelace invited you")).to_be_visible()
    shot(ben, "join_signed_out")
    ben.get_by_role("link", name="Sign up to join").click()
    expect(ben.get_by_role("heading", name="Create your account to join Checkout Squad")).to_be_visible()
    sign_up(ben, live_server, "ben@example.com", "Ben Franklin")

    expect(ben).to_have_url(re.compile(r"/t/checkout-squad/$"))
    expect(ben.get_by_role("heading", name="Checkout Squad", exact=True)).to_be_visible()
    expect(ben.get_by_role("status").filter(has_text="Welcome to Checkout Squad")).to_be_visible()
    shot(ben, "team_home_member")
    # The link is spent: opening it again leads into the team, not to a second membership.
    ben.goto(link)
    expect(ben).to_have_url(re.compile(r"/t/checkout-squad/$"))
    assert Membership.objects.filter(team__slug="checkout-squad").count() == 2

    ada.reload()
    ben_row = ada.get_by_role("row", name=re.compile("Ben Franklin"))
    expect(ben_row.get_by_text("ben@example.com")).to_be_visible()
    expect(ben_row.get_by_text("Member", exact=True)).to_be_visible()
    expect(ada.get_by_text("Pending invite links")).to_have_count(0)
    shot(ada, "members_after_join")


def test_team_switcher_and_navigation_with_the_keyboard(new_page, live_server, log_in, shot):
    from accounts.services import team_create

    user = make_user("kim@example.com", "Kim Keyboard", password=PASSWORD)
    team_create(name="Growth", creator=user)
    team_create(name="Payments", creator=user)
    page = new_page()
    log_in(page, live_server, "kim@example.com")

    # The skip link is the first stop and takes the focus to the page's content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    switcher = page.locator("details.team-switcher")
    switcher.locator("summary").focus()
    page.keyboard.press("Enter")
    shot(page, "team_switcher_open")
    other = "Growth" if "payments" in page.url else "Payments"
    switcher.get_by_role("link", name=other).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=other, exact=True)).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Team")).to_have_attribute(
        "aria-current", "page"
    )
    # Escape closes an open menu and gives the focus back to its button.
    page.locator("details.user-menu summary").click()
    expect(page.get_by_role("link", name="Account settings")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Account settings")).to_be_hidden()


def _assert_fits_the_phone(page, shot, path: str) -> None:
    page.goto(path)
    shot(page, "phone_" + (path.strip("/").replace("/", "_") or "landing"))
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"


def test_public_pages_fit_a_phone(new_page, shot):
    page = new_page(viewport=PHONE)
    for path in ("/", "/login/", "/signup/", "/password-reset/"):
        _assert_fits_the_phone(page, shot, path)


def test_team_pages_fit_a_phone(new_page, live_server, log_in, shot):
    from accounts.services import invitation_create, team_create

    user = make_user("pia@example.com", "Pia Phone-Owner-With-A-Long-Name", password=PASSWORD)
    team = team_create(name="A team with a rather long name for a phone", creator=user)
    invitation_create(team=team, created_by=user, email="someone.with.a.long.address@example.com")
    page = new_page(viewport=PHONE)
    log_in(page, live_server, "pia@example.com")
    for path in (f"/t/{team.slug}/", f"/t/{team.slug}/members/", "/account/"):
        _assert_fits_the_phone(page, shot, path)
    # The navigation stays reachable: behind the menu button (issue 11; it was a row).
    page.locator("details.nav-menu > summary").click()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Team")).to_be_in_viewport()
