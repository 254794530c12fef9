"""analytics.engine.distributions against scipy.stats, whose import it spares the hot path:
the same values to the last bit over the whole range, 0.0 where scipy underflows."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import chi2, norm

from analytics.engine.distributions import chi_square_sf, normal_two_sided_p
from tests.fresh_python import fresh_python


def assert_agrees(ours: float, reference: float) -> None:
    assert type(ours) is float
    assert ours == reference


@given(st.floats(-45, 45, allow_nan=False))
def test_normal_tail_agrees_with_scipy(z):
    assert_agrees(normal_two_sided_p(z), float(norm.sf(abs(z)) * 2))


@pytest.mark.parametrize("z", [0.0, 0.7071, 1.959963984540054, 8.3, 37.5, 37.66, 37.68, 38.5, 80])
def test_normal_tail_at_the_branches_and_the_underflow(z):
    assert_agrees(normal_two_sided_p(z), float(norm.sf(z) * 2))
    assert normal_two_sided_p(-z) == normal_two_sided_p(z)


@given(st.integers(1, 120), st.floats(0, 2000, allow_nan=False))
def test_chi_square_tail_agrees_with_scipy(df, statistic):
    assert_agrees(chi_square_sf(statistic, df), float(chi2.sf(statistic, df)))


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 8])
def test_chi_square_tail_where_scipy_underflows(df):
    # Around the cut the values are denormal on both sides, then 0 on both.
    for step in range(400):
        statistic = 1400 + df * 2 + step * 0.25
        assert_agrees(chi_square_sf(statistic, df), float(chi2.sf(statistic, df)))


def test_chi_square_tail_edges():
    assert chi_square_sf(0.0, 3) == 1.0
    assert math.isnan(chi_square_sf(math.nan, 3))
    with pytest.raises(ValueError):
        chi_square_sf(1.0, 0)
    with pytest.raises(ValueError):
        chi_square_sf(1.0, 1.5)


def test_the_statistics_load_in_a_thread_of_their_own():
    # A fresh process: this one has scipy loaded already.
    probe = ("import sys; from analytics.engine import distributions; "
             "thread = distributions.load_in_background(); thread.join(); "
             "print(thread.name, 'scipy.special' in sys.modules, 'scipy.stats' in sys.modules)")
    result = fresh_python(probe)
    assert result.stdout.split() == ["hypothesislab-scipy-special", "True", "False"], result.stderr
