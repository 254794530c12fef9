"""Reads for the explorer, always scoped to the request's team."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404
from django.utils.http import urlencode

from accounts.models import Team
from analytics import selectors as analytics_selectors
from analytics.models import AnalysisJob, Dataset, SuccessDefinition
from sessions.selectors import session_of

EXPLORE_KINDS = ("analyze", "compare", "stratify", "sql")


@dataclass
class Where:
    """The data a question is asked of: a working session's dataset and success
    definition, or a dataset and a success definition picked outside any session."""

    dataset: Dataset | None
    success: SuccessDefinition | None
    session: object | None = None  # sessions.models.WorkingSession

    @property
    def is_ready(self) -> bool:
        return (self.dataset is not None and self.dataset.is_ready
                and self.success is not None)

    @property
    def params(self) -> dict[str, int]:
        if self.session is not None:
            return {"session": self.session.pk}
        params = {}
        if self.dataset is not None:
            params["dataset"] = self.dataset.pk
        if self.success is not None:
            params["success"] = self.success.pk
        return params

    @property
    def query(self) -> str:
        return "?" + urlencode(self.params) if self.params else ""


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def where_of(team: Team, params) -> Where:
    """The Where named by request parameters (session, or dataset and success); without
    them, the team's newest ready dataset and its first success definition."""
    session_id = _int(params.get("session"))
    if session_id is not None:
        session = session_of(team, session_id)  # 404 for another team's session
        return Where(dataset=session.dataset, success=session.success_definition,
                     session=session)
    datasets = analytics_selectors.ready_datasets_of(team)
    dataset_id = _int(params.get("dataset"))
    dataset = datasets.filter(pk=dataset_id).first() if dataset_id else datasets.first()
    if dataset_id and dataset is None:
        raise Http404("No such dataset")
    successes = analytics_selectors.success_definitions_of(team)
    success_id = _int(params.get("success"))
    if success_id:
        success = SuccessDefinition.objects.filter(team=team, pk=success_id).first()
        if success is None:
            raise Http404("No such success definition")
    else:
        success = successes.first()
    return Where(dataset=dataset, success=success)


def explore_job_of(team: Team, job_id: int) -> AnalysisJob:
    job = (AnalysisJob.objects
           .select_related("dataset", "success_definition", "session__success_definition",
                           "session__dataset")
           .filter(team=team, pk=job_id, kind__in=EXPLORE_KINDS).first())
    if job is None:
        raise Http404("No such result")
    return job


def where_of_job(job: AnalysisJob) -> Where:
    """The Where a job was asked in (its session, if any, still of the job's team)."""
    success = job.success_definition
    if success is not None and success.team_id != job.team_id:
        success = None
    session = job.session
    if session is not None and session.team_id != job.team_id:
        session = None
    return Where(dataset=job.dataset, success=success, session=session)


def recent_jobs(team: Team, where: Where, user, limit: int = 8) -> list[AnalysisJob]:
    """The latest questions asked of the same data (in the same session, if any)."""
    jobs = AnalysisJob.objects.filter(team=team, kind__in=EXPLORE_KINDS)
    if where.session is not None:
        jobs = jobs.filter(session=where.session)
    elif where.dataset is not None:
        jobs = jobs.filter(dataset=where.dataset)
    return list(jobs.select_related("created_by").order_by("-created_at", "-pk")[:limit])
