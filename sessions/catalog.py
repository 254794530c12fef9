"""The worksheet's segment catalog as starting points for new ideas (step 4).

The catalog and the dataset's confirmed role mapping belong to the segments app; before
the team confirms a mapping it offers nothing, and the page says how to get the catalog."""

from __future__ import annotations

import logging

from analytics.models import Dataset
from segments.catalog import segment_hypothesis
from segments.selectors import confirmed_roles, hypothesis_starters

log = logging.getLogger(__name__)


def starter_choices(dataset: Dataset) -> list[dict]:
    """[{"code", "label", "group"}]: "key" for a segment's headline group, "key=value" for
    one value of a segment that splits by a property (plan, company size...)."""
    try:
        starters = hypothesis_starters(dataset)
    except Exception:  # a catalog problem must not break the meeting
        log.exception("segment catalog unavailable for dataset %s", dataset.pk)
        return []
    choices = []
    for starter in starters:
        if starter.get("criterion"):
            choices.append({"code": starter["key"], "label": starter["name"],
                            "group": starter["group"], "text": starter["text"]})
        for value in starter.get("values") or []:
            choices.append({"code": f"{starter['key']}={value}",
                            "label": f"{starter['name']}: {value}", "group": starter["group"],
                            "text": ""})
    return choices


def starter(dataset: Dataset, code: str) -> dict | None:
    """{"text", "criterion"} for a starter code, or None."""
    key, _, value = (code or "").partition("=")
    if not key:
        return None
    roles = confirmed_roles(dataset)
    if not roles:
        return None
    try:
        return segment_hypothesis(key, roles, value=value or None)
    except Exception:
        log.exception("segment %s could not start a hypothesis", key)
        return None
