"""The Test-and-learn pages: breakdown explorer, two groups, confounding check, SQL console,
and one result page per question (following its job by server push while it runs:
result_live, explore.live).

Every page works inside a working session (?session=<id>: the session's dataset and
success definition; new questions and findings only while its Test and learn is open) and
outside one (?dataset=<id>&success=<id>)."""

from __future__ import annotations

import asyncio
import csv
import json

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.decorators import team_member_required
from accounts.models import Membership
from analytics import charts, checks
from analytics import selectors as analytics_selectors
from analytics.engine.console import ConsoleLimits
from analytics.engine.definitions import describe_criterion
from analytics.engine.refusals import Refused
from analytics.models import AnalysisJob
from hypothesislab import event_stream
from sessions import selectors as session_selectors
from sessions import services as session_services
from sessions.clock import session_clock
from sessions.services import StepClosed
from sessions.steps import Step

from . import live, plain, selectors, services, snapshots
from .forms import BreakdownForm, CompareForm, ConsoleForm, FindingForm, StratifyForm, WhereForm

TOOLS = {
    "breakdown": (BreakdownForm, "explore/breakdown.html", "Breakdown"),
    "compare": (CompareForm, "explore/compare.html", "Two groups"),
    "stratify": (StratifyForm, "explore/stratify.html", "Confounding check"),
    "sql": (ConsoleForm, "explore/console.html", "SQL console"),
}


def _base_context(request, where) -> dict:
    team = request.team
    return {
        "where": where,
        "where_form": WhereForm(
            initial=where.params, datasets=analytics_selectors.ready_datasets_of(team),
            successes=analytics_selectors.success_definitions_of(team),
            in_session=where.session is not None),
        "session_state": _session_state(where),
        "session_url": _session_url(team, where),
        # The session's sticky clock: its step and countdown, on every explore page of it.
        "clock": session_clock(where.session) if where.session is not None else None,
    }


def _session_url(team, where) -> str | None:
    if where.session is None:
        return None
    try:
        return reverse("worksessions:session_detail",
                       kwargs={"team_slug": team.slug, "session_id": where.session.pk})
    except NoReverseMatch:
        return None


def _session_state(where) -> dict | None:
    """What the page says about the session's Test and learn step (the server decides)."""
    if where.session is None:
        return None

    try:
        session_services.ensure_step_open(where.session, Step.TEST_AND_LEARN)
    except session_services.StepClosed as closed:
        return {"open": False, "message": closed.message}
    return {"open": True, "deadline": where.session.dig_deadline()}


@team_member_required
def home(request, team_slug: str):
    return _home(request, selectors.where_of(request.team, request.GET))


def _home(request, where, *, attach_error: str = "", status: int = 200):
    context = _base_context(request, where)
    context["recent"] = selectors.recent_jobs(request.team, where, request.user)
    if where.session is None:
        context["team_findings"] = session_selectors.unattached_findings(request.team)
        context["open_sessions"] = session_selectors.open_sessions_of(request.team)
        context["attach_error"] = attach_error
    return render(request, "explore/home.html", context, status=status)


@team_member_required
@require_POST
def finding_attach(request, team_slug: str, finding_id: int):
    """Attach a team finding to an open session of the team: it becomes that session's
    finding, with its evidence. A refusal shows on the explorer's home, with its status."""
    finding = session_selectors.unattached_finding_of(request.team, finding_id)  # 404 first
    try:
        session_id = int(request.POST.get("session", ""))
    except ValueError:
        return _home(request, selectors.where_of(request.team, {}), status=400,
                     attach_error="Choose the session to attach the finding to.")
    try:
        finding = services.finding_attach(team=request.team, finding_id=finding.pk,
                                          session_id=session_id, by=request.user)
    except session_services.SessionRefused as refusal:
        return _home(request, selectors.where_of(request.team, {}), status=refusal.status,
                     attach_error=refusal.message)
    messages.success(request, f"Attached to “{finding.session.title}”, with its evidence.")
    return redirect(reverse("explore:home", kwargs={"team_slug": team_slug}))


