"""The column-role mapping once confirmed (issue 12, point 9): only owners change it, it
cannot be confirmed without its required roles, and every change is logged and shown."""

import pytest
from django.urls import reverse

from dashboards import services
from segments import mapping_rules
from segments.models import DatasetMapping, MappingChange

pytestmark = pytest.mark.django_db
SLUG = "acme-growth"


def page(dataset):
    return reverse("dashboards:dataset_mapping", kwargs={"team_slug": SLUG,
                                                         "dataset_id": dataset.pk})


@pytest.fixture
def guessed(product, run_on_commit):
    mapping = run_on_commit(services.mapping_start, dataset=product)
    mapping.refresh_from_db()
    return mapping


@pytest.fixture
def confirmed(guessed, owner):
    return services.mapping_confirm(mapping_row=guessed, roles=guessed.roles, user=owner)


def test_a_member_cannot_blank_a_confirmed_mapping_with_an_empty_form(
        client, confirmed, product, teammate, owner):
    """The reproduction: any member's empty POST set every role to null and confirmed it."""
    before = dict(confirmed.roles)
    client.force_login(teammate)
    response = client.post(page(product), {})
    assert response.status_code == 403
    assert "only an owner of the team can change it" in response.content.decode()
    row = DatasetMapping.objects.get(pk=confirmed.pk)
    assert row.roles == before and row.roles["login_event"] == "login"
    assert row.confirmed_by == owner
    # Nor through the service, whatever the form sends.
    with pytest.raises(services.DashboardRefused) as refusal:
        services.mapping_confirm(mapping_row=row, roles={**before, "login_event": "signup"},
                                 user=teammate)
    assert refusal.value.status == 403
    assert MappingChange.objects.filter(mapping=row).count() == 1  # the confirmation only


def test_a_member_reads_a_confirmed_mapping_without_the_means_to_change_it(
        client, confirmed, product, teammate):
    client.force_login(teammate)
    html = client.get(page(product)).content.decode()
    assert "Only an owner of the team can change it." in html
    assert "Confirm the mapping</button>" not in html
    assert 'name="login_event" disabled' in html


def test_an_empty_mapping_cannot_be_confirmed_even_by_an_owner(client, guessed, product,
                                                                owner, confirmed):
    client.force_login(owner)
    response = client.post(page(product), {})
    assert mapping_rules.NOTHING_NAMED in response.content.decode()
    assert DatasetMapping.objects.get(pk=guessed.pk).roles["login_event"] == "login"
    with pytest.raises(services.DashboardRefused, match="Name at least one event or column"):
        services.mapping_confirm(mapping_row=guessed, roles={}, user=owner)


def test_nor_the_first_time_by_a_member(client, guessed, product, teammate):
    client.force_login(teammate)
    response = client.post(page(product), {"age_bins": "18, 30"})  # bins name nothing
    assert mapping_rules.NOTHING_NAMED in response.content.decode()
    assert not DatasetMapping.objects.get(pk=guessed.pk).is_confirmed


def test_mobile_values_need_the_device_column(guessed, owner):
    roles = {**guessed.roles, "device": None}
    with pytest.raises(services.DashboardRefused, match="Mobile values: choose the device"):
        services.mapping_confirm(mapping_row=guessed, roles=roles, user=owner)
    assert not DatasetMapping.objects.get(pk=guessed.pk).is_confirmed


def test_every_change_is_logged_and_shown_on_the_mapping_page(client, guessed, product,
                                                              owner, teammate):
    # A member confirms the guesses, changing one.
    client.force_login(teammate)
    data = {"login_event": "login", "signup_event": "signup", "device": "event:device",
            "mobile_values": "mobile"}
    assert client.post(page(product), data).status_code == 302
    # An owner changes it.
    client.force_login(owner)
    assert client.post(page(product), {**data, "login_event": "subscribe"}).status_code == 302
    # The same again changes nothing and logs nothing.
    assert client.post(page(product), {**data, "login_event": "subscribe"}).status_code == 302
    first, second = MappingChange.objects.order_by("at", "pk")
    assert (first.action, first.changed_by) == ("confirmed", teammate)
    assert (second.action, second.changed_by) == ("changed", owner)
    assert second.changes["login_event"] == {"from": "login", "to": "subscribe"}
    assert set(second.changes) == {"login_event"}
    assert first.at <= second.at
    html = client.get(page(product)).content.decode()
    assert "Olivia Owner</strong> changed the mapping on" in html
    assert "Login: login → subscribe" in html
    assert "Tom Teammate</strong> confirmed the mapping on" in html
    assert html.index("Olivia Owner</strong> changed") < html.index("Tom Teammate</strong>")


def test_the_app_updating_a_confirmed_mapping_is_logged_too(confirmed, owner):
    row = DatasetMapping.objects.get(pk=confirmed.pk)
    device = dict(row.roles["device"])
    row.roles = {**row.roles, "device": {**device, "values": ["mobile"]}}
    row.save(update_fields=["roles"])
    services.mapping_apply_profile(row.pk)
    change = MappingChange.objects.filter(action="refreshed").get()
    assert change.changed_by is None
    assert change.changes["device"]["to"]["values"] == device["values"]
