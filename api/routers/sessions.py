"""Working sessions: the list, the report as JSON and as Markdown, and adding a
hypothesis under exactly the rules of the session page (sessions.services decides)."""

from __future__ import annotations

from django.http import HttpResponse
from ninja import Router, Status

from sessions import selectors as session_selectors
from sessions import services as session_services

from .. import reports
from ..errors import ApiRefusal
from ..schemas import (
    HypothesisIn,
    HypothesisOut,
    SessionOut,
    SessionReportOut,
    answers,
)
from ..scoping import team_of

router = Router(tags=["sessions"])


@router.get("/teams/{team_slug}/sessions",
            response=answers({200: list[SessionOut]}),
            summary="The team's working sessions, newest first",
            description="`q` finds text in titles, hypotheses, findings and next steps.")
def session_list(request, team_slug: str, q: str = ""):
    team = team_of(request, team_slug)
    sessions = session_selectors.sessions_of(team, query=q[:200])
    return Status(200, [reports.session_summary(s) for s in sessions])


@router.get("/teams/{team_slug}/sessions/{session_id}",
            response=answers({200: SessionReportOut}),
            summary="A session's report as JSON")
def session_report(request, team_slug: str, session_id: int):
    session = session_selectors.session_of(team_of(request, team_slug), session_id)
    return Status(200, reports.session_report(session))


@router.get("/teams/{team_slug}/sessions/{session_id}/report.md",
            response=answers({}),
            openapi_extra={"responses": {200: {
                "description": "The report in Markdown",
                "content": {"text/markdown": {"schema": {"type": "string"}}}}}},
            summary="A session's report as Markdown")
def session_markdown(request, team_slug: str, session_id: int):
    session = session_selectors.session_of(team_of(request, team_slug), session_id)
    text = reports.session_markdown(session)
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="session-{session.pk}.md"'
    return response


@router.post("/teams/{team_slug}/sessions/{session_id}/hypotheses",
             response=answers({201: HypothesisOut}, 400, 403, 409),
             summary="Add a hypothesis (or a new idea) as the caller",
             description="The same rules as the session page: at most three of each kind "
                         "per member, only in the steps that take them, criterion checked "
                         "against the session's dataset. Like opening the session page, "
                         "this makes the caller a participant.")
def hypothesis_add(request, team_slug: str, session_id: int, payload: HypothesisIn):
    session = session_selectors.session_of(team_of(request, team_slug), session_id)
    try:
        session_services.session_join(session=session, user=request.auth)
        entry = session_services.hypothesis_create(
            session=session, author=request.auth, text=payload.text, kind=payload.kind,
            criterion=payload.criterion, expected_direction=payload.expected_direction,
            confidence=payload.confidence)
    except session_services.SessionRefused as refusal:
        raise ApiRefusal(refusal.status, refusal.message) from None
    return Status(201, reports.hypothesis_out(entry))
