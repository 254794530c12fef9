"""What each kind of AnalysisJob runs. One function per kind, taking the dataset version,
the job row and the engine settings, returning the result JSON. A new kind of job adds a
choice to AnalysisJob.Kind and a runner here."""

from __future__ import annotations

from collections.abc import Callable


def run_analyze(version, job, settings) -> dict:
    from .analysis import analyze

    options = job.options or {}
    return analyze(
        version, job.success, criterion=job.criterion, breakdown=job.breakdown,
        population_filter=options.get("population_filter"),
        unsuccessful=bool(options.get("unsuccessful")), settings=settings,
    )


def run_discover(version, job, settings) -> dict:
    from .discovery import discover

    options = job.options or {}
    return discover(
        version, job.success, within_days=options.get("within_days"),
        top=options.get("top", 20), unsuccessful=bool(options.get("unsuccessful")),
        settings=settings,
    )


RUNNERS: dict[str, Callable] = {
    "analyze": run_analyze,
    "discover": run_discover,
}
