"""The statistics every result reports (definitions.md, section 5).

Plain Python over counts: no Django, no duckdb. The normal and chi-square tails come
from analytics.engine.distributions; scipy supplies Fisher's exact test and the power
calculation. Every number returned is a plain Python float (or int, or None):
results go straight into JSON, so numpy scalars, NaN and infinities never leave here.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

from analytics.engine.distributions import chi_square_sf, normal_two_sided_p

# scipy is imported inside the functions that use it: scipy.stats alone costs about a
# second to import, which every command line and web process would otherwise pay at start
# (a z test or a breakdown needs none of it).

# The normal 0.975 quantile; the contract fixes it rather than the rounded 1.96.
Z95 = 1.959963984540054

# Below this expected count in any cell of the 2x2 table the normal approximation is
# not trusted and Fisher's exact test is used instead.
MIN_EXPECTED_CELL = 5

SIGNIFICANCE = 0.05
MIN_USERS_FOR_VERDICT = 30


def _count(value: int, name: str) -> int:
    # operator.index accepts numpy integers from callers but refuses floats like 3.5
    number = operator.index(value)
    if number < 0:
        raise ValueError(f"{name} must not be negative, got {number}")
    return number


def _counts(successes: int, users: int) -> tuple[int, int]:
    x = _count(successes, "successes")
    n = _count(users, "users")
    if x > n:
        raise ValueError(f"successes ({x}) cannot exceed users ({n})")
    return x, n


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def rate(successes: int, users: int) -> float | None:
    """Share of users who succeeded; None when there are no users."""
    x, n = _counts(successes, users)
    if n == 0:
        return None
    return x / n


def wilson_interval(successes: int, users: int) -> list[float] | None:
    """Wilson score 95% interval of a rate, [lo, hi]; None when there are no users."""
    x, n = _counts(successes, users)
    if n == 0:
        return None
    # Same arithmetic order as statsmodels' proportion_confint(method="wilson"), so the
    # two agree to the last bits rather than merely to a tolerance.
    q = x / n
    crit2 = Z95**2
    denom = 1 + crit2 / n
    center = (q + crit2 / (2 * n)) / denom
    dist = Z95 * math.sqrt(q * (1.0 - q) / n + crit2 / (4.0 * n**2)) / denom
    # At 0 or n successes the bound is exactly 0 or 1; rounding must not leave 1 - 1e-16.
    low = 0.0 if x == 0 else min(max(center - dist, 0.0), 1.0)
    high = 1.0 if x == n else min(max(center + dist, 0.0), 1.0)
    return [low, high]


def side_summary(successes: int, users: int) -> dict:
    """What a result shows for the group, the rest or a bucket."""
    x, n = _counts(successes, users)
    return {"users": n, "successes": x, "rate": rate(x, n), "ci95": wilson_interval(x, n)}


def _untestable_reason(x1: int, n1: int, x0: int, n0: int, sides: tuple[str, str]) -> str | None:
    """Why two proportions cannot be tested against each other, or None when they can."""
    first, second = sides
    if n1 == 0 and n0 == 0:
        return f"Both the {first} and the {second} are empty, so there is nothing to compare."
    if n1 == 0:
        return f"The {first} has no users, so there is nothing to compare."
    if n0 == 0:
        return f"The {second} has no users, so there is nothing to compare."
    if x1 + x0 == 0:
        return "No user succeeded, so the rates cannot differ and no test applies."
    if x1 + x0 == n1 + n0:
        return "Every user succeeded, so the rates cannot differ and no test applies."
    return None


def _needs_exact_test(x1: int, n1: int, x0: int, n0: int) -> bool:
    # Expected cell = row total * column total / N; compared in integers so that a cell of
    # exactly 5 is never pushed below it by rounding.
    total = n1 + n0
    successes = x1 + x0
    failures = total - successes
    smallest = min(n1, n0) * min(successes, failures)
    return smallest < MIN_EXPECTED_CELL * total


def _pooled_z_p(x1: int, n1: int, x0: int, n0: int) -> float:
    # Same arithmetic order as statsmodels' proportions_ztest, the reference we test with.
    diff = x1 * 1.0 / n1 - x0 * 1.0 / n0
    pooled = (x1 + x0) * 1.0 / (n1 + n0)
    variance = pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n0)
    z = diff / math.sqrt(variance)
    return normal_two_sided_p(z)


def _fisher_p(x1: int, n1: int, x0: int, n0: int) -> float:
    from scipy.stats import fisher_exact

    result = fisher_exact([[x1, n1 - x1], [x0, n0 - x0]], alternative="two-sided")
    return min(float(result.pvalue), 1.0)


def _two_proportion_test(
    x1: int, n1: int, x0: int, n0: int, sides: tuple[str, str]
) -> tuple[float | None, str | None, str | None]:
    """(p_value, test, note): pooled z, or Fisher when an expected cell is below 5."""
    reason = _untestable_reason(x1, n1, x0, n0, sides)
    if reason is not None:
        return None, None, reason
    if _needs_exact_test(x1, n1, x0, n0):
        return _fisher_p(x1, n1, x0, n0), "fisher", None
    return _finite(_pooled_z_p(x1, n1, x0, n0)), "z", None


def _lift_interval(x1: int, n1: int, x0: int, n0: int) -> list[float] | None:
    if x1 == 0 or x0 == 0:
        return None
    # Same arithmetic order as statsmodels' confint_proportions_2indep(compare="ratio",
    # method="log"); 1/x - 1/n is exactly 0 when every user of a side succeeded.
    log_ratio = math.log((x1 / n1) / (x0 / n0))
    half_width = Z95 * math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0)
    try:
        low = math.exp(log_ratio - half_width) - 1
        high = math.exp(log_ratio + half_width) - 1
    except OverflowError:
        return None
    return [low, high]


def compare(x1: int, n1: int, x0: int, n0: int) -> dict:
    """Group (x1 successes of n1 users) against the rest (x0 of n0).

    Returns {"diff", "lift", "lift_ci95", "p_value", "test"}, plus "note" (a sentence
    saying why) when there is no p-value.
    """
    x1, n1 = _counts(x1, n1)
    x0, n0 = _counts(x0, n0)
    rate_group, rate_rest = rate(x1, n1), rate(x0, n0)
    diff = None if rate_group is None or rate_rest is None else rate_group - rate_rest
    lift = None
    if rate_group is not None and rate_rest:
        lift = rate_group / rate_rest - 1
    p_value, test, note = _two_proportion_test(x1, n1, x0, n0, ("group", "rest"))
    result = {
        "diff": diff,
        "lift": lift,
        "lift_ci95": _lift_interval(x1, n1, x0, n0),
        "p_value": p_value,
        "test": test,
    }
    if note is not None:
        result["note"] = note
    return result


def change_test(x_now: int, n_now: int, x_before: int, n_before: int) -> dict:
    """Has a segment's rate moved beyond chance since the previous snapshot?

    Returns {"diff", "p_value", "test", "moved"}, plus "note" when there is no p-value.
    """
    x_now, n_now = _counts(x_now, n_now)
    x_before, n_before = _counts(x_before, n_before)
    rate_now, rate_before = rate(x_now, n_now), rate(x_before, n_before)
    diff = None if rate_now is None or rate_before is None else rate_now - rate_before
    p_value, test, note = _two_proportion_test(
        x_now, n_now, x_before, n_before, ("current week", "previous week")
    )
    result = {
        "diff": diff,
        "p_value": p_value,
        "test": test,
        "moved": p_value is not None and p_value < SIGNIFICANCE,
    }
    if note is not None:
        result["note"] = note
    return result


def chi_square_independence(buckets: Sequence[tuple[int, int]]) -> float | None:
    """p-value of the k x 2 chi-square test (no continuity correction) of a breakdown.

    buckets are (successes, users); empty buckets take no part. None when fewer than two
    buckets have users, or when every user has the same outcome.
    """
    rows = []
    for successes, users in buckets:
        x, n = _counts(successes, users)
        if n > 0:
            rows.append([x, n - x])
    if len(rows) < 2:
        return None
    total_successes = sum(row[0] for row in rows)
    total_failures = sum(row[1] for row in rows)
    if total_successes == 0 or total_failures == 0:
        return None
    # As scipy's chi2_contingency(rows, correction=False), the reference in the tests:
    # expected counts from the margins, then Pearson's statistic on k - 1 degrees.
    total = total_successes + total_failures
    statistic = 0.0
    for row in rows:
        users = row[0] + row[1]
        for observed, column_total in zip(row, (total_successes, total_failures), strict=True):
            expected = float(users) * float(column_total) / float(total)
            statistic += (observed - expected) ** 2 / expected
    return _finite(chi_square_sf(statistic, len(rows) - 1))


def bh_adjust(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg q-values, in the input order.

    None (a result with no test) stays None and is not counted in the family.
    """
    tested = [(p, i) for i, p in enumerate(p_values) if p is not None]
    for p, _ in tested:
        if not 0.0 <= p <= 1.0:  # also refuses NaN
            raise ValueError(f"p-values must lie in [0, 1], got {p!r}")
    adjusted: list[float | None] = [None] * len(p_values)
    m = len(tested)
    tested.sort()
    running_min = 1.0
    # From the largest p down, q(i) = min over j >= i of p(j) * m / j; divided by the
    # ecdf value j/m as statsmodels' multipletests does, to agree to the last bits.
    for rank in range(m, 0, -1):
        p, index = tested[rank - 1]
        running_min = min(running_min, p / (rank / m))
        adjusted[index] = float(running_min)
    return adjusted


