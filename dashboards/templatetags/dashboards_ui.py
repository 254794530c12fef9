"""Number formatting for Phase 1 pages and emails, and the catalog picker that a Phase 2
hypothesis form includes."""

import json

from django import template

from dashboards.charts import percent as _percent
from segments.selectors import hypothesis_starters

register = template.Library()


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.1234 -> "12.3%"; None -> "–"."""
    return _percent(value, int(digits))


@register.filter
def points(value) -> str:
    """A difference of rates in percentage points: 0.052 -> "+5.2 pts"."""
    if value is None:
        return "–"
    return f"{100 * value:+.1f} pts"


@register.filter
def pvalue(value) -> str:
    if value is None:
        return "–"
    if value < 0.001:
        return "< 0.001"
    return f"{value:.3f}"


@register.inclusion_tag("dashboards/includes/segment_picker.html")
def catalog_segment_picker(dataset, *, field_prefix: str = "", limit: int = 40):
    """One-click starts for a Phase 2 hypothesis: the catalog segments this dataset's
    confirmed mapping supports, each as a link (`?from_segment=<key>`, plus `&value=` for
    a segment that splits by a property's values) carrying its criterion as data for
    scripts. Usage: {% load dashboards_ui %}{% catalog_segment_picker session.dataset %}"""
    starters = hypothesis_starters(dataset) if dataset is not None else []
    for starter in starters:
        starter["criterion_json"] = json.dumps(starter["criterion"]) if starter["criterion"] \
            else ""
    return {"starters": starters[:limit], "field_prefix": field_prefix, "dataset": dataset}
