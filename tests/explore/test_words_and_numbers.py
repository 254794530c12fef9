"""One operator vocabulary on every form, and query results formatted for people while the
stored result and the CSV stay exact."""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics import numbers
from analytics.engine.definitions import OPERATORS
from analytics.engine.wording import OPERATOR_LABELS
from analytics.models import AnalysisJob
from dashboards import forms as dashboard_forms
from explore import forms as explore_forms
from sessions import criteria

pytestmark = pytest.mark.django_db


def test_operators_read_the_same_on_every_form():
    sessions_words = dict(criteria.OPERATORS)
    explore_words = dict(explore_forms.OPERATOR_CHOICES)
    dashboard_words = dict(dashboard_forms.OPERATORS)
    assert set(explore_words) == set(OPERATORS) == set(sessions_words)
    for op in OPERATORS:
        assert sessions_words[op] == explore_words[op] == OPERATOR_LABELS[op], op
    for op, words in dashboard_words.items():
        assert words == sessions_words[op], op
    # Words, not symbols or code names.
    assert explore_words[">="] == "at least" and explore_words["not_in"] == "is none of"
    assert all(not set(words) & set("=<>!≥≤_") for words in explore_words.values())


def test_the_explore_form_shows_the_same_words(client, team, owner, dataset, success):
    client.force_login(owner)
    page = client.get(reverse("explore:breakdown", kwargs={"team_slug": team.slug}),
                      {"dataset": dataset.pk, "success": success.pk}).content.decode()
    assert '<option value="&gt;=">at least</option>' in page
    assert '<option value="not_in">is none of</option>' in page
    assert ">not in<" not in page


@pytest.mark.parametrize(("value", "shown"), [
    (0.29721362229102166, "0.2972"),
    (1234.5678, "1,234.5678"),
    (12045.0, "12,045"),
    (0.000123456, "0.0001235"),
    (-0.5, "-0.5"),
    (2024, "2024"),  # integers may be ids or years: as they are
    ("US", "US"),
    (True, "True"),
    (None, ""),
])
def test_a_result_cell_reads_as_people_write_numbers(value, shown):
    assert numbers.cell(value) == shown


def test_the_console_formats_cells_and_keeps_the_exact_value(client, team, owner, dataset,
                                                              success,
                                                              django_capture_on_commit_callbacks):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("explore:console", kwargs={"team_slug": team.slug}), {
            "dataset": dataset.pk, "success": success.pk,
            "sql": "SELECT 97 / 326.0 AS share, 1204 AS n"})
    html = client.get(response["Location"]).content.decode()
    assert '<span title="0.29754601226993865">0.2975</span>' in html
    assert "<td>1204</td>" in html
    job = AnalysisJob.objects.order_by("-pk").first()
    assert job.result["rows"][0][0] == 97 / 326.0
    csv = client.get(reverse("explore:result_csv", kwargs={"team_slug": team.slug,
                                                          "job_id": job.pk}))
    assert "0.29754601226993865" in csv.content.decode()
