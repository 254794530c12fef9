"""Guessing what a dataset's events and columns mean, from names and values."""

import pytest

from analytics.engine.storage import DatasetSchema
from segments import roles as mapping


def schema(events=None, event_properties=None, user_properties=None) -> DatasetSchema:
    return DatasetSchema(n_users=100, n_events=1000, data_start=None, data_end=None,
                         events=events or {}, event_properties=event_properties or {},
                         user_properties=user_properties or {})


def top(*values):
    return {"top": [[v, 10] for v in values]}


SAAS = schema(
    events={"page_view": 9000, "signup": 400, "login": 2500, "create_project": 800,
            "export": 600, "invite_teammate": 300, "add_to_cart": 500, "view_pricing": 700,
            "purchase": 200, "subscribe": 90, "connect_integration": 150},
    event_properties={"device": "text", "country": "text", "tool": "text", "plan": "text",
                      "amount": "float", "coupon": "boolean", "guest_checkout": "boolean"},
    user_properties={"plan": "text", "company_size": "text", "organization_type": "text",
                     "industry": "text", "ownership": "text", "age": "integer",
                     "gender": "text", "education": "text", "country": "text",
                     "growth_trend": "text"})
SAAS_PROFILE = {
    "event_properties": {
        "device": top("desktop", "mobile", "tablet"),
        "amount": {"events": {"purchase": 200, "subscribe": 90},
                   "quantiles_by_event": {"purchase": [23.4, 41.0, 77.7]}},
        "tool": {**top("slack", "jira"), "events": {"connect_integration": 150}},
    },
    "user_properties": {"age": {"min": 18, "max": 70, **top("34", "29")},
                        "gender": top("female", "male", "nonbinary")},
}


@pytest.fixture(scope="module")
def saas():
    return mapping.guess_mapping(SAAS, SAAS_PROFILE)


def ref(guess):
    return None if guess.value is None else f"{guess.value['scope']}:{guess.value['name']}"


def test_events_by_name(saas):
    assert saas["signup_event"].value == "signup"
    assert saas["login_event"].value == "login"
    assert saas["order_event"].value == "purchase"
    assert saas["integration_event"].value == "connect_integration"
    assert saas["login_event"].reason == "an event named “login”"


def test_product_actions_leave_out_shopping_and_page_views(saas):
    assert saas["core_events"].value == ["create_project", "export", "invite_teammate"]
    assert saas["feature_event"].value == "create_project"
    assert saas["stage_events"].value == []


def test_properties_prefer_users_and_read_values(saas):
    assert ref(saas["plan"]) == "user:plan"  # the event property "plan" is a subscribe detail
    assert ref(saas["location"]) == "user:country"
    assert ref(saas["organization_type"]) == "user:organization_type"  # over industry
    assert ref(saas["device"]) == "event:device"
    assert "values like mobile, desktop" in saas["device"].reason
    assert saas["device"].value["values"] == ["desktop", "mobile", "tablet"]
    assert saas["mobile_values"].value == ["mobile"]
    assert saas["desktop_values"].value == ["desktop"]
    assert ref(saas["guest"]) == "event:guest_checkout"
    assert ref(saas["tool"]) == "event:tool" and saas["tool"].value["events"] == [
        "connect_integration"]


def test_order_value_and_its_bins(saas):
    assert ref(saas["order_value"]) == "event:amount"
    assert saas["order_value_bins"].value == [23, 41, 78]


def test_roles_nothing_fits_say_why(saas):
    assert saas["policy_count"].value is None
    assert saas["policy_count"].reason == "no column looks like number of policies"
    assert saas["application_stage"].value is None


def test_device_found_by_values_alone_and_telephone_is_not_mobile():
    bank = schema(user_properties={"contact": "text", "job": "text"})
    guesses = mapping.guess_mapping(bank, {"user_properties": {
        "contact": top("cellular", "telephone"), "job": top("admin.", "technician")}})
    assert ref(guesses["device"]) == "user:contact"
    assert guesses["mobile_values"].value == ["cellular"]
    assert guesses["desktop_values"].value == []


def test_words_inside_other_words_do_not_count():
    loans = schema(user_properties={"final_stage": "text"})
    guesses = mapping.guess_mapping(loans, {"user_properties": {
        "final_stage": top("A_CANCELLED", "A_DECLINED", "A_APPROVED")}})
    assert guesses["device"].value is None  # "cancelled" holds "cell"
    assert ref(guesses["application_stage"]) == "user:final_stage"


@pytest.mark.parametrize("name, kind, info, expected", [
    ("age", "integer", {"min": 17, "max": 98}, "user:age"),
    ("age", "integer", {"min": 0, "max": 40000}, None),  # days, not years
    ("age_band", "text", top("0-35", "35-55", "55<="), "user:age_band"),
    ("age", "text", top("young", "old"), None),
])
def test_age_needs_plausible_values(name, kind, info, expected):
    guesses = mapping.guess_mapping(schema(user_properties={name: kind}),
                                    {"user_properties": {name: info}})
    assert ref(guesses["age"]) == expected


def test_households_are_not_companies():
    consumer = schema(user_properties={"home_ownership": "text", "household_size": "text",
                                       "marital_status": "text"})
    guesses = mapping.guess_mapping(consumer)
    assert guesses["ownership"].value is None
    assert guesses["company_size"].value is None
    assert guesses["application_stage"].value is None


def test_camel_case_names():
    assert mapping.normalize("VisitorType") == "visitor_type"
    assert mapping.normalize("OperatingSystems") == "operating_systems"
    guesses = mapping.guess_mapping(schema(user_properties={"VisitorType": "text"}))
    assert ref(guesses["visitor_type"]) == "user:VisitorType"


def test_order_value_must_be_on_the_order_event():
    data = schema(events={"purchase": 10, "apply": 5}, event_properties={"amount": "float"})
    guesses = mapping.guess_mapping(data, {"event_properties": {"amount": {"events": {
        "apply": 5}}}})
    assert guesses["order_value"].value is None
    assert guesses["order_value"].reason == "“amount” is never set on “purchase”"


def test_application_stages_in_funnel_order_without_dead_ends():
    loans = schema(events={"A_SUBMITTED": 100, "A_PREACCEPTED": 60, "A_ACCEPTED": 40,
                           "A_DECLINED": 55, "A_CANCELLED": 20, "A_APPROVED": 15,
                           "W_Call": 300})
    guesses = mapping.guess_mapping(loans)
    assert guesses["stage_events"].value == ["A_SUBMITTED", "A_PREACCEPTED", "A_ACCEPTED",
                                             "A_APPROVED"]


@pytest.mark.parametrize("quantiles, bins", [
    ([23.4, 41.0, 77.7], [23, 41, 78]),
    ([1.29, 2.0, 3.49], [1.3, 2, 3.5]),
    ([0.5, 0.5, 1.2], [0.5, 1.2]),
    ([None, 0, 120], [120]),
])
def test_nice_bins(quantiles, bins):
    assert mapping.nice_bins(quantiles) == bins


def test_check_roles_names_what_the_data_lacks():
    roles = {"login_event": "log_in", "core_events": ["export", "zap"],
             "device": {"scope": "event", "name": "platform", "type": "text"}}
    problems = mapping.check_roles(roles, SAAS)
    assert problems == {"login_event": "the data has no event “log_in”",
                        "core_events": "the data has no event “zap”",
                        "device": "the data has no event property “platform”"}
