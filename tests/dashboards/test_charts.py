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
    top = charts._nice_ceiling(max(stats.wilson_interval(5, 10)[1], high))
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
    assert len(chart.lines) == charts.MAX_LINES and chart.hidden == 3
    assert len({line.color for line in chart.lines}) == charts.MAX_LINES


def test_bucket_bars():
    buckets = [{"label": "a", "users": 100, "successes": 30, **stats.side_summary(30, 100)},
               {"label": "(none)", "users": 0, "successes": 0, **stats.side_summary(0, 0)}]
    bars = charts.bucket_bars(buckets)
    first, empty = bars["bars"]
    assert first.text == "30.0%" and first.low < bars["label_width"] + first.width < first.high
    assert empty.width == 0 and empty.title == "(none): no users"
