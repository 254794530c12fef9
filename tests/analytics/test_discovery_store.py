"""Discovery's behaviour measures kept per version (discovery_store, discovery.prepare):
a run that finds them reads no events, and every answer stays what computing them gives,
whether the store holds all of a run's measures, some of them, or none that can be read."""

from __future__ import annotations

import json
import math
import shutil

import pytest

from analytics.engine import discovery, discovery_store, discovery_table, duck
from analytics.engine.definitions import validate_success
from analytics.engine.peruser_columns import Feature
from tests.analytics.builders import build_dataset
from tests.analytics.test_discovery import SUBSCRIBE, product
from tests.analytics.test_discovery_table import assert_equal_tables, nan_prices


@pytest.fixture
def reads(monkeypatch):
    """The events each window-rows read was for (one list per read)."""
    found: list[list[str]] = []
    real = discovery_table.read_window_rows

    def counted(con, version, users, events, averaged, longest):
        found.append(list(events))
        return real(con, version, users, events, averaged, longest)

    monkeypatch.setattr(discovery_table, "read_window_rows", counted)
    return found


def _without_cache(version):
    shutil.rmtree(version.cache_dir, ignore_errors=True)


def _tables_only(version):
    """The cached per-user tables gone, the store kept."""
    for path in version.cache_dir.glob("peruser-*"):
        path.unlink()


@pytest.mark.parametrize("days", [7, None])
def test_a_prepared_version_gives_the_same_answers_without_reading_events(tmp_path, reads,
                                                                          days):
    version = build_dataset(tmp_path, *product(seed=21, n_users=400, n_events=9,
                                               n_properties=6))
    computed = discovery.discover(version, SUBSCRIBE, within_days=days, top=1000)
    unsuccessful = discovery.discover(version, SUBSCRIBE, within_days=days, top=1000,
                                      unsuccessful=True)
    _without_cache(version)
    summary = discovery.prepare(version, within_days=days)
    assert summary["measures"] > 20 and discovery_store.store_dir(version, days).is_dir()
    reads.clear()
    assert discovery.discover(version, SUBSCRIBE, within_days=days, top=1000) == computed
    _tables_only(version)
    assert discovery.discover(version, SUBSCRIBE, within_days=days, top=1000,
                              unsuccessful=True) == unsuccessful
    assert reads == []
    schema = version.schema()
    measures = discovery.without_empty_pairs(duck.connect(), version, schema, (
        discovery.candidate_measures(schema, validate_success(SUBSCRIBE, schema), days)))
    assert_equal_tables(version, SUBSCRIBE, measures)
    assert reads == []


def test_measures_the_store_lacks_are_computed_beside_the_ones_it_holds(tmp_path, reads):
    """Another window than the prepared one, a measure with a condition (never kept) and
    a narrower session gap: computed, and the table still equals the per-user query."""
    version = build_dataset(tmp_path, *product(seed=8, n_users=300, n_events=7))
    discovery.prepare(version, within_days=7)
    schema = version.schema()
    success = validate_success(SUBSCRIBE, schema)
    measures = [*discovery.candidate_measures(schema, success, 7),
                *discovery.candidate_measures(schema, success, 3),
                {"kind": "session_count", "session_gap_minutes": 10, "within_days": 7},
                {"kind": "event_count", "event": "login", "within_days": 7,
                 "where": [{"property": "device", "op": "=", "value": "mobile"}]}]
    reads.clear()
    assert_equal_tables(version, SUBSCRIBE, measures)
    assert len(reads) == 1 and reads[0]  # one read, for the measures not kept
    reads.clear()
    assert_equal_tables(version, SUBSCRIBE, discovery.without_empty_pairs(
        duck.connect(), version, schema, discovery.candidate_measures(schema, success, 7)))
    assert reads == []


def test_the_spare_events_cover_a_success_made_of_the_most_frequent_events(
        tmp_path, reads, monkeypatch):
    """A run leaves its success events out of its measures, and the next most frequent
    events take their places: the store holds SPARE_EVENTS more, so up to that many are
    covered; one more is computed, and the answers are the same either way."""
    monkeypatch.setattr(discovery, "MAX_EVENTS", 3)
    version = build_dataset(tmp_path, *product(seed=5, n_users=300, n_events=10))
    schema = version.schema()
    by_frequency = sorted(schema.events, key=lambda e: (-schema.events[e], e))
    discovery.prepare(version, within_days=7)
    for leave_out, read in ((discovery.SPARE_EVENTS, False), (discovery.SPARE_EVENTS + 1, True)):
        success = {"events": by_frequency[:leave_out], "within_days": 14}
        reads.clear()
        prepared = discovery.discover(version, success, within_days=7, top=1000)
        assert bool(reads) is read
        stored = discovery_store.store_dir(version, 7)
        kept = stored.rename(stored.with_name("elsewhere"))
        _tables_only(version)
        assert discovery.discover(version, success, within_days=7, top=1000) == prepared
        _tables_only(version)
        kept.rename(stored)


@pytest.mark.parametrize("damage", ["manifest", "column", "format", "firsts"])
def test_a_store_that_cannot_be_read_is_passed_over(tmp_path, reads, damage):
    version = build_dataset(tmp_path, *product(seed=3, n_users=200))
    expected = discovery.discover(version, SUBSCRIBE, within_days=7, top=1000)
    _without_cache(version)
    stored = discovery.prepare(version, within_days=7) and discovery_store.store_dir(version, 7)
    manifest = json.loads((stored / discovery_store.MANIFEST).read_text())
    if damage == "manifest":
        (stored / discovery_store.MANIFEST).write_text("{not json")
    elif damage == "column":
        next(stored.glob("*.npy")).unlink()
    elif damage == "format":
        manifest["format"] = discovery_store.FORMAT + 1
        (stored / discovery_store.MANIFEST).write_text(json.dumps(manifest))
    else:
        (stored / discovery_store.FIRSTS_FILE).unlink()
    reads.clear()
    assert discovery.discover(version, SUBSCRIBE, within_days=7, top=1000) == expected
    assert reads  # computed


def test_nan_averages_keep_their_nan_in_the_store(tmp_path, reads):
    version = nan_prices(tmp_path)
    discovery.prepare(version, within_days=None)
    measures = [{"kind": "event_property", "event": "buy", "property": "price", "agg": "avg"}]
    reads.clear()
    table = assert_equal_tables(version, {"events": ["goal"]}, measures)
    assert reads == []
    assert any(isinstance(v, float) and math.isnan(v)
               for v in table[Feature.of(measures[0]).column])


def test_a_version_without_events_prepares_nothing(tmp_path):
    version = build_dataset(tmp_path, [], [{"user_id": "a", "plan": "x"},
                                           {"user_id": "b", "plan": "y"}])
    assert discovery.prepare(version, within_days=7) == {"within_days": 7, "measures": 0}
    assert not list(version.cache_dir.glob(f"{discovery_store.PREFIX}*"))
