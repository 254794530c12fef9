"""A users CSV file is sniffed once, when it is opened: every later read states the layout
and the types DuckDB found, and reads the same rows as DuckDB's own detection would. Files
whose dates DuckDB reads only by a detected format keep DuckDB's detection, and so do
events files (stated, their write cost more)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.engine import duck
from analytics.engine.importing.sources import open_source

FILES = {
    "semicolons.csv": 'a;b;c;d\n1;"x;y";2024-01-02;2024-01-02 10:00:00\n2;z;2024-01-03;\n',
    "crlf.csv": "user_id,plan,trial\r\nu1,pro,true\r\nu2,,false\r\n",
    "tabs.csv": "user_id\tevent\ttimestamp\nu1\tlogin\t2024-01-01T10:00:00+02:00\n",
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_later_reads_state_what_the_sniffer_found_and_read_the_same(tmp_path, name):
    path = tmp_path / name
    path.write_text(FILES[name])
    con = duck.connect(threads=1)
    source = open_source(con, path, workdir=tmp_path, sniff_once=True)
    assert source.dialect is not None
    sql, params = source.table()
    assert "auto_detect = false" in sql
    detected = con.execute("SELECT * FROM read_csv(?, header = true, skip = 0)",
                           [str(path)]).fetchall()
    assert con.execute(f"SELECT * FROM {sql}", params).fetchall() == detected  # noqa: S608
    # A forced type holds too (a later value that broke the sampled one).
    first = next(iter(source.columns))
    sql, params = source.table(types={first: "VARCHAR"})
    kinds = con.execute(f"DESCRIBE SELECT * FROM {sql}", params).fetchall()  # noqa: S608
    assert kinds[0][1] == "VARCHAR" and [k[0] for k in kinds] == list(source.columns)


def test_dates_read_by_a_detected_format_keep_duckdbs_detection(tmp_path):
    path = Path(tmp_path / "days.csv")
    path.write_text("user_id,signed_up\nu1,03/01/2024\nu2,25/01/2024\n")
    con = duck.connect(threads=1)
    source = open_source(con, path, workdir=tmp_path, sniff_once=True)
    assert source.dialect is None
    assert source.columns["signed_up"] == "DATE"
    sql, params = source.table()
    assert [r[1].day for r in con.execute(f"SELECT * FROM {sql}", params).fetchall()] == [3, 25]  # noqa: S608


def test_events_files_and_users_files_of_the_import(tmp_path, monkeypatch):
    from analytics.engine import importer
    from analytics.engine.importing import sources

    opened: dict[str, bool] = {}
    real = sources.open_source

    def spy(con, path, **kwargs):
        source = real(con, path, **kwargs)
        opened[Path(path).name] = source.dialect is not None
        return source
    monkeypatch.setattr(importer, "open_source", spy)
    (tmp_path / "events.csv").write_text(FILES["tabs.csv"].replace("\t", ","))
    (tmp_path / "users.csv").write_text(FILES["crlf.csv"])
    importer.import_dataset(events=[tmp_path / "events.csv"], users=tmp_path / "users.csv",
                            mapping=importer.ColumnMapping(), dest=tmp_path / "v1")
    assert opened == {"events.csv": False, "users.csv": True}
