"""What the live session page shows, step by step: one context builder for the whole page,
the member's own forms, and the regions the live poll redraws for everyone."""

from __future__ import annotations

import functools

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils import timezone

from analytics.checks import profile_for_form
from analytics.selectors import success_definitions_of

from . import catalog, selectors, steps
from .clock import session_clock
from .criteria import Builder
from .forms import (
    DefinitionChoiceForm,
    DefinitionReviseForm,
    ExtendForm,
    FindingForm,
    HypothesisForm,
    NextStepForm,
    SettingsForm,
    TimeboxForm,
    VoteOpenForm,
)
from .models import Finding, Hypothesis, Participant, WorkingSession
from .results import SessionResults, session_results
from .services.testing import vote_order
from .services.timebox import UNBOXED_STEPS
from .steps import Step

# Steps whose page shows the test results (and so loads them).
RESULT_STEPS = frozenset({Step.TEST, Step.EXPLORE, Step.TEST_AND_LEARN, Step.RESULTS, Step.UNSUCCESSFUL,
                          Step.CLOSED})


# Per step: the member's own forms drawn before the live region, and those after it.
# Where the step is about reading (the definition, results, the other side) reading comes
# first; where it is about writing, the form does.
LAYOUT = {
    Step.ALIGN: (None, "steps/align_forms"),
    Step.HYPOTHESES: ("_mine", None),
    Step.TEST: (None, "steps/test_forms"),
    Step.EXPLORE: ("_mine", "_finding_form"),
    Step.TEST_AND_LEARN: ("steps/dig_forms", None),
    Step.RESULTS: ("_finding_form", None),
    Step.NEXT_STEPS: ("_next_step_form", None),
    Step.UNSUCCESSFUL: (None, "steps/unsuccessful_forms"),
    Step.CLOSED: (None, None),
}


def session_url(session: WorkingSession, name: str = "session_detail", **kwargs) -> str:
    return reverse(f"worksessions:{name}", kwargs={"team_slug": session.team.slug,
                                                   "session_id": session.pk, **kwargs})


DIG_TOOLS = [
    ("explore:breakdown", "Breakdown explorer", "Success rate by any property or behaviour"),
    ("explore:compare", "Compare two groups", "Side by side, e.g. mobile vs desktop among Pro"),
    ("explore:stratify", "Check for confounding", "Does it hold within each plan, each size…?"),
    ("explore:console", "SQL console", "Read-only queries over this dataset"),
]


def dig_tools(session: WorkingSession) -> list[dict]:
    """Links to the exploration tools inside this session (left out while the app that
    provides them is not installed)."""
    tools = []
    for name, label, text in DIG_TOOLS:
        try:
            url = reverse(name, kwargs={"team_slug": session.team.slug})
        except NoReverseMatch:
            continue
        tools.append({"url": f"{url}?session={session.pk}", "label": label, "text": text})
    return tools


def stepper(session: WorkingSession) -> list[dict]:
    current = steps.index(session.step)
    return [{"value": value, "label": steps.label(value), "number": position + 1,
             "purpose": steps.PURPOSE[value],
             "state": "done" if position < current else "current" if position == current
             else "todo"}
            for position, value in enumerate(steps.ORDER)]


# The steps where members write entries of their own (_mine.html).
ENTRY_STEPS = frozenset({Step.HYPOTHESES, Step.TEST, Step.EXPLORE, Step.TEST_AND_LEARN})

# The member's own parts of the page that a write may answer with alone (the answer to a
# write from a live page: sessions.views.common.respond): each its template and the steps
# whose page draws it; "mine" brings the member's hidden entries and dots with it.
OWN_PARTS = {
    "finding_form": ("worksessions/_finding_form.html", steps.FINDING_STEPS),
    "mine": ("worksessions/_mine.html", ENTRY_STEPS),
    "mine_list": ("worksessions/_mine_list.html", ENTRY_STEPS),  # "mine" without its form
}


# The finding form's title, where the step gives it one.
FINDING_TITLES = {
    Step.TEST_AND_LEARN: "Write down what you find (before the time is up)",
    Step.RESULTS: "Add to the team's results",
    Step.UNSUCCESSFUL: "What do the unsuccessful users tell us?",
}


