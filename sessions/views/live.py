"""The live stream of a session page: Server-Sent Events, served under ASGI.

The page opens one stream (static/js/live.js) and keeps it: the server pushes each change
as the fragments that changed (sessions.feed), so a member sees a change as soon as it is
drawn, and an idle meeting costs nothing but a comment every 15 seconds. Writes stay
ordinary POSTs.

The stream says which revision of the session each message brings the page to (the SSE
`id`). A browser that lost the stream reconnects by itself and sends the last one it saw
(Last-Event-ID); a page whose revision is not the server's last drawing gets everything
once, and a missed step move gets `stale` (reload the body). Nothing is missed.

The member is checked once, when the stream opens; it then holds no database connection
(a meeting of 200 would otherwise hold 200)."""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from django.http import Http404, HttpRequest
from django.views.decorators.http import require_GET

from accounts.models import Membership
from hypothesislab import event_stream

from .. import feed
from ..models import Participant, WorkingSession

KEEPALIVE = 15.0  # seconds: a comment, so proxies and browsers keep the stream open
RETRY_MS = 1000  # how soon a browser reconnects after losing the stream


@require_GET
async def session_live(request: HttpRequest, team_slug: str, session_id: int):
    user = await request.auser()
    if not user.is_authenticated:
        raise Http404("No such session")
    found = await sync_to_async(_member_of)(user.pk, team_slug, session_id)
    if found is None:
        raise Http404("No such session")
    revision, participant_id = found
    if "wsgi.version" in request.META:
        # Served by a WSGI server (Django's runserver, a test's live server): it would
        # gather the endless stream into memory before sending any of it. Say so once;
        # the page stays as drawn, and a reload shows what changed.
        return event_stream.one_event(feed.sse("unsupported", revision, {"rev": revision}))
    member = feed.Member(user_id=user.pk, participant_id=participant_id,
                         revision=_page_revision(request, default=revision))
    return event_stream.streaming(_stream(session_id, member, revision))


def _member_of(user_id: int, team_slug: str, session_id: int) -> tuple[int, int | None] | None:
    try:
        if not Membership.objects.filter(team__slug=team_slug, user_id=user_id).exists():
            return None
        revision = (WorkingSession.objects.filter(pk=session_id, team__slug=team_slug)
                    .values_list("revision", flat=True).first())
        if revision is None:
            return None
        participant_id = (Participant.objects.filter(session_id=session_id, user_id=user_id)
                          .values_list("pk", flat=True).first())
        return revision, participant_id
    finally:
        event_stream.release_connection()  # the stream may stay open for an hour


def _page_revision(request: HttpRequest, *, default: int) -> int:
    """The revision the page shows: Last-Event-ID when the browser reconnects, else the
    page's own (?rev=), else the server's now."""
    for value in (request.headers.get("Last-Event-ID"), request.GET.get("rev")):
        try:
            return int(value)
        except (TypeError, ValueError):
            continue
    return default


async def _stream(session_id: int, member: feed.Member, revision: int):
    session_feed = feed.join(session_id, member)
    try:
        yield f"retry: {RETRY_MS}\n".encode() + feed.sse("hello", member.revision,
                                                         {"rev": revision})
        while True:
            try:
                frame = await asyncio.wait_for(member.queue.get(), timeout=KEEPALIVE)
                if frame == feed.END:
                    return
            except TimeoutError:
                frame = b": keep-alive\n\n"
            yield frame
    finally:
        session_feed.leave(member)
