"""discovery_values counts each property column's values once and answers profiles and
value candidates from those counts: every answer must be the one DuckDB gives over the
same table (Profile without histograms, analysis.count_criteria)."""

from __future__ import annotations

import math
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.engine import discovery, duck
from analytics.engine.analysis import Population, count_criteria
from analytics.engine.discovery_counts import count_candidates
from analytics.engine.discovery_values import Histograms
from analytics.engine.peruser_columns import INCLUDED_COLUMN, SUCCESS_COLUMN, Feature
from analytics.engine.sql import Sql
from tests.analytics.test_discovery_table import _same

TABLE = "values_reference"
TEXTS = st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "B", "é", ""])),
                 min_size=40, max_size=40)
WHOLES = st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=40, max_size=40)
REALS = st.lists(st.one_of(st.none(), st.sampled_from([-1.5, 0.0, -0.0, 2.5, math.nan,
                                                       math.inf])), min_size=40, max_size=40)
TRUTHS = st.lists(st.one_of(st.none(), st.booleans()), min_size=40, max_size=40)
FLAGS = st.lists(st.one_of(st.none(), st.booleans()), min_size=40, max_size=40)
FIRST = {"kind": "first_event_property", "property": "device"}
SCHEMA = SimpleNamespace(user_properties={"t": "text", "k": "integer", "f": "float",
                                          "b": "boolean"},
                         event_properties={"device": "text"})


def _population(texts, wholes, reals, truths, devices, included, success, unsuccessful):
    """The columns above, and two with more distinct values than a profile shows (so that
    ties at its limit are broken by value)."""
    con = duck.connect(threads=1)
    q = duck.quote_identifier
    con.execute(f"CREATE TABLE {TABLE} (t VARCHAR, k BIGINT, f DOUBLE, b BOOLEAN, "
                f"{q(Feature.of(FIRST).column)} VARCHAR, {q(INCLUDED_COLUMN)} BOOLEAN, "
                f"{q(SUCCESS_COLUMN)} BOOLEAN, w BIGINT, u VARCHAR)")
    wide = [None if k is None else (7 * k + len(t or "")) % 23 for k, t in zip(wholes, texts,
                                                                                strict=True)]
    con.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    list(zip(texts, wholes, reals, truths, devices, included, success, wide,
                             [None if w is None else chr(120 - w) for w in wide],
                             strict=True)))
    flag = q(SUCCESS_COLUMN)
    return con, Population(Sql(TABLE), Sql("true"),
                           f"(NOT {flag})" if unsuccessful else flag)


@settings(max_examples=100, deadline=None)
@given(TEXTS, WHOLES, REALS, TRUTHS, TEXTS, st.lists(st.booleans(), min_size=40, max_size=40),
       FLAGS)
def test_profiles_from_value_counts_are_duckdbs(texts, wholes, reals, truths, devices,
                                               included, success):
    con, population = _population(texts, wholes, reals, truths, devices, included, success,
                                  False)
    plain = discovery.Profile(con, Sql(TABLE))
    counted = discovery.Profile(con, Sql(TABLE), histograms=Histograms(con, population))
    for column in ("t", "k", "f", "b", "w", "u",
                   duck.quote_identifier(Feature.of(FIRST).column)):
        expected, got = plain.common_values(column), counted.common_values(column)
        assert got[0] == expected[0]
        assert len(got[1]) == len(expected[1]) and all(
            _same(a, b) and n == m for (a, n), (b, m) in zip(got[1], expected[1], strict=True)
        ), (column, got, expected)
    for column in ("k", "f", "w"):
        expected = plain.numbers(column, positive_only=False)
        got = counted.numbers(column, positive_only=False)
        assert got[:2] == expected[:2] and _same(got[2], expected[2]), (column, got, expected)
        assert len(got[3]) == len(expected[3]) and all(
            _same(a, b) for a, b in zip(got[3], expected[3], strict=True)), (column, got)




@settings(max_examples=100, deadline=None)
@given(TEXTS, WHOLES, REALS, TRUTHS, TEXTS, st.lists(st.booleans(), min_size=40, max_size=40),
       FLAGS, st.booleans())
def test_values_are_counted_as_duckdb_compares_them(texts, wholes, reals, truths, devices,
                                                     included, success, unsuccessful):
    con, population = _population(texts, wholes, reals, truths, devices, included, success,
                                  unsuccessful)
    schema = SCHEMA
    criteria = []
    for name, values in (("t", ["a", "B", "é", "", "z"]), ("k", [-3, 0, 2, 1.5, 7]),
                         ("f", [-1.5, 0.0, 0, 2.5, 3, -7]), ("b", [True, False])):
        prop = {"kind": "property", "property": name}
        criteria += [{**prop, "op": "is_not_set"}, *({**prop, "op": "=", "value": v}
                                                    for v in values)]
        if name in ("k", "f"):
            criteria += [{**prop, "op": ">=", "value": v} for v in values]
    criteria += [{**FIRST, "op": "=", "value": v} for v in ("a", "b", "")]
    criteria += [{**FIRST, "op": "is_not_set"}, {"kind": "property", "property": "t",
                                                 "op": "in", "value": ["a", "b"]}]
    expected = count_criteria(con, population, criteria, schema)
    assert count_candidates(con, population, criteria, schema, None) == expected


def test_ties_at_the_limit_are_broken_by_value_whatever_order_duckdb_groups_in():
    import numpy as np

    from analytics.engine.discovery_values import Histogram, common_values, numbers

    keys = ["m", "z", "b", "a", "y", "c"]
    users = [5, 2, 2, 0, 2, 7]
    text = Histogram("text", np.array(keys, dtype=object), np.array(users), np.zeros(6, int),
                     3, 0)
    # "a" holds no counted user; of the three with 2, the two smallest values
    assert common_values(text, 4) == (18, [("c", 7), ("m", 5), ("b", 2), ("y", 2)])
    reals = Histogram("real", np.array([3.0, math.nan, -1.0, 2.5]), np.array([1, 4, 1, 1]),
                      np.zeros(4, int), 0, 0)
    found = common_values(reals, 3)
    assert found[0] == 7 and found[1][0][1] == 4 and math.isnan(found[1][0][0])
    assert found[1][1:] == [(-1.0, 1), (2.5, 1)]
    assert numbers(reals, (0.1, 0.5, 0.9))[:3] == (7, 4, -1.0)
