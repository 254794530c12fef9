"""The SQL console's sandbox. Every escape attempt is refused (or stopped) with a clear
message that shows no file path, and the next query on the same process works."""

from __future__ import annotations

import json

import pytest

from analytics.engine import console, console_process, duck
from analytics.engine.console import ConsoleLimits, ConsoleRefused, ConsoleSources, ConsoleStopped
from tests.analytics.builders import build_dataset

FAST = ConsoleLimits(seconds=0.5, memory_limit="128MB")
SUCCESS = {"events": ["buy"]}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("console")
    events = [
        {"user_id": "ann", "event": "login", "timestamp": "2024-01-01T08:00:00", "device": "mobile"},
        {"user_id": "ann", "event": "buy", "timestamp": "2024-01-02T08:00:00", "device": "mobile"},
        {"user_id": "bob", "event": "login", "timestamp": "2024-01-01T09:00:00", "device": "desktop"},
    ]
    users = [{"user_id": "ann", "plan": "pro"}, {"user_id": "bob", "plan": "free"},
             {"user_id": "cid", "plan": "free"}]
    ours = build_dataset(root, events, users, name="ours")
    theirs = build_dataset(root, [{"user_id": "zed", "event": "secret", "timestamp":
                                   "2024-01-01T00:00:00"}], [{"user_id": "zed",
                                                              "salary": 99}], name="theirs")
    return root, ours, theirs, ConsoleSources.for_success(ours, SUCCESS)


@pytest.fixture
def sources(datasets):
    return datasets[3]


def run(sources, sql, limits=FAST):
    return console.run_query(sources, sql, limits)


def assert_healthy(sources):
    """The next query after a refusal or a stop runs normally."""
    assert run(sources, "SELECT count(*) AS n FROM events")["rows"] == [[3]]


# ---------------------------------------------------------------- what works


def test_reads_the_three_tables(sources):
    result = run(sources, "SELECT u.user_id, count(*) AS n FROM events e "
                          "JOIN users u USING (_uid) GROUP BY ALL ORDER BY n DESC, 1")
    assert result["columns"] == [{"name": "user_id", "type": "VARCHAR"},
                                 {"name": "n", "type": "BIGINT"}]
    assert result["rows"] == [["ann", 2], ["bob", 1]]
    assert result["row_count"] == 2 and result["truncated"] is False
    assert result["elapsed_ms"] >= 0
    per_user = run(sources, "SELECT user_id, plan, succeeded, window_complete FROM per_user "
                            "ORDER BY user_id")
    assert per_user["rows"] == [["ann", "pro", True, True], ["bob", "free", False, True],
                                ["cid", "free", False, True]]


@pytest.mark.parametrize("sql", [
    "WITH t AS (SELECT 1 AS x) SELECT * FROM t",
    "DESCRIBE events",
    "SUMMARIZE users",
    "SELECT * FROM range(3)",
    "SELECT * FROM unnest([1, 2])",
    "select 1; ",
    "SELECT 1 -- ; COPY x TO '/tmp/x'",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) "
    "SELECT max(n) FROM t",
])
def test_ordinary_queries_run(sources, sql):
    assert run(sources, sql)["row_count"] >= 1


def test_row_cap_says_the_result_was_cut(sources):
    result = run(sources, "SELECT * FROM range(5000) ORDER BY range DESC",
                 ConsoleLimits(max_rows=100))
    assert result["row_count"] == 100 and result["truncated"] is True
    assert result["rows"][0] == [4999]  # ORDER BY survives the cap


def test_long_values_are_cut_inside_duckdb(sources):
    result = run(sources, "SELECT repeat('x', 100000) AS s, [1, 2] AS l, 7 AS n")
    value, listed, number = result["rows"][0]
    assert len(value) == FAST.max_cell_chars + 1 and value.endswith("…")
    assert listed == "[1, 2]" and number == 7
    assert result["cut_cells"] == 1


def test_values_become_json(sources):
    row = run(sources, "SELECT TIMESTAMPTZ '2024-01-01 10:00:00+00' AS t, 1.5::DECIMAL(4,2) AS d,"
                       " 'nan'::DOUBLE AS f, INTERVAL 1 DAY AS i, NULL AS z")["rows"][0]
    assert row == ["2024-01-01T10:00:00+00:00", 1.5, "nan", "1 day, 0:00:00", None]