def _tool(request, team_slug: str, kind: str):
    form_class, template, title = TOOLS[kind]
    params = request.POST if request.method == "POST" else request.GET
    where = selectors.where_of(request.team, params)
    schema = where.dataset.schema_object() if where.dataset else None
    # "Change the question" links carry the last question's definitions as JSON fields.
    initial = {k: v for k, v in request.GET.items() if k == "sql" or k.endswith("_json")}
    if kind == "sql":
        form = ConsoleForm(request.POST or None, initial=initial)
    else:
        form = form_class(request.POST or None, schema=schema, initial=initial)
    status = 200
    warnings: list[str] = []
    if request.method == "POST" and form.is_valid():
        question = {"sql": form.cleaned_data["sql"]} if kind == "sql" else \
            form.cleaned_data["question"]
        if kind != "sql" and not request.POST.get("values_confirmed"):
            # A value the data does not have warns before anything runs.
            warnings = checks.criterion_warnings(where.dataset, *(
                question.get(key) for key in ("group_a", "group_b", "criterion",
                                              "population_filter")))
    if request.method == "POST" and form.is_valid() and not warnings:
        try:
            job = services.question_ask(
                team=request.team, user=request.user, where=where, kind=kind,
                question=question, unsuccessful=bool(form.cleaned_data.get("unsuccessful")))
        except _step_closed() as closed:
            form.add_error(None, closed.message)
            # htmx swaps only 2xx answers; a plain request learns the rule from the status.
            status = 200 if request.htmx else 409
        except Refused as refusal:  # a bad definition, query, dataset or question
            form.add_error(None, str(refusal))
            status = 400 if not request.htmx else 200
        else:
            url = reverse("explore:result", kwargs={"team_slug": team_slug, "job_id": job.pk})
            url += where.query
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    context = {**_base_context(request, where), "form": form, "kind": kind, "title": title,
               "schema": schema, "console_limits": _console_limits(),
               "value_warnings": warnings,
               "value_profile": checks.profile_for_form(where.dataset) if kind != "sql" else None}
    if request.htmx and request.method == "POST":
        return render(request, f"{template}#tool_form", context, status=status)
    return render(request, template, context, status=status)


def _console_limits() -> dict:
    return {"seconds": settings.CONSOLE_TIME_LIMIT, "memory": settings.CONSOLE_MEMORY_LIMIT,
            "rows": ConsoleLimits().max_rows, "bytes": settings.CONSOLE_MAX_RESULT_BYTES}


def _step_closed():
    return StepClosed


@team_member_required
@require_http_methods(["GET", "POST"])
def breakdown(request, team_slug: str):
    return _tool(request, team_slug, "breakdown")


@team_member_required
@require_http_methods(["GET", "POST"])
def compare(request, team_slug: str):
    return _tool(request, team_slug, "compare")


@team_member_required
@require_http_methods(["GET", "POST"])
def stratify(request, team_slug: str):
    return _tool(request, team_slug, "stratify")


@team_member_required
@require_http_methods(["GET", "POST"])
def console(request, team_slug: str):
    return _tool(request, team_slug, "sql")


def _result_context(request, job, finding_form=None) -> dict:
    where = selectors.where_of_job(job)
    context = {**_base_context(request, where), "job": job, "result": job.result,
               "title": snapshots.title_of(job), "definition": snapshots.definition_of(job, where),
               "kind_label": snapshots.KIND_LABELS.get(job.kind, job.get_kind_display()),
               "finding_form": finding_form or FindingForm(),
               "status_url": reverse("explore:result", kwargs={
                   "team_slug": request.team.slug, "job_id": job.pk}),
               "live_url": reverse("explore:result_live", kwargs={
                   "team_slug": request.team.slug, "job_id": job.pk})}
    context["again_url"] = _again_url(request.team, job, where)
    what = "did not succeed" if (job.options or {}).get("unsuccessful") else "succeeded"
    definition = context["definition"]
    if job.result and job.status == "done":
        if job.kind == "analyze":
            context["chart"] = charts.breakdown_chart(job.result, what)
            context["plain"] = plain.breakdown_sentence(
                job.result, definition.get("breakdown_text", "bucket"), what)
        elif job.kind == "compare":
            # Both descriptions often open alike ("device of the first event is …"):
            # each label keeps what tells its group apart.
            context["label_a"], context["label_b"] = charts.distinct_labels(
                describe_criterion(job.criterion),
                describe_criterion(job.options.get("group_b") or {}))
            context["chart"] = charts.compare_chart(job.result, context["label_a"],
                                                    context["label_b"], what)
            context["plain"] = plain.compare_sentence(job.result, context["label_a"],
                                                      context["label_b"], what)
        elif job.kind == "stratify":
            context["chart"] = charts.stratify_chart(job.result, what)
            context["plain"] = plain.stratify_sentence(
                job.result, definition.get("breakdown_text", "bucket"), what)
    return context


