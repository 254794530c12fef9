"""analyze() for criteria and evaluate_criteria(): result shape, statistics checked with
scipy/statsmodels, complete windows, population filter, the unsuccessful side, caching."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from scipy.stats import chi2_contingency, fisher_exact
from statsmodels.stats.proportion import proportion_confint

from analytics.engine import peruser
from analytics.engine.analysis import EngineSettings, analyze, evaluate_criteria
from analytics.engine.definitions import DefinitionError
from tests.analytics.builders import build_dataset

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SUCCESS = {"events": ["purchase"], "within_days": 14}
LOGINS = {"kind": "event_count", "event": "login", "op": ">=", "value": 3, "within_days": 7}


def make_rows(n_users: int = 300, seed: int = 3):
    rng = random.Random(seed)
    events, users = [], []
    for i in range(n_users):
        user = f"u{i}"
        start = T0 + timedelta(days=rng.randrange(40), seconds=rng.randrange(86400))
        events.append({"user_id": user, "event": "signup", "timestamp": start,
                       "device": rng.choice(["mobile", "desktop"])})
        n_logins = rng.randrange(6)
        for _ in range(n_logins):
            events.append({"user_id": user, "event": "login",
                           "timestamp": start + timedelta(hours=rng.randrange(1, 24 * 10)),
                           "device": "mobile"})
        if rng.random() < 0.15 + 0.08 * n_logins:
            events.append({"user_id": user, "event": "purchase",
                           "timestamp": start + timedelta(hours=rng.randrange(1, 24 * 20)),
                           "device": "desktop", "amount": float(rng.randrange(1, 100))})
        users.append({"user_id": user, "plan": rng.choice(["free", "pro", None]),
                      "age": rng.choice([None, *range(18, 70)])})
    users.append({"user_id": "no-events", "plan": "pro", "age": 40})
    end = max(e["timestamp"] for e in events)
    for i in range(5):  # their 14-day window is not over when the data ends
        start = end - timedelta(days=i + 1)
        events.append({"user_id": f"late{i}", "event": "signup", "timestamp": start})
        events.append({"user_id": f"late{i}", "event": "purchase", "timestamp": end,
                       "amount": 1.0})
    return events, users


@pytest.fixture(scope="module")
def rows():
    return make_rows()


@pytest.fixture
def version(tmp_path, rows):
    return build_dataset(tmp_path, *rows)


def plain_counts(rows, in_group):
    """Group/rest counts by a straightforward Python reading of the same definitions."""
    events, users = rows
    data_end = max(e["timestamp"] for e in events)
    by_user: dict = {u["user_id"]: [] for u in users}
    for e in events:
        by_user.setdefault(e["user_id"], []).append(e)
    counts = {"n": 0, "x": 0, "excluded": 0, "n1": 0, "x1": 0}
    for user, evs in by_user.items():
        first = min((e["timestamp"] for e in evs), default=None)
        if first is not None and first + timedelta(days=14) > data_end:
            counts["excluded"] += 1
            continue
        success = any(e["event"] == "purchase" and e["timestamp"] < first + timedelta(days=14)
                      for e in evs)
        counts["n"] += 1
        counts["x"] += success
        if in_group(user, evs, first):
            counts["n1"] += 1
            counts["x1"] += success
    return counts


def logins_in_week(user, evs, first):
    return sum(e["event"] == "login" and e["timestamp"] < first + timedelta(days=7)
               for e in evs) >= 3


def test_criterion_result_has_the_contract_shape_and_counts(version, rows):
    result = analyze(version, SUCCESS, criterion=LOGINS)
    expected = plain_counts(rows, logins_in_week)
    assert set(result) >= {"population", "group", "rest", "diff", "lift", "lift_ci95",
                           "p_value", "test"}
    assert result["population"] == {
        "users": expected["n"], "successes": expected["x"],
        "rate": expected["x"] / expected["n"], "excluded_incomplete": expected["excluded"]}
    assert expected["excluded"] > 0
    assert result["group"]["users"] == expected["n1"]
    assert result["group"]["successes"] == expected["x1"]
    assert result["rest"]["users"] == expected["n"] - expected["n1"]
    assert result["rest"]["successes"] == expected["x"] - expected["x1"]
    assert set(result["group"]) == {"users", "successes", "rate", "ci95"}


def test_statistics_agree_with_scipy_and_statsmodels(version):
    result = analyze(version, SUCCESS, criterion=LOGINS)
    g, r = result["group"], result["rest"]
    x1, n1, x0, n0 = g["successes"], g["users"], r["successes"], r["users"]
    assert result["test"] == "z"
    table = [[x1, n1 - x1], [x0, n0 - x0]]
    assert result["p_value"] == pytest.approx(chi2_contingency(table, correction=False)[1],
                                              rel=1e-9)
    low, high = proportion_confint(x1, n1, alpha=0.05, method="wilson")
    assert g["ci95"] == pytest.approx([low, high], rel=1e-9)
    assert result["diff"] == pytest.approx(x1 / n1 - x0 / n0)
    assert result["lift"] == pytest.approx((x1 / n1) / (x0 / n0) - 1)


def test_small_groups_use_fisher(version):
    result = analyze(version, SUCCESS, criterion={"kind": "property", "property": "age",
                                                  "op": "between", "value": [40, 41]})
    g, r = result["group"], result["rest"]
    assert result["test"] == "fisher"
    table = [[g["successes"], g["users"] - g["successes"]],
             [r["successes"], r["users"] - r["successes"]]]
    assert result["p_value"] == pytest.approx(fisher_exact(table)[1], rel=1e-9)


def test_empty_group_has_a_note_and_no_p_value(version):
    result = analyze(version, SUCCESS, criterion={"kind": "property", "property": "plan",
                                                  "op": "=", "value": "enterprise"})
    assert result["group"]["users"] == 0
    assert result["p_value"] is None and result["note"]


def test_population_filter_narrows_first(version, rows):
    pro = {"kind": "property", "property": "plan", "op": "=", "value": "pro"}
    result = analyze(version, SUCCESS, criterion=LOGINS, population_filter=pro)
    plans = {u["user_id"]: u["plan"] for u in rows[1]}
    expected = plain_counts(rows, lambda u, evs, first: plans.get(u) == "pro")
    assert result["population"]["users"] == expected["n1"]
    assert result["population"]["successes"] == expected["x1"]
    both = plain_counts(rows, lambda u, evs, first: plans.get(u) == "pro"
                        and logins_in_week(u, evs, first))
    assert result["group"]["users"] == both["n1"]
    assert result["group"]["successes"] == both["x1"]


def test_unsuccessful_reads_the_other_side(version):
    success_side = analyze(version, SUCCESS, criterion=LOGINS)
    failure_side = analyze(version, SUCCESS, criterion=LOGINS, unsuccessful=True)
    for part in ("group", "rest"):
        assert failure_side[part]["users"] == success_side[part]["users"]
        assert failure_side[part]["successes"] == (
            success_side[part]["users"] - success_side[part]["successes"])
    assert failure_side["population"]["rate"] == pytest.approx(
        1 - success_side["population"]["rate"])
    assert failure_side["p_value"] == pytest.approx(success_side["p_value"])
    assert failure_side["diff"] == pytest.approx(-success_side["diff"])


def test_evaluate_criteria_matches_analyze_in_one_pass(version, monkeypatch):
    criteria = [LOGINS, {"kind": "property", "property": "plan", "op": "=", "value": "pro"},
                {"not": {"kind": "did_event", "event": "login", "within_days": 3}},
                {"kind": "first_event_property", "property": "device", "op": "=",
                 "value": "mobile"}]
    scans = count_scans(monkeypatch)
    population, results = evaluate_criteria(version, SUCCESS, criteria)
    assert len(scans) == 1
    for criterion, row in zip(criteria, results, strict=True):
        single = analyze(version, SUCCESS, criterion=criterion)
        assert row["criterion"] == criterion
        assert population == single["population"]
        for key in ("group", "rest", "diff", "lift", "p_value", "test"):
            assert row[key] == single[key]
    assert len(scans) == 1  # every analyze reused the wide table


def count_scans(monkeypatch) -> list:
    scans: list = []
    real = peruser.scan_events

    def counting(*args, **kwargs):
        scans.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(peruser, "scan_events", counting)
    return scans


def test_second_test_with_the_same_features_does_not_rescan(version, monkeypatch):
    scans = count_scans(monkeypatch)
    first = analyze(version, SUCCESS, criterion=LOGINS)
    other_threshold = {**LOGINS, "value": 1}
    analyze(version, SUCCESS, criterion=other_threshold)
    assert len(scans) == 1
    analyze(version, SUCCESS, criterion={"kind": "did_event", "event": "login"})
    assert len(scans) == 2  # a new feature: a new pass
    analyze(version, {**SUCCESS, "within_days": 7}, criterion=LOGINS)
    assert len(scans) == 3  # a new success definition: a new pass
    # The events are not read again at all: the same test runs without them.
    for part in version.events_dir.glob("*.parquet"):
        part.unlink()
    assert analyze(version, SUCCESS, criterion=LOGINS) == first
    assert not list(version.cache_dir.glob(".tmp-*"))


def test_a_subset_of_cached_features_reuses_the_wider_table(version, monkeypatch):
    scans = count_scans(monkeypatch)
    did = {"kind": "did_event", "event": "login", "within_days": 3}
    evaluate_criteria(version, SUCCESS, [LOGINS, did])
    analyze(version, SUCCESS, criterion=did)
    analyze(version, SUCCESS, criterion={"kind": "property", "property": "age", "op": ">",
                                         "value": 30})
    assert len(scans) == 1


def test_works_without_a_writable_cache(version, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("read-only")

    monkeypatch.setattr(peruser, "_write_cache", refuse)
    result = analyze(version, SUCCESS, criterion=LOGINS,
                     settings=EngineSettings(memory_limit="256MB", threads=1))
    monkeypatch.undo()
    assert result == analyze(version, SUCCESS, criterion=LOGINS)


def test_racing_builders_both_finish_with_one_file(version):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda _: analyze(version, SUCCESS, criterion=LOGINS), [1, 2]))
    assert results[0] == results[1]
    assert len(list(version.cache_dir.glob("*.parquet"))) == 1


def test_bad_definitions_raise_definition_error(version):
    with pytest.raises(DefinitionError, match="did you mean 'purchase'"):
        analyze(version, {"events": ["purchse"]}, criterion=LOGINS)
    with pytest.raises(DefinitionError, match="either a criterion or a breakdown"):
        analyze(version, SUCCESS)
    with pytest.raises(DefinitionError, match="either a criterion or a breakdown"):
        analyze(version, SUCCESS, criterion=LOGINS, breakdown={"property": "plan"})
    with pytest.raises(DefinitionError, match="amount is a number"):
        analyze(version, SUCCESS, criterion={"kind": "event_property", "event": "purchase",
                                             "property": "amount", "agg": "sum", "op": ">",
                                             "value": "lots"})


def test_users_only_dataset_with_property_success(tmp_path):
    version = build_dataset(tmp_path, [], [
        {"user_id": str(i), "y": "yes" if i % 3 == 0 else "no", "age": 20 + i % 40}
        for i in range(200)])
    result = analyze(version, {"property": "y", "op": "=", "value": "yes"},
                     criterion={"kind": "property", "property": "age", "op": "<", "value": 30})
    assert result["population"]["users"] == 200
    assert result["population"]["excluded_incomplete"] == 0
    assert result["group"]["users"] == sum(1 for i in range(200) if 20 + i % 40 < 30)
