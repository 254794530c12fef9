"""Numbers as people read them on every page, email, report and chart: rates in percent,
lifts with their sign, intervals, counts with thousands separators, p-values. Plain
Python; the template filters (analytics/templatetags/number_format.py) call these.

A missing value is a dash on dashboards and in the explorer, "n/a" on session pages and
in the report: each caller names the one it shows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DASH = "–"
NA = "n/a"
MINUS = "\u2212"


def _missing(value: Any) -> bool:
    return value is None or value == ""


def percent(value: Any, digits: int = 1, *, missing: str = DASH, signed: bool = False) -> str:
    """0.1234 -> "12.3%"; signed: 0.052 -> "+5.2%", -0.274 -> "-27.4%"."""
    if _missing(value):
        return missing
    sign = "+" if signed else ""
    return f"{float(value) * 100:{sign}.{int(digits)}f}%"


def signed_percent(value: Any, digits: int = 0, *, missing: str = NA) -> str:
    """A relative lift as prose writes it: 0.61 -> "+61%", -0.12 -> "−12%" (a true minus),
    and no sign on what rounds to zero."""
    if _missing(value):
        return missing
    number = float(value) * 100
    text = f"{abs(number):.{int(digits)}f}%"
    if round(number, int(digits)) == 0:
        return text
    return ("+" if number > 0 else MINUS) + text


def points(value: Any, *, missing: str = DASH) -> str:
    """A difference of rates in percentage points: 0.052 -> "+5.2 pts"."""
    if _missing(value):
        return missing
    return f"{100 * float(value):+.1f} pts"


def percent_interval(values: Sequence | None, *, missing: str = DASH) -> str:
    """[0.28, 0.405] -> "28.0% – 40.5%"."""
    if not values:
        return missing
    return f"{percent(values[0])} – {percent(values[1])}"


def percent_range(values: Sequence | None, digits: int = 1, *, missing: str = NA) -> str:
    """[0.28, 0.405] -> "28.0–40.5%" (one percent sign, for tight table cells)."""
    if not values:
        return missing
    low, high = values
    return f"{low * 100:.{int(digits)}f}–{high * 100:.{int(digits)}f}%"


def lift_interval(values: Sequence | None, *, typographic: bool = False,
                  missing: str = DASH) -> str:
    """[0.2, 1.1] -> "+20.0% to +110.0%", or typographic: "+20% to +110%"."""
    if not values:
        return missing
    if typographic:
        return f"{signed_percent(values[0])} to {signed_percent(values[1])}"
    return f"{percent(values[0], signed=True)} to {percent(values[1], signed=True)}"


def ratio(value: Any, *, missing: str = DASH) -> str:
    """An odds ratio: 1.234 -> "1.23"."""
    return missing if _missing(value) else f"{float(value):.2f}"


def ratio_interval(values: Sequence | None, *, missing: str = DASH) -> str:
    if not values:
        return missing
    return f"{values[0]:.2f} – {values[1]:.2f}"


def count(value: int | None, *, missing: str = DASH) -> str:
    """12345 -> "12,345"."""
    return missing if value is None else f"{value:,}"


def p_value(value: Any, *, floor: float = 0.001, digits: int = 3,
            small_digits: int | None = None, missing: str = DASH) -> str:
    """A p-value: below `floor` as "< 0.001"; below 0.01 with `small_digits` decimals (when
    given), else with `digits`."""
    if _missing(value):
        return missing
    value = float(value)
    if value < floor:
        return f"< {floor}"
    if small_digits is not None and value < 0.01:
        return f"{value:.{small_digits}f}"
    return f"{value:.{digits}f}"


# The three ways pages write p-values: dashboards and their emails to three decimals; the
# explorer finer (its people read small p-values); session pages and the report briefer.
def p_value_dashboard(value: Any) -> str:
    return p_value(value)


def p_value_explore(value: Any) -> str:
    return p_value(value, floor=0.0001, digits=3, small_digits=4)


def p_value_session(value: Any) -> str:
    return p_value(value, digits=2, small_digits=3, missing=NA)


def cell(value: Any, *, digits: int = 4, missing: str = "") -> str:
    """A value of a query's result table as people read it: fractional numbers to
    `digits` decimals (significant ones below 1) without trailing zeros and with thousands
    separators (0.29721362229102166 -> "0.2972", 1234.5678 -> "1,234.5678"); integers as
    they are, since a column of them may hold ids or years (2024, not "2,024"); everything
    else as it is. For display only: stored results and CSV downloads keep the exact
    value."""
    if value is None:
        return missing
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if value != value or abs(value) == float("inf") or abs(value) >= 1e15:
        return str(value)
    if value.is_integer():
        return f"{int(value):,}"
    if abs(value) >= 1:
        text = f"{value:,.{digits}f}"
    else:
        # Small values keep `digits` significant figures: 0.000123456 -> "0.0001235".
        text = f"{value:.{digits}g}"
        if "e" in text:
            text = f"{value:.{digits + 8}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