EXPECTATIONS = ("more", "less", "different")


def significant_direction(q_value: float | None, lift: float | None, n_group: int,
                          n_rest: int) -> str | None:
    """Where the data goes, read without any expectation: "more" (the group succeeds more
    often than the rest, q < 0.05), "less", or None (too few users, or no clear
    difference)."""
    if n_group < MIN_USERS_FOR_VERDICT or n_rest < MIN_USERS_FOR_VERDICT:
        return None
    if q_value is None or lift is None or q_value >= SIGNIFICANCE or lift == 0:
        return None
    return "more" if lift > 0 else "less"


def verdict(q_value: float | None, lift: float | None, n_group: int, n_rest: int,
            expected: str = "more") -> str:
    """The verdict of a hypothesis that expects the group to succeed `expected` often
    ("more", "less" or "different", i.e. either way) than the rest: supported when the data
    goes that way at q < 0.05, contradicted when it goes the other way, else inconclusive;
    not enough data below MIN_USERS_FOR_VERDICT users on either side."""
    if expected not in EXPECTATIONS:
        raise ValueError(f"expected must be one of {EXPECTATIONS}, got {expected!r}")
    if n_group < MIN_USERS_FOR_VERDICT or n_rest < MIN_USERS_FOR_VERDICT:
        return "not enough data"
    went = significant_direction(q_value, lift, n_group, n_rest)
    if went is None:
        return "inconclusive"
    return "supported" if expected in ("different", went) else "contradicted"


