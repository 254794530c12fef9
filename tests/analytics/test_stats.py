"""analytics.engine.stats against the shared reference vectors and against statsmodels/scipy.

The reference file (/work/shared/data/stats_reference.json, 34 cases) was computed with
statsmodels 0.15 and scipy 1.17. Where it and the contract (definitions.md section 5)
part ways, the contract wins; each such place says why below:

- bucket_vs_rest_p in the k_buckets cases is always the pooled z-test. Our bucket-vs-rest
  test follows the contract's rule (Fisher when an expected cell is below 5), so for the
  sparse buckets we check Fisher against scipy instead and the z p-value separately.
- zero_successes_both / all_successes_both: the reference "recommends" Fisher (p = 1),
  the contract says no p-value (and a note) when every user has the same outcome.
- rel_lift_ci_log is an error object where a side has no successes; the contract says
  lift_ci95 is null then.
- Fisher p-values in the denormal range (strong_effect_n1000: 4.03e-321) carry only a
  few significant digits, so they are compared with an absolute tolerance.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, fisher_exact, norm
from scipy.stats.contingency import expected_freq
from statsmodels.stats.contingency_tables import StratifiedTable
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import normal_power_het
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)

from analytics.engine import stats

# shared/ sits beside the project's root (shared/README.md)
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "data" / "stats_reference.json"
CASES = json.loads(REFERENCE.read_text())["cases"]
REL = 1e-9

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def cases_of(kind: str) -> list:
    return [pytest.param(case, id=case["name"]) for case in CASES if case["kind"] == kind]


def assert_close(ours, expected, rel: float = REL, abs_: float = 0.0) -> None:
    if expected is None:
        assert ours is None
        return
    assert ours is not None
    if isinstance(expected, list | tuple):
        assert isinstance(ours, list) and len(ours) == len(expected)
        for a, b in zip(ours, expected, strict=True):
            assert_close(a, b, rel, abs_)
        return
    assert type(ours) is float, f"{ours!r} is a {type(ours).__name__}, not a plain float"
    assert math.isfinite(ours)
    assert ours == pytest.approx(float(expected), rel=rel, abs=abs_)


def assert_json_clean(value) -> None:
    """Plain Python types only, and nothing JSON cannot carry."""
    json.dumps(value, allow_nan=False)

    def walk(item):
        if isinstance(item, dict):
            for v in item.values():
                walk(v)
        elif isinstance(item, list):
            for v in item:
                walk(v)
        else:
            assert item is None or type(item) in (float, int, bool, str), repr(item)

    walk(value)


# --- the reference vectors -------------------------------------------------------------


def test_reference_file_has_the_34_cases():
    assert len(CASES) == 34
    kinds = {case["kind"] for case in CASES}
    assert kinds == {"group_vs_rest", "k_buckets", "bh_adjust"}


@pytest.mark.parametrize("case", cases_of("group_vs_rest"))
def test_group_vs_rest_reference(case):
    i, o = case["inputs"], case["outputs"]
    x1, n1, x0, n0 = (
        i["successes_group"],
        i["total_group"],
        i["successes_rest"],
        i["total_rest"],
    )

    group, rest = stats.side_summary(x1, n1), stats.side_summary(x0, n0)
    assert (group["users"], group["successes"], rest["users"], rest["successes"]) == (
        n1,
        x1,
        n0,
        x0,
    )
    assert_close(group["rate"], o["rate_group"])
    assert_close(rest["rate"], o["rate_rest"])
    # Bounds of exactly 0 or 1 may come out a few ulps away on either side.
    assert_close(group["ci95"], o["wilson_ci_group"], abs_=1e-15)
    assert_close(rest["ci95"], o["wilson_ci_rest"], abs_=1e-15)

    result = stats.compare(x1, n1, x0, n0)
    assert_json_clean(result)
    assert_close(result["diff"], o["abs_diff"], abs_=1e-15)
    assert_close(result["lift"], o["rel_lift"], abs_=1e-15)

    ref_ci = o["rel_lift_ci_log"]
    if isinstance(ref_ci, dict):  # the reference failed: a side without successes
        assert "error" in ref_ci and (x1 == 0 or x0 == 0)
        assert result["lift_ci95"] is None
    else:
        assert_close(result["lift_ci95"], ref_ci, abs_=1e-15)

    # Both tests, whichever our rule picks, so each is checked on every case.
    if o["p_two_sided"] is not None:
        assert_close(stats._pooled_z_p(x1, n1, x0, n0), o["p_two_sided"])
        assert_close(stats._pooled_z_p(x1, n1, x0, n0), o["chi2_p_nocorr"], rel=1e-7)
    assert_close(stats._fisher_p(x1, n1, x0, n0), o["fisher_p"], abs_=1e-310)

    no_variation = x1 + x0 in (0, n1 + n0)
    if no_variation:
        # The contract, not the reference's recommendation (Fisher, p = 1): no p-value.
        assert result["p_value"] is None and result["test"] is None
        assert result["note"]
        return
    expected_test = {"z_pooled": "z", "fisher_exact": "fisher"}[o["recommended_test"]]
    assert result["test"] == expected_test
    assert (o["min_expected_cell"] < 5) == (expected_test == "fisher")
    assert_close(result["p_value"], o["recommended_p"], abs_=1e-310)
    assert "note" not in result


@pytest.mark.parametrize("case", cases_of("k_buckets"))
def test_k_buckets_reference(case):
    i, o = case["inputs"], case["outputs"]
    buckets = list(zip(i["successes"], i["totals"], strict=True))

    for (x, n), rate, ci in zip(buckets, o["rates"], o["wilson_ci"], strict=True):
        assert_close(stats.rate(x, n), rate)
        assert_close(stats.wilson_interval(x, n), ci, abs_=1e-15)

    ref_chi2 = o["chi2"]
    if isinstance(ref_chi2, dict):  # scipy refuses a table without any success
        assert stats.chi_square_independence(buckets) is None
    else:
        assert_close(stats.chi_square_independence(buckets), o["chi2_p"])

    total_x, total_n = sum(i["successes"]), sum(i["totals"])
    for (x, n), ref_p in zip(buckets, o["bucket_vs_rest_p"], strict=True):
        result = stats.compare(x, n, total_x - x, total_n - n)
        if ref_p is None:
            assert result["p_value"] is None and result["note"]
            continue
        assert_close(stats._pooled_z_p(x, n, total_x - x, total_n - n), ref_p)
        if result["test"] == "z":
            assert_close(result["p_value"], ref_p)
        else:
            # The reference always used z; our rule switches to Fisher here.
            table = [[x, n - x], [total_x - x, total_n - n - (total_x - x)]]
            assert expected_freq(np.array(table)).min() < 5
            assert_close(result["p_value"], fisher_exact(table).pvalue)

    if "bucket_vs_rest_p_bh" in o:
        assert_close(stats.bh_adjust(o["bucket_vs_rest_p"]), o["bucket_vs_rest_p_bh"])


def test_sparse_bucket_case_really_exercises_fisher():
    # Guards the branch above: without it the Fisher path of that test could go unused.
    case = next(c for c in CASES if c["name"] == "sparse_bucket")
    i = case["inputs"]
    total_x, total_n = sum(i["successes"]), sum(i["totals"])
    tests = [
        stats.compare(x, n, total_x - x, total_n - n)["test"]
        for x, n in zip(i["successes"], i["totals"], strict=True)
    ]
    assert tests == ["z", "z", "z", "fisher", "fisher"]


@pytest.mark.parametrize("case", cases_of("bh_adjust"))
def test_bh_reference(case):
    assert_close(stats.bh_adjust(case["inputs"]["p_values"]), case["outputs"]["p_bh"])


# --- properties against statsmodels and scipy ------------------------------------------


@st.composite
def side(draw, max_users: int = 5000, min_users: int = 0):
    n = draw(st.integers(min_users, max_users))
    x = draw(st.integers(0, n))
    return x, n


@PROPERTY_SETTINGS
@given(side(min_users=1, max_users=10**7))
def test_wilson_matches_statsmodels(counts):
    x, n = counts
    low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
    assert_close(stats.wilson_interval(x, n), [low, high], abs_=1e-15)


@PROPERTY_SETTINGS
@given(side(min_users=1), side(min_users=1))
def test_compare_matches_statsmodels_and_scipy(group, rest):
    (x1, n1), (x0, n0) = group, rest
    result = stats.compare(x1, n1, x0, n0)
    assert_json_clean(result)
    assert_close(result["diff"], x1 / n1 - x0 / n0, abs_=1e-15)

    if x1 + x0 in (0, n1 + n0):
        assert result["p_value"] is None and result["test"] is None and result["note"]
    else:
        table = np.array([[x1, n1 - x1], [x0, n0 - x0]])
        sparse = expected_freq(table).min() < 5
        assert result["test"] == ("fisher" if sparse else "z")
        if sparse:
            expected_p = fisher_exact(table, alternative="two-sided").pvalue
        else:
            expected_p = proportions_ztest([x1, x0], [n1, n0])[1]
            # the contract: the same number as the uncorrected 2x2 chi-square test
            chi_p = chi2_contingency(table, correction=False).pvalue
            assert result["p_value"] == pytest.approx(chi_p, rel=1e-6, abs=1e-300)
        assert_close(result["p_value"], expected_p)

    if x0 == 0:
        assert result["lift"] is None
    else:
        assert_close(result["lift"], (x1 / n1) / (x0 / n0) - 1, abs_=1e-15)

    if x1 == 0 or x0 == 0:
        assert result["lift_ci95"] is None
    else:
        low, high = confint_proportions_2indep(x1, n1, x0, n0, compare="ratio", method="log")
        assert_close(result["lift_ci95"], [low - 1, high - 1], rel=1e-9, abs_=1e-13)
        assert result["lift_ci95"][0] <= result["lift"] + 1e-12 <= result["lift_ci95"][1] + 2e-12


@PROPERTY_SETTINGS
@given(st.lists(side(max_users=400), min_size=0, max_size=8))
def test_chi_square_matches_scipy(buckets):
    ours = stats.chi_square_independence(buckets)
    rows = [[x, n - x] for x, n in buckets if n > 0]
    columns = np.array(rows).sum(axis=0) if rows else np.zeros(2)
    if len(rows) < 2 or columns.min() == 0:
        assert ours is None
    else:
        assert_close(ours, chi2_contingency(rows, correction=False).pvalue)


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.one_of(st.none(), st.floats(0, 1), st.sampled_from([0.0, 1.0, 0.05])),
        max_size=40,
    )
)
def test_bh_matches_statsmodels_and_skips_none(p_values):
    ours = stats.bh_adjust(p_values)
    assert len(ours) == len(p_values)
    tested = [p for p in p_values if p is not None]
    expected = iter(multipletests(tested, method="fdr_bh")[1] if tested else [])
    for p, q in zip(p_values, ours, strict=True):
        if p is None:
            assert q is None
        else:
            assert_close(q, next(expected), abs_=1e-300)
            assert p <= q <= 1.0


@st.composite
def stratum(draw):
    n1 = draw(st.integers(0, 300))
    n0 = draw(st.integers(0, 300))
    return draw(st.integers(0, n1)), n1, draw(st.integers(0, n0)), n0


@PROPERTY_SETTINGS
@given(st.lists(stratum(), min_size=1, max_size=6))
def test_mantel_haenszel_matches_statsmodels(strata):
    ours = stats.mantel_haenszel(strata)
    assert_json_clean(ours)
    used = [s for s in strata if s[1] > 0 and s[3] > 0]
    assert ours["strata"] == len(used)
    if not used:
        assert ours["odds_ratio"] is None and ours["p_value"] is None and ours["note"]
        return
    tables = [[[x1, n1 - x1], [x0, n0 - x0]] for x1, n1, x0, n0 in used]
    reference = StratifiedTable(tables)
    bc = sum((n1 - x1) * x0 / (n1 + n0) for x1, n1, x0, n0 in used)
    ad = sum(x1 * (n0 - x0) / (n1 + n0) for x1, n1, x0, n0 in used)
    if bc == 0:
        assert ours["odds_ratio"] is None and ours["ci95"] is None
    else:
        assert_close(ours["odds_ratio"], reference.oddsratio_pooled)
        if ad == 0:
            assert ours["ci95"] is None
        else:
            low, high = reference.oddsratio_pooled_confint()
            assert_close(ours["ci95"], [low, high], rel=1e-8)
    with np.errstate(all="ignore"):
        null = reference.test_null_odds(correction=False)
    if not np.isfinite(null.statistic):
        assert ours["p_value"] is None
    else:
        # statsmodels takes 1 - cdf, which loses tiny p-values; we use the survival
        # function, so compare the statistic-derived p exactly and statsmodels loosely.
        assert_close(ours["p_value"], float(norm.sf(math.sqrt(null.statistic)) * 2), rel=1e-7)
        assert ours["p_value"] == pytest.approx(null.pvalue, abs=1e-12)


def test_mantel_haenszel_recovers_a_common_odds_ratio_hidden_by_confounding():
    # Within each stratum the group does better (OR 2.25 in both), but most of the group
    # sits in the low-rate stratum, so pooled it looks worse: Simpson's paradox.
    strata = [(60, 600, 10, 100), (90, 100, 400, 500)]
    pooled = stats.compare(60 + 90, 700, 10 + 400, 600)
    assert pooled["lift"] < 0
    result = stats.mantel_haenszel(strata)
    assert result["odds_ratio"] > 1
    assert result["ci95"][0] < result["odds_ratio"] < result["ci95"][1]


@PROPERTY_SETTINGS
@given(
    st.integers(1, 200_000),
    st.integers(1, 200_000),
    st.floats(0.001, 0.95),
)
def test_min_detectable_lift_reaches_the_power_exactly(n1, n0, p0):
    lift = stats.min_detectable_lift(n1, n0, p0)
    se_at_one = math.sqrt(p0 * (1 - p0) / n0)
    reachable = normal_power_het(1 - p0, 1, 0.05, std_null=se_at_one) >= 0.8
    if not reachable:
        assert lift is None
        return
    assert type(lift) is float and lift > 0
    p1 = p0 * (1 + lift)
    assume(p1 < 1 - 1e-9)
    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    assert normal_power_het(p1 - p0, 1, 0.05, std_null=se) == pytest.approx(0.8, abs=1e-9)
    smaller = p0 * (1 + lift * 0.99)
    se_smaller = math.sqrt(smaller * (1 - smaller) / n1 + p0 * (1 - p0) / n0)
    assert normal_power_het(smaller - p0, 1, 0.05, std_null=se_smaller) < 0.8


@PROPERTY_SETTINGS
@given(st.floats(0.001, 0.999), st.floats(0.001, 0.999), st.integers(1, 200_000),
       st.integers(1, 200_000), st.floats(0.5, 4.0))
def test_the_power_formula_takes_its_normal_tails_from_scipy_to_the_bit(p1, p0, n1, n0, z):
    """_unpooled_power reads the tails from scipy.special (scipy.stats' argument checks
    cost 20x the formula); the values are norm.sf and norm.cdf's own, to the bit."""
    from scipy.stats import norm

    se = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    shift = (p1 - p0) / se
    assert stats._unpooled_power(p1, p0, n1, n0, z) == float(
        norm.sf(z - shift) + norm.cdf(-z - shift))


