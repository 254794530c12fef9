"""Every write of the session page: a POST that calls one service and answers with the
session as it is now (see common.respond)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import team_member_required
from accounts.models import User

from .. import catalog, checks, services
from ..criteria import Builder, BuilderError
from ..forms import (
    DefinitionChoiceForm,
    DefinitionReviseForm,
    ExtendForm,
    FindingForm,
    HypothesisForm,
    NextStepForm,
    SettingsForm,
)
from ..models import Discovery, Finding, Hypothesis, HypothesisTest, NextStep, WorkingSession
from ..page import build_context, edit_form
from ..results import latest_test_ids
from .common import entry_of, respond, run, writes_session

# What each write can change on the writer's own page, beside the live region (a light
# answer is then only these: sessions.views.common.respond).
MINE = ("mine",)  # their entries and the form for the next
MINE_LIST = ("mine_list",)  # their entries alone
FINDING_FORM = ("finding_form",)


def _int(value, default: int | None = None) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# ---------------------------------------------------------------- the meeting


@team_member_required
@require_POST
@writes_session
def session_move(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    to, expected = request.POST.get("to", ""), request.POST.get("expected", "")
    return run(request, session, lambda: services.step_move(
        session=session, by=request.user, to=to, expected=expected))


@team_member_required
@require_POST
@writes_session
def session_close(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    expected = request.POST.get("expected") or None
    return run(request, session, lambda: services.session_close(
        session=session, by=request.user, expected=expected))


@team_member_required
@require_POST
@writes_session
def session_settings(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    form = SettingsForm(request.POST)
    if not form.is_valid():
        return respond(request, session, forms={"settings": form})
    return run(request, session, lambda: services.session_settings_update(
        session=session, by=request.user, dig_minutes=form.cleaned_data["dig_minutes"],
        hide_entries=form.cleaned_data["hide_entries"]), forms={"settings": form},
        form_key="settings", notice="Settings saved.")


@team_member_required
@require_POST
@writes_session
def timer_extend(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    form = ExtendForm(request.POST)
    if not form.is_valid():
        return respond(request, session, forms={"extend": form})
    return run(request, session, lambda: services.timer_extend(
        session=session, by=request.user, minutes=form.cleaned_data["minutes"]),
        forms={"extend": form}, form_key="extend")


@team_member_required
@require_POST
@writes_session
def entries_reveal(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    return run(request, session, lambda: services.entries_reveal(session=session,
                                                                 by=request.user))


@team_member_required
@require_POST
@writes_session
def definition_confirm(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    return run(request, session, lambda: services.definition_confirm(session=session,
                                                                     by=request.user))


@team_member_required
@require_POST
@writes_session
def definition_change(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    form = DefinitionChoiceForm(request.POST, team=request.team)
    if not form.is_valid():
        return respond(request, session, forms={"choose": form})
    return run(request, session, lambda: services.definition_change(
        session=session, by=request.user,
        success_definition=form.cleaned_data["success_definition"]),
        forms={"choose": form}, form_key="choose")


@team_member_required
@require_POST
@writes_session
def definition_revise(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    schema = session.dataset.schema_object()
    form = DefinitionReviseForm(request.POST, events=sorted(schema.events) if schema else [])
    if not form.is_valid():
        return respond(request, session, forms={"revise": form})
    definition = {"events": form.cleaned_data["events"], "match": form.cleaned_data["match"]}
    if form.cleaned_data["within_days"]:
        definition["within_days"] = form.cleaned_data["within_days"]
    return run(request, session, lambda: services.definition_revise(
        session=session, by=request.user, definition=definition),
        forms={"revise": form}, form_key="revise")


# ---------------------------------------------------------------- hypotheses and ideas


def _entry_forms(session, data, prefix: str) -> tuple[HypothesisForm, Builder]:
    schema = session.dataset.schema_object()
    return (HypothesisForm(data, prefix_id=prefix),
            Builder.from_data(schema, data, prefix=prefix))


@team_member_required
@require_POST
@writes_session
def hypothesis_create(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    kind = request.POST.get("kind", Hypothesis.Kind.HYPOTHESIS)
    form, builder = _entry_forms(session, request.POST, "new")
    forms = {"entry": {"form": form, "builder": builder,
                       "origin": request.POST.get("origin", "own")}}
    if builder.with_action(request.POST.get("builder", "")):
        return respond(request, session, forms=forms, keep_forms=True, parts=MINE)
    if request.POST.get("use_starter"):
        found = catalog.starter(session.dataset, request.POST.get("starter", ""))
        if found is None:
            return respond(request, session, forms=forms, keep_forms=True, parts=MINE,
                           error="That segment cannot be used with this dataset's mapping.")
        form = HypothesisForm(prefix_id="new", initial={"text": found["text"]})
        builder = Builder.from_criterion(session.dataset.schema_object(), found["criterion"],
                                         prefix="new") or builder
        return respond(request, session, keep_forms=True, parts=MINE, forms={
            "entry": {"form": form, "builder": builder, "origin": "catalog"}})
    if not form.is_valid():
        return respond(request, session, forms=forms, parts=MINE)
    try:
        criterion = builder.criterion()
    except BuilderError as error:
        form.add_error(None, f"The criterion is not complete. {error}")
        return respond(request, session, forms=forms, parts=MINE)
    builder.check = checks.criterion_check(session, criterion, request.user,
                                           confirmed=bool(request.POST.get("values_confirmed")))
    if builder.check is not None:
        return respond(request, session, forms=forms, keep_forms=True, parts=MINE)
    data = form.cleaned_data
    origin = (Hypothesis.Origin.CATALOG if request.POST.get("origin") == "catalog"
              else Hypothesis.Origin.OWN)
    return run(request, session, lambda: services.hypothesis_create(
        session=session, author=request.user, kind=kind, text=data["text"],
        criterion=criterion, expected_direction=data["expected_direction"],
        confidence=data["confidence"], origin=origin), forms=forms, form_key="entry",
        anchor="mine", parts=MINE)


@team_member_required
@require_http_methods(["GET", "POST"])
@writes_session
def hypothesis_edit(request: HttpRequest, session: WorkingSession,
                    entry_id: int) -> HttpResponse:
    entry = entry_of(session, entry_id)
    if entry.author_id != request.user.pk:
        raise Http404("Not your entry")
    if request.method == "GET":
        editing = edit_form(session, entry)
        if request.htmx:
            context = build_context(request, session, None)
            context["editing"] = editing
            return render(request, "worksessions/_entry_edit.html", context)
        return respond(request, session, forms={"edit": editing}, keep_forms=True)
    editing = edit_form(session, entry, request.POST)
    forms = {"edit": editing}
    builder = editing["builder"]
    if builder is not None and builder.with_action(request.POST.get("builder", "")):
        return respond(request, session, forms=forms, keep_forms=True, parts=MINE)
    form = editing["form"]
    if not form.is_valid():
        return respond(request, session, forms=forms, parts=MINE)
    try:
        criterion = builder.criterion() if builder is not None else entry.criterion
    except BuilderError as error:
        form.add_error(None, f"The criterion is not complete. {error}")
        return respond(request, session, forms=forms, parts=MINE)
    if builder is not None and criterion != entry.criterion:
        builder.check = checks.criterion_check(
            session, criterion, request.user,
            confirmed=bool(request.POST.get("values_confirmed")))
        if builder.check is not None:
            return respond(request, session, forms=forms, keep_forms=True, parts=MINE)
    data = form.cleaned_data
    return run(request, session, lambda: services.hypothesis_update(
        hypothesis=entry, by=request.user, text=data["text"], criterion=criterion,
        expected_direction=data["expected_direction"], confidence=data["confidence"]),
        forms=forms, form_key="edit", anchor="mine", parts=MINE)


@team_member_required
@require_POST
@writes_session
def hypothesis_delete(request: HttpRequest, session: WorkingSession,
                      entry_id: int) -> HttpResponse:
    entry = entry_of(session, entry_id)
    return run(request, session, lambda: services.hypothesis_delete(hypothesis=entry,
                                                                    by=request.user),
               parts=MINE)


@team_member_required
@require_POST
@writes_session
def hypothesis_rerank(request: HttpRequest, session: WorkingSession,
                      entry_id: int) -> HttpResponse:
    entry = entry_of(session, entry_id)
    rank = _int(request.POST.get("rank"), 0)
    return run(request, session, lambda: services.hypothesis_rerank(
        hypothesis=entry, by=request.user, rank=rank), parts=MINE)


# ---------------------------------------------------------------- tests and discovery


@team_member_required
@require_POST
@writes_session
def hypothesis_test(request: HttpRequest, session: WorkingSession,
                    entry_id: int) -> HttpResponse:
    entry = entry_of(session, entry_id)
    if not request.POST.get("confirmed"):
        # The values and the group's size are looked at before the test is queued.
        check = checks.test_check(session, entry, request.user)
        if check is not None:
            return respond(request, session, forms={"test_check": check}, keep_forms=True)
    return run(request, session, lambda: services.hypothesis_test_run(hypothesis=entry,
                                                                      by=request.user),
               parts=MINE_LIST)


@team_member_required
@require_POST
@writes_session
def tests_run_all(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    kind = request.POST.get("kind") or None
    return run(request, session, lambda: services.session_tests_run(
        session=session, by=request.user, kind=kind))


@team_member_required
@require_POST
@writes_session
def discovery_run(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    unsuccessful = request.POST.get("unsuccessful") == "1"
    return run(request, session, lambda: services.discovery_run(
        session=session, by=request.user, unsuccessful=unsuccessful))


@team_member_required
@require_POST
@writes_session
def suggestion_adopt(request: HttpRequest, session: WorkingSession,
                     discovery_id: int, index: int) -> HttpResponse:
    discovery = Discovery.objects.select_related("job").filter(
        session=session, pk=discovery_id).first()
    if discovery is None:
        raise Http404("No such discovery run")
    discovery.session = session  # the row this request read
    return run(request, session, lambda: services.suggestion_adopt(
        discovery=discovery, index=index, by=request.user), anchor="mine")


# ---------------------------------------------------------------- findings and next steps


@team_member_required
@require_POST
@writes_session
def finding_create(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    # Most findings link no result: the session's tests are read only to check one.
    linked = request.POST.get("test")
    form = FindingForm.to_save(request.POST,
                               latest_tests=latest_test_ids(session) if linked else ())
    forms = {"finding": form}
    if not form.is_valid():
        return respond(request, session, forms=forms, parts=FINDING_FORM)
    test = None
    if form.cleaned_data["test"]:
        test = HypothesisTest.objects.filter(session=session,
                                             pk=form.cleaned_data["test"]).first()
    # The step the author wrote in, as drawn on their page: if the session has moved on,
    # or the clock ran out, the service refuses it rather than filing it elsewhere.
    step = request.POST.get("step", "")
    return run(request, session, lambda: services.finding_create(
        session=session, author=request.user, text=form.cleaned_data["text"], step=step,
        kind=form.cleaned_data["kind"], test=test), forms=forms, form_key="finding",
        anchor="findings", parts=FINDING_FORM)


@team_member_required
@require_POST
@writes_session
def finding_delete(request: HttpRequest, session: WorkingSession,
                   finding_id: int) -> HttpResponse:
    finding = Finding.objects.filter(session=session, pk=finding_id).first()
    if finding is None:
        raise Http404("No such finding")
    finding.session = session  # the row this request read
    return run(request, session, lambda: services.finding_delete(finding=finding,
                                                                 by=request.user),
               parts=())


@team_member_required
@require_POST
@writes_session
def next_step_create(request: HttpRequest, session: WorkingSession) -> HttpResponse:
    form = NextStepForm(request.POST, team=request.team)
    forms = {"next_step": form}
    if not form.is_valid():
        return respond(request, session, forms=forms)
    owner = User.objects.filter(pk=form.cleaned_data["owner"]).first()
    return run(request, session, lambda: services.next_step_create(
        session=session, by=request.user, text=form.cleaned_data["text"], owner=owner,
        kind=form.cleaned_data["kind"], due_date=form.cleaned_data["due_date"]),
        forms=forms, form_key="next_step", anchor="next-steps")


@team_member_required
@require_POST
@writes_session
def next_step_done(request: HttpRequest, session: WorkingSession,
                   next_step_id: int) -> HttpResponse:
    next_step = NextStep.objects.select_related("session").filter(
        session__team=request.team, pk=next_step_id).first()
    if next_step is None:
        raise Http404("No such next step")
    done = request.POST.get("done", "1") == "1"
    return run(request, session, lambda: services.next_step_set_done(
        next_step=next_step, by=request.user, session=session, done=done))

