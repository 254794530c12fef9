"""How the live drawings were paced during a meeting: read from the lines each web
process writes to LIVE_TRACE_DIR (sessions.feed.note_drawing), one per drawing it made.

A change reaches the members once a drawing that started after it has ended, so its
delivery is about the wait for the next drawing to start plus one drawing's wall time.
These two, measured apart, move far less from run to run than the end-to-end delivery
they add up to, and say which to work on."""

from __future__ import annotations

import itertools
from pathlib import Path

from .report import percentile


def by_process(folder: Path) -> dict[int, int]:
    """How many drawings each process made (its pid: the trace file's name)."""
    counts = {}
    for path in sorted(folder.glob("drawings-*.log")):
        pid = path.stem.removeprefix("drawings-")
        if pid.isdigit():
            counts[int(pid)] = len(path.read_text().splitlines())
    return counts


def read(folder: Path) -> list[tuple[float, float, float, int]]:
    """Every drawing of every web process: (start, end, CPU seconds, revision), by start.
    A line cut short by a process stopping mid-write is skipped."""
    drawings = []
    for path in sorted(folder.glob("drawings-*.log")):
        for line in path.read_text().splitlines():
            fields = line.split()
            try:
                drawings.append((float(fields[0]), float(fields[1]), float(fields[2]),
                                 int(fields[3])))
            except (IndexError, ValueError):
                continue
    return sorted(drawings)


def summary(drawings: list[tuple[float, float, float, int]]) -> dict | None:
    """Drawings counted, the time between consecutive starts (over all processes), each
    drawing's wall and CPU time (p50 and p95, ms), and the share of drawings that started
    while the one before was still under way (in another process). None: no drawing."""
    if not drawings:
        return None
    starts = [start for start, *_ in drawings]
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    walls = [end - start for start, end, *_ in drawings]
    cpus = [cpu for _, _, cpu, _ in drawings]
    overlapping = sum(1 for (_, end, *_), (start, *_) in itertools.pairwise(drawings)
                      if start < end)

    def ms(values: list[float]) -> dict:
        return ({f"p{q}_ms": percentile(values, q) * 1000 for q in (50, 95)} if values
                else {"p50_ms": None, "p95_ms": None})

    return {"count": len(drawings), "between_starts": ms(gaps), "wall": ms(walls),
            "cpu": ms(cpus), "overlapping": overlapping / max(1, len(gaps))}
