import uuid

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import team_member_required

from . import selectors, services, uploads
from .forms import MappingForm, UploadForm

DRAFTS_KEY = "dataset_upload_drafts"


@team_member_required
def dataset_list(request, team_slug: str):
    datasets = selectors.datasets_of(request.team).prefetch_related("imports")
    return render(request, "analytics/dataset_list.html", {"datasets": datasets})


@team_member_required
@require_http_methods(["GET", "POST"])
def dataset_upload(request, team_slug: str):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            draft = uploads.upload_begin(events=form.cleaned_data["events"],
                                         users=form.cleaned_data["users"])
        except uploads.UploadRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            token = uuid.uuid4().hex
            drafts = request.session.get(DRAFTS_KEY, {})
            drafts[token] = {
                "team": request.team.pk, "name": form.cleaned_data["name"],
                "files": draft.files, "mapping": draft.mapping, "columns": draft.columns,
                "notes": draft.notes,
            }
            request.session[DRAFTS_KEY] = drafts
            return redirect("analytics:dataset_mapping", team_slug=team_slug, token=token)
    return render(request, "analytics/dataset_upload.html", {"form": form})


@team_member_required
@require_http_methods(["GET", "POST"])
def dataset_mapping(request, team_slug: str, token: str):
    drafts = request.session.get(DRAFTS_KEY, {})
    draft = drafts.get(token)
    if draft is None or draft["team"] != request.team.pk:
        messages.error(request, "That upload has expired; please upload the files again.")
        return redirect("analytics:dataset_upload", team_slug=team_slug)
    form = MappingForm(
        request.POST or None, initial=draft["mapping"],
        event_columns=draft["columns"]["events"], user_columns=draft["columns"]["users"],
    )
    if request.method == "POST" and form.is_valid():
        mapping = {**draft["mapping"], **form.cleaned_data}
        try:
            job = uploads.upload_finish(
                team=request.team, name=draft["name"], created_by=request.user,
                files=draft["files"], mapping=mapping,
            )
        except uploads.UploadRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            drafts.pop(token)
            request.session[DRAFTS_KEY] = drafts
            return redirect("analytics:dataset_detail", team_slug=team_slug, dataset_id=job.dataset_id)
    return render(request, "analytics/dataset_mapping.html", {"form": form, "draft": draft})


@team_member_required
def dataset_detail(request, team_slug: str, dataset_id: int):
    dataset = selectors.dataset_of(request.team, dataset_id)
    latest = selectors.latest_import(dataset)
    context = {"dataset": dataset, "latest": latest, "schema": dataset.schema,
               "status_url": reverse("analytics:dataset_detail",
                                     kwargs={"team_slug": team_slug, "dataset_id": dataset.pk})}
    if request.htmx and request.htmx.target == "import-status":
        return render(request, "analytics/dataset_detail.html#import_status", context)
    return render(request, "analytics/dataset_detail.html", context)


@team_member_required
def check_status(request, team_slug: str, check_id: int):
    """A quick count's or a success preview's outcome, for the member who asked it (htmx
    polls it while the job runs). Reads the job row: never the data."""
    job = selectors.member_check_of(request.team, request.user, check_id)
    return render(request, "analytics/check_status.html", {"job": job})


@team_member_required
@require_POST
def values_ensure(request, team_slug: str, dataset_id: int):
    """Queue the values job of the dataset's current version if it has none (a form found
    none to offer). Answers 204: the form offers the values when next drawn."""
    services.value_profile_ensure(selectors.dataset_of(request.team, dataset_id))
    return HttpResponse(status=204)
