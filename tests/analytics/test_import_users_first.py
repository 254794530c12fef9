"""With a users file, an import numbers its users first and writes the events in one read
of them; when some event's user is not in the file (or has an empty id), it numbers
every id of the events and the file, as without one. Either way the stored dataset is
the same as numbering everyone first."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.engine import duck
from analytics.engine import importer as importer_module
from analytics.engine.importer import ColumnMapping, ImportRefused, import_dataset

USERS = "user_id,plan\nb,pro\na,free\nc,pro\nd,\n"
EVENTS = ("user_id,event,timestamp\n"
          "c,signup,2026-01-01T00:00:00\n"
          "a,login,2026-01-02T10:00:00\n"
          "b,login,2026-01-03T00:00:00\n"
          "a,purchase,2026-01-04T00:00:00\n")


def write(tmp_path: Path, events: str, users: str = USERS) -> tuple[Path, Path]:
    (tmp_path / "events.csv").write_text(events)
    (tmp_path / "users.csv").write_text(users)
    return tmp_path / "events.csv", tmp_path / "users.csv"


def stored(version_dir: Path) -> tuple[list, list]:
    con = duck.connect(threads=1)
    users = con.execute("SELECT _uid, user_id, _first_seen, plan FROM read_parquet(?) "
                        "ORDER BY _uid", [str(version_dir / "users.parquet")]).fetchall()
    events = con.execute("SELECT * FROM read_parquet(?) ORDER BY ALL",
                         [str(version_dir / "events" / "*.parquet")]).fetchall()
    con.close()
    return users, events


def collected(monkeypatch) -> list:
    calls: list = []
    real = importer_module.collect_user_ids
    monkeypatch.setattr(importer_module, "collect_user_ids",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def import_both_ways(tmp_path: Path, monkeypatch, events: str) -> tuple:
    """(stored by the users-first path, stored numbering everyone first, ids collected)."""
    paths = write(tmp_path, events)
    calls = collected(monkeypatch)
    import_dataset(events=[paths[0]], users=paths[1], mapping=ColumnMapping(),
                   dest=tmp_path / "first" / "v1")
    first_calls = len(calls)
    # Numbering everyone first: as the import does without a users file, then the users.
    monkeypatch.setattr(importer_module, "UnknownUser", Exception)
    monkeypatch.setattr(importer_module, "write_clustered_events",
                        _refuse_partial(importer_module.write_clustered_events))
    import_dataset(events=[paths[0]], users=paths[1], mapping=ColumnMapping(),
                   dest=tmp_path / "all" / "v1")
    return stored(tmp_path / "first" / "v1"), stored(tmp_path / "all" / "v1"), first_calls


def _refuse_partial(real):
    def write(*args, may_lack: bool = False, **kwargs):
        if may_lack:
            raise Exception("skip the users-first path")  # noqa: TRY002
        return real(*args, **kwargs)
    return write


def test_every_event_user_in_the_file_reads_the_events_once(tmp_path, monkeypatch):
    first, everyone, calls = import_both_ways(tmp_path, monkeypatch, EVENTS)
    assert calls == 0
    assert first == everyone
    assert [u[1] for u in first[0]] == ["a", "b", "c", "d"]  # numbered in id order


def test_a_user_only_in_the_events_is_numbered_with_the_others(tmp_path, monkeypatch):
    events = EVENTS + "aa,login,2026-01-05T00:00:00\n"
    first, everyone, calls = import_both_ways(tmp_path, monkeypatch, events)
    assert calls == 1
    assert first == everyone
    assert [u[1] for u in first[0]] == ["a", "aa", "b", "c", "d"]


@pytest.mark.parametrize("users", [USERS, None])
def test_an_empty_user_id_is_refused_by_its_line_either_way(tmp_path, users):
    events, users_path = write(tmp_path, EVENTS + ",login,2026-01-05T00:00:00\n")
    with pytest.raises(ImportRefused) as refused:
        import_dataset(events=[events], users=users_path if users else None,
                       mapping=ColumnMapping(), dest=tmp_path / "v1")
    assert "line 6" in str(refused.value) and "user id is empty" in str(refused.value)
