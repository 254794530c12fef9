"""Success definitions as a team-level object: a form that writes the JSON of
definitions.md section 2 and says it in plain words; editing makes a new version (the old
one stays, for the results that used it)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.decorators import team_member_required
from analytics import checks
from analytics import selectors as data_selectors
from analytics import services as data_services
from analytics.engine.definitions import describe_success
from analytics.engine.refusals import Refused

from . import selectors
from .forms import SuccessDefinitionForm
from .models import Dashboard


def _dataset(request, datasets):
    wanted = request.POST.get("dataset") or request.GET.get("dataset")
    if wanted and str(wanted).isdigit():
        found = datasets.filter(pk=int(wanted)).first()
        if found is not None:
            return found
    return datasets.first()


def _form(request, datasets, dataset, initial: dict | None = None):
    switching = request.method == "POST" and request.POST.get("preview") and not request.htmx
    if request.method == "POST" and not switching:
        return SuccessDefinitionForm(request.POST, datasets=datasets, dataset=dataset)
    initial = dict(initial or {})
    typed = request.POST if switching else request.GET if request.htmx else None
    if typed:
        # The dataset changed: keep what was typed, offer the new dataset's names.
        initial.update({k: v for k, v in typed.items() if k not in ("events", "csrfmiddlewaretoken")})
        initial["events"] = typed.getlist("events")
        initial["complete_windows"] = typed.get("complete_windows") == "on"
    initial["dataset"] = dataset
    return SuccessDefinitionForm(initial=initial, datasets=datasets, dataset=dataset)


def _preview(request, form, dataset):
    """The definition in plain words, or what is wrong with it (htmx, nothing saved); its
    values against the values in the data; and its population on the dataset, counted by
    a preview job that the fragment then polls (this request reads no data)."""
    ok = form.is_valid() and form.definition is not None
    job, warnings, refused = None, [], None
    if ok and dataset is not None:
        warnings = checks.criterion_warnings(dataset, success_values(form.definition))
        try:
            job = data_services.success_preview_submit(
                team=request.team, dataset=dataset, success=form.definition,
                created_by=request.user)
        except Refused as refusal:
            refused = str(refusal)
    return render(request, "dashboards/success_form.html#preview",
                  {"form": form, "description": describe_success(form.definition) if ok
                   else None, "definition": form.definition if ok else None,
                   "preview_job": job, "value_warnings": warnings, "preview_refused": refused})


def success_values(definition: dict) -> dict:
    """The values a success definition compares with, as a criterion that
    analytics.engine.value_profile.value_warnings reads."""
    parts: list[dict] = []
    if "property" in definition and "value" in definition:
        parts.append({"kind": "property", "property": definition["property"],
                      "op": definition.get("op"), "value": definition["value"]})
    if definition.get("where"):
        parts.append({"where": definition["where"]})
    return {"all": parts}


@team_member_required
def success_list(request, team_slug: str):
    return render(request, "dashboards/success_list.html", {
        "definitions": selectors.success_definitions_with_use(request.team),
        "has_datasets": data_selectors.ready_datasets_of(request.team).exists(),
    })


@team_member_required
@require_http_methods(["GET", "POST"])
def success_create(request, team_slug: str):
    datasets = data_selectors.ready_datasets_of(request.team)
    dataset = _dataset(request, datasets)
    form = _form(request, datasets, dataset,
                 initial={"complete_windows": True, "basis": "events", "match": "any"})
    if request.method == "POST" and request.POST.get("preview") and request.htmx:
        return _preview(request, form, dataset)
    if request.method == "POST" and form.is_valid() and form.definition is not None:
        definition = data_services.success_definition_create(
            team=request.team, name=form.cleaned_data["name"], definition=form.definition,
            created_by=request.user, dataset=dataset)
        messages.success(request, f"“{definition.name}” saved: {definition.description}.")
        back = request.GET.get("next", "")
        if back.startswith(f"/t/{team_slug}/"):
            return redirect(back)
        return redirect("success:success_list", team_slug=team_slug)
    template = "dashboards/success_form.html#form" if request.htmx and request.method == "GET" \
        else "dashboards/success_form.html"
    return render(request, template, {"form": form, "dataset": dataset, "editing": None,
                                      "has_datasets": datasets.exists(),
                                      "value_profile": checks.profile_for_form(dataset)})


@team_member_required
@require_http_methods(["GET", "POST"])
def success_detail(request, team_slug: str, definition_id: int):
    chosen = data_selectors.success_definition_of(request.team, definition_id)
    versions = selectors.success_versions(chosen)
    current = next((v for v in versions if v.is_current), versions[-1])
    datasets = data_selectors.ready_datasets_of(request.team)
    dataset = _dataset(request, datasets)
    initial = {"name": current.name, **SuccessDefinitionForm.initial_from(current.definition)}
    form = _form(request, datasets, dataset, initial=initial)
    if request.method == "POST" and request.POST.get("preview") and request.htmx:
        return _preview(request, form, dataset)
    if request.method == "POST" and form.is_valid() and form.definition is not None:
        try:
            revised = data_services.success_definition_revise(
                current=current, definition=form.definition, name=form.cleaned_data["name"],
                created_by=request.user, dataset=dataset)
        except data_services.DatasetRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, f"Saved as version {revised.version}. Results computed "
                                      "before keep pointing at the version they used.")
            return redirect("success:success_detail", team_slug=team_slug,
                            definition_id=revised.pk)
    template = "dashboards/success_form.html#form" if request.htmx and request.method == "GET" \
        else "dashboards/success_detail.html"
    dashboards = Dashboard.objects.filter(team=request.team,
                                          success_definition__lineage=current.lineage)
    return render(request, template, {
        "form": form, "dataset": dataset, "editing": current, "chosen": chosen,
        "description": current.description if request.method == "GET" else None,
        "definition": current.definition,
        "versions": list(reversed(versions)), "current": current, "dashboards": dashboards,
        "has_datasets": datasets.exists(),
        "value_profile": checks.profile_for_form(dataset),
    })