def _again_url(team, job, where) -> str:
    """The job's tool, with its question filled in (as JSON), to change and ask again."""
    options = job.options or {}
    names = {"analyze": "breakdown", "compare": "compare", "stratify": "stratify",
             "sql": "console"}
    params = dict(where.params)
    parts = {"analyze": {"by_json": job.breakdown},
             "compare": {"a_json": job.criterion, "b_json": options.get("group_b")},
             "stratify": {"group_json": job.criterion, "by_json": job.breakdown}}.get(job.kind, {})
    for key, value in parts.items():
        if value is not None:
            params[key] = json.dumps(value)
    if options.get("population_filter") is not None and job.kind != "sql":
        params["filter_json"] = json.dumps(options["population_filter"])
    if job.kind == "sql":
        params["sql"] = options.get("sql", "")
    url = reverse(f"explore:{names[job.kind]}", kwargs={"team_slug": team.slug})
    return f"{url}?{urlencode(params)}"


@team_member_required
def result(request, team_slug: str, job_id: int):
    job = selectors.explore_job_of(request.team, job_id)
    context = _result_context(request, job)
    if request.htmx and request.htmx.target == "result":
        return render(request, "explore/result.html#result_region", context)
    return render(request, "explore/result.html", context)


LIVE_CHECK_EVERY = 5.0  # seconds: the job's row is read anyway (a notice may be lost)
LIVE_RETRY_MS = 1000  # how soon a browser reconnects after losing the stream


@require_GET
async def result_live(request: HttpRequest, team_slug: str, job_id: int):
    """The stream a result page follows while its job runs: a comment now and then, and
    `done` once the job has finished (at once when it has already)."""
    user = await request.auser()
    finished = (await sync_to_async(_job_finished)(team_slug, job_id, member=user.pk)
                if user.is_authenticated else None)
    if finished is None:
        raise Http404("No such result")
    if finished:
        return event_stream.one_event(DONE)
    if "wsgi.version" in request.META:
        # A WSGI server (runserver, a test's live server): the page asks every second.
        return event_stream.one_event(event_stream.event("unsupported", {}))
    return event_stream.streaming(_follow(team_slug, job_id))


DONE = event_stream.event("done", {})


async def _follow(team_slug: str, job_id: int):
    changed = live.wait_for(job_id)
    try:
        yield f"retry: {LIVE_RETRY_MS}\n\n".encode()
        while True:
            try:
                await asyncio.wait_for(changed.wait(), timeout=LIVE_CHECK_EVERY)
            except TimeoutError:
                pass
            changed.clear()
            if await sync_to_async(_job_finished)(team_slug, job_id) is not False:
                yield DONE
                return
            yield b": still working\n\n"  # also how a closed page is noticed
    finally:
        live.forget(job_id, changed)


def _job_finished(team_slug: str, job_id: int, *, member: int | None = None) -> bool | None:
    """Whether the team's explorer job has finished (None: no such job, or `member` is
    not of the team)."""
    try:
        if member is not None and not Membership.objects.filter(
                team__slug=team_slug, user_id=member).exists():
            return None
        status = (AnalysisJob.objects
                  .filter(team__slug=team_slug, pk=job_id, kind__in=selectors.EXPLORE_KINDS)
                  .values_list("status", flat=True).first())
    finally:
        event_stream.release_connection()  # the stream may stay open for minutes
    return None if status is None else AnalysisJob(status=status).is_finished


@team_member_required
def result_csv(request, team_slug: str, job_id: int):
    job = selectors.explore_job_of(request.team, job_id)
    table = snapshots.table_of(job) if job.result else None
    if table is None:
        return HttpResponse("This result has no table yet.", status=404,
                            content_type="text/plain")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="result-{job.pk}.csv"'
    writer = csv.writer(response)
    writer.writerow(table["columns"])
    for row in table["rows"]:
        writer.writerow([_csv_cell(v) for v in row])
    return response


def _csv_cell(value):
    # A cell starting with = + - @ would run as a formula in a spreadsheet.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@team_member_required
@require_POST
def result_finding(request, team_slug: str, job_id: int):
    job = selectors.explore_job_of(request.team, job_id)
    where = selectors.where_of_job(job)
    form = FindingForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            services.finding_from_result(job=job, where=where, author=request.user,
                                         text=form.cleaned_data["text"],
                                         kind=form.cleaned_data["kind"])
        except Refused as refusal:  # the session's (step closed...) or the explorer's
            form.add_error(None, refusal.message)
            status = 200 if request.htmx else refusal.status
        else:
            messages.success(request, "Saved as a finding of the session, with its evidence."
                             if where.session is not None else
                             "Kept as a team finding, with its evidence. Attach it to a session "
                             "from Test and learn.")
            url = reverse("explore:result", kwargs={"team_slug": team_slug, "job_id": job.pk})
            if request.htmx:
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return redirect(url)
    else:
        status = 200 if request.htmx else 400
    context = _result_context(request, job, finding_form=form)
    if request.htmx:
        return render(request, "explore/result.html#finding_form", context, status=status)
    return render(request, "explore/result.html", context, status=status)
