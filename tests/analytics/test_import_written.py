"""A clustered import counts events per name from what DuckDB reports of the files it
wrote: a file holding one name is not read again, a file holding several is. The counts,
the time range and the refusals are those of reading every file."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.engine import duck
from analytics.engine.importer import ColumnMapping, ImportRefused, import_dataset
from analytics.engine.importing import events as importing_events
from analytics.engine.importing.written import WrittenFile
from analytics.engine.storage import DatasetVersion
from tests.analytics.test_import_clustered import NAMES, write_sources


def import_clustered(tmp_path: Path, monkeypatch, name: str, *, buckets: int) -> tuple:
    """(the version, the files check_written was given) with this many name buckets."""
    monkeypatch.setattr(importing_events, "CLUSTER_MIN_BYTES", 0)
    monkeypatch.setattr(importing_events, "NAME_BUCKETS", buckets)
    read: list = []
    real = importing_events.check_written
    monkeypatch.setattr(importing_events, "check_written",
                        lambda con, plan, files: read.append(files) or real(con, plan, files))
    events, users = write_sources(tmp_path)
    dest = tmp_path / name / "v1"
    import_dataset(events=[events], users=users, mapping=ColumnMapping(), dest=dest)
    return DatasetVersion(dest), read


def names_in(path: str) -> set[str]:
    con = duck.connect(threads=1)
    return {r[0] for r in con.execute("SELECT DISTINCT event FROM read_parquet(?)",
                                      [path]).fetchall()}


def plain_schema(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(importing_events, "CLUSTER_MIN_BYTES", 2**62)
    events, users = write_sources(tmp_path)
    dest = tmp_path / "plain" / "v1"
    import_dataset(events=[events], users=users, mapping=ColumnMapping(), dest=dest)
    return DatasetVersion(dest).schema()


def test_only_files_holding_several_names_are_read_again(tmp_path, monkeypatch):
    # Three buckets for six names: some files hold several names, perhaps some one.
    version, read = import_clustered(tmp_path, monkeypatch, "clustered", buckets=3)
    parts = sorted(str(p) for p in version.events_dir.glob("*.parquet"))
    # By name: they were read in the import's directory, before it was published.
    read_files = [Path(f).name for files in read for f in files]
    assert read_files, "every file held one name: the test needs shared files"
    for part in parts:
        assert (Path(part).name in read_files) == (len(names_in(part)) > 1), part
    assert version.schema() == plain_schema(tmp_path, monkeypatch)


def test_one_name_per_file_reads_nothing_again(tmp_path, monkeypatch):
    version, read = import_clustered(tmp_path, monkeypatch, "clustered", buckets=1024)
    parts = sorted(version.events_dir.glob("*.parquet"))
    assert len(parts) == len(NAMES) and all(len(names_in(str(p))) == 1 for p in parts)
    assert read == []
    assert version.schema() == plain_schema(tmp_path, monkeypatch)


def test_a_file_whose_statistics_prove_less_is_read():
    def written(time: dict | None = None, **event) -> WrittenFile:
        full = {"min": "a", "max": "a", "min_is_exact": "true", "max_is_exact": "true",
                "null_count": "0", **event}
        timed = {"min": "2026-01-01 00:00:00+00", "max": "2026-01-02 00:00:00+00",
                 "min_is_exact": "true", "max_is_exact": "true", "null_count": "0"}
        return WrittenFile(Path("x"), 3, {'"event"': full, '"_uid"': {"null_count": "0"},
                                          '"timestamp"': {**timed, **(time or {})}})

    assert written().only_event() == "a"
    assert written(time={"max_is_exact": "false"}).only_event() is None
    assert written(time={"null_count": "2"}).only_event() is None
    assert written(max="b").only_event() is None
    assert written(max_is_exact="false").only_event() is None
    assert written(null_count="1").only_event() is None


def test_a_control_character_in_a_name_of_its_own_file_is_refused_by_its_line(tmp_path,
                                                                              monkeypatch):
    monkeypatch.setattr(importing_events, "CLUSTER_MIN_BYTES", 0)
    events = tmp_path / "events.csv"
    events.write_text("user_id,event,timestamp\nu1,login,2026-01-01\nu2,lo\x01gin,2026-01-02\n"
                      "u1,login,2026-01-03\n")
    with pytest.raises(ImportRefused) as refused:
        import_dataset(events=[events], users=None, mapping=ColumnMapping(),
                       dest=tmp_path / "v1")
    error = refused.value
    assert (error.file, error.line, error.column) == ("events.csv", 3, "event")
    assert "U+0001" in error.message
