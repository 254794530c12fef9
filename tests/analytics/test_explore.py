"""analytics.engine.comparisons: two groups side by side, and stratified comparisons pooled with
Mantel-Haenszel, against statsmodels' StratifiedTable on counts made in plain Python."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import StratifiedTable

from analytics.engine import comparisons as explore
from analytics.engine.definitions import DefinitionError
from analytics.engine.peruser import CACHE_PREFIX
from tests.analytics.builders import build_dataset

SUCCESS = {"events": ["cured"]}
TREATED_A = {"kind": "property", "property": "treatment", "op": "=", "value": "A"}

# The kidney-stone study (Charig et al. 1986), the textbook Simpson's paradox: treatment A
# does better for small and for large stones, yet worse overall, because it was given
# mostly for the harder, large stones.
KIDNEY = {  # (treatment, stone): (cured, patients)
    ("A", "small"): (81, 87), ("B", "small"): (234, 270),
    ("A", "large"): (192, 263), ("B", "large"): (55, 80),
}


def kidney_rows() -> tuple[list[dict], list[dict]]:
    users, events = [], []
    for (treatment, stone), (cured, patients) in KIDNEY.items():
        for i in range(patients):
            uid = f"{treatment}-{stone}-{i}"
            users.append({"user_id": uid, "treatment": treatment, "stone": stone,
                          "age": 20 + (i % 50)})
            events.append({"user_id": uid, "event": "visit", "timestamp": "2024-01-01T09:00:00"})
            if i < cured:
                events.append({"user_id": uid, "event": "cured",
                               "timestamp": "2024-01-03T09:00:00"})
    return users, events


@pytest.fixture(scope="module")
def kidney(tmp_path_factory):
    users, events = kidney_rows()
    return build_dataset(tmp_path_factory.mktemp("kidney"), events, users)


def test_simpsons_paradox_is_flagged(kidney):
    result = explore.stratify(kidney, SUCCESS, criterion=TREATED_A,
                              strata={"property": "stone"})
    assert result["group"]["users"] == 350 and result["group"]["successes"] == 273
    assert result["rest"]["users"] == 350 and result["rest"]["successes"] == 289
    assert result["diff"] < 0  # overall, A looks worse
    by_label = {s["label"]: s for s in result["strata"]}
    assert set(by_label) == {"small", "large"}
    assert by_label["small"]["diff"] > 0 and by_label["large"]["diff"] > 0
    assert result["mantel_haenszel"]["odds_ratio"] > 1
    assert result["mantel_haenszel"]["direction"] == 1
    assert result["simpson"] is True
    assert result["strata_against"] == 2
    assert result["confounding"] is True


def test_pooled_odds_ratio_matches_statsmodels(kidney):
    result = explore.stratify(kidney, SUCCESS, criterion=TREATED_A,
                              strata={"property": "stone"})
    tables = [np.array([[KIDNEY["A", s][0], KIDNEY["A", s][1] - KIDNEY["A", s][0]],
                        [KIDNEY["B", s][0], KIDNEY["B", s][1] - KIDNEY["B", s][0]]])
              for s in ("small", "large")]
    reference = StratifiedTable(tables)
    pooled = result["mantel_haenszel"]
    assert pooled["odds_ratio"] == pytest.approx(reference.oddsratio_pooled, rel=1e-12)
    low, high = reference.oddsratio_pooled_confint()
    assert pooled["ci95"] == pytest.approx([low, high], rel=1e-6)
    assert pooled["p_value"] == pytest.approx(
        reference.test_null_odds(correction=False).pvalue, rel=1e-9)
    crude = (273 * (350 - 289)) / ((350 - 273) * 289)
    assert result["odds_ratio"] == pytest.approx(crude)
    assert result["change_in_estimate"] == pytest.approx(pooled["odds_ratio"] / crude - 1)


def test_strata_by_bins_keep_every_bucket_in_order(kidney):
    result = explore.stratify(kidney, SUCCESS, criterion=TREATED_A,
                              strata={"property": "age", "bins": [30, 60, 100]})
    labels = [s["label"] for s in result["strata"]]
    assert labels == ["< 30", "30-60", "60-100", ">= 100", "(none)"]
    empty = result["strata"][3]  # nobody is 100 or older: the bucket is kept, empty
    assert empty["group"]["users"] == 0 and empty["rest"]["users"] == 0
    assert sum(s["group"]["users"] + s["rest"]["users"] for s in result["strata"]) == 700
    # Against counts made here in plain Python.
    young_a = [(t, s) for (t, s), (_c, p) in KIDNEY.items() if t == "A"]
    expected = sum(sum(1 for i in range(KIDNEY[k][1]) if 20 + i % 50 < 30) for k in young_a)
    assert result["strata"][0]["group"]["users"] == expected


def test_no_flag_when_strata_agree_with_the_crude_direction(tmp_path):
    users, events = [], []
    for i in range(200):
        uid = f"u{i}"
        plan = "pro" if i % 2 else "free"
        users.append({"user_id": uid, "plan": plan, "region": "eu" if i % 4 < 2 else "us"})
        events.append({"user_id": uid, "event": "visit", "timestamp": "2024-01-01T00:00:00"})
        if (plan == "pro" and i % 10 < 7) or (plan == "free" and i % 10 < 3):
            events.append({"user_id": uid, "event": "cured", "timestamp": "2024-01-02T00:00:00"})
    version = build_dataset(tmp_path, events, users)
    result = explore.stratify(version, SUCCESS, strata={"property": "region"},
                              criterion={"kind": "property", "property": "plan", "op": "=",
                                         "value": "pro"})
    assert result["diff"] > 0 and result["mantel_haenszel"]["direction"] == 1
    assert result["simpson"] is False


def test_population_filter_and_unsuccessful_side(kidney):
    small = {"kind": "property", "property": "stone", "op": "=", "value": "small"}
    result = explore.stratify(kidney, SUCCESS, criterion=TREATED_A, strata={"property": "stone"},
                              population_filter=small)
    assert [s["label"] for s in result["strata"]] == ["small"]
    assert result["group"]["users"] == 87
    other_side = explore.stratify(kidney, SUCCESS, criterion=TREATED_A,
                                  strata={"property": "stone"}, unsuccessful=True)
    assert other_side["group"]["successes"] == 350 - 273


def test_compare_two_groups_among_a_population(kidney):
    result = explore.compare_groups(
        kidney, SUCCESS,
        group_a={"kind": "property", "property": "stone", "op": "=", "value": "small"},
        group_b={"kind": "property", "property": "stone", "op": "=", "value": "large"},
        population_filter=TREATED_A)
    assert result["a"] == {"users": 87, "successes": 81, "rate": 81 / 87,
                           "ci95": result["a"]["ci95"]}
    assert result["b"]["users"] == 263 and result["b"]["successes"] == 192
    assert result["population"]["users"] == 350
    assert result["overlap"] == 0 and "overlap_note" not in result
    assert result["diff"] == pytest.approx(81 / 87 - 192 / 263)
    assert result["lift"] == pytest.approx((81 / 87) / (192 / 263) - 1)
    # Against the pooled z test written out here.
    p = (81 + 192) / (87 + 263)
    z = (81 / 87 - 192 / 263) / math.sqrt(p * (1 - p) * (1 / 87 + 1 / 263))
    assert result["test"] == "z"
    assert result["p_value"] == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-9)


def test_overlapping_groups_are_said_to_overlap(kidney):
    result = explore.compare_groups(
        kidney, SUCCESS, group_a=TREATED_A,
        group_b={"kind": "property", "property": "stone", "op": "=", "value": "small"})
    assert result["overlap"] == 87
    assert "87 users are in both groups" in result["overlap_note"]


def test_repeated_questions_reuse_the_cached_per_user_table(kidney, monkeypatch):
    from analytics.engine import peruser

    explore.stratify(kidney, SUCCESS, criterion=TREATED_A, strata={"property": "stone"})
    scans = []
    original = peruser.scan_events
    monkeypatch.setattr(peruser, "scan_events", lambda *a, **k: scans.append(1) or original(*a, **k))
    explore.stratify(kidney, SUCCESS, criterion=TREATED_A, strata={"property": "age"})
    explore.compare_groups(kidney, SUCCESS, group_a=TREATED_A, group_b={"not": TREATED_A})
    assert scans == []
    assert any(kidney.cache_dir.glob(f"{CACHE_PREFIX}*.parquet"))


def test_bad_definitions_are_refused_with_a_message(kidney):
    with pytest.raises(DefinitionError, match="unknown user property"):
        explore.stratify(kidney, SUCCESS, criterion=TREATED_A, strata={"property": "nope"})
    with pytest.raises(DefinitionError):
        explore.compare_groups(kidney, SUCCESS, group_a=TREATED_A,
                               group_b={"kind": "property", "property": "treatment",
                                        "op": ">", "value": 3})


def test_odds_ratio_is_none_with_an_empty_cell():
    assert explore.odds_ratio(0, 10, 3, 10) is None
    assert explore.odds_ratio(5, 10, 2, 10) == pytest.approx((5 * 8) / (5 * 2))
