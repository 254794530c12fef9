"""Datasets: list, create from uploaded files with a column mapping, status, and batches
of events appended with an idempotency key."""

from __future__ import annotations

from ninja import File, Form, Header, Router, Status, UploadedFile

from analytics import selectors, uploads
from analytics.engine.importer import ColumnMapping
from analytics.models import Dataset, DatasetImport

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
    try:
        job = uploads.upload_create(team=team, name=name, description=description,
                                    created_by=request.auth, events=events, users=users,
                                    mapping=mapping)
    except uploads.UploadRefused as refusal:
        raise _refusal(refusal) from None
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
    try:
        job, created = uploads.events_append(
            dataset=dataset, created_by=request.auth,
            events=(event.model_dump() for event in batch.events),
            idempotency_key=uploads.idempotency_key_from(idempotency_key,
                                                         batch.idempotency_key))
    except uploads.UploadRefused as refusal:
        raise _refusal(refusal) from None
    if not created:
        return Status(200, {"created": False, "import": import_out(job)})
    job.refresh_from_db()
    return Status(202, {"created": True, "import": import_out(job)})


def _refusal(refusal: uploads.UploadRefused) -> ApiRefusal:
    return ApiRefusal(refusal.status, str(refusal))
