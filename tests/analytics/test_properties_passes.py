"""Property tests for the shortcuts the per-user table takes when every measure has a
window: the events pass drops rows past the longest window (keeping the first events
for first-event properties), and the sessions pass computes gaps only on the rows inside
the longest session window, testing shorter windows row by row. Random small datasets,
random sets of windowed measures in one table, against the plain-Python reading of
test_properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
