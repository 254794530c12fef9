"""Number filters for every app's templates: {% load number_format %}. Each is a thin
call into analytics.numbers; the filter's name says which page style it writes (a dash or
"n/a" for a missing value, how many decimals a p-value gets)."""

from __future__ import annotations

from django import template

from analytics import numbers

register = template.Library()


# ---------------------------------------------------------------- dashboards and explorer


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.1234 -> "12.3%"; missing -> "–"."""
    return numbers.percent(value, int(digits))


@register.filter
def lift(value) -> str:
    """0.052 -> "+5.2%"; missing -> "–"."""
    return numbers.percent(value, signed=True)


@register.filter
def points(value) -> str:
    """A difference of rates in percentage points: 0.052 -> "+5.2 pts"."""
    return numbers.points(value)


@register.filter
def interval(value) -> str:
    """[0.28, 0.405] -> "28.0% – 40.5%"."""
    return numbers.percent_interval(value)


@register.filter
def lift_range(value) -> str:
    """[0.012, 0.05] -> "+1.2% to +5.0%"."""
    return numbers.lift_interval(value)


@register.filter
def ratio(value) -> str:
    return numbers.ratio(value)


@register.filter
def ratio_interval(value) -> str:
    return numbers.ratio_interval(value)


@register.filter
def pvalue_3(value) -> str:
    """Dashboards and digests: "0.042", "< 0.001"."""
    return numbers.p_value_dashboard(value)


@register.filter
def pvalue_4(value) -> str:
    """The explorer: "0.066", "0.0049", "< 0.0001"."""
    return numbers.p_value_explore(value)


@register.filter
def p_text(value) -> str:
    """"p = 0.066", "p < 0.0001", or "no test"."""
    if value is None:
        return "no test"
    shown = numbers.p_value_explore(value)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


# ---------------------------------------------------------------- session pages and report


@register.filter
def pct(value, digits: int = 1) -> str:
    """0.3412 -> "34.1%"; missing -> "n/a"."""
    return numbers.percent(value, int(digits), missing=numbers.NA)


@register.filter
def signed_pct(value, digits: int = 0) -> str:
    """A relative lift: 0.61 -> "+61%", -0.12 -> "−12%"."""
    return numbers.signed_percent(value, int(digits))


@register.filter
def interval_pct(values, digits: int = 1) -> str:
    """[0.28, 0.405] -> "28.0–40.5%"."""
    return numbers.percent_range(values, int(digits))


@register.filter
def lift_interval(values) -> str:
    """[0.2, 1.1] -> "+20% to +110%"."""
    return numbers.lift_interval(values, typographic=True, missing=numbers.NA)


@register.filter
def pvalue(value) -> str:
    """Session pages and the report: "0.42", "0.004", "< 0.001"; missing -> "n/a"."""
    return numbers.p_value_session(value)


@register.filter
def pvalue_eq(value) -> str:
    """"= 0.02" or "< 0.001", to follow "p" or "q"."""
    text = numbers.p_value_session(value)
    return text if text.startswith("<") or text == numbers.NA else f"= {text}"


# ---------------------------------------------------------------- everywhere


@register.filter
def thousands(value) -> str:
    """1204 -> "1,204"; missing -> "–"."""
    return numbers.count(value)


@register.filter
def cell(value) -> str:
    """A table cell as people read it: 0.29721362229102166 -> "0.2972", 12045 -> "12,045";
    text as it is (the stored result and CSV downloads stay exact)."""
    return numbers.cell(value)