def test_csv_rows_have_a_header(sources):
    result = run(sources, "SELECT 1 AS a, 'x' AS b")
    assert console.result_csv_rows(result) == [["a", "b"], [1, "x"]]


# ---------------------------------------------------------------- escape attempts

ESCAPES = [
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv() cannot be used"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "cannot be used"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text() cannot be used"),
    ("SELECT * FROM read_blob('/etc/hostname')", "read_blob() cannot be used"),
    ("SELECT * FROM '/etc/passwd'", "Unknown table"),
    ("SELECT * FROM glob('{data}/*')", "glob() cannot be used"),
    ("SELECT * FROM read_parquet('{theirs}')", "read_parquet() cannot be used"),
    ("SELECT * FROM '{theirs}'", "Unknown table"),
    ("SELECT * FROM parquet_metadata('{ours}')", "cannot be used"),
    ("COPY (SELECT * FROM users) TO '/tmp/stolen.csv'", "COPY is not allowed"),
    ("EXPORT DATABASE '/tmp/stolen'", "EXPORT DATABASE is not allowed"),
    ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH is not allowed"),
    ("INSTALL httpfs", "INSTALL is not allowed"),
    ("LOAD httpfs", "LOAD is not allowed"),
    ("SET enable_external_access = true", "SET is not allowed"),
    ("RESET enable_external_access", "RESET is not allowed"),
    ("SET lock_configuration = false", "SET is not allowed"),
    ("PRAGMA version", "PRAGMA is not allowed"),
    ("CALL duckdb_settings()", "CALL is not allowed"),
    ("CREATE TABLE t AS SELECT 1", "CREATE TABLE is not allowed"),
    ("CREATE VIEW v AS SELECT 1", "CREATE VIEW is not allowed"),
    ("CREATE MACRO m(x) AS x", "CREATE MACRO is not allowed"),
    ("INSERT INTO users (user_id) VALUES ('x')", "INSERT is not allowed"),
    ("DROP VIEW events", "DROP VIEW is not allowed"),
    ("EXPLAIN ANALYZE SELECT 1", "EXPLAIN is not allowed"),
    ("SELECT 1; COPY (SELECT 1) TO '/tmp/x.csv'", "One statement at a time"),
    ("SELECT 1; SELECT 2", "One statement at a time"),
    ("SELECT * FROM duckdb_settings()", "duckdb_settings() cannot be used"),
    ("SELECT * FROM duckdb_views()", "duckdb_views() cannot be used"),
    ("SELECT * FROM duckdb_views", "Unknown table"),
    ("SELECT * FROM information_schema.tables", "leave out schema"),
    ("SELECT * FROM pg_catalog.pg_settings", "leave out schema"),
    ("SELECT current_setting('temp_directory')", "current_setting() is not available"),
    ("SELECT getenv('HOME')", "getenv() is not available"),
    ("SELECT * FROM query('SELECT * FROM read_csv(''/etc/passwd'')')", "query() cannot be used"),
    ("SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))",
     "cannot be used"),
    ("SELECT * FROM (WITH pg_settings AS (SELECT 1) SELECT 1), pg_settings", "Unknown table"),
    ("SELECT $1", "Parameters"),
    ("SUMMARIZE SELECT * FROM read_csv('/etc/passwd')", "read_csv() cannot be used"),
    ("DESCRIBE '/etc/passwd'", "Unknown table"),
    ("SELECT * FROM events, LATERAL read_text('/etc/passwd')", "read_text() cannot be used"),
    ("SELECT (SELECT count(*) FROM read_blob('/etc/passwd'))", "read_blob() cannot be used"),
    ("SELECT list_transform([1], lambda x: (SELECT 1 FROM glob('/*')))", "glob() cannot"),
    ("SELECT * FROM events AT (VERSION => 1)", "time travel"),
    ("SELECT * FROM memory.main.events", "leave out schema"),
    ("SELECT * FROM " + "(SELECT * FROM " * 700 + "events" + ") t" * 700, "nested too deeply"),
    ("SHOW TABLES", "DESCRIBE"),
    ("", "Write a SELECT query"),
]


