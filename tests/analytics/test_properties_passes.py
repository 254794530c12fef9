"""Property tests for the shortcuts the per-user table takes when every measure has a
window: the events pass drops rows past the longest window (keeping the first events
for first-event properties), and the sessions pass computes gaps only on the rows inside
the longest session window, testing shorter windows row by row. Random small datasets,
random sets of windowed measures in one table, against the plain-Python reading of
test_properties. And the ways of building a table (event names compared as text or by
hash, grouping in a hash table or a perfect one) give the same table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics.engine import duck
from analytics.engine.definitions import validate_metric, validate_success
from analytics.engine.peruser import build_query
from analytics.engine.peruser_columns import Feature
from tests.analytics.builders import feature_table
from tests.analytics.test_properties import (
    EVENTS,
    PROPERTY_SETTINGS,
    build,
    datasets,
    people,
)

BOUNDED = st.sampled_from([1, 2, 7])


def _measures():
    session = st.builds(
        lambda kind, days, gap: {"kind": kind, "within_days": days,
                                 **({"session_gap_minutes": gap} if gap else {})},
        st.sampled_from(["session_count", "time_in_app"]), BOUNDED,
        st.sampled_from([None, 10, 60]))
    counted = st.builds(
        lambda kind, event, days: {"kind": kind, "event": event, "within_days": days},
        st.sampled_from(["event_count", "did_event"]), st.sampled_from(EVENTS), BOUNDED)
    amounts = st.builds(
        lambda event, agg, days: {"kind": "event_property", "event": event,
                                  "property": "amount", "agg": agg, "within_days": days},
        st.sampled_from(EVENTS), st.sampled_from(["sum", "avg", "max", "count_distinct"]),
        BOUNDED)
    first = st.sampled_from([{"kind": "first_event_property", "property": "device"},
                             {"kind": "first_event_property", "property": "amount"}])
    return st.lists(st.one_of(session, counted, amounts, first), min_size=1, max_size=8,
                    unique_by=lambda m: repr(sorted(m.items())))


@PROPERTY_SETTINGS
@given(data=datasets(), measures=_measures())
def test_windowed_measures_in_one_table_match_a_plain_reading(tmp_path_factory, data,
                                                             measures):
    events, users = data
    version = build(tmp_path_factory, events, users)
    known = set(version.schema().events)
    measures = [m for m in measures if m.get("event", EVENTS[0]) in known or "event" not in m]
    if not measures:
        return
    table = feature_table(version, measures)
    everyone = {p.properties.get("user_id") or p.events[0]["user_id"]: p
                for p in people(events, users)}
    assert set(table) == set(everyone)
    for user, values in table.items():
        person = everyone[user]
        for measure, value in zip(measures, values, strict=True):
            if measure["kind"] == "did_event":
                expected = bool(person.matching(measure))
            else:
                expected = person.measure(measure)
            if isinstance(expected, float):
                assert value == pytest.approx(expected, rel=1e-12), (user, measure)
            else:
                assert value == expected, (user, measure)


@PROPERTY_SETTINGS
@given(data=datasets(), measures=_measures())
def test_text_or_hashed_event_names_and_either_hash_table_build_the_same_table(
        tmp_path_factory, data, measures):
    events, users = data
    version = build(tmp_path_factory, events, users)
    schema = version.schema()
    measures = [m for m in measures if m.get("event", EVENTS[0]) in schema.events
                or "event" not in m]
    success = validate_success({"events": sorted(schema.events)[:1]} if schema.events
                               else {"property": "plan", "op": "is_set"}, schema)
    features = [Feature.of(validate_metric(m, schema)) for m in measures]
    con = duck.connect(threads=1)
    tables = []
    for hashed in (False, True):
        query = build_query(schema, version, success, features, hashed_events=hashed)
        for narrow in (False, True):
            statements = [*query.prepare, query.select]
            # 0 turns perfect hash tables off (tiny tables would get one by default).
            con.execute(f"SET perfect_ht_threshold = {21 if narrow else 0}")
            for statement in statements[:-1]:
                con.execute(statement.text, statement.params)
            plan = con.execute(f"EXPLAIN (FORMAT JSON) {query.select.text}",
                               query.select.params).fetchall()[0][1]
            if "GROUP_BY" in plan:  # the events pass aggregates (unless nothing is measured)
                assert narrow == ('"PERFECT_HASH_GROUP_BY"' in plan)
            tables.append(sorted(con.execute(query.select.text, query.select.params)
                                 .fetchall(), key=repr))
    assert all(table == tables[0] for table in tables[1:])


def test_event_names_are_compared_by_hash_only_when_their_hashes_differ(tmp_path, monkeypatch):
    from analytics.engine import peruser
    from analytics.engine.peruser_columns import distinct_event_hashes
    from tests.analytics.builders import build_dataset

    version = build_dataset(tmp_path, [
        {"user_id": "a", "event": "login", "timestamp": "2026-01-01T00:00:00"},
        {"user_id": "a", "event": "export", "timestamp": "2026-01-02T00:00:00"}])
    con = duck.connect(threads=1)
    assert distinct_event_hashes(con, version.schema())
    built = []
    real = peruser.build_query
    monkeypatch.setattr(peruser, "build_query",
                        lambda *a, **k: built.append(real(*a, **k)) or built[-1])
    success = validate_success({"events": ["export"]}, version.schema())
    peruser.peruser_source(con, version, version.schema(), success, [])
    assert "__hl_eh IN (hash(" in built[-1].select.text
    monkeypatch.setattr(peruser, "distinct_event_hashes", lambda con, schema: False)
    for path in version.cache_dir.glob("peruser-*"):
        path.unlink()
    peruser.peruser_source(con, version, version.schema(), success, [])
    assert "__hl_eh" not in built[-1].select.text and "e.event IN (" in built[-1].select.text