def test_min_detectable_lift_known_value_and_undefined_cases():
    # 10,000 per side at 10%: the textbook answer is about 12% relative (p1 ~ 0.1120).
    lift = stats.min_detectable_lift(10_000, 10_000, 0.10)
    assert 0.11 < lift < 0.13
    assert stats.min_detectable_lift(40_000, 40_000, 0.10) < lift  # more users, finer
    assert stats.min_detectable_lift(10_000, 10_000, 0.10, power=0.9) > lift
    assert stats.min_detectable_lift(0, 100, 0.1) is None
    assert stats.min_detectable_lift(100, 0, 0.1) is None
    assert stats.min_detectable_lift(100, 100, 0.0) is None
    assert stats.min_detectable_lift(100, 100, 1.0) is None
    # Three users against three: even p1 = 1 cannot be told from 0.5 with 80% power.
    assert stats.min_detectable_lift(3, 3, 0.5) is None
    with pytest.raises(ValueError):
        stats.min_detectable_lift(100, 100, 1.5)


# --- edge cases and the small functions ------------------------------------------------


def test_empty_sides_have_no_rate_no_interval_and_no_test():
    assert stats.rate(0, 0) is None
    assert stats.wilson_interval(0, 0) is None
    assert stats.side_summary(0, 0) == {"users": 0, "successes": 0, "rate": None, "ci95": None}
    for args in [(0, 0, 5, 10), (5, 10, 0, 0), (0, 0, 0, 0)]:
        result = stats.compare(*args)
        assert result["p_value"] is None and result["test"] is None
        assert result["lift_ci95"] is None
        assert isinstance(result["note"], str) and result["note"].endswith(".")
        assert result["diff"] is None
    assert "group" in stats.compare(0, 0, 5, 10)["note"]
    assert "rest" in stats.compare(5, 10, 0, 0)["note"]


