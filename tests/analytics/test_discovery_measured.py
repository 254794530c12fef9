"""discovery_measured profiles and counts a discovery table's behaviour measures in numpy
while DuckDB writes the table to the cache: every answer must be DuckDB's over the same
values (nulls, NaN, quantile_disc's ranks), and the table written on the side must be the
one the per-user query builds."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.engine import discovery, discovery_build, duck
from analytics.engine.analysis import Population, count_criteria
from analytics.engine.definitions import validate_success
from analytics.engine.discovery_counts import count_candidates
from analytics.engine.discovery_measured import Measured
from analytics.engine.peruser import CACHE_PREFIX
from analytics.engine.peruser_columns import INCLUDED_COLUMN, SUCCESS_COLUMN, Feature
from analytics.engine.sql import Sql
from tests.analytics.builders import build_dataset
from tests.analytics.test_discovery import SUBSCRIBE, product
from tests.analytics.test_discovery_table import _reference, _same

TABLE = "measured_reference"
COUNT = {"kind": "event_count", "event": "view", "within_days": 7}
DID = {"kind": "did_event", "event": "view", "within_days": 7}
MINUTES = {"kind": "time_in_app", "within_days": 7}
AVERAGE = {"kind": "event_property", "event": "buy", "property": "price", "agg": "avg"}
WHOLE = st.lists(st.integers(0, 40), min_size=0, max_size=60)
FRACTIONS = st.lists(st.one_of(st.none(), st.just(math.nan), st.floats(-5, 500)),
                     min_size=0, max_size=60)
FLAGS = st.lists(st.one_of(st.none(), st.booleans()), min_size=60, max_size=60)


def _column(measure: dict) -> str:
    return Feature.of(measure).column


def _table(counts: list[int], averages: list, included: list[bool], success: list
           ) -> tuple[duck.Connection, Measured]:
    """The same users as a DuckDB table (NaN written as NaN, not null) and as Measured."""
    n = min(len(counts), len(averages), len(included))
    counts, averages, included, success = counts[:n], averages[:n], included[:n], success[:n]
    con = duck.connect(threads=1)
    value = np.array([0.0 if a is None else a for a in averages], dtype=np.float64)
    null = np.array([a is None for a in averages], dtype=bool)
    nan = np.isnan(value) & ~null
    minutes = np.array([c * 1.5 for c in counts], dtype=np.float64)
    won = np.array([bool(s) for s in success], dtype=bool)
    lost = np.array([s is None for s in success], dtype=bool)
    con.register("source", {
        "c": np.array(counts, dtype=np.int64), "m": minutes, "a": np.ma.MaskedArray(value, null),
        "nan": nan, "i": np.array(included, dtype=bool), "s": np.ma.MaskedArray(won, lost)})
    q = duck.quote_identifier
    con.execute(f"CREATE TABLE {TABLE} AS SELECT c AS {q(_column(COUNT))}, "
                f"c > 0 AS {q(_column(DID))}, m AS {q(_column(MINUTES))}, "
                f"CASE WHEN nan THEN CAST('NaN' AS DOUBLE) ELSE a END AS {q(_column(AVERAGE))}, "
                f"i AS {q(INCLUDED_COLUMN)}, s AS {q(SUCCESS_COLUMN)} FROM source")
    columns = {q(_column(COUNT)): np.array(counts, dtype=np.int64),
               q(_column(DID)): np.array(counts, dtype=np.int64) > 0,
               q(_column(MINUTES)): minutes,
               q(_column(AVERAGE)): np.ma.MaskedArray(value, null)}
    return con, Measured(np.array(included, dtype=bool), won & ~lost, columns)


def _same_numbers(a: tuple, b: tuple) -> bool:
    return (a[0] == b[0] and a[1] is None and b[1] is None and _same(a[2], b[2])
            and len(a[3]) == len(b[3]) and all(_same(x, y) for x, y in zip(a[3], b[3], strict=True)))


@settings(max_examples=150, deadline=None)
@given(WHOLE, FRACTIONS, st.lists(st.booleans(), min_size=60, max_size=60), FLAGS)
def test_profiles_are_duckdbs(counts, averages, included, success):
    con, measured = _table(counts, averages, included, success)
    profile = discovery.Profile(con, Sql(TABLE))
    for measure in (COUNT, MINUTES, AVERAGE):
        column = duck.quote_identifier(_column(measure))
        for positive_only in (True, False):
            expected = profile.numbers(column, positive_only, distinct=False)
            got = measured.numbers(column, positive_only, discovery.QUANTILES)
            assert _same_numbers(got, expected), (measure["kind"], positive_only, got, expected)


@settings(max_examples=100, deadline=None)
@given(WHOLE, FRACTIONS, st.lists(st.booleans(), min_size=60, max_size=60), FLAGS,
       st.booleans())
def test_counts_are_duckdbs(counts, averages, included, success, unsuccessful):
    con, measured = _table(counts, averages, included, success)
    if unsuccessful:
        measured = Measured(measured.included,
                            ~measured.outcome & np.array([s is not None for s in success][
                                :len(measured.included)], dtype=bool), measured.columns)
    flag = duck.quote_identifier(SUCCESS_COLUMN)
    population = Population(Sql(TABLE), Sql("true"), f"(NOT {flag})" if unsuccessful else flag)
    criteria = [DID, {**DID, "did": False}]  # did: false is left to DuckDB
    for value in (0, 1, 3, 2.5, 40):
        criteria += [{**COUNT, "op": ">=", "value": value},
                     {**MINUTES, "op": ">=", "value": value},
                     {**AVERAGE, "op": ">=", "value": value - 0.25}]
    criteria.append({**COUNT, "op": "<", "value": 3})  # not counted in numpy: DuckDB's
    assert measured.group({**COUNT, "op": "<", "value": 3}) is None
    expected = count_criteria(con, population, criteria, None)
    assert count_candidates(con, population, criteria, None, measured) == expected


def test_quantile_ranks_are_duckdbs_for_many_sizes():
    con = duck.connect(threads=1)
    for n in [*range(1, 60), 997, 10_007, 123_457]:
        values = np.random.default_rng(n).integers(0, 50, n)
        con.register("v", {"x": values})
        marks = ", ".join("?" for _ in discovery.QUANTILES)
        expected = con.execute(f"SELECT quantile_disc(x, [{marks}]) FROM v",
                               list(discovery.QUANTILES)).fetchall()[0][0]
        measured = Measured(np.ones(n, dtype=bool), np.zeros(n, dtype=bool), {"x": values})
        assert measured.numbers("x", False, discovery.QUANTILES)[3] == expected, n
        floats = Measured(measured.included, measured.outcome, {"x": values * 0.5})
        con.register("v", {"x": values * 0.5})
        assert floats.numbers("x", False, discovery.QUANTILES)[3] == con.execute(
            f"SELECT quantile_disc(x, [{marks}]) FROM v", list(discovery.QUANTILES)
        ).fetchall()[0][0], n


def test_the_cache_written_beside_the_run_is_the_per_user_querys(tmp_path):
    version = build_dataset(tmp_path, *product(seed=31, n_users=250))
    discovery.discover(version, SUBSCRIBE, within_days=7)
    (manifest,) = version.cache_dir.glob(f"{CACHE_PREFIX}*.json")
    features = [Feature(key) for key in json.loads(manifest.read_text())["features"]]
    assert any(f.measure["kind"] == "session_count" for f in features)
    con = duck.connect(threads=2)
    schema = version.schema()
    expected = _reference(con, version, schema, validate_success(SUBSCRIBE, schema), features)
    result = con.execute("SELECT * FROM read_parquet(?) ORDER BY _uid",
                         [str(manifest.with_suffix(".parquet"))])
    names = [d[0] for d in result.description]
    got = dict(zip(names, zip(*result.fetchall(), strict=True), strict=True))
    assert set(got) == set(expected)
    for name, column in expected.items():
        assert all(_same(a, b) for a, b in zip(column, got[name], strict=True)), name


def test_a_cache_that_cannot_be_written_costs_no_answer(tmp_path, monkeypatch):
    version = build_dataset(tmp_path, *product(seed=31, n_users=120))
    expected = discovery.discover(version, SUBSCRIBE, within_days=7, top=50)
    for path in version.cache_dir.glob(f"{CACHE_PREFIX}*"):
        path.unlink()

    def refuse(*args):
        raise OSError("read-only")

    monkeypatch.setattr(discovery_build, "_write_cache", refuse)
    assert discovery.discover(version, SUBSCRIBE, within_days=7, top=50) == expected
    assert not list(version.cache_dir.glob(f"{CACHE_PREFIX}*"))


def test_a_failed_cache_write_is_not_hidden(tmp_path, monkeypatch):
    version = build_dataset(tmp_path, *product(seed=31, n_users=60))

    def broken(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(discovery_build, "_write_cache", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        discovery.discover(version, SUBSCRIBE, within_days=7)

