"""Upper tail probabilities of the normal and chi-square distributions, from scipy.special.

Why not scipy.stats: importing it costs about 0.7 s of CPU, more than the rest of a
command line's fixed costs together (issue 13), for two numbers. scipy.stats computes
them with these very functions (norm.sf(x) is ndtr(-x), chi2.sf(x, df) is chdtrc(df, x)),
so the values are scipy's to the last bit; scipy.special alone costs about 0.3 s, paid on
the first test of a process, not at start-up. A command line on files starts that import
in a thread of its own (load_in_background) while DuckDB, which lets go of Python's lock
while it runs a query, reads the files: the import then costs no waiting.
"""

from __future__ import annotations

import threading


def load_in_background() -> threading.Thread:
    """Start importing scipy.special in a daemon thread and return it. A caller that
    needs it before the thread is done waits on the import as Python's import lock has
    any second importer wait; a failure is left to that caller's own import to report."""
    thread = threading.Thread(target=_load, name="hypothesislab-scipy-special", daemon=True)
    thread.start()
    return thread


def _load() -> None:
    try:
        import scipy.special  # noqa: F401
    except ImportError:
        pass  # raised again, to the caller, by the import in the function that needs it


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z: 2 * norm.sf(|z|)."""
    from scipy.special import ndtr

    return float(ndtr(-abs(z)) * 2)


def chi_square_sf(statistic: float, df: int) -> float:
    """P(X >= statistic) for X chi-square with `df` degrees of freedom: chi2.sf."""
    if df < 1 or df != int(df):
        raise ValueError(f"df must be a whole number >= 1, got {df!r}")
    from scipy.special import chdtrc

    return float(chdtrc(df, statistic))
