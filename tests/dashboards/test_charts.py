"""Chart geometry: the SVG draws what the table says."""

import pytest

from analytics import charts
from analytics.engine import stats

WEEKS = [{"week": "2026-10-05", "complete": True}, {"week": "2026-10-12", "complete": True},
         {"week": "2026-10-19", "complete": False}, {"week": "2026-10-26", "complete": False}]


def test_points_whiskers_and_scale():
    chart = charts.trend_chart(WEEKS, [{"label": "mobile",
                                        "cells": [[100, 20], [0, 0], [10, 5], [200, 40]]}])
    line = chart.lines[0]
    assert len(line.points) == 3  # the empty week is a gap, not a zero
    assert line.path.count("M ") == 2  # and the line breaks there
    first = line.points[0]
    low, high = stats.wilson_interval(20, 100)
    # issue 11: a point of fewer than 30 users sets the scale by its rate, not its wide
    # whisker (which used to take the scale to 80%)
    top = charts._nice_ceiling(max(5 / 10, high))
    plot_h = chart.height - chart.top - chart.bottom
    assert first.y == pytest.approx(chart.top + plot_h * (1 - 0.2 / top), abs=0.01)
    assert first.y_high < first.y < first.y_low  # SVG y grows downwards
    assert first.y_low == pytest.approx(chart.top + plot_h * (1 - low / top), abs=0.01)
    assert [p.hollow for p in line.points] == [False, True, False]
    assert "20.0% (95% CI" in first.title and "20 of 100 users" in first.title


def test_weeks_not_judged_are_shaded_and_markers_placed():
    chart = charts.trend_chart(WEEKS, [{"label": "a", "cells": [[1, 1]] * 4}],
                               markers=[{"week": "2026-10-12", "label": "v2"},
                                        {"week": "2025-01-06", "label": "v1"}])
    slot = chart.plot_width / 4
    assert chart.shaded == [{"x": pytest.approx(chart.left + 2 * slot), "y": chart.top,
                             "width": pytest.approx(2 * slot), "height": pytest.approx(
                                 chart.height - chart.top - chart.bottom)}]
    assert chart.markers == [{"x": pytest.approx(chart.left + slot), "label": "v2"}]


def test_many_buckets_keep_the_drawing_readable():
    series = [{"label": f"b{i}", "cells": [[10, 1]] * 4} for i in range(11)]
    chart = charts.trend_chart(WEEKS, series)
    # issue 11: six drawn by default (was eight), the rest toggled from the legend
    drawn = [line for line in chart.lines if not line.off]
    assert len(drawn) == charts.MAX_SHOWN == 6 and chart.hidden == 5
    assert len({line.color for line in drawn}) == 6


def test_the_six_largest_series_are_drawn_and_the_rest_listed():
    series = [{"label": f"b{i}", "cells": [[40 + 10 * i, 10]] * 4} for i in range(8)]
    chart = charts.trend_chart(WEEKS, series)
    assert [line.label for line in chart.lines] == [f"b{i}" for i in range(8)]
    assert [line.label for line in chart.lines if line.off] == ["b0", "b1"]  # the smallest


def test_few_users_are_faint_and_do_not_set_the_scale():
    small = {"label": "3 users a week", "cells": [[3, 3]] * 4}
    big = {"label": "big", "cells": [[400, 40]] * 4}
    chart = charts.trend_chart(WEEKS, [big, small])
    assert chart.few and all(p.hollow for p in chart.lines[1].points)
    assert not any(p.hollow for p in chart.lines[0].points)
    # the scale stops at the small bucket's rate (100%), its whisker is clipped
    assert all(p.y >= chart.top for line in chart.lines for p in line.points)
    without = charts.trend_chart(WEEKS, [big, {"label": "few", "cells": [[3, 0]] * 4}])
    assert charts._nice_ceiling(stats.wilson_interval(40, 400)[1]) == 0.2
    assert without.grid[-1]["label"] == "20%"  # the 3-user whisker (to 56%) does not count
    bars = charts.bucket_bars([{"label": "few", "users": 3, "successes": 1,
                                **stats.side_summary(1, 3)},
                               {"label": "many", "users": 300, "successes": 30,
                                **stats.side_summary(30, 300)}])
    assert [bar.faint for bar in bars["bars"]] == [True, False] and bars["few"]


def test_bin_labels_cannot_overlap():
    engine = ["< 1", "1-3", "3-10", ">= 10", "(none)"]
    assert charts.bin_labels_shown(engine) == {
        "< 1": "<1", "1-3": "1 to <3", "3-10": "3 to <10", ">= 10": "≥10"}
    assert charts.bin_labels_shown(["< -5", "-5 to 0", "0-2.5", ">= 2.5"])["-5 to 0"] == \
        "-5 to <0"
    # values that only look like bins keep their names
    assert charts.bin_labels_shown(["1-3", "3-10", "(other)"]) == {}
    result = {"population": {"rate": 0.2}, "buckets": [
        {"label": label, "users": 50, "rate": 0.2, "ci95": [0.1, 0.3]} for label in engine]}
    assert [bar.label for bar in charts.breakdown_chart(result).bars] == [
        "<1", "1 to <3", "3 to <10", "≥10", "(none)"]


def test_compare_labels_tell_the_groups_apart():
    a = "device of the first event is iPhone"
    b = "device of the first event is Android tablet"
    label_a, label_b = charts.distinct_labels(a, b)
    assert label_a != label_b and "iPhone" in label_a and "Android" in label_b
    assert len(label_a) <= 26 and len(label_b) <= 26
    assert charts.distinct_labels("plan is pro", "plan is free") == (
        "plan is pro", "plan is free")
    result = {"population": {"rate": 0.2},
              "a": {"users": 50, "rate": 0.2, "ci95": [0.1, 0.3]},
              "b": {"users": 50, "rate": 0.3, "ci95": [0.2, 0.4]}}
    chart = charts.compare_chart(result, a, b)
    assert [bar.label for bar in chart.bars] == [label_a, label_b]


def test_bucket_bars():
    buckets = [{"label": "a", "users": 100, "successes": 30, **stats.side_summary(30, 100)},
               {"label": "(none)", "users": 0, "successes": 0, **stats.side_summary(0, 0)}]
    bars = charts.bucket_bars(buckets)
    first, empty = bars["bars"]
    assert first.text == "30.0%" and first.low < bars["label_width"] + first.width < first.high
    assert empty.width == 0 and empty.title == "(none): no users"
