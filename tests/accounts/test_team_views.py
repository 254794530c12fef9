import pytest
from django.test import RequestFactory
from django.urls import reverse

from accounts import services
from accounts.models import Membership, Team
from accounts.navigation import NAV_ITEMS, TeamNav
from accounts.overview import OverviewSection, register_section, unregister_section


def team_home(team: Team) -> str:
    return reverse("accounts:team_home", args=[team.slug])


def test_anonymous_visitors_get_the_landing_page(client, db):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("accounts:signup") in html and reverse("accounts:login") in html


def test_home_without_a_team_asks_for_one(client, newcomer):
    client.force_login(newcomer)
    assert client.get("/").url == reverse("accounts:team_create")


def test_home_goes_back_to_the_team_last_switched_into(client, owner, team):
    second = services.team_create(name="Second", creator=owner)
    client.force_login(owner)
    client.get(team_home(team))
    assert client.get("/").url == team_home(team)
    client.get(team_home(second))
    assert client.get("/").url == team_home(second)
    # A new browser session: the last team is remembered across logins.
    client.logout()
    client.force_login(owner)
    assert client.get("/").url == team_home(second)


def test_home_forgets_a_team_the_user_left(client, owner, teammate, team):
    own = services.team_create(name="Own", creator=teammate)
    client.force_login(teammate)
    client.get(team_home(team))
    Membership.objects.filter(team=team, user=teammate).delete()
    assert client.get("/").url == team_home(own)


def test_create_a_team(client, owner):
    client.force_login(owner)
    page = client.get(reverse("accounts:team_create"))
    assert page.status_code == 200 and "Create your team" in page.content.decode()
    response = client.post(reverse("accounts:team_create"), {"name": "Checkout"})
    team = Team.objects.get(name="Checkout")
    assert response.url == reverse("accounts:members", args=[team.slug])
    assert Membership.objects.get(team=team).user == owner


def test_create_a_team_with_a_taken_name_gets_another_slug(client, owner, team):
    client.force_login(owner)
    client.post(reverse("accounts:team_create"), {"name": team.name})
    assert Team.objects.filter(name=team.name).count() == 2
    assert Team.objects.filter(slug=f"{team.slug}-2").exists()


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_create_a_team_with_a_bad_name(client, owner, name):
    client.force_login(owner)
    response = client.post(reverse("accounts:team_create"), {"name": name})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert not Team.objects.exists()


def test_creating_a_team_needs_a_login(client, db):
    response = client.post(reverse("accounts:team_create"), {"name": "X"})
    assert response.status_code == 302 and reverse("accounts:login") in response.url
    assert not Team.objects.exists()


def test_team_home_for_owner_and_teammate(client, owner, teammate, team):
    for user in (owner, teammate):
        client.force_login(user)
        response = client.get(team_home(team))
        assert response.status_code == 200
        html = response.content.decode()
        assert "Acme Growth" in html and "Tom Teammate" in html and "Olivia Owner" in html
    assert "Invite people" not in html  # the teammate is not an owner


def test_team_home_is_a_404_for_an_outsider_and_unknown_slugs(client, outsider, team):
    client.force_login(outsider)
    assert client.get(team_home(team)).status_code == 404
    assert client.get("/t/no-such-team/").status_code == 404


def test_team_home_asks_anonymous_visitors_to_log_in(client, team):
    response = client.get(team_home(team))
    assert response.status_code == 302 and response.url.startswith(reverse("accounts:login"))


def test_team_home_shows_sections_other_apps_register(client, owner, team):
    register_section(OverviewSection(
        key="test-section", title="Recent sessions", template="accounts/includes/field.html",
        context=lambda request, t: {"field": f"sessions of {t.slug}"},
    ))
    register_section(OverviewSection(
        key="test-hidden", title="Hidden today", template="accounts/includes/field.html",
        context=lambda request, t: None,
    ))
    try:
        client.force_login(owner)
        html = client.get(team_home(team)).content.decode()
    finally:
        unregister_section("test-section")
        unregister_section("test-hidden")
    assert "Recent sessions" in html and "sessions of acme-growth" in html
    assert "Hidden today" not in html


def test_the_header_lists_my_teams_only(client, owner, team, other_team):
    client.force_login(owner)
    html = client.get(team_home(team)).content.decode()
    assert reverse("accounts:team_home", args=[team.slug]) in html
    assert "Rival Corp" not in html


def _nav_for(request_path: str, user, team=None, session=None):
    from django.urls import resolve

    request = RequestFactory().get(request_path)
    request.user = user
    request.session = session or {}
    request.resolver_match = resolve(request_path)
    if team is not None:
        request.team = team
    return TeamNav(request)


def test_navigation_skips_pages_that_do_not_exist_yet(owner, team, monkeypatch):
    monkeypatch.setattr("accounts.navigation.NAV_ITEMS",
                        (*NAV_ITEMS, ("Someday", "someday:page_list")))
    nav = _nav_for(team_home(team), owner, team)
    labels = [item["label"] for item in nav.items]
    assert labels[0] == "Team"
    assert "Someday" not in labels
    assert set(labels) <= {label for label, _ in NAV_ITEMS}
    assert [item["label"] for item in nav.items if item["active"]] == ["Team"]
    assert nav.items[0]["url"] == team_home(team)


def test_navigation_outside_a_team_uses_the_session_team_if_still_a_member(owner, team,
                                                                           other_team):
    nav = _nav_for("/account/", owner, session={"team_slug": team.slug})
    assert nav.team == team
    assert not any(item["active"] for item in nav.items)
    forged = _nav_for("/account/", owner, session={"team_slug": other_team.slug})
    assert forged.team is None and forged.items == []


def test_navigation_costs_no_query_until_the_header_reads_it(owner, team,
                                                            django_assert_num_queries):
    with django_assert_num_queries(0):
        nav = _nav_for(team_home(team), owner, team)
        assert nav.items
    with django_assert_num_queries(1):
        assert [t.slug for t in nav.teams] == [team.slug]
        assert nav.teams


def test_styleguide_is_for_staff(client, owner, admin_client):
    client.force_login(owner)
    assert client.get(reverse("accounts:styleguide")).status_code == 302
    assert admin_client.get(reverse("accounts:styleguide")).status_code == 200
