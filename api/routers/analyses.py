"""Analyses: submit a success definition with a criterion or a breakdown, poll the job,
read the result exactly as `manage.py analyze` prints it (definitions.md section 6)."""

from __future__ import annotations

from django.http import JsonResponse
from ninja import Router, Status

from analytics import selectors, services
from analytics.engine.refusals import Refused
from analytics.models import AnalysisJob, JobStatus

from ..errors import ApiRefusal
from ..schemas import AnalysisIn, AnalysisOut, JsonObject, answers
from ..scoping import team_of

router = Router(tags=["analyses"])


def analysis_out(job: AnalysisJob) -> dict:
    return {
        "id": job.pk, "kind": job.kind, "status": job.status, "error": job.error,
        "dataset_id": job.dataset_id, "dataset_version": job.dataset_version,
        "success": job.success, "criterion": job.criterion, "breakdown": job.breakdown,
        "created_at": job.created_at, "started_at": job.started_at,
        "finished_at": job.finished_at,
        "result": job.result if job.status == JobStatus.DONE else None,
    }


@router.post("/teams/{team_slug}/analyses",
             response=answers({202: AnalysisOut}, 400, 409),
             summary="Test a criterion or a breakdown against a success definition",
             description="Give `success_definition_id` (one of the team's) or `success`, "
                         "and `criterion` or `breakdown`. The test runs in the background: "
                         "poll the analysis until its status is `done` or `failed`.")
def analysis_submit(request, team_slug: str, payload: AnalysisIn):
    team = team_of(request, team_slug)
    dataset = selectors.dataset_of(team, payload.dataset_id)
    if (payload.success_definition_id is None) == (payload.success is None):
        raise ApiRefusal(400, "Give either success_definition_id or success.")
    if payload.success_definition_id is not None:
        success = selectors.success_definition_of(team, payload.success_definition_id).definition
    else:
        success = payload.success
    criterion, breakdown = payload.criterion, payload.breakdown
    if criterion is not None and set(criterion) == {"breakdown"}:
        # The CLI's --criterion takes a breakdown in this form; so does the API.
        if breakdown is not None:
            raise ApiRefusal(400, "Give either a criterion or a breakdown, not both.")
        criterion, breakdown = None, criterion
    if (criterion is None) == (breakdown is None):
        raise ApiRefusal(400, "Give either a criterion or a breakdown.")
    if not dataset.is_ready:
        raise ApiRefusal(409, "The dataset has no imported data yet.")
    try:
        job = services.analysis_submit(team=team, dataset=dataset, success=success,
                                       criterion=criterion, breakdown=breakdown,
                                       created_by=request.auth)
    except Refused as refusal:  # a bad definition, a dataset that cannot take it
        raise ApiRefusal(refusal.status, refusal.message) from None
    job.refresh_from_db()
    return Status(202, analysis_out(job))


@router.get("/teams/{team_slug}/analyses/{analysis_id}",
            response=answers({200: AnalysisOut}),
            summary="An analysis: its status and, once done, its result")
def analysis_detail(request, team_slug: str, analysis_id: int):
    job = selectors.job_of(team_of(request, team_slug), analysis_id)
    return Status(200, analysis_out(job))


@router.get("/teams/{team_slug}/analyses/{analysis_id}/result",
            response=answers({200: JsonObject}, 409),
            summary="The result alone, exactly as `manage.py analyze` prints it",
            description="409 until the analysis is done (or when it failed: see its "
                        "`error`).")
def analysis_result(request, team_slug: str, analysis_id: int):
    job = selectors.job_of(team_of(request, team_slug), analysis_id)
    if job.status != JobStatus.DONE or job.result is None:
        state = "failed: " + job.error if job.status == JobStatus.FAILED else job.status
        raise ApiRefusal(409, f"No result: the analysis is {state}.")
    # Straight from the row, so that not even a float is re-rendered on the way out.
    return JsonResponse(job.result)
