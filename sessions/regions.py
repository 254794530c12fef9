"""The live session as every member sees it, drawn once per change for all of them.

A change is drawn as fragments keyed by DOM id: the bar, who is here, the step's region,
one per entry card, finding, q-value line and evidence option. A region lists its cards,
findings and evidence options by id (`data-list`; other parts are empty placeholders,
`data-keep`), so a new test result redraws one card, not the page, and the region stays
small at 600 cards; q-values, which move with every test of the session, are lines of
their own, so they do not redraw every card either. sessions.feed sends each member only
the fragments that changed, and static/js/live.js puts them in place.

The drawing is the same for everyone: it holds no hidden entry, no one's own dots, no
CSRF token. What differs by member (the facilitator's buttons, an author's "Run test",
"(you)") is drawn for all and marked `data-only`, and live.js shows it to whom it is for;
the server refuses anyone else anyway. What is truly one member's own (entries still
hidden, their dots, their confirmation) is never in here: it stays in their page as a
placeholder's content, redrawn by their own writes."""

from __future__ import annotations

import uuid
import warnings
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.template.loader import render_to_string

from . import cards, selectors, steps
from .models import WorkingSession
from .page import RESULT_STEPS, build_context
from .results import kept_session_results
from .steps import Step
from .templatetags.session_ui import evidence_option, q_line

# The drawing for everyone has no CSRF token on purpose (see _shared_context); Django warns
# of a {% csrf_token %} without one when DEBUG is on.
warnings.filterwarnings("ignore", message=r"A \{% csrf_token %\} was used in a template",
                        category=UserWarning)

# Steps whose region shows the family note (worksessions/_family.html).
FAMILY_STEPS = frozenset({Step.TEST, Step.EXPLORE, Step.TEST_AND_LEARN, Step.RESULTS})


@dataclass
class Snapshot:
    revision: int
    step: str
    closed: bool
    fragments: dict[str, str] = field(default_factory=dict)  # parents before children
    present: frozenset[int] = frozenset()  # participant ids shown as here
    # Names this drawing among others of the same revision (a job finishing redraws
    # without a write); other web processes rebuild it from a diff against an earlier id.
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # CPU seconds this process spent drawing it (0: drawn by another process, or not yet
    # known); sessions.feed spaces its drawings by it. Not part of the drawing's JSON.
    cost: float = 0.0

    def to_json(self, base: Snapshot | None = None) -> dict:
        """The drawing for another web process: whole, or only what differs from `base`
        (a drawing that process has too: at 600 cards a whole one is 3 MB of JSON to
        encode, send and decode, a diff a few kB)."""
        data = {"id": self.id, "revision": self.revision, "step": self.step,
                "closed": self.closed, "present": sorted(self.present)}
        if base is None:
            return {**data, "fragments": self.fragments}
        before = base.fragments
        return {**data, "base": base.id, "order": list(self.fragments),
                "changed": {key: html for key, html in self.fragments.items()
                            if before.get(key) != html}}

    @classmethod
    def from_json(cls, data: dict, known: dict[str, Snapshot] | None = None) -> Snapshot | None:
        """None when `data` is a diff against a drawing not in `known`."""
        if "base" in data:
            base = (known or {}).get(data["base"])
            if base is None:
                return None
            changed, before = data["changed"], base.fragments
            fragments = {key: changed[key] if key in changed else before[key]
                         for key in data["order"]}
        else:
            fragments = data["fragments"]
        return cls(revision=data["revision"], step=data["step"], closed=data["closed"],
                   fragments=fragments, present=frozenset(data["present"]), id=data["id"])


def draw(session_id: int) -> Snapshot | None:
    """The session now, as fragments; None if it is gone."""
    session = selectors.session_to_draw(session_id)
    if session is None:
        return None
    # Read before everything else: what is drawn below is at least this new.
    snapshot = Snapshot(revision=session.revision, step=session.step, closed=session.is_closed)
    context = _shared_context(session)
    snapshot.present = frozenset(p.pk for p in context["participants"] if p.is_present)
    fragments = snapshot.fragments
    fragments["session-bar"] = render_to_string("worksessions/_bar.html", context)
    # Who is here changes far less often than what they write: drawn again only then.
    fragments["people"] = cards.kept(
        ("people", session.is_closed, session.step, context["present_count"],
         tuple((p.user_id, p.user.name, p.user.email, p.is_present, p.is_facilitator,
                p.has_confirmed, p.joined_at) for p in context["participants"])),
        lambda: render_to_string("worksessions/_people.html", context))
    if not session.is_closed:
        fragments["reveal-form"] = render_to_string("worksessions/_reveal_form.html", context)
    fragments["live"] = render_to_string("worksessions/_live_region.html", context)
    if context.get("results") and session.step in FAMILY_STEPS:
        fragments["family-note"] = render_to_string("worksessions/_family.html",
                                                    {**context, "fragment": True})
    if session.step == Step.TEST:
        fragments["test-actions"] = render_to_string("worksessions/_test_actions.html",
                                                     {**context, "fragment": True})
    for finding in context.get("findings") or ():
        fragments[f"finding-{finding.pk}"] = cards.kept(
            ("finding", finding.pk, finding.text, finding.kind, finding.evidence is not None,
             session.step, session.is_closed),
            lambda finding=finding: render_to_string("worksessions/_finding.html",
                                                     {**context, "finding": finding}))
    board = context.get("vote_board")
    if board is not None and board.is_open:
        fragments["vote-voters"] = render_to_string("worksessions/_vote_voters.html", context)
    finding_form = context.get("finding_form")
    if finding_form:
        for value, label in finding_form.fields["test"].choices:
            if value:
                fragments[f"ev-{value}"] = evidence_option(value, label)
    entries = context.get("entries")
    if entries is not None:
        for entry in entries.shared:
            fragments[f"entry-{entry.pk}"] = cards.card(entry, context)
        for entry in entries.shared:
            row = getattr(entry, "result", None)
            if row is not None and row.group and row.is_done:
                fragments[f"q-{row.test.pk}"] = q_line(row)
    return snapshot


def _shared_context(session: WorkingSession) -> dict:
    request = HttpRequest()
    request.user = AnonymousUser()
    request.htmx = False
    request.team = session.team
    # The tests as the last drawing read them, but for those that changed since.
    results = kept_session_results(session) if session.step in RESULT_STEPS else None
    context = build_context(request, session, None, results=results, drawing=True)
    open_ = not session.is_closed
    # Drawn as for a participant who may do everything; live.js hides what is not theirs.
    context.update(shared=True, is_participant=open_, is_facilitator=open_, request=None)
    can_test = (open_ and session.step in steps.TESTING_STEPS
                and (session.step != Step.TEST_AND_LEARN or context["dig_open"]))
    context["can_test"] = can_test
    for entry in getattr(context.get("entries"), "visible", ()):
        entry.can_run_shared = can_test and getattr(entry, "needs_test", False)
    if "places_left" in context:
        context["places_left"] = 1  # "Take as my idea": the server counts each member's three
    # No token in a drawing for everyone: htmx sends each member's own in a header.
    context.pop("csrf_token", None)
    return context
