"""count_candidates(): analysis.count_criteria's answer for discovery's candidates,
counted the cheap way for each kind.

  measures     a did_event or `>=` on a behaviour measure held in numpy
               (discovery_measured): numpy, against the flags;
  values       `=`, `>=` or is_not_set on a user property or a first event's property:
               the values the candidate holds for, added up from the column's histogram
               (discovery_values);
  the rest     DuckDB, in one scan, as analysis.count_criteria counts them (which also
               counts the population)."""

from __future__ import annotations

from analytics.engine import duck
from analytics.engine.analysis import Population, count_criteria, group_vs_rest
from analytics.engine.discovery_measured import Measured
from analytics.engine.discovery_values import Histograms, held, value_column
from analytics.engine.storage import DatasetSchema


def count_candidates(con: duck.Connection, population: Population, criteria: list[dict],
                     schema: DatasetSchema, measured: Measured | None,
                     histograms: Histograms | None = None) -> tuple[dict, list[dict]]:
    """`histograms`: the population's, when the run has read some already."""
    histograms = histograms or Histograms(con, population)
    counts: dict[int, tuple[int, int]] = {}
    for i, criterion in enumerate(criteria):
        group = measured.group(criterion) if measured is not None else None
        if group is not None:
            counts[i] = measured.counts(group)
        elif (column := value_column(criterion)) is not None:
            found = held(histograms.of(column), criterion)
            if found is not None:
                counts[i] = found
    rest = [i for i in range(len(criteria)) if i not in counts]
    summary, counted = count_criteria(con, population, [criteria[i] for i in rest], schema)
    rows: list[dict | None] = [None] * len(criteria)
    for i, row in zip(rest, counted, strict=True):
        rows[i] = row
    n, x = summary["users"], summary["successes"]
    for i, (n1, x1) in counts.items():
        rows[i] = {"criterion": criteria[i], **group_vs_rest(x1, n1, x, n)}
    return summary, rows

