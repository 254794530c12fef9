"""What a form shows before a test is queued, from stored rows only: warnings about the
values a criterion compares with (from the version's values job), and a quick count's
or a success preview's outcome as words (from its job row). The counts themselves run as
jobs (services.group_count_submit, services.success_preview_submit)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from analytics.engine.stats import MIN_USERS_FOR_VERDICT
from analytics.engine.value_warnings import value_warnings

from . import numbers, selectors
from .models import AnalysisJob, Dataset, JobStatus


@dataclass
class FormValues:
    """What a form offers beside its value inputs: the stored profile, or (when the
    version has no values job at all: made before they existed, or restored) the dataset
    whose job the page asks for, by a request of its own (a page view writes nothing)."""

    profile: dict | None
    missing_for: Dataset | None = None


def profile_for_form(dataset: Dataset | None) -> FormValues:
    if dataset is None or not dataset.is_ready:
        return FormValues(None)
    jobs = selectors.value_profile_jobs(dataset)
    job = jobs[0] if jobs else None  # the latest, failed or not
    if job is None:
        return FormValues(None, missing_for=dataset)
    return FormValues(job.result if job.status == JobStatus.DONE else None)


def criterion_warnings(dataset: Dataset | None, *criteria: dict | None) -> list[str]:
    """Each criterion's value warnings, against the current version's stored values
    (none while they are not read yet)."""
    profile = selectors.value_profile_of(dataset)
    found: list[str] = []
    for criterion in criteria:
        found += value_warnings(criterion, profile)
    return list(dict.fromkeys(found))


def group_size(job: AnalysisJob | None) -> dict:
    """A quick count as the form says it: {"state": "waiting" | "done" | "failed",
    "users", "too_few", "text"}."""
    if job is None:
        return {"state": "none", "text": ""}
    if job.status == JobStatus.FAILED:
        return {"state": "failed", "text": f"The group could not be counted: {job.error}"}
    if job.status != JobStatus.DONE or not job.result:
        return {"state": "waiting", "text": "Counting the users of this group…"}
    users = int((job.result.get("group") or {}).get("users", 0))
    if users == 0:
        text = ("This group holds 0 users: the test would have no one to compare. "
                "Check the values.")
    elif users < MIN_USERS_FOR_VERDICT:
        text = (f"This group holds {numbers.count(users)} users: too few for a verdict "
                f"({MIN_USERS_FOR_VERDICT} needed).")
    else:
        text = f"This group holds {numbers.count(users)} users."
    return {"state": "done", "users": users, "too_few": users < MIN_USERS_FOR_VERDICT,
            "text": text}


def preview_numbers(job: AnalysisJob | None) -> dict:
    """A success preview as the form shows it: {"state", "population"?, "text"?}."""
    if job is None:
        return {"state": "none"}
    if job.status == JobStatus.FAILED:
        return {"state": "failed", "text": job.error}
    if job.status != JobStatus.DONE or not job.result:
        return {"state": "waiting"}
    return {"state": "done", "population": job.result.get("population") or {}}


def known_group_count(dataset: Dataset, success: dict, criterion: dict) -> AnalysisJob | None:
    """A finished quick count of this very question on the current version, by anyone of
    the team, so a test whose group is known to be large enough needs no second look."""
    return selectors.same_question(dataset, AnalysisJob.Kind.COUNT, Q(status=JobStatus.DONE),
                                   limit=50, success=success, criterion=criterion, options={})
