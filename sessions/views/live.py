"""The live poll: every open session page asks every 2 seconds "anything new since
revision N?". The answer to "no" must cost one small query, since a meeting of ten keeps
five of these coming every second: it reads the session's revision (joined with the
member check, this member's presence, who is here, and how many of the session's jobs
are still running, since a worker finishing a job writes no session row) and answers
204. Only when something changed
does it load the user and draw the regions that others' writes touch."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import SESSION_KEY
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from accounts.selectors import membership_for

from .. import selectors, services
from ..models import Discovery, HypothesisTest, Participant, WorkingSession
from ..page import build_context
from ..selectors import PRESENCE_WINDOW
from ..steps import Step

# A poll refreshes its member's "last seen" at most this often (a write every 2 s per
# member would cost more than everything else the poll does).
PRESENCE_REFRESH = timedelta(seconds=8)


@require_GET
def session_poll(request: HttpRequest, team_slug: str, session_id: int) -> HttpResponse:
    user_id = request.session.get(SESSION_KEY)
    if user_id is None:
        raise Http404("No such session")
    now = timezone.now()
    mine = Participant.objects.filter(session=OuterRef("pk"), user_id=user_id)
    row = (
        WorkingSession.objects.filter(pk=session_id, team__slug=team_slug,
                                      team__memberships__user_id=user_id)
        .annotate(
            participant_id=Subquery(mine.values("pk")[:1]),
            seen_at=Subquery(mine.values("last_seen_at")[:1]),
            here=Subquery(
                Participant.objects.filter(session=OuterRef("pk"))
                .values("session")
                .annotate(n=Count("pk", filter=Q(last_seen_at__gte=now - PRESENCE_WINDOW)))
                .values("n")[:1]),
            busy_tests=_busy(HypothesisTest),
            busy_discoveries=_busy(Discovery),
        )
        .values_list("revision", "step", "dig_started_at", "dig_duration", "dig_extension",
                     "participant_id", "seen_at", "here", "busy_tests", "busy_discoveries")
        .first()
    )
    if row is None:
        raise Http404("No such session")
    (revision, step, started, duration, extension, participant_id, seen_at, here,
     busy_tests, busy_discoveries) = row
    if participant_id is not None and step != Step.CLOSED and (
            seen_at is None or now - seen_at >= PRESENCE_REFRESH):
        services.presence_touch(participant_id=participant_id)
    if request.GET.get("step") != step:
        # A new step is a new page: reload it whole (drafts are kept by session.js).
        response = HttpResponse(status=200)
        response["HX-Refresh"] = "true"
        return response
    timer_ran_out = (step == Step.TEST_AND_LEARN and started is not None and request.GET.get("open") == "1"
                     and now >= started + duration + extension)
    busy = (busy_tests or 0) + (busy_discoveries or 0)
    unchanged = (str(revision) == request.GET.get("v")
                 and str(here or 0) == request.GET.get("here")
                 and str(busy) == request.GET.get("busy")
                 and not timer_ran_out)
    if unchanged:
        return HttpResponse(status=204)
    return _changed(request, team_slug, session_id)


def _busy(model) -> Subquery:
    """How many of the session's jobs of this kind are queued or running (a subquery of
    the poll's one query)."""
    return Subquery(
        model.objects.filter(session=OuterRef("pk"), job__status__in=selectors.BUSY)
        .values("session")
        .annotate(n=Count("pk"))
        .values("n")[:1])


def _changed(request: HttpRequest, team_slug: str, session_id: int) -> HttpResponse:
    if not request.user.is_authenticated:
        raise Http404("No such session")
    membership = membership_for(request.user, team_slug)
    request.team, request.membership = membership.team, membership
    session = selectors.session_of(membership.team, session_id)
    participant = selectors.participant_of(session, request.user)
    context = build_context(request, session, participant)
    context["oob"] = True
    return render(request, "worksessions/_live_update.html", context)
