"""Sessions and time in app: gap edges, windows, custom gaps, users without events."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.analytics.builders import build_dataset, feature_values, members

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
MICRO = timedelta(microseconds=1)


def ev(user, at, event="page_view"):
    return {"user_id": user, "event": event, "timestamp": at}


@pytest.fixture(scope="module")
def version(tmp_path_factory):
    return build_dataset(tmp_path_factory.mktemp("sessions"), [
        # one session: the 30-minute gap exactly keeps it going
        ev("edge", T0), ev("edge", T0 + 30 * MINUTE),
        # 30 minutes and one microsecond: a new session
        ev("split", T0), ev("split", T0 + 30 * MINUTE + MICRO),
        # three sessions of 20, 0 and 5 minutes, listed out of order
        ev("three", T0 + 3 * 60 * MINUTE + 5 * MINUTE), ev("three", T0),
        ev("three", T0 + 10 * MINUTE, "login"), ev("three", T0 + 20 * MINUTE),
        ev("three", T0 + 2 * 60 * MINUTE), ev("three", T0 + 3 * 60 * MINUTE),
        # same timestamp twice: one session of 0 minutes
        ev("same", T0), ev("same", T0, "login"),
        # a second day beyond a 1-day window
        ev("late", T0), ev("late", T0 + 10 * MINUTE),
        ev("late", T0 + timedelta(days=1)), ev("late", T0 + timedelta(days=1) + 50 * MINUTE),
    ], [{"user_id": "ghost"}])


def test_session_counts(version):
    counts = feature_values(version, {"kind": "session_count"})
    assert counts == {"edge": 1, "split": 2, "three": 3, "same": 1, "late": 3, "ghost": 0}


def test_time_in_app_sums_session_lengths_in_minutes(version):
    minutes = feature_values(version, {"kind": "time_in_app"})
    assert minutes == pytest.approx({"edge": 30.0, "split": 0.0, "three": 25.0, "same": 0.0,
                                     "late": 10.0, "ghost": 0.0})
    split = feature_values(version, {"kind": "time_in_app", "session_gap_minutes": 31})
    assert split["split"] == pytest.approx(30 + 1e-6 / 60)


def test_sessions_use_only_events_inside_the_window(version):
    windowed = {"within_days": 1}
    assert feature_values(version, {"kind": "session_count", **windowed})["late"] == 1
    assert feature_values(version, {"kind": "time_in_app", **windowed})["late"] == 10.0


def test_custom_session_gap(version):
    counts = feature_values(version, {"kind": "session_count", "session_gap_minutes": 5})
    assert counts["three"] == 5  # 0, 10, 20 | 120 | 180, 185 -> gaps of 10 split too
    assert counts["edge"] == 2
    long_gap = feature_values(version, {"kind": "session_count",
                                        "session_gap_minutes": 60 * 24})
    assert long_gap["late"] == 1


def test_session_criteria(version):
    assert members(version, {"kind": "session_count", "op": ">=", "value": 2}) == {
        "split", "three", "late"}
    assert members(version, {"kind": "session_count", "op": "=", "value": 0}) == {"ghost"}
    assert members(version, {"kind": "time_in_app", "op": ">=", "value": 25}) == {
        "edge", "three"}
    assert members(version, {"kind": "time_in_app", "op": "<", "value": 1}) == {
        "split", "same", "ghost"}
