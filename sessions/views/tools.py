"""The facilitator's meeting tools on the session page: a timebox on a step, dot-voting on
the revealed hypotheses, and running the tests in vote order. Each is a POST that calls
one service and answers like every other write (see common.respond)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from accounts.decorators import team_member_required

from .. import services
from ..forms import TimeboxForm, VoteOpenForm
from ..models import WorkingSession
from .common import entry_of, respond, run, writes_session


def _invalid(request: HttpRequest, session: WorkingSession, forms: dict) -> HttpResponse:
    # htmx gets the form back with its error (it swaps 2xx only); a plain POST a 400.
    return respond(request, session, forms=forms, status=200 if request.htmx else 400)


@team_member_required
@require_POST
@writes_session
def timebox_set(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    form = TimeboxForm(request.POST)
    if not form.is_valid():
        return _invalid(request, session, {"timebox": form})
    return run(request, session, lambda: services.timebox_set(
        session=session, by=request.user, minutes=form.cleaned_data["minutes"],
        step=form.cleaned_data["step"]), forms={"timebox": form}, form_key="timebox")


@team_member_required
@require_POST
@writes_session
def vote_open(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    form = VoteOpenForm(request.POST)
    if not form.is_valid():
        return _invalid(request, session, {"vote": form})
    return run(request, session, lambda: services.vote_open(
        session=session, by=request.user, dots_per_member=form.cleaned_data["dots_per_member"]),
        forms={"vote": form}, form_key="vote", anchor="vote")


@team_member_required
@require_POST
@writes_session
def vote_close(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    return run(request, session, lambda: services.vote_close(session=session, by=request.user),
               anchor="vote")


@team_member_required
@require_POST
@writes_session
def dot_place(request: HttpRequest, session: WorkingSession, entry_id: int) -> HttpResponse:
    entry = entry_of(session, entry_id)
    return run(request, session, lambda: services.dot_place(
        session=session, by=request.user, hypothesis=entry), anchor="vote")


@team_member_required
@require_POST
@writes_session
def dot_remove(request: HttpRequest, session: WorkingSession, entry_id: int) -> HttpResponse:
    entry = entry_of(session, entry_id)
    return run(request, session, lambda: services.dot_remove(
        session=session, by=request.user, hypothesis=entry), anchor="vote")


@team_member_required
@require_POST
@writes_session
def tests_run_vote_order(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    return run(request, session, lambda: services.session_tests_run_in_vote_order(
        session=session, by=request.user))
