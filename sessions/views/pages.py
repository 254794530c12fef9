"""The session pages: the team's list, starting a session, the live session, its report
(HTML and Markdown) and a member's record."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods

from accounts.decorators import team_member_required
from accounts.models import Membership
from analytics.selectors import ready_datasets_of, success_definitions_of

from .. import selectors, services
from ..forms import SessionCreateForm
from ..page import build_context, session_url
from ..report import build_report, report_markdown
from .common import load


@team_member_required
@require_GET
def session_list(request: HttpRequest, team_slug: str) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    sessions = list(selectors.sessions_of(request.team, query=query)[:100])
    counts = selectors.verdict_counts(sessions)
    for session in sessions:
        session.verdicts = counts[session.pk]
    context = {
        "sessions": sessions, "query": query,
        "open_sessions": [s for s in sessions if not s.is_closed],
        "past_sessions": [s for s in sessions if s.is_closed],
        "can_start": ready_datasets_of(request.team).exists()
        and success_definitions_of(request.team).exists(),
        "members": Membership.objects.filter(team=request.team).select_related("user"),
    }
    if request.htmx and request.htmx.target == "session-results":
        return render(request, "worksessions/session_list.html#results", context)
    return render(request, "worksessions/session_list.html", context)


@team_member_required
@require_http_methods(["GET", "POST"])
def session_create(request: HttpRequest, team_slug: str) -> HttpResponse:
    form = SessionCreateForm(request.POST or None, team=request.team)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = services.session_create(
                team=request.team, dataset=data["dataset"],
                success_definition=data["success_definition"], title=data["title"],
                facilitator=request.user, created_by=request.user,
                dig_minutes=data["dig_minutes"], hide_entries=data["hide_entries"])
        except services.SessionRefused as refusal:
            form.add_error(None, refusal.message)
        else:
            return redirect(session_url(session))
    return render(request, "worksessions/session_create.html", {
        "form": form,
        "has_datasets": ready_datasets_of(request.team).exists(),
        "has_definitions": success_definitions_of(request.team).exists(),
    })


@team_member_required
@require_GET
def session_detail(request: HttpRequest, team_slug: str, session_id: int) -> HttpResponse:
    session = load(request, session_id)
    participant = selectors.participant_of(session, request.user)
    if participant is None and not session.is_closed:
        # Opening the page is joining: the meeting is for the whole team.
        participant = services.session_join(session=session, user=request.user)
        session = load(request, session_id)
    elif participant is not None and not session.is_closed:
        # Back on the page counts as being here, before its first poll says so.
        services.presence_touch(participant_id=participant.pk)
        participant.last_seen_at = timezone.now()
    context = build_context(request, session, participant)
    template = "worksessions/_body.html" if request.htmx else "worksessions/session_detail.html"
    return render(request, template, context)


@team_member_required
@require_GET
def session_report(request: HttpRequest, team_slug: str, session_id: int) -> HttpResponse:
    session = load(request, session_id)
    report = build_report(session)
    return render(request, "worksessions/report.html", {"report": report, "session": session})


@team_member_required
@require_GET
def session_report_md(request: HttpRequest, team_slug: str, session_id: int) -> HttpResponse:
    session = load(request, session_id)
    text = report_markdown(build_report(session))
    response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
    name = slugify(session.title)[:60] or f"session-{session.pk}"
    response["Content-Disposition"] = (f'attachment; filename="{name}-'
                                       f'{session.created_at:%Y-%m-%d}.md"')
    return response


@team_member_required
@require_GET
def member_record(request: HttpRequest, team_slug: str, user_id: int) -> HttpResponse:
    membership = (Membership.objects.select_related("user")
                  .filter(team=request.team, user_id=user_id).first())
    if membership is None:
        raise Http404("No such member")
    record = selectors.member_record(request.team, membership.user)
    return render(request, "worksessions/member_record.html", {
        "record": record, "member": membership.user, "membership": membership})