def _unpooled_power(p1: float, p0: float, n1: int, n0: int, z: float) -> float:
    # The normal tails straight from scipy.special: norm.sf(x) is ndtr(-x) and norm.cdf(x)
    # is ndtr(x), to the bit, without scipy.stats' checks of its arguments, which cost
    # 20x the function itself here (the solver calls this a dozen times per lift).
    from scipy.special import ndtr

    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    shift = (p1 - p0) / se
    return float(ndtr(shift - z) + ndtr(-z - shift))


def min_detectable_lift(
    n1: int, n0: int, p0: float, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """Smallest relative lift p1/p0 - 1 (> 0) that a two-sided z test of a group of n1
    against a rest of n0 at rate p0 detects with the given power.

    Uses the unpooled-variance power formula, solved numerically. None when undefined:
    an empty side, p0 of 0 or 1, or a power not reachable with p1 below 1.
    """
    from scipy import optimize
    from scipy.special import ndtri

    n1 = _count(n1, "n1")
    n0 = _count(n0, "n0")
    p0 = float(p0)
    if not 0.0 <= p0 <= 1.0:
        raise ValueError(f"p0 must lie in [0, 1], got {p0!r}")
    if not 0.0 < alpha < 1.0 or not alpha < power < 1.0:
        raise ValueError("need 0 < alpha < power < 1")
    if n1 == 0 or n0 == 0 or p0 in (0.0, 1.0):
        return None
    z = float(-ndtri(alpha / 2))  # norm.isf(alpha / 2), to the bit
    # Power rises monotonically with p1 on (p0, 1], so the root is unique when the
    # target is reachable at p1 = 1.
    if _unpooled_power(1.0, p0, n1, n0, z) < power:
        return None
    p1 = optimize.brentq(
        lambda p: _unpooled_power(p, p0, n1, n0, z) - power, p0, 1.0, xtol=1e-15, rtol=1e-14
    )
    return _finite(p1 / p0 - 1)


def mantel_haenszel(strata: Sequence[tuple[int, int, int, int]]) -> dict:
    """Group vs rest within strata (x1, n1, x0, n0), pooled over them.

    Returns {"odds_ratio", "ci95", "p_value", "strata"}: the Mantel-Haenszel common odds
    ratio, its 95% interval (Robins-Breslow-Greenland variance of the log), the p-value
    of the Mantel-Haenszel chi-square test (no continuity correction), and how many
    strata took part. Strata with an empty group or rest are skipped. Values that are
    undefined for these counts are None, and a "note" says why.
    """
    tables = []
    for x1, n1, x0, n0 in strata:
        x1, n1 = _counts(x1, n1)
        x0, n0 = _counts(x0, n0)
        if n1 > 0 and n0 > 0:
            # [[a, b], [c, d]] = [[group successes, group failures], [rest ..., rest ...]]
            tables.append((float(x1), float(n1 - x1), float(x0), float(n0 - x0)))
    result: dict = {"odds_ratio": None, "ci95": None, "p_value": None, "strata": len(tables)}
    if not tables:
        result["note"] = "No stratum has users on both sides, so there is nothing to compare."
        return result

    # Sums in the order statsmodels' StratifiedTable uses, the reference in the tests.
    ad_n = sum(a * d / (a + b + c + d) for a, b, c, d in tables)
    bc_n = sum(b * c / (a + b + c + d) for a, b, c, d in tables)

    observed_minus_expected = 0.0
    variance = 0.0
    for a, b, c, d in tables:
        n = a + b + c + d
        observed_minus_expected += a - (a + b) * (a + c) / n
        variance += (a + b) * (a + c) * (b + d) * (c + d) / (n**2 * (n - 1))
    if variance > 0:
        statistic = observed_minus_expected**2 / variance
        result["p_value"] = _finite(chi_square_sf(statistic, 1))

    if bc_n == 0:
        result["note"] = (
            "The odds ratio is unbounded: in no stratum do group failures meet rest successes."
        )
        return result
    odds_ratio = ad_n / bc_n
    result["odds_ratio"] = odds_ratio
    if ad_n == 0:
        result["note"] = "The odds ratio is 0, so its interval on the log scale is undefined."
        return result

    # Robins, Breslow and Greenland (1986), as in StratifiedTable.logodds_pooled_se.
    term_ad = sum((a + d) * a * d / (a + b + c + d) ** 2 for a, b, c, d in tables)
    mixed = sum(
        (a + d) * b * c / n**2 + (1 - (a + d) / n) * a * d / n
        for a, b, c, d in tables
        for n in (a + b + c + d,)
    )
    term_bc = sum((1 - (a + d) / n) * b * c / n for a, b, c, d in tables for n in (a + b + c + d,))
    log_variance = (term_ad / ad_n**2 + mixed / (ad_n * bc_n) + term_bc / bc_n**2) / 2
    half_width = Z95 * math.sqrt(log_variance)
    log_or = math.log(odds_ratio)
    try:
        result["ci95"] = [math.exp(log_or - half_width), math.exp(log_or + half_width)]
    except OverflowError:
        result["ci95"] = None
    return result
