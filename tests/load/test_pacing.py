"""How the live drawings were paced: the lines the web processes note (sessions.feed) and
what the load test makes of them (tests/load/pacing.py)."""

from __future__ import annotations

import pytest

from sessions import feed, regions
from tests.load import pacing
from tests.load.report import pacing_line


def test_drawings_of_every_process_are_read_in_order_and_summed_up(tmp_path):
    # Two processes: one drew at 10.0 and 10.5, the other at 10.2 (while the first drew).
    (tmp_path / "drawings-11.log").write_text("10.0000 10.3000 0.0500 7\n"
                                              "10.5000 10.6000 0.0400 9\n")
    (tmp_path / "drawings-12.log").write_text("10.2000 10.4000 0.0300 8\n10.9 11.")  # cut short
    drawings = pacing.read(tmp_path)
    assert [revision for *_, revision in drawings] == [7, 8, 9]
    figures = pacing.summary(drawings)
    assert figures["count"] == 3
    assert figures["between_starts"]["p50_ms"] == pytest.approx(200)
    assert figures["between_starts"]["p95_ms"] == pytest.approx(300)
    assert figures["wall"]["p95_ms"] == pytest.approx(300)
    assert figures["cpu"]["p50_ms"] == pytest.approx(40)
    assert figures["overlapping"] == pytest.approx(0.5)  # 10.2 began before 10.3
    line = pacing_line(figures)
    assert line.startswith("drawings: 3 (by the web processes), starts p50 200 / p95 300 ms")
    assert "50% began while the one before was drawing" in line
    # Who drew them: each process's file is named by its pid (the drawer's among them).
    assert pacing.by_process(tmp_path) == {11: 2, 12: 2}  # a line cut short still counts
    drew = pacing_line({**figures, "by_drawer": 2})
    assert drew.startswith("drawings: 3 (2 by the live drawer, the rest by the web processes)")


def test_no_drawing_no_figures(tmp_path):
    assert pacing.summary(pacing.read(tmp_path)) is None


def test_a_web_process_notes_its_drawings_only_when_asked(tmp_path, settings):
    drawing = regions.Snapshot(revision=42, step="test", closed=False, cost=0.25)
    settings.LIVE_TRACE_DIR = ""
    feed.note_drawing(1.0, drawing)
    assert list(tmp_path.iterdir()) == []
    settings.LIVE_TRACE_DIR = str(tmp_path)
    feed.note_drawing(1.0, drawing)
    [(start, end, cpu, revision)] = pacing.read(tmp_path)
    assert (start, cpu, revision) == (1.0, 0.25, 42) and end >= start