def test_zero_and_all_successes():
    none_succeed = stats.compare(0, 50, 0, 70)
    assert none_succeed["p_value"] is None and none_succeed["lift"] is None
    assert "No user succeeded" in none_succeed["note"]
    all_succeed = stats.compare(50, 50, 70, 70)
    assert all_succeed["p_value"] is None and all_succeed["lift"] == 0.0
    assert "Every user succeeded" in all_succeed["note"]
    zero_group = stats.compare(0, 200, 30, 800)
    assert zero_group["lift"] == -1.0 and zero_group["lift_ci95"] is None
    assert zero_group["test"] == "z"
    zero_rest = stats.compare(5, 100, 0, 900)
    assert zero_rest["lift"] is None and zero_rest["test"] == "fisher"
    assert stats.wilson_interval(0, 10)[0] == 0.0
    assert stats.wilson_interval(10, 10)[1] == 1.0


def test_single_user_sides():
    assert stats.wilson_interval(1, 1) == pytest.approx([0.2065493143772374, 1.0], rel=REL)
    assert stats.wilson_interval(0, 1) == pytest.approx([0.0, 0.7934506856227626], rel=REL)
    result = stats.compare(1, 1, 0, 1)
    assert result["test"] == "fisher" and result["p_value"] == 1.0
    assert result["lift"] is None and result["lift_ci95"] is None


