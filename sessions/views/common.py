"""How every session view answers: the whole session body for htmx, the page for plain
requests, refusals as a message (HTTP 409/403/400 for plain requests, the form's error
inside the page for htmx, which does not swap 4xx answers)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from .. import selectors
from ..models import Hypothesis, WorkingSession
from ..page import OWN_PARTS, build_context, session_url
from ..services import BadInput, SessionRefused
from ..services.guards import CLOSED_MESSAGE


def load(request: HttpRequest, session_id: int) -> WorkingSession:
    return selectors.session_of(request.team, session_id)


def entry_of(session: WorkingSession, entry_id: int) -> Hypothesis:
    """An entry of the session a write names (404 otherwise), holding the session row
    this request read (its service checks that one)."""
    entry = Hypothesis.objects.select_related("author").filter(
        session=session, pk=entry_id).first()
    if entry is None:
        raise Http404("No such entry")
    entry.session = session
    return entry


def writes_session(view: Callable) -> Callable:
    """For the session's write views (under team_member_required): load the session of
    this team (404 otherwise) and refuse every write to a closed one before reading any
    input; the view then receives the session instead of its id, read once for the
    whole request (the service checks this row: selectors.session_to_write)."""

    @wraps(view)
    def wrapper(request: HttpRequest, team_slug: str, session_id: int, *args, **kwargs):
        session = selectors.session_to_write(request.team, session_id)
        if session.is_closed:
            return respond(request, session, error=CLOSED_MESSAGE, status=409)
        return view(request, session, *args, **kwargs)

    return wrapper


def respond(request: HttpRequest, session: WorkingSession, *, error: str | None = None,
            forms: dict | None = None, status: int = 200, notice: str | None = None,
            anchor: str = "", keep_forms: bool = False,
            parts: tuple[str, ...] | None = None) -> HttpResponse:
    """keep_forms: draw the page with `forms` as they are (a form being built, e.g. a
    criterion row added), instead of redirecting after success. `parts`: the member's own
    parts of the page (sessions.page.OWN_PARTS) that are all this write can change on
    their page; a light answer is then only those, and the alert."""
    checked = getattr(session, "participant_checked", None)  # by the write's service
    session = selectors.session_now(session)
    if (not request.htmx and status == 200 and not error and not keep_forms
            and not _has_errors(forms)):
        return redirect(session_url(session) + (f"#{anchor}" if anchor else ""))
    participant = (checked if checked is not None and checked.user_id == request.user.pk
                   else selectors.participant_of(session, request.user))
    # A page with its live stream open says which step it shows: when that is still the
    # step, its live region stays as it is (the stream brings the change to everyone at
    # once) and this answer costs only the member's own part of the page.
    light = (bool(request.htmx) and request.headers.get("X-Live-Step") == session.step
             and not (forms and forms.get("test_check")))  # drawn inside its card
    tested = None
    if light:
        # The member's tested entries, read once: an own entry still hidden and tested
        # needs the results for its card (the whole body), else they mark the own list.
        tested = selectors.own_tested_entries(session, request.user)
        light = all(revealed_at is not None for revealed_at in tested.values())
    tested_ids = set(tested) if light else None
    if light and parts is not None:
        # Most writes of a meeting: drawing only the changed form (and the member's own
        # entries) instead of the body costs a fraction of the CPU (sessions.page).
        context = build_context(request, session, participant, forms=forms, error=error,
                                notice=notice, light=True, parts=frozenset(parts),
                                tested_ids=tested_ids)
        drawn = [name for name in parts if session.step in OWN_PARTS[name][1]]
        context["parts"] = drawn
        context["part_templates"] = [OWN_PARTS[name][0] for name in drawn]
        response = render(request, "worksessions/_own_parts.html", context)
        response["HX-Reswap"] = "none"  # the parts come out of band; the body stays
        response["X-Session-Revision"] = str(session.revision)
        return response
    context = build_context(request, session, participant, forms=forms, error=error,
                            notice=notice, light=light, tested_ids=tested_ids)
    if request.htmx:
        response = render(request, "worksessions/_body.html", context)
    else:
        response = render(request, "worksessions/session_detail.html", context, status=status)
    # The revision this answer shows: the live stream's messages say theirs too, so a
    # client can tell when everyone has seen a write (make loadtest measures delivery so).
    response["X-Session-Revision"] = str(session.revision)
    return response


def run(request: HttpRequest, session: WorkingSession, action: Callable[[], object], *,
        forms: dict | None = None, form_key: str | None = None, anchor: str = "",
        notice: str | None = None, parts: tuple[str, ...] | None = None) -> HttpResponse:
    """Do a service call and answer; a refusal goes into the form named `form_key` when
    there is one (next to what the person typed), else into the page's alert. `parts`:
    as respond's, for the answer either way."""
    try:
        action()
    except SessionRefused as refusal:
        form = _form_of(forms, form_key)
        if form is not None and isinstance(refusal, BadInput):
            form.add_error(None, refusal.message)
            return respond(request, session, forms=forms, status=refusal.status, parts=parts)
        # Who-and-when refusals go to the page's alert: the form may not even be drawn
        # (not a participant, or the session has moved to another step).
        return respond(request, session, error=refusal.message, forms=forms,
                       status=refusal.status, parts=parts)
    return respond(request, session, anchor=anchor, notice=notice, parts=parts)


def _form_of(forms: dict | None, key: str | None):
    if not forms or not key or key not in forms:
        return None
    value = forms[key]
    return value["form"] if isinstance(value, dict) else value


def _has_errors(forms: dict | None) -> bool:
    if not forms:
        return False
    for value in forms.values():
        form = value.get("form") if isinstance(value, dict) else value
        if form is not None and form.is_bound and form.errors:
            return True
    return False
