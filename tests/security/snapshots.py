"""Every row of the project's own models, to prove that a walk of refused requests wrote
nothing at all."""

from __future__ import annotations

from django.apps import apps

PROJECT_APPS = ("accounts", "analytics", "worksessions", "dashboards", "explore", "api")
# Written by reading, not by acting: signing in, polling, switching teams, using a token.
VOLATILE_FIELDS = {"last_login", "last_seen_at", "last_visited_at", "last_used_at"}


def project_models():
    return [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS]


def rows() -> dict[str, list[dict]]:
    found = {}
    for model in project_models():
        fields = [f.attname for f in model._meta.concrete_fields
                  if f.attname not in VOLATILE_FIELDS]
        found[model._meta.label] = list(model.objects.order_by("pk").values(*fields))
    return found


def changes(before: dict, after: dict) -> list[str]:
    return [label for label in before if before[label] != after.get(label)]
