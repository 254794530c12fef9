"""Fill AnalysisJob's session, dashboard and success_definition from the ids options
held, then drop those ids from options (the keys are the one truth now). An id whose row
is gone, or belongs to another team, leaves the link empty, as reading it did before."""

from django.db import migrations
from django.db.models import Q

# options key (and field name) -> model
LINKS = {
    "session": ("worksessions", "WorkingSession"),
    "dashboard": ("dashboards", "Dashboard"),
    "success_definition": ("analytics", "SuccessDefinition"),
}
BATCH = 500


def _id(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _batches(queryset):
    last = 0
    while True:
        chunk = list(queryset.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not chunk:
            return
        yield chunk
        last = chunk[-1].pk


def forwards(apps, schema_editor):
    job_model = apps.get_model("analytics", "AnalysisJob")
    models = {key: apps.get_model(*target) for key, target in LINKS.items()}
    has_any = Q()
    for key in LINKS:
        has_any |= Q(options__has_key=key)
    for jobs in _batches(job_model.objects.filter(has_any)):
        teams = {}  # key -> {id: team_id} of the rows that exist
        for key, model in models.items():
            wanted = {_id((job.options or {}).get(key)) for job in jobs} - {None}
            teams[key] = dict(model.objects.filter(pk__in=wanted).values_list("pk", "team_id"))
        for job in jobs:
            options = dict(job.options)
            for key in LINKS:
                if key not in options:
                    continue
                pk = _id(options.pop(key))
                if pk is not None and teams[key].get(pk) == job.team_id:
                    setattr(job, f"{key}_id", pk)
            job.options = options
        job_model.objects.bulk_update(jobs, ["options", *LINKS])


def backwards(apps, schema_editor):
    job_model = apps.get_model("analytics", "AnalysisJob")
    linked = Q()
    for key in LINKS:
        linked |= Q(**{f"{key}__isnull": False})
    for jobs in _batches(job_model.objects.filter(linked)):
        for job in jobs:
            options = dict(job.options or {})
            for key in LINKS:
                pk = getattr(job, f"{key}_id")
                if pk is not None:
                    options[key] = pk
            job.options = options
        job_model.objects.bulk_update(jobs, ["options"])


class Migration(migrations.Migration):

    dependencies = [
        ("analytics", "0005_analysisjob_links"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards),
    ]
