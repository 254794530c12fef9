"""What each kind of AnalysisJob runs. One function per kind, taking the dataset version,
the job row and the engine settings, returning the result JSON. A new kind of job adds a
choice to AnalysisJob.Kind and a runner here."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings as django_settings

from .engine.analysis import analyze, population_count
from .engine.comparisons import compare_groups, stratify
from .engine.console import ConsoleLimits, ConsoleRefused, ConsoleSources
from .engine.console_process import run_query_isolated
from .engine.definitions import DefinitionError
from .engine.discovery import discover
from .engine.discovery import prepare as prepare_discovery
from .engine.trends import dataset_profile, success_trends
from .engine.value_profile import value_profile


def run_analyze(version, job, settings) -> dict:
    options = job.options or {}
    return analyze(
        version, job.success, criterion=job.criterion, breakdown=job.breakdown,
        population_filter=options.get("population_filter"),
        unsuccessful=bool(options.get("unsuccessful")), settings=settings,
    )


def run_discover(version, job, settings) -> dict:
    options = job.options or {}
    return discover(
        version, job.success, within_days=options.get("within_days"),
        top=options.get("top", 20), unsuccessful=bool(options.get("unsuccessful")),
        settings=settings,
    )


def run_compare(version, job, settings) -> dict:
    options = job.options or {}
    return compare_groups(
        version, job.success, group_a=job.criterion, group_b=options.get("group_b"),
        population_filter=options.get("population_filter"),
        unsuccessful=bool(options.get("unsuccessful")), settings=settings,
    )


def run_stratify(version, job, settings) -> dict:
    options = job.options or {}
    return stratify(
        version, job.success, criterion=job.criterion, strata=job.breakdown,
        population_filter=options.get("population_filter"),
        unsuccessful=bool(options.get("unsuccessful")), settings=settings,
    )


def run_sql(version, job, settings) -> dict:
    limits = ConsoleLimits(
        seconds=float(django_settings.CONSOLE_TIME_LIMIT),
        memory_limit=str(django_settings.CONSOLE_MEMORY_LIMIT),
        max_result_bytes=int(django_settings.CONSOLE_MAX_RESULT_BYTES),
    )
    try:
        sources = ConsoleSources.for_success(version, job.success, settings)
        return run_query_isolated(sources, (job.options or {}).get("sql", ""), limits)
    except ConsoleRefused as refusal:
        # A refused or stopped query fails its job with the console's message for people.
        raise DefinitionError(str(refusal)) from None


def run_trend(version, job, settings) -> dict:
    return success_trends(version, job.success, (job.options or {}).get("segments", []),
                          settings=settings)


def run_profile(version, job, settings) -> dict:
    return dataset_profile(version, settings=settings)


def run_prepare(version, job, settings) -> dict:
    return prepare_discovery(version, within_days=(job.options or {}).get("within_days"),
                             settings=settings)


def run_values(version, job, settings) -> dict:
    return value_profile(version, settings=settings)


def run_count(version, job, settings) -> dict:
    return population_count(version, job.success, criterion=job.criterion,
                            population_filter=(job.options or {}).get("population_filter"),
                            settings=settings)


def run_preview(version, job, settings) -> dict:
    return population_count(version, job.success, settings=settings)


RUNNERS: dict[str, Callable] = {
    "analyze": run_analyze,
    "discover": run_discover,
    "compare": run_compare,
    "stratify": run_stratify,
    "sql": run_sql,
    "trend": run_trend,
    "prepare": run_prepare,
    "profile": run_profile,
    "values": run_values,
    "count": run_count,
    "preview": run_preview,
}