@pytest.mark.parametrize(("sql", "message"), ESCAPES)
def test_escape_attempts_are_refused(datasets, sql, message):
    root, ours, theirs, sources = datasets
    sql = sql.format(data=root, theirs=theirs.users_path, ours=ours.users_path)
    with pytest.raises(ConsoleRefused) as refused:
        run(sources, sql)
    text = str(refused.value)
    assert message in text
    assert str(root) not in text and "/etc" not in text and "/tmp" not in text
    assert_healthy(sources)


def test_never_ending_cross_join_is_stopped_by_the_time_limit(sources):
    with pytest.raises(ConsoleStopped, match=r"took longer than 0.5 s"):
        run(sources, "SELECT count(*) FROM range(1000000000000) a CROSS JOIN events b "
                     "CROSS JOIN events c CROSS JOIN users d")
    assert_healthy(sources)


def test_never_ending_recursion_is_stopped(sources):
    with pytest.raises(ConsoleStopped):
        run(sources, "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) "
                     "SELECT count(*) FROM t")
    assert_healthy(sources)


def test_unbounded_allocation_is_stopped_by_the_memory_limit(sources):
    with pytest.raises(ConsoleStopped, match="needed more than 128MB of memory"):
        run(sources, "SELECT list(repeat('x', 1000000)) FROM range(100000)")
    with pytest.raises(ConsoleStopped, match="memory"):
        run(sources, "SELECT string_agg(repeat('y', 100000), ',') FROM range(1000000)")
    assert_healthy(sources)


def test_too_long_and_too_wide_queries_are_refused(sources):
    with pytest.raises(ConsoleRefused, match="longer than"):
        run(sources, "SELECT 1" + " " * 30_000)
    wide = "SELECT " + ", ".join(f"{i} AS c{i}" for i in range(150))
    with pytest.raises(ConsoleRefused, match="at most 100"):
        run(sources, wide)


def test_errors_in_the_query_are_shown_without_paths(sources):
    with pytest.raises(ConsoleRefused, match="Referenced column") as refused:
        run(sources, "SELECT nope FROM events")
    assert "/" not in str(refused.value).split("LINE")[0]


# ---------------------------------------------------------------- the second wall alone


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('{theirs}')",
    "SELECT * FROM glob('{data}/*')",
    "COPY (SELECT 1) TO '{data}/out.csv'",
    "ATTACH '{data}/x.duckdb'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "SET lock_configuration = false",
    "SET allowed_directories = ['/']",
    "SET temp_directory = '{data}'",
])
def test_the_locked_connection_refuses_even_without_the_checker(datasets, sql):
    """Were the syntax check ever fooled, DuckDB's own settings still refuse."""
    root, _ours, theirs, sources = datasets
    con = console.sandbox_connection(sources, FAST)
    try:
        with pytest.raises(duck.Error):
            con.execute(sql.format(data=root, theirs=theirs.users_path)).fetchall()
        assert con.execute("SELECT count(*) FROM users").fetchone() == (3,)
    finally:
        con.close()
    assert not (root / "out.csv").exists()


def test_clean_message_removes_paths():
    message = ('IO Error: No files found that match the pattern "/srv/data/datasets/7/v1/x" '
               "and /root/.duckdb/extensions/v2.0.0 too; 10/2 stays")
    cleaned = console.clean_message(message, ("/srv/data/datasets/7",))
    assert "/srv" not in cleaned and "/root" not in cleaned
    assert "10/2 stays" in cleaned


# ---------------------------------------------------------------- the isolated process


def test_isolated_process_answers_like_the_sandbox(sources):
    result = console_process.run_query_isolated(sources, "SELECT plan, count(*) AS n FROM users "
                                                 "GROUP BY plan ORDER BY plan", FAST)
    assert result["rows"] == [["free", 2], ["pro", 1]]
    with pytest.raises(ConsoleRefused, match="read_csv"):
        console_process.run_query_isolated(sources, "SELECT * FROM read_csv('/etc/passwd')", FAST)
    with pytest.raises(ConsoleRefused, match="Referenced column"):
        console_process.run_query_isolated(sources, "SELECT nope FROM users", FAST)


