"""The chart geometry, the number formats and the evidence snapshot's limits."""

from __future__ import annotations

import json

import pytest

from analytics import charts
from analytics.models import AnalysisJob
from analytics.templatetags import number_format as fmt
from explore import snapshots
from explore.selectors import Where


def side(users, successes):
    from analytics.engine.stats import side_summary

    return side_summary(successes, users)


def test_bars_and_whiskers_sit_on_one_scale():
    chart = charts.rate_chart([("free", side(100, 20), "bar-bucket"),
                               ("pro", side(50, 30), "bar-bucket")], reference=0.3333)
    free, pro = chart.bars
    assert pro.width > free.width > 0
    for bar in chart.bars:
        assert charts.LABEL_WIDTH <= bar.whisker_from <= charts.LABEL_WIDTH + bar.width \
            <= bar.whisker_to <= chart.plot_end
    assert charts.LABEL_WIDTH < chart.reference_x < chart.plot_end
    assert "free: 20.0% of 100 users succeeded (95% interval" in chart.summary
    assert "For everyone, 33.3%." in chart.summary
    assert chart.ticks[-1].text == "80.0%"  # the top interval, rounded up to a tenth


def test_an_empty_bucket_has_no_bar_and_says_so():
    chart = charts.rate_chart([("(none)", side(0, 0), "bar-bucket")])
    assert chart.bars[0].width == 0 and chart.bars[0].whisker_from is None
    assert "(none): no users" in chart.summary


@pytest.mark.parametrize(("value", "text"), [(None, "no test"), (0.06612, "p = 0.066"),
                                             (0.0049, "p = 0.0049"), (1e-9, "p < 0.0001")])
def test_p_values_read_well(value, text):
    assert fmt.p_text(value) == text


def test_formats():
    assert fmt.pct(0.3161) == "31.6%" and fmt.lift(-0.274) == "-27.4%"
    assert fmt.interval([0.248, 0.393]) == "24.8% – 39.3%"
    assert fmt.ratio(None) == "–"


@pytest.mark.django_db
def test_a_wide_sql_result_is_cut_to_fit_the_evidence(team, dataset):
    rows = [[i, "x" * 500] for i in range(1000)]
    job = AnalysisJob(team=team, dataset=dataset, dataset_version=1, kind="sql",
                      success={"events": ["purchase"]}, status="done",
                      options={"sql": "SELECT * FROM big"},
                      result={"columns": [{"name": "n", "type": "BIGINT"},
                                          {"name": "s", "type": "VARCHAR"}],
                              "rows": rows, "row_count": 1000, "truncated": True,
                              "elapsed_ms": 3.0})
    evidence = snapshots.evidence_of(job, Where(dataset=dataset, success=None))
    assert len(json.dumps(evidence)) <= snapshots.MAX_BYTES
    table = evidence["table"]
    assert table["cut"] is True and table["total_rows"] == 1000
    assert 0 < len(table["rows"]) < 1000 and table["rows"][0] == [0, "x" * 500]
    assert evidence["numbers"]["truncated"] is True
    assert evidence["title"] == "SQL: SELECT * FROM big"
