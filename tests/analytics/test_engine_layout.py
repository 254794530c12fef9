"""Events are stored sorted by `_uid` (the engine's per-user passes rely on it for speed,
never for correctness): text ids, integer ids, and the earlier events an append
rewrites after renumbering."""

from __future__ import annotations

import random
from pathlib import Path

from analytics import duck
from analytics.importer import ColumnMapping, append_events, import_dataset
from analytics.storage import DatasetVersion


def _events_csv(path: Path, ids: list[str], rows: int = 3000) -> Path:
    rng = random.Random(7)
    lines = ["user_id,event,timestamp"]
    for i in range(rows):
        lines.append(f"{rng.choice(ids)},e{i % 3},2024-01-01T00:00:{i % 60:02d}Z")
    path.write_text("\n".join(lines) + "\n")
    return path


def _uids_in_file_order(version: DatasetVersion) -> list[list[int]]:
    con = duck.connect()
    files = sorted(version.events_dir.glob("*.parquet"))
    return [[r[0] for r in con.execute(
        "SELECT _uid FROM read_parquet(?, file_row_number = true) ORDER BY file_row_number",
        [str(f)]).fetchall()] for f in files]


def _sorted(values: list[int]) -> bool:
    return all(a <= b for a, b in zip(values, values[1:], strict=False))


def test_text_and_integer_ids_are_written_by_user(tmp_path):
    for name, ids in (("text", [f"user-{i}" for i in range(300)]),
                      ("integer", [str(i * 7919 % 10007) for i in range(300)])):
        events = _events_csv(tmp_path / f"{name}.csv", ids)
        dest = tmp_path / name / "v1"
        schema = import_dataset(events=[events], users=None, mapping=ColumnMapping(),
                                dest=dest)
        assert schema.user_id_type == name
        (uids,) = _uids_in_file_order(DatasetVersion(dest))
        assert len(uids) == 3000 and len(set(uids)) == 300
        assert _sorted(uids)


def test_an_append_that_renumbers_rewrites_the_earlier_events_by_user(tmp_path):
    first = _events_csv(tmp_path / "first.csv", [str(i) for i in range(50, 0, -1)], 500)
    import_dataset(events=[first], users=None, mapping=ColumnMapping(),
                   dest=tmp_path / "ds" / "v1")
    batch = _events_csv(tmp_path / "batch.csv", ["b", "a", "c"], 100)
    schema = append_events(previous=DatasetVersion(tmp_path / "ds" / "v1"), events=[batch],
                           mapping=ColumnMapping(), dest=tmp_path / "ds" / "v2")
    assert schema.user_id_type == "text"  # everyone numbered afresh
    files = _uids_in_file_order(DatasetVersion(tmp_path / "ds" / "v2"))
    assert sum(len(f) for f in files) == 600
    assert len(files) == 2 and all(_sorted(f) for f in files)
