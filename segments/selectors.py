"""Reads of a dataset's role mapping and of the catalog segments it supports: the
dashboards' segment picker and the sessions' hypothesis starters both come from here."""

from __future__ import annotations

from analytics.models import Dataset

from . import catalog, mapping_rules
from .models import DatasetMapping, MappingChange


def mapping_of(dataset: Dataset) -> DatasetMapping | None:
    return (DatasetMapping.objects.select_related("profile_job", "confirmed_by", "dataset")
            .filter(dataset=dataset).first())


def mapping_history(mapping_row: DatasetMapping | None) -> list[MappingChange]:
    """Every change of the mapping, newest first, each with its lines (`lines`)."""
    if mapping_row is None:
        return []
    changes = list(MappingChange.objects.filter(mapping=mapping_row)
                   .select_related("changed_by"))
    for change in changes:
        change.lines = mapping_rules.describe_changes(change.changes)
    return changes


def confirmed_roles(dataset: Dataset) -> dict:
    """The dataset's mapping as the team confirmed it, or {} before that."""
    row = mapping_of(dataset)
    return dict(row.roles) if row is not None and row.is_confirmed else {}


def catalog_for(dataset: Dataset, mapping_row: DatasetMapping | None,
                on_dashboard: set[str] = frozenset()) -> list[dict]:
    """The catalog by worksheet group, each segment supported or with the reason why not."""
    roles = dict(mapping_row.roles) if mapping_row is not None else {}
    schema = dataset.schema_object()
    groups: dict[str, list] = {group: [] for group in catalog.GROUPS}
    for resolution in catalog.resolve_all(roles, schema):
        groups[resolution.entry.group].append(
            {"resolution": resolution, "on_dashboard": resolution.key in on_dashboard})
    return [{"name": name, "items": items} for name, items in groups.items()]


def hypothesis_starters(dataset: Dataset) -> list[dict]:
    """Catalog segments a Phase 2 hypothesis can start from, for this dataset's confirmed
    mapping: [{"key", "group", "name", "text", "criterion", "values"}], where a segment
    that splits by a property's values (age, plan...) offers those values instead."""
    roles = confirmed_roles(dataset)
    if not roles:
        return []
    starters = []
    for resolution in catalog.resolve_all(roles, dataset.schema_object()):
        if not resolution.supported:
            continue
        entry = resolution.entry
        found = catalog.segment_hypothesis(entry.key, roles)
        values = catalog.bucket_values(entry.key, roles)
        if found is None and not values:
            continue
        starters.append({"key": entry.key, "group": entry.group, "name": entry.name,
                         "text": found["text"] if found else "",
                         "criterion": found["criterion"] if found else None,
                         "values": values})
    return starters