def test_expected_cell_of_exactly_five_stays_with_z():
    # group 10 of 20, rest 10 of 20: expected cells are all 10; group 5 of 10 vs 5 of 10 -> 5
    assert stats.compare(5, 10, 5, 10)["test"] == "z"
    assert stats.compare(4, 10, 5, 10)["test"] == "fisher"  # expected successes 4.5


def test_bad_counts_are_refused():
    for args in [(-1, 10), (11, 10), (1.5, 10)]:
        with pytest.raises((ValueError, TypeError)):
            stats.rate(*args)
    with pytest.raises(ValueError):
        stats.compare(5, 4, 1, 10)
    with pytest.raises(ValueError):
        stats.bh_adjust([0.5, float("nan")])


def test_numpy_counts_give_plain_python_results():
    result = stats.compare(np.int64(120), np.int64(1000), np.int64(100), np.int64(1000))
    assert_json_clean(result)
    assert_json_clean(stats.side_summary(np.int64(3), np.int64(7)))
    assert type(stats.chi_square_independence([(np.int64(1), np.int64(9)), (5, 9)])) is float


def test_extreme_effect_gives_zero_p_not_nan():
    result = stats.compare(9000, 10000, 1000, 10000)
    assert result["p_value"] == 0.0
    assert_json_clean(result)


