"""Datasets: list, create from uploaded files with a column mapping, status, and batches
of events appended with an idempotency key."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from django import forms
from ninja import File, Form, Header, Router, Status, UploadedFile

from analytics import selectors, services
from analytics.engine.importer import ColumnMapping, ImportRefused, guess_mapping
from analytics.models import Dataset, DatasetImport, JobStatus

from ..batches import batch_mapping, discard, stage_batch
from ..errors import ApiRefusal
from ..schemas import (
    DatasetCreated,
    DatasetOut,
    EventBatchIn,
    EventBatchOut,
    ImportOut,
    answers,
)
from ..scoping import team_of

router = Router(tags=["datasets"])

EVENTS_FILES = File(None, description="events files (CSV, Parquet or NDJSON, optionally .gz)")
USERS_FILE = File(None, description="a users file (CSV or Parquet, optionally .gz)")

MAPPING_HELP = (
    "JSON object naming the columns, e.g. {\"user_id\": \"case_id\", \"event\": \"activity\", "
    "\"timestamp\": \"time\"}; keys: " + ", ".join(ColumnMapping().to_dict())
    + ". Left out, the mapping is guessed from the files' headers as the upload page does."
)


def dataset_out(dataset: Dataset, latest: DatasetImport | None = None) -> dict:
    if latest is None:
        latest = selectors.latest_import(dataset)
    schema = dataset.schema or {}
    if dataset.is_ready:
        status = "ready"
    else:
        status = latest.status if latest is not None else "queued"
        status = {"done": "ready"}.get(status, status)
    return {
        "id": dataset.pk, "name": dataset.name, "description": dataset.description,
        "status": status, "current_version": dataset.current_version,
        "created_at": dataset.created_at,
        "n_users": schema.get("n_users"), "n_events": schema.get("n_events"),
        "data_start": schema.get("data_start"), "data_end": schema.get("data_end"),
        "events": schema.get("events") or {},
        "event_properties": schema.get("event_properties") or {},
        "user_properties": schema.get("user_properties") or {},
        "latest_import": import_out(latest) if latest is not None else None,
    }


def import_out(job: DatasetImport) -> dict:
    return {
        "id": job.pk, "dataset_id": job.dataset_id, "kind": job.kind, "version": job.version,
        "status": job.status, "error": job.error, "created_at": job.created_at,
        "started_at": job.started_at, "finished_at": job.finished_at,
    }


@router.get("/teams/{team_slug}/datasets",
            response=answers({200: list[DatasetOut]}),
            summary="The team's datasets, newest first")
def dataset_list(request, team_slug: str):
    team = team_of(request, team_slug)
    datasets = list(selectors.datasets_of(team))
    latest: dict[int, DatasetImport] = {}
    for job in DatasetImport.objects.filter(dataset__in=datasets).order_by("dataset_id",
                                                                          "version"):
        latest[job.dataset_id] = job
    return Status(200, [dataset_out(d, latest.get(d.pk)) for d in datasets])


@router.post("/teams/{team_slug}/datasets",
             response=answers({202: DatasetCreated}, 400),
             by_alias=True, summary="Create a dataset from uploaded files",
             description="multipart/form-data: `name`, optional `description`, one or more "
                         "`events` files and/or one `users` file (CSV, Parquet or NDJSON, "
                         "optionally gzipped), and optional `mapping`. The import runs in "
                         "the background: poll the dataset until its status is `ready` or "
                         "`failed`.")
def dataset_create(request, team_slug: str,
                   name: str = Form(..., min_length=1, max_length=120, pattern=r"\S",
                                    description="unique in the team"),
                   description: str = Form(""),
                   mapping: str = Form("", description=MAPPING_HELP),
                   events: list[UploadedFile] = EVENTS_FILES,
                   users: UploadedFile = USERS_FILE):
    team = team_of(request, team_slug)
    name = name.strip()
    events = [f for f in (events or []) if f]
    if not events and users is None:
        raise ApiRefusal(400, "Add at least one events file or a users file.")
    chosen = _mapping_from(mapping)
    _check_files([*events, *([users] if users else [])])
    directory = services.staging_dir()
    try:
        files = [services.stage_upload(directory, f, role="events") for f in events]
        if users is not None:
            files.append(services.stage_upload(directory, users, role="users"))
        if chosen is None:
            chosen = guess_mapping([Path(f["path"]) for f in files if f["role"] == "events"],
                                   next((Path(f["path"]) for f in files
                                         if f["role"] == "users"), None)).mapping
        job = services.dataset_create(team=team, name=name, description=description.strip(),
                                      created_by=request.auth, files=files,
                                      mapping=chosen.to_dict())
    except (ImportRefused, services.DatasetRefused) as refusal:
        shutil.rmtree(directory, ignore_errors=True)
        raise ApiRefusal(400, str(refusal)) from None
    job.refresh_from_db()
    dataset = Dataset.objects.get(pk=job.dataset_id)
    return Status(202, {"dataset": dataset_out(dataset, job), "import": import_out(job)})


@router.get("/teams/{team_slug}/datasets/{dataset_id}",
            response=answers({200: DatasetOut}),
            summary="A dataset, with its schema and the state of its latest import")
def dataset_detail(request, team_slug: str, dataset_id: int):
    dataset = selectors.dataset_of(team_of(request, team_slug), dataset_id)
    return Status(200, dataset_out(dataset))


@router.get("/teams/{team_slug}/datasets/{dataset_id}/imports/{import_id}",
            response=answers({200: ImportOut}),
            summary="One import of a dataset (its creation or an appended batch)")
def import_detail(request, team_slug: str, dataset_id: int, import_id: int):
    dataset = selectors.dataset_of(team_of(request, team_slug), dataset_id)
    job = DatasetImport.objects.filter(dataset=dataset, pk=import_id).first()
    if job is None:
        raise ApiRefusal(404, "No such import")
    return Status(200, import_out(job))


@router.post("/teams/{team_slug}/datasets/{dataset_id}/events",
             response=answers({200: EventBatchOut, 202: EventBatchOut}, 400, 409),
             by_alias=True, summary="Append a batch of events (up to 10,000)",
             description="The batch becomes a new version of the dataset: the current "
                         "events plus these, checked like an uploaded file. One import at "
                         "a time per dataset: 409 while the previous one runs. With an "
                         "idempotency key (the Idempotency-Key header or the "
                         "`idempotency_key` field), a retried call adds nothing: it "
                         "answers 200 with the first call's import instead of 202.")
def events_append(request, team_slug: str, dataset_id: int, batch: EventBatchIn,
                  idempotency_key: str | None = Header(
                      None, alias="Idempotency-Key", max_length=100)):
    dataset = selectors.dataset_of(team_of(request, team_slug), dataset_id)
    key = _idempotency_key(idempotency_key, batch.idempotency_key)
    if key:
        earlier = DatasetImport.objects.filter(dataset=dataset, idempotency_key=key).first()
        if earlier is not None:
            return Status(200, {"created": False, "import": import_out(earlier)})
    if not dataset.is_ready:
        raise ApiRefusal(409, "The dataset has no imported data yet: wait until its status "
                              "is ready, then append.")
    # Each version is built on the current one when its import runs: two imports running
    # side by side would each miss the other's events. One at a time, then.
    if DatasetImport.objects.filter(dataset=dataset,
                                    status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists():
        raise ApiRefusal(409, "The dataset's previous import is still running: retry in a "
                              "few seconds (with the same idempotency key).")
    files = stage_batch(batch.events)
    job, created = services.dataset_append(dataset=dataset, created_by=request.auth,
                                           files=files, mapping=batch_mapping(),
                                           idempotency_key=key)
    if not created:
        discard(files)
        return Status(200, {"created": False, "import": import_out(job)})
    job.refresh_from_db()
    return Status(202, {"created": True, "import": import_out(job)})


def _idempotency_key(header: str | None, field: str | None) -> str:
    header, field = (header or "").strip(), (field or "").strip()
    if header and field and header != field:
        raise ApiRefusal(400, "The Idempotency-Key header and the idempotency_key field "
                              "differ: send one of them.")
    return header or field


def _mapping_from(text: str) -> ColumnMapping | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        raise ApiRefusal(400, "mapping must be a JSON object.") from None
    if not isinstance(data, dict):
        raise ApiRefusal(400, "mapping must be a JSON object.")
    known = ColumnMapping().to_dict()
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ApiRefusal(400, f"Unknown mapping keys: {', '.join(unknown)}; known keys: "
                              f"{', '.join(known)}.")
    for key, value in data.items():
        default = known[key]
        if isinstance(default, list):
            ok = isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        elif isinstance(default, bool):
            ok = isinstance(value, bool)
        else:
            ok = (value is None and default is None) or (isinstance(value, str) and value)
            ok = ok or (value is None and key in ("event_name", "csv_delimiter"))
        if not ok:
            raise ApiRefusal(400, f"mapping {key!r} has the wrong type.")
    return ColumnMapping.from_dict(data)


def _check_files(uploads: list) -> None:
    from analytics.forms import check_data_file

    for uploaded in uploads:
        try:
            check_data_file(uploaded)
        except forms.ValidationError as error:
            raise ApiRefusal(400, " ".join(error.messages)) from None