def test_one_huge_value_is_stopped_by_the_process_memory_cap(sources):
    """DuckDB's memory limit does not cover a single 2 GB string; the child's address
    space cap does, and the worker's own memory is never touched."""
    with pytest.raises(ConsoleStopped, match="memory"):
        console_process.run_query_isolated(sources, "SELECT length(repeat('x', 2000000000))", FAST)
    assert console_process.run_query_isolated(sources, "SELECT 1 AS one", FAST)["rows"] == [[1]]


def test_isolated_runaway_query_is_stopped_in_time(sources):
    with pytest.raises(ConsoleStopped, match="took longer than 0.5 s"):
        console_process.run_query_isolated(sources, "SELECT count(*) FROM range(1000000000000) a "
                                            "CROSS JOIN events b", FAST)


# ---------------------------------------------------------------- issue 12: CTEs and the catalog


@pytest.fixture
def engine_never_reached(monkeypatch):
    """The check alone must refuse: building the sandbox fails the test."""
    def reached(*args, **kwargs):
        raise AssertionError("the query reached the engine")
    monkeypatch.setattr(console, "sandbox_connection", reached)


@pytest.mark.parametrize(("sql", "message"), [
    # As the hostile tester wrote them: each read the catalog through a CTE of its name.
    ("WITH duckdb_views AS (SELECT * FROM duckdb_views) SELECT sql FROM duckdb_views",
     "duckdb_views"),
    ("WITH pg_settings AS (SELECT * FROM pg_settings) SELECT name, setting FROM pg_settings",
     "pg_settings"),
    ("WITH RECURSIVE duckdb_views AS (SELECT * FROM duckdb_views) SELECT sql FROM duckdb_views",
     "duckdb_views"),
    # The CTE's own body harmless: the name alone is refused.
    ("WITH pg_settings AS (SELECT 1 AS x) SELECT * FROM pg_settings", "DuckDB already uses"),
    ("WITH DuckDB_Settings AS (SELECT 1 AS x) SELECT * FROM DuckDB_Settings",
     "DuckDB already uses"),
    ("WITH information_schema AS (SELECT 1 AS x) SELECT * FROM information_schema",
     "DuckDB already uses"),
    ("WITH sqlite_master AS (SELECT 1 AS x) SELECT * FROM sqlite_master", "DuckDB already uses"),
    ("WITH pg_views AS (SELECT 1 AS x) SELECT * FROM pg_views", "DuckDB already uses"),
    ("WITH range AS (SELECT 1 AS x) SELECT * FROM range", "DuckDB already uses"),
    ("WITH levenshtein AS (SELECT 1 AS x) SELECT * FROM levenshtein", "DuckDB already uses"),
    ("WITH main AS (SELECT 1 AS x) SELECT * FROM main", "DuckDB already uses"),
    ("WITH pg_anything_new AS (SELECT 1 AS x) SELECT * FROM pg_anything_new",
     "DuckDB already uses"),
    ("WITH events AS (SELECT 1 AS x) SELECT * FROM events", "already one of the console's"),
    ("WITH RECURSIVE pg_settings AS (SELECT 1 AS x UNION ALL SELECT x + 1 FROM pg_settings "
     "WHERE x < 3) SELECT * FROM pg_settings", "DuckDB already uses"),
    ("SELECT * FROM (WITH duckdb_views AS (SELECT 1 AS x) SELECT * FROM duckdb_views)",
     "DuckDB already uses"),
    ("SELECT (WITH pg_settings AS (SELECT 1 AS x) SELECT max(x) FROM pg_settings)",
     "DuckDB already uses"),
    ("SELECT pg_get_viewdef(i) FROM range(100000) t(i)", "pg_get_viewdef() is not available"),
])
def test_a_cte_cannot_shadow_the_catalog(sources, engine_never_reached, sql, message):
    with pytest.raises(ConsoleRefused) as refused:
        run(sources, sql)
    assert message in str(refused.value)
    assert "/" not in str(refused.value)


