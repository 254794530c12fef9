"""What a job needs that is slow to import, imported ahead of the first job.

A worker calls preload() once, before it forks the processes that run jobs
(analytics.tasks, on Celery's worker_init), so they start with these loaded: scipy's
statistics and optimiser alone took 2-6 s of CPU in a fresh process on this machine, paid
by the first tests after every worker start, in the middle of a meeting. Web processes
never call it: they import none of these (tests/infra/test_web_process.py)."""

from __future__ import annotations


def preload() -> None:
    import scipy.optimize  # noqa: F401  (stats.min_detectable_lift)
    import scipy.special  # noqa: F401  (distributions: normal and chi-square tails)
    import scipy.stats  # noqa: F401  (stats: Fisher's exact test, normal quantiles)

    from . import duck

    duck.load_library()