def build_context(request: HttpRequest, session: WorkingSession,
                  participant: Participant | None, *, forms: dict | None = None,
                  error: str | None = None, notice: str | None = None,
                  light: bool = False, results: SessionResults | None = None,
                  parts: frozenset[str] | None = None, drawing: bool = False,
                  tested_ids: set[int] | None = None) -> dict:
    """Everything the session page and its live regions draw. `forms` carries bound forms
    with errors (by name) to show instead of fresh ones. `light`: the answer to a write
    from a page whose live stream is open: the step's live region is left as the page
    has it (the stream brings its change) and the test results are not read for it.
    `results`: the session's results when the caller has them (a live drawing keeps them
    between changes: sessions.results.kept_session_results). `parts` (with `light`): only
    what these OWN_PARTS draw is worked out, for an answer that is only them. `drawing`:
    the live drawing for everyone (sessions.regions): its people, entries and findings
    are read through sessions.kept_rows, and no member's own forms are worked out.
    `tested_ids` (with `light`): the member's entries that have a test, when the caller
    has read them (selectors.own_tested_entries)."""
    if parts is not None and not light:
        raise ValueError("an answer of own parts is a light answer")
    user = request.user
    whole = parts is None
    step = session.step
    is_facilitator = session.facilitator_id == user.pk
    now = timezone.now()
    deadline = session.dig_deadline()
    context: dict = {
        "session": session, "team": session.team, "participant": participant,
        "is_participant": participant is not None and not session.is_closed,
        "is_facilitator": is_facilitator and not session.is_closed,
        "step": step, "step_label": steps.label(step), "step_purpose": steps.PURPOSE[step],
        "stepper": stepper(session),
        "next_step": steps.next_step(step), "previous_step": steps.previous_step(step),
        "next_label": steps.label(steps.next_step(step)) if steps.next_step(step) else "",
        "previous_label": (steps.label(steps.previous_step(step))
                           if steps.previous_step(step) else ""),
        "deadline": deadline, "now": now,
        "dig_open": step == Step.TEST_AND_LEARN and session.dig_is_open(now),
        "dig_remaining_seconds": (int(session.dig_remaining(now).total_seconds())
                                  if deadline else None),
        "dig_minutes": int(session.dig_duration.total_seconds() // 60),
        "clock": session_clock(session, now),
        # (a light answer keeps the page's own "who is here")
        "participants": [] if light else selectors.participants_of(session, kept=drawing),
        "hidden_count": selectors.hidden_count(session) if whole else 0,
        "error": error, "notice": notice,
        "urls": _urls(session),
        "Step": Step,
    }
    lead, trail = LAYOUT[step]
    context["lead_forms"] = f"worksessions/{lead}.html" if lead else None
    context["trail_forms"] = f"worksessions/{trail}.html" if trail else None
    context["present_count"] = sum(1 for p in context["participants"] if p.is_present)
    context["feed_url"] = f"{session_url(session, 'session_live')}?rev={session.revision}"
    forms = forms or {}
    context["test_check"] = forms.get("test_check")  # sessions.checks.test_check
    context["light"] = light
    mine = whole or "mine" in parts or "mine_list" in parts
    entry_form = whole or "mine" in parts
    # The form for one's next entry is a member's own: never in the drawing for everyone.
    own_form = entry_form and not drawing
    if light:
        if mine:
            # (a light answer draws only the member's own entries)
            context["tested_ids"] = (tested_ids if tested_ids is not None
                                     else set(selectors.own_tested_entries(session, user)))
    elif step in RESULT_STEPS:
        results = results or session_results(session)
        context["results"] = results
        context["latest_results"] = results.latest_by_hypothesis()
    if step == Step.ALIGN and whole:
        _align(context, session, user, forms)
    context["can_test"] = (context["is_participant"] and step in steps.TESTING_STEPS
                           and (step != Step.TEST_AND_LEARN or context["dig_open"]))
    if step in (Step.HYPOTHESES, Step.TEST) and mine:
        _entries(context, session, user, Hypothesis.Kind.HYPOTHESIS, forms, form=own_form,
                 kept=drawing)
    if step in (Step.EXPLORE, Step.TEST_AND_LEARN) and mine:
        _entries(context, session, user, Hypothesis.Kind.IDEA, forms, form=own_form,
                 kept=drawing)
        if own_form:
            context["starters"] = catalog.starter_choices(session.dataset)
    if step in (Step.EXPLORE, Step.TEST_AND_LEARN) and whole:
        context["hypothesis_entries"] = selectors.entries_for(
            session, user, Hypothesis.Kind.HYPOTHESIS, kept=drawing)
        _attach(context, context["hypothesis_entries"].visible, user)
    if step in (Step.EXPLORE, Step.TEST_AND_LEARN) and whole:
        discovery = selectors.latest_discovery(session, unsuccessful=False)
        context["discovery"] = discovery
        context["suggestions"] = selectors.unnamed_suggestions(session, discovery)[:8]
    context["finding_title"] = FINDING_TITLES.get(step)
    if (step in steps.FINDING_STEPS or step == Step.CLOSED) and (
            whole or "finding_form" in parts):
        # A light answer keeps the live region, where the findings are.
        context["findings"] = [] if light else selectors.findings_of(session, kept=drawing)
        rows = context["results"].rows if context.get("results") else ()
        finding_form = forms.get("finding")
        if finding_form is None:
            finding_form = FindingForm(results=rows)
        elif not finding_form.labelled:
            finding_form.offer(rows)  # drawn again (refused): with the results' names
        context["finding_form"] = finding_form
    if step == Step.TEST_AND_LEARN and whole:
        context["dig_tools"] = dig_tools(session)
    if step == Step.RESULTS and whole:
        context["finding_groups"] = [
            {"kind": kind, "label": label,
             "findings": [f for f in context["findings"] if f.kind == kind]}
            for kind, label in Finding.Kind.choices]
    if step == Step.UNSUCCESSFUL and not light:
        context["other_side"] = session_results(session, unsuccessful=True)
        discovery = selectors.latest_discovery(session, unsuccessful=True)
        context["unsuccessful_discovery"] = discovery
        context["unsuccessful_traits"] = selectors.split_by_direction(discovery)
    if step in (Step.NEXT_STEPS, Step.UNSUCCESSFUL, Step.ALIGN) and whole:
        context["next_steps"] = selectors.next_steps_of(session)
        context["next_step_form"] = forms.get("next_step") or NextStepForm(team=session.team)
    if step in steps.HYPOTHESIS_STEPS and entry_form:  # (its dots come with "mine")
        _votes(context, session, user, forms)
    if is_facilitator and not session.is_closed and whole:
        context["timebox_form"] = forms.get("timebox") or TimeboxForm(initial={
            "step": step if step not in UNBOXED_STEPS else steps.next_step(step)})
        context["timebox_plan"] = [
            {"step": value, "label": steps.label(value), "minutes": minutes}
            for value in steps.ORDER if (minutes := (session.timebox_plan or {}).get(value))]
        context["settings_form"] = forms.get("settings") or SettingsForm(initial={
            "dig_minutes": context["dig_minutes"], "hide_entries": session.hide_entries})
        context["extend_form"] = forms.get("extend") or ExtendForm()
    return context


def _votes(context: dict, session: WorkingSession, user, forms: dict) -> None:
    """The dot vote, as this member may see it; in Test, the tests it would queue."""
    board = selectors.vote_board(session, user)
    context["vote_board"] = board
    context["vote_form"] = forms.get("vote") or VoteOpenForm()
    if board is not None and not board.is_open and session.step == Step.TEST:
        untested = {e.pk for e in context["entries"].visible if e.needs_test}
        context["vote_order_count"] = sum(1 for h in vote_order(board.vote) if h.pk in untested)


def _align(context: dict, session: WorkingSession, user, forms: dict) -> None:
    context["carried_next_steps"] = selectors.carried_next_steps(session)
    context["definition"] = session.success_definition
    context["has_tests"] = session.tests.exists()
    if context["is_facilitator"] and not context["has_tests"]:
        context["choose_form"] = forms.get("choose") or DefinitionChoiceForm(
            team=session.team, exclude=session.success_definition_id)
        schema = session.dataset.schema_object()
        definition = session.success_definition.definition
        if schema is not None and "events" in definition:
            context["revise_form"] = forms.get("revise") or DefinitionReviseForm(
                events=sorted(schema.events), initial={
                    "events": definition.get("events"), "match": definition.get("match", "any"),
                    "within_days": definition.get("within_days")})
        context["other_definitions"] = success_definitions_of(session.team).exclude(
            pk=session.success_definition_id).exists()


def _attach(context: dict, entries: list[Hypothesis], user) -> None:
    """Each entry's latest result, and whether this member may (re)run its test now."""
    latest = context.get("latest_results", {})
    for entry in entries:
        entry.result = latest.get(entry.pk)
        entry.needs_test = bool(entry.criterion) and (
            entry.result is None or entry.result.test.criterion != entry.criterion
            or entry.result.test.success_definition_id != context["session"].success_definition_id
            or entry.result.status == "failed")
        entry.can_run = (context["can_test"] and entry.needs_test
                         and (context["is_facilitator"] or entry.author_id == user.pk))
        entry.is_tested = entry.result is not None or entry.pk in context.get("tested_ids", ())


def _entries(context: dict, session: WorkingSession, user, kind: str, forms: dict, *,
             form: bool = True, kept: bool = False) -> None:
    # A light answer draws the member's own entries only (the others are in the region
    # the page keeps). `form`: also the form for the next entry (not for "mine_list").
    entries = selectors.entries_for(session, user, kind, only_own=context["light"],
                                    kept=kept)
    _attach(context, entries.visible, user)
    context["untested_count"] = sum(1 for e in entries.visible if e.needs_test)
    context["entries"] = entries
    context["entry_kind"] = kind
    context["entry_noun"] = "new idea" if kind == Hypothesis.Kind.IDEA else "hypothesis"
    context["entry_plural"] = "new ideas" if kind == Hypothesis.Kind.IDEA else "hypotheses"
    context["places_left"] = max(0, 3 - len(entries.mine))
    editing = forms.get("edit")
    context["editing"] = editing
    if not form:
        return
    schema = session.dataset.schema_object()
    new_form = forms.get("entry")
    if new_form is None:
        # empty: drawn once and kept for everyone (sessions.kept_forms)
        new_form = {"form": HypothesisForm(prefix_id="new"),
                    "builder": Builder(schema=schema, prefix="new"), "empty": True}
    context["new_entry"] = new_form
    # While testing or digging, writing another entry is secondary: folded away.
    context["fold_new_entry"] = (session.step in (Step.TEST, Step.TEST_AND_LEARN) and bool(entries.mine)
                                 and "entry" not in forms)
    context["schema"] = schema
    # The values in the data, offered beside the builder's value inputs (a stored row).
    context["value_profile"] = profile_for_form(session.dataset)


def edit_form(session: WorkingSession, entry: Hypothesis, data=None) -> dict:
    """The form to rewrite one of one's entries, drawn from it or from posted data."""
    schema = session.dataset.schema_object()
    prefix = f"e{entry.pk}"
    drawable = Builder.from_criterion(schema, entry.criterion, prefix=prefix)
    if data is not None:
        # A criterion the rows cannot draw (from discovery, say) was not shown as rows;
        # it stays as it is (builder None) unless rows were posted.
        builder = (Builder.from_data(schema, data, prefix=prefix)
                   if drawable is not None or f"{prefix}-rows" in data else None)
        return {"entry": entry, "form": HypothesisForm(data, prefix_id=prefix),
                "builder": builder}
    return {"entry": entry, "form": HypothesisForm(prefix_id=prefix, initial={
        "text": entry.text, "expected_direction": entry.expected_direction,
        "confidence": entry.confidence}),
        "builder": drawable}


def _urls(session: WorkingSession) -> dict:
    # A copy: a caller may add to it.
    return dict(_urls_of(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF,
                         session.team.slug, session.pk))


@functools.lru_cache(maxsize=256)
def _urls_of(script_prefix: str, urlconf, team_slug: str, session_id: int) -> dict:
    """The session's URLs, worked out once per team slug and session (19 reverse() calls
    were a tenth of a light answer's context, and every live drawing's); by whatever else
    reverse() reads too."""
    kwargs = {"team_slug": team_slug, "session_id": session_id}
    names = ["session_detail", "session_move", "session_close", "session_settings",
             "definition_confirm", "definition_change", "definition_revise", "entries_reveal",
             "tests_run_all", "discovery_run", "finding_create", "next_step_create",
             "timer_extend", "session_report", "session_report_md", "timebox_set",
             "vote_open", "vote_close", "tests_run_vote_order"]
    urls = {name: reverse(f"worksessions:{name}", kwargs=kwargs) for name in names}
    urls["entry_create"] = reverse("worksessions:hypothesis_create", kwargs=kwargs)
    return urls