@pytest.mark.parametrize("template", [
    'WITH "{theirs}" AS (SELECT * FROM "{theirs}") SELECT * FROM "{theirs}"',
    "WITH \"{theirs}\" AS (SELECT 1 AS x) SELECT * FROM '{theirs}'",
    "WITH t AS (SELECT * FROM '{theirs}') SELECT * FROM t",
    'WITH RECURSIVE "{theirs}" AS (SELECT 1 AS x UNION ALL SELECT x + 1 FROM "{theirs}" '
    "WHERE x < 3) SELECT * FROM \"{theirs}\"",
    "WITH users_parquet AS (SELECT 1 AS x) SELECT * FROM \"{theirs}\"",
])
def test_another_teams_file_is_refused_before_the_engine(datasets, engine_never_reached,
                                                         template):
    root, _ours, theirs, sources = datasets
    with pytest.raises(ConsoleRefused) as refused:
        run(sources, template.format(theirs=theirs.users_path))
    assert str(root) not in str(refused.value) and "theirs" not in str(refused.value)


@pytest.mark.parametrize(("sql", "runs"), [
    ("WITH a AS (SELECT 1 AS x), b AS (SELECT x + 1 AS y FROM a) SELECT * FROM b", True),
    ("WITH b AS (SELECT * FROM a), a AS (SELECT 1 AS x) SELECT * FROM b", False),
    # Not recursive: the name inside its own body is DuckDB's catalog, not the CTE.
    ("WITH t AS (SELECT * FROM t) SELECT * FROM t", False),
    ("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) "
     "SELECT count(*) FROM t", True),
    ("SELECT * FROM (WITH t AS (SELECT 1 AS x) SELECT * FROM t), t", False),
    ("WITH t AS (SELECT 1 AS x) SELECT * FROM (SELECT * FROM t) JOIN t USING (x)", True),
])
def test_ctes_are_resolved_in_their_scopes(sources, sql, runs):
    if runs:
        assert run(sources, sql)["row_count"] == 1
    else:
        with pytest.raises(ConsoleRefused, match="Unknown table"):
            console.check_query(sql)


@pytest.mark.parametrize("sql", [
    "SELECT current_setting('allowed_paths')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_settings",
    "SELECT name, setting FROM pg_settings",
    "SELECT * FROM pg_catalog.pg_settings",
    "WITH pg_settings AS (SELECT * FROM pg_settings) SELECT name, setting FROM pg_settings",
    "WITH s AS (SELECT * FROM duckdb_settings()) SELECT * FROM s",
    "SELECT (SELECT value FROM duckdb_settings() WHERE name = 'allowed_paths')",
    "SHOW allowed_paths",
    "SELECT * FROM (SHOW ALL)",
    "DESCRIBE pg_settings",
    "SELECT * FROM query_table('pg_settings')",
    "SELECT * FROM duckdb_profiling_settings()",
    "SELECT getvariable('allowed_paths')",
    "SELECT * FROM duckdb_variables()",
])
def test_settings_are_not_readable(sources, engine_never_reached, sql):
    with pytest.raises(ConsoleRefused) as refused:
        run(sources, sql)
    assert "/" not in str(refused.value)


def test_the_views_name_no_server_path(datasets, monkeypatch):
    """What the isolated child does: run in the version's directory with relative names.
    The views' SQL (duckdb_views, pg_get_viewdef) then holds no absolute path at all."""
    root, _ours, _theirs, sources = datasets
    relative = sources.relative()
    assert all(not name.startswith("/") for name in relative.files)
    monkeypatch.chdir(sources.root)
    con = console.sandbox_connection(relative, FAST)
    try:
        texts = [sql for (sql,) in con.execute(
            "SELECT sql FROM duckdb_views() WHERE NOT internal").fetchall()]
        texts += [sql for (sql,) in con.execute(
            "SELECT pg_get_viewdef(view_oid) FROM duckdb_views() WHERE NOT internal").fetchall()]
        assert con.execute("SELECT count(*) FROM events JOIN per_user USING (_uid)"
                           ).fetchone() == (3,)
    finally:
        con.close()
    assert len(texts) == 6 and any("events/part-0.parquet" in text for text in texts)
    for text in texts:
        assert "'/" not in text and str(root) not in text


