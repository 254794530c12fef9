"""{% load value_hints %}: the values in the data beside a form's value inputs, and the
outcome of a quick count or a success preview (polled with htmx while its job runs)."""

from __future__ import annotations

from django import template
from django.urls import reverse

from analytics import checks, numbers
from analytics.value_hints import value_lists as lists_of

register = template.Library()


@register.inclusion_tag("analytics/_value_lists.html")
def value_lists(values, prefix: str) -> dict:
    """One datalist per profiled property (static/js/values.js attaches them), from an
    analytics.checks.FormValues; or, when the version was never profiled, a region that
    asks for its values job once the page has loaded."""
    profile = getattr(values, "profile", None)
    missing = getattr(values, "missing_for", None)
    ensure_url = (reverse("analytics:values_ensure", kwargs={
        "team_slug": missing.team.slug, "dataset_id": missing.pk}) if missing else None)
    return {"lists": lists_of(profile, str(prefix)), "ensure_url": ensure_url}


@register.inclusion_tag("analytics/_check_job.html")
def check_job(job) -> dict:
    """A quick count's or a success preview's outcome, or a region that polls for it."""
    if not job:  # none asked (a missing variable renders as "")
        return {"job": None}
    url = reverse("analytics:check_status",
                  kwargs={"team_slug": job.team.slug, "check_id": job.pk})
    outcome = (checks.preview_numbers(job) if job.kind == "preview"
               else checks.group_size(job))
    return {"job": job, "url": url, "outcome": outcome}


@register.filter
def grouped(value) -> str:
    """12345 -> "12,345"; missing -> "–"."""
    return numbers.count(value)