def test_chi_square_ignores_empty_buckets():
    with_empty = stats.chi_square_independence([(120, 1000), (0, 0), (100, 1000)])
    assert with_empty == stats.chi_square_independence([(120, 1000), (100, 1000)])
    assert stats.chi_square_independence([(120, 1000), (0, 0)]) is None
    assert stats.chi_square_independence([]) is None
    assert stats.chi_square_independence([(10, 10), (5, 5)]) is None


def test_bh_edge_cases():
    assert stats.bh_adjust([]) == []
    assert stats.bh_adjust([None, None]) == [None, None]
    # None does not count in the family: one real test is adjusted as a family of one.
    assert stats.bh_adjust([None, 0.03, None]) == [None, 0.03, None]
    assert stats.bh_adjust([0.01, 0.04]) == [0.02, 0.04]


@pytest.mark.parametrize(
    ("q", "lift", "n_group", "n_rest", "expected"),
    [
        (0.01, 0.2, 100, 100, "supported"),
        (0.01, -0.2, 100, 100, "contradicted"),
        (0.049999, 0.2, 30, 30, "supported"),
        (0.05, 0.2, 100, 100, "inconclusive"),
        (0.2, 0.2, 100, 100, "inconclusive"),
        (0.01, 0.0, 100, 100, "inconclusive"),
        (None, None, 100, 100, "inconclusive"),
        (0.01, None, 100, 100, "inconclusive"),
        (0.001, 0.5, 29, 1000, "not enough data"),
        (0.001, 0.5, 1000, 29, "not enough data"),
    ],
)
def test_verdict(q, lift, n_group, n_rest, expected):
    assert stats.verdict(q, lift, n_group, n_rest) == expected


def test_change_test_uses_the_same_machinery():
    moved = stats.change_test(300, 1000, 200, 1000)
    assert moved["moved"] is True and moved["test"] == "z"
    assert moved["diff"] == pytest.approx(0.1)
    assert_close(moved["p_value"], proportions_ztest([300, 200], [1000, 1000])[1])
    still = stats.change_test(105, 1000, 100, 1000)
    assert still["moved"] is False
    small = stats.change_test(3, 10, 0, 12)
    assert small["test"] == "fisher"
    assert_close(small["p_value"], fisher_exact([[3, 7], [0, 12]]).pvalue)
    empty = stats.change_test(0, 0, 10, 100)
    assert empty["p_value"] is None and empty["moved"] is False and empty["note"]
    assert set(moved) == {"diff", "p_value", "test", "moved"}
    assert_json_clean(empty)


def test_z95_is_the_normal_quantile():
    assert stats.Z95 == pytest.approx(float(norm.ppf(0.975)), rel=1e-15)