def test_the_isolated_childs_views_name_no_server_path(datasets):
    """The real child, with the first wall taken away (its check_query replaced), shows
    the views' SQL: relative names only."""
    import subprocess
    import sys
    from dataclasses import asdict

    root, _ours, _theirs, sources = datasets
    request = json.dumps({"sources": asdict(sources), "limits": asdict(FAST),
                          "sql": "SELECT sql FROM duckdb_views() WHERE NOT internal"})
    program = ("from analytics.engine import console, console_process\n"
               "console.check_query = lambda sql, limits=None: sql\n"
               "raise SystemExit(console_process._child_main())\n")
    finished = subprocess.run([sys.executable, "-c", program], input=request.encode(),
                              capture_output=True, timeout=60, check=True,
                              cwd=console_process.PROJECT_ROOT)
    output = finished.stdout.removeprefix(console_process.READY)
    texts = [row[0] for row in json.loads(output)["result"]["rows"]]
    assert len(texts) == 3 and any("users.parquet" in text for text in texts)
    for text in texts:
        assert "'/" not in text and str(root) not in text


# ---------------------------------------------------------------- issue 12: result size


def test_a_wide_result_is_cut_by_bytes(sources):
    """The tester's 100 columns x 600 characters x 1,000 rows stored 51 MB."""
    columns = ", ".join(f"repeat('x', 600) || i AS c{n}" for n in range(100))
    limits = ConsoleLimits(seconds=20, memory_limit="256MB")
    result = run(sources, f"SELECT {columns} FROM range(1000) t(i)", limits)
    stored = len(json.dumps(result["rows"]))
    assert limits.max_result_bytes == 5_000_000
    assert stored == result["bytes"] <= 5_000_000
    assert stored > 4_900_000  # as many rows as fit, not a few
    assert result["truncated"] is True and result["truncated_by"] == "bytes"
    assert 0 < result["row_count"] < 1000 and result["limits"]["bytes"] == 5_000_000
    assert len(json.dumps(result)) < 5_100_000


def test_the_byte_cap_keeps_whole_rows_and_says_which_cap_cut(sources):
    limits = ConsoleLimits(seconds=5, max_result_bytes=60)
    result = run(sources, "SELECT 'abcdefghij' AS s FROM range(100)", limits)
    # '[["abcdefghij"], ["abcdefghij"], ["abcdefghij"]]' is 48 bytes; a fourth row makes 64.
    assert result["rows"] == [["abcdefghij"]] * 3
    assert result["bytes"] == len(json.dumps(result["rows"])) == 48
    assert result["truncated_by"] == "bytes"
    small = run(sources, "SELECT 1 AS one", limits)
    assert small["truncated"] is False and small["truncated_by"] is None
    by_rows = run(sources, "SELECT * FROM range(50)", ConsoleLimits(max_rows=10))
    assert by_rows["truncated_by"] == "rows" and by_rows["row_count"] == 10


# ---------------------------------------------------------------- issue 12: time limits


def test_a_function_deaf_to_interrupts_is_killed_within_a_second_of_the_limit(sources):
    """levenshtein on two 200,000-character strings ran 25 s against a 10 s limit: one
    scalar call never looks at DuckDB's interrupt. The parent kills the child instead."""
    import time

    limits = ConsoleLimits(seconds=2, memory_limit="128MB")
    began = time.monotonic()
    with pytest.raises(ConsoleStopped, match="took longer than 2 s") as stopped:
        console_process.run_query_isolated(
            sources, "SELECT levenshtein(repeat('a', 200000), repeat('b', 200000))", limits)
    total = time.monotonic() - began
    assert stopped.value.elapsed is not None
    assert limits.seconds <= stopped.value.elapsed <= limits.seconds + 1
    # Start-up is counted apart (a loaded machine may take seconds), but the old 15 s grace
    # after the limit is gone.
    assert total < limits.seconds + 1 + 10


def test_start_up_does_not_count_against_a_short_limit(sources):
    result = console_process.run_query_isolated(sources, "SELECT 1 AS one",
                                                ConsoleLimits(seconds=0.2))
    assert result["rows"] == [[1]]


def test_infinite_dates_and_times_are_shown_as_infinity_not_as_dates(sources):
    result = run(sources, "SELECT '-infinity'::TIMESTAMP AS a, 'infinity'::DATE AS b, "
                          "'infinity'::TIMESTAMPTZ AS c, DATE '9999-12-31' AS d, "
                          "TIMESTAMP '2024-01-02 03:04:05' AS e, NULL::DATE AS f")
    assert result["rows"] == [["-infinity", "infinity", "infinity", "9999-12-31",
                               "2024-01-02T03:04:05", None]]
    assert [c["name"] for c in result["columns"]] == ["a", "b", "c", "d", "e", "f"]
