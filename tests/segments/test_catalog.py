"""The segment catalog: every worksheet segment from a mapping, or the reason it cannot
be; the criteria Phase 2 hypotheses start from."""

import pytest

from analytics.engine.definitions import validate_criterion
from segments import catalog
from segments import roles as mapping
from tests.segments.test_roles import SAAS, SAAS_PROFILE, schema


@pytest.fixture(scope="module")
def roles():
    return mapping.roles_from_guesses(mapping.guess_mapping(SAAS, SAAS_PROFILE))


WORKSHEET = {
    "SaaS": ["Number of logins", "Time spent in the app", "Product adoption",
             "Specific feature usage"],
    "eComm": ["Average order value", "First-time visitors", "Repeat shoppers",
              "Guest shoppers"],
    "FinServ": ["Application stage", "Single vs. multiple policy holders",
                "Returning customers"],
    "Demographics": ["Age", "Gender", "Education", "Location"],
    "Technographics": ["Mobile users", "Desktop users", "3rd-party tools", "Integrations"],
    "Firmographics": ["Company size", "Organization type", "Ownership", "Growth trends"],
}


def test_the_catalog_holds_every_segment_of_the_worksheet():
    names = {}
    for entry in catalog.CATALOG:
        names.setdefault(entry.group, []).append(entry.name)
    for group, expected in WORKSHEET.items():
        assert set(expected) <= set(names[group]), group


def test_a_saas_product_supports_all_but_finserv(roles):
    resolutions = {r.key: r for r in catalog.resolve_all(roles, SAAS)}
    unsupported = {k for k, r in resolutions.items() if not r.supported}
    assert unsupported == {"finserv.stage", "finserv.policies"}
    assert resolutions["finserv.policies"].explanation == \
        "No column looks like number of policies."
    # supported segments were checked against the schema by the engine's validator
    logins = resolutions["saas.logins"].segment
    assert logins == {"key": "saas.logins", "breakdown": {"metric": {
        "kind": "event_count", "event": "login", "within_days": 7}, "bins": [1, 3, 10]}}
    assert resolutions["saas.logins"].explanation == \
        "split by number of login events in the first 7 days (bins at 1, 3, 10)"


def test_segment_shapes(roles):
    got = {r.key: r.segment for r in catalog.resolve_all(roles, SAAS) if r.supported}
    assert got["tech.mobile"]["buckets"][0]["criterion"] == {
        "kind": "first_event_property", "property": "device", "op": "in", "value": ["mobile"]}
    assert got["tech.mobile"]["buckets"][0]["label"] == "mobile (first visit)"
    assert got["ecomm.guest"]["buckets"][0]["criterion"] == {
        "kind": "did_event", "event": "purchase",
        "where": [{"property": "guest_checkout", "op": "=", "value": True}]}
    assert got["demo.age"]["breakdown"] == {"property": "age",
                                            "bins": [18, 25, 35, 45, 55, 65]}
    assert got["firmo.company_size"]["breakdown"] == {"property": "company_size"}
    assert [b["label"] for b in got["saas.adoption"]["buckets"]] == [
        "used all 3 key actions", "used some of them"]
    assert got["tech.tools"]["buckets"][0]["criterion"]["agg"] == "count_distinct"
    assert got["ecomm.aov"]["breakdown"]["bins"] == [23, 41, 78]


def test_reasons_name_what_is_missing():
    bare = schema(user_properties={"region": "integer", "score": "float"})
    resolutions = {r.key: r for r in catalog.resolve_all({"location": {
        "scope": "user", "name": "region", "type": "integer"}}, bare)}
    assert resolutions["saas.logins"].explanation == \
        "No event is mapped as the login event."
    assert resolutions["saas.time_in_app"].explanation == \
        "The dataset has no events, only user properties."
    assert resolutions["firmo.company_size"].explanation == \
        "No column looks like company size."
    assert resolutions["tech.mobile"].explanation == "No column looks like device."
    assert resolutions["ecomm.guest"].explanation.startswith(
        "No column looks like guest checkout")
    # region codes split by value, not into bins
    assert resolutions["demo.location"].segment["breakdown"] == {"property": "region"}


def test_a_mapping_that_no_longer_fits_the_data_says_so(roles):
    renamed = schema(events={"signin": 5}, user_properties={})
    resolution = catalog.resolve("saas.logins", roles, renamed)
    assert not resolution.supported
    assert "unknown event 'login'" in resolution.explanation


def test_device_without_mapped_values_lists_what_it_holds():
    roles = {"device": {"scope": "user", "name": "OperatingSystems", "type": "integer",
                        "values": ["2", "1", "3"]}}
    resolution = catalog.resolve("tech.mobile", roles)
    assert resolution.explanation == ("No value of “OperatingSystems” is mapped as mobile "
                                      "(it holds 2, 1, 3).")


def test_order_lines_are_noted():
    roles = {"order_event": "purchase",
             "order_value": {"scope": "event", "name": "sales_value", "type": "float"},
             "order_id": {"scope": "event", "name": "basket_id", "type": "integer"},
             "order_value_bins": [1.3, 2, 3.5]}
    aov = catalog.resolve("ecomm.aov", roles)
    assert "orders are stored as lines (basket_id)" in aov.explanation
    repeat = catalog.resolve("ecomm.repeat", roles)
    assert repeat.segment["buckets"][0]["criterion"]["agg"] == "count_distinct"


def test_segment_criteria_for_hypotheses_are_valid(roles):
    for entry in catalog.CATALOG:
        criterion = catalog.segment_criterion(entry.key, roles)
        if criterion is not None:
            validate_criterion(criterion, SAAS)  # raises if not valid
    assert catalog.segment_criterion("saas.logins", roles) == {
        "kind": "event_count", "event": "login", "op": ">=", "value": 3, "within_days": 7}
    assert catalog.segment_criterion("firmo.company_size", roles) is None  # needs a value
    assert catalog.segment_criterion("firmo.company_size", roles, value="201-1000") == {
        "kind": "property", "property": "company_size", "op": "=", "value": "201-1000"}
    assert catalog.segment_criterion("finserv.policies", roles) is None  # not supported
    assert catalog.segment_criterion("nope", roles) is None


def test_segment_hypothesis_reads_as_a_sentence(roles):
    feature = catalog.segment_hypothesis("saas.feature", roles)
    assert feature["text"] == \
        "Users who used create_project in the first week succeed more often"
    size = catalog.segment_hypothesis("firmo.company_size", roles, value="1000+")
    assert size["text"] == "Users whose company_size is 1000+ succeed more often"
    guest = catalog.segment_hypothesis("ecomm.guest", roles)
    assert guest["criterion"]["event"] == "purchase"


def test_bucket_values_offer_the_profiled_values():
    roles = {"gender": {"scope": "user", "name": "gender", "type": "text",
                        "values": ["female", "male"]},
             "age": {"scope": "user", "name": "age", "type": "integer"}}
    assert catalog.bucket_values("demo.gender", roles) == ["female", "male"]
    assert catalog.bucket_values("demo.age", roles) == []  # numbers: bins, not values
