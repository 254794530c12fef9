"""discover(): candidates from the data, one pass, q-values over everything tried, rows
that analyze() reproduces, and false discoveries controlled on null data."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from analytics.engine import discovery_table, peruser, stats
from analytics.engine.analysis import analyze, evaluate_criteria
from analytics.engine.definitions import DefinitionError, validate_criterion
from analytics.engine.discovery import discover
from tests.analytics.builders import build_dataset

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SUBSCRIBE = {"events": ["subscribe"], "within_days": 14}


def product(seed: int, n_users: int = 400, effect: bool = True, n_events: int = 5,
            n_properties: int = 4):
    """Users with properties and bursts of events. With `effect`, users who export in
    their first week subscribe far more often; without, success is a coin flip stored as
    a user property and independent of everything else."""
    rng = random.Random(seed)
    extra_events = [f"feature_{k}" for k in range(n_events - 5)]
    events, users = [], []
    for i in range(n_users):
        user = f"u{i}"
        start = T0 + timedelta(days=rng.randrange(30), minutes=rng.randrange(1440))
        device = rng.choice(["mobile", "desktop", "tablet"])
        events.append({"user_id": user, "event": "signup", "timestamp": start,
                       "device": device})
        exported = False
        moment = start
        for _ in range(rng.randrange(1, 12)):
            moment += timedelta(minutes=rng.choice([2, 5, 20, 45, 300, 1500]))
            name = rng.choice(["login", "login", "view_pricing", "export", *extra_events])
            exported |= name == "export" and moment < start + timedelta(days=7)
            events.append({"user_id": user, "event": name, "timestamp": moment,
                           "device": device})
        if rng.random() < 0.3:
            events.append({"user_id": user, "event": "purchase",
                           "timestamp": start + timedelta(days=rng.randrange(1, 20)),
                           "amount": float(rng.randrange(5, 200)), "device": device})
        if effect and rng.random() < (0.6 if exported else 0.15):
            events.append({"user_id": user, "event": "subscribe",
                           "timestamp": start + timedelta(days=rng.randrange(0, 13))})
        row = {"user_id": user, "plan": rng.choice(["free", "pro", "business"]),
               "country": rng.choice(["fr", "de", "us", "uk", "es"]),
               "age": rng.choice([None, *range(18, 70)]), "trial": rng.random() < 0.5,
               "converted": "yes" if rng.random() < 0.3 else "no"}
        for k in range(n_properties - 4):
            row[f"trait_{k}"] = rng.choice(["a", "b", "c", "d", None])
        users.append(row)
    return events, users


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return build_dataset(tmp_path_factory.mktemp("shop"), *product(seed=11))


@pytest.fixture(scope="module")
def everything(shop):
    return discover(shop, SUBSCRIBE, within_days=7, top=1000)


def test_finds_the_planted_effect_first(everything):
    best = everything["characteristics"][0]
    assert "export" in best["label"]
    assert best["lift"] > 1 and best["q_value"] < 1e-6


def test_rows_are_complete_valid_criteria(shop, everything):
    rows = everything["characteristics"]
    assert everything["tried"] == len(rows) >= 40
    schema = shop.schema()
    kinds = set()
    for row in rows:
        criterion = row["criterion"]
        assert validate_criterion(criterion, schema) == criterion
        kinds.add(criterion["kind"])
        if criterion["kind"] in ("event_count", "did_event", "session_count", "time_in_app",
                                 "event_property"):
            assert criterion["within_days"] == 7
        assert set(row) >= {"criterion", "label", "group", "rest", "lift", "p_value",
                            "q_value"}
        assert criterion.get("event") not in ("subscribe",)  # the success itself
    assert kinds == {"property", "did_event", "event_count", "event_property",
                     "first_event_property", "session_count", "time_in_app"}


def test_analyze_reproduces_every_row(shop, everything):
    rows = everything["characteristics"]
    population, again = evaluate_criteria(shop, SUBSCRIBE, [r["criterion"] for r in rows])
    assert population == everything["population"]
    for row, fresh in zip(rows, again, strict=True):
        assert (row["group"], row["rest"], row["p_value"]) == (
            fresh["group"], fresh["rest"], fresh["p_value"])
    for row in rows[:: max(1, len(rows) // 5)]:
        single = analyze(shop, SUBSCRIBE, criterion=row["criterion"])
        assert single["group"] == row["group"] and single["rest"] == row["rest"]
        assert single["p_value"] == row["p_value"]


def test_q_values_are_over_everything_tried(shop, everything):
    rows = everything["characteristics"]
    p_values = [r["p_value"] for r in rows]
    expected = dict(zip(map(repr, (r["criterion"] for r in rows)), stats.bh_adjust(p_values),
                        strict=True))
    for row in rows:
        assert row["q_value"] == expected[repr(row["criterion"])]
    shown = discover(shop, SUBSCRIBE, within_days=7, top=3)
    assert len(shown["characteristics"]) == 3 and shown["tried"] == everything["tried"]
    for row in shown["characteristics"]:
        assert row["q_value"] == expected[repr(row["criterion"])]
        assert row["q_value"] > row["p_value"]  # the family is larger than what is shown


def test_strongest_evidence_first(everything):
    p_values = [r["p_value"] for r in everything["characteristics"]]
    known = [p for p in p_values if p is not None]
    assert known == sorted(known)
    assert p_values[: len(known)] == known  # rows without a test come last


def test_discovery_builds_its_table_once_and_analyze_reuses_it(tmp_path, monkeypatch):
    version = build_dataset(tmp_path, *product(seed=5, n_users=150))
    builds: list = []
    scans: list = []
    real_build, real_scan = discovery_table.build_table, peruser.scan_events
    monkeypatch.setattr(discovery_table, "build_table",
                        lambda *a: builds.append(1) or real_build(*a))
    monkeypatch.setattr(peruser, "scan_events", lambda *a: scans.append(1) or real_scan(*a))
    result = discover(version, SUBSCRIBE, within_days=7, top=5)
    assert len(builds) == 1
    discover(version, SUBSCRIBE, within_days=7, top=5)
    assert len(builds) == 1
    for row in result["characteristics"]:
        analyze(version, SUBSCRIBE, criterion=row["criterion"])
    assert scans == []


def test_unsuccessful_reads_failure_rates(shop, everything):
    failing = discover(shop, SUBSCRIBE, within_days=7, top=1000, unsuccessful=True)
    by_criterion = {repr(r["criterion"]): r for r in everything["characteristics"]}
    assert failing["population"]["successes"] == (
        everything["population"]["users"] - everything["population"]["successes"])
    for row in failing["characteristics"][:10]:
        other = by_criterion[repr(row["criterion"])]
        assert row["group"]["successes"] == other["group"]["users"] - other["group"][
            "successes"]
        assert row["p_value"] == pytest.approx(other["p_value"])


def test_a_rich_dataset_gets_about_two_hundred_candidates(tmp_path):
    version = build_dataset(tmp_path, *product(seed=2, n_users=600, n_events=25,
                                               n_properties=24))
    result = discover(version, {"property": "converted", "op": "=", "value": "yes"},
                      within_days=7, top=1)
    assert 150 <= result["tried"] <= 300
    labels = " ".join(r["label"] for r in discover(
        version, {"property": "converted", "op": "=", "value": "yes"}, top=1000)[
        "characteristics"])
    assert "converted" not in labels  # the success property is not a candidate


def test_bad_options_are_definition_errors(shop):
    with pytest.raises(DefinitionError, match="within_days"):
        discover(shop, SUBSCRIBE, within_days=0)
    with pytest.raises(DefinitionError, match="'top'"):
        discover(shop, SUBSCRIBE, top=-1)
    with pytest.raises(DefinitionError, match="did you mean 'subscribe'"):
        discover(shop, {"events": ["subscribed"]})


def test_false_discoveries_stay_rare_on_null_data(tmp_path):
    """Success independent of everything: BH keeps the chance of any discovery near 5%
    per run, while raw p-values below 0.05 turn up in most runs (so the assertion fails
    if q-values were raw p-values)."""
    seeds = range(10)
    success = {"property": "converted", "op": "=", "value": "yes"}
    any_q, any_p, tried = 0, 0, []
    for seed in seeds:
        version = build_dataset(tmp_path / str(seed), *product(seed=100 + seed, n_users=300,
                                                              effect=False))
        result = discover(version, success, within_days=7, top=1)
        best = result["characteristics"][0]
        tried.append(result["tried"])
        any_q += best["q_value"] < 0.05
        any_p += best["p_value"] < 0.05
    assert min(tried) >= 30
    assert any_q <= 2
    assert any_p >= 6
