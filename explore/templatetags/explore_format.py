"""Numbers as the explorer shows them: rates and lifts in percent, p-values readable,
intervals as "a – b"; a missing value is a dash."""

from __future__ import annotations

from django import template

register = template.Library()
DASH = "–"


@register.filter
def pct(value) -> str:
    return DASH if value is None else f"{value * 100:.1f}%"


@register.filter
def lift(value) -> str:
    return DASH if value is None else f"{value * 100:+.1f}%"


@register.filter
def pvalue(value) -> str:
    if value is None:
        return DASH
    if value < 0.0001:
        return "< 0.0001"
    return f"{value:.4f}" if value < 0.01 else f"{value:.3f}"


@register.filter
def interval(value) -> str:
    if not value:
        return DASH
    return f"{value[0] * 100:.1f}% – {value[1] * 100:.1f}%"


@register.filter
def lift_interval(value) -> str:
    if not value:
        return DASH
    return f"{value[0] * 100:+.1f}% to {value[1] * 100:+.1f}%"


@register.filter
def ratio(value) -> str:
    return DASH if value is None else f"{value:.2f}"


@register.filter
def ratio_interval(value) -> str:
    if not value:
        return DASH
    return f"{value[0]:.2f} – {value[1]:.2f}"


@register.filter
def explore_title(job) -> str:
    from explore.snapshots import title_of

    return title_of(job)


@register.filter
def p_text(value) -> str:
    """"p = 0.066", "p < 0.0001", or "no test"."""
    if value is None:
        return "no test"
    shown = pvalue(value)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"
