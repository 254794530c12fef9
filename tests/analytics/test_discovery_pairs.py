"""Discovery leaves out averages of a property over an event that never carries it: they
would propose nothing, so the result is the same, and the events pass is cheaper. Which
event carries which property is read once per version and kept in its cache."""

from __future__ import annotations

import json

import pytest

from analytics.engine import discovery
from tests.analytics.builders import build_dataset
from tests.analytics.test_discovery import SUBSCRIBE, product


@pytest.fixture
def shop(tmp_path):
    return build_dataset(tmp_path, *product(seed=5, n_users=200))


def test_pairs_an_event_never_carries_are_not_measured(shop, monkeypatch):
    built: list[list[dict]] = []
    real = discovery.population_of

    def spying(con, version, success, features, *rest):
        built.append([f.measure for f in features])
        return real(con, version, success, features, *rest)

    monkeypatch.setattr(discovery, "population_of", spying)
    result = discovery.discover(shop, SUBSCRIBE, within_days=7)
    averaged = {(m["event"], m["property"]) for m in built[0] if m["kind"] == "event_property"}
    # In this data only purchases carry an amount.
    assert averaged == {("purchase", "amount")}
    assert json.loads((shop.cache_dir / discovery.CARRIED_FILE).read_text()) == {
        "purchase": ["amount"], "export": [], "login": [], "signup": [], "subscribe": [],
        "view_pricing": []}

    # Measuring every pair, as before, finds the same characteristics.
    monkeypatch.setattr(discovery, "without_empty_pairs", lambda con, v, s, m: m)
    for path in shop.cache_dir.glob("peruser-*"):
        path.unlink()
    everything = discovery.discover(shop, SUBSCRIBE, within_days=7)
    assert len({(m["event"], m["property"]) for m in built[1]
                if m["kind"] == "event_property"}) > 1
    assert everything == result


def test_the_carried_properties_are_read_once_per_version(shop, monkeypatch):
    first = discovery.carried_properties(_con(), shop, shop.schema())
    scans: list[str] = []

    class Spy:
        def execute(self, text, params=None):
            scans.append(text)
            raise AssertionError("read again")

    assert discovery.carried_properties(Spy(), shop, shop.schema()) == first
    assert scans == []


def _con():
    from analytics.engine import duck

    return duck.connect(threads=1)
