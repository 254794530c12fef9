"""The catalog picker that a Phase 2 hypothesis form includes (numbers are formatted by
analytics' number_format filters)."""

import json

from django import template

from segments.selectors import hypothesis_starters

register = template.Library()


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
