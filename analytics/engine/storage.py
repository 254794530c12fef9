"""How a dataset lies on disk. This is the contract between the importer (which writes
it) and the engine (which reads it).

    <dataset dir>/v<N>/               one immutable, published version
        events/part-*.parquet         _uid BIGINT, event VARCHAR, timestamp TIMESTAMPTZ (UTC),
                                      then one column per event property; always at least
                                      one file (with 0 rows for a users-only dataset);
                                      a large import clusters them by name (all the events
                                      of a name in one file), which readers may rely on
                                      for speed only, never for results
        users.parquet                 _uid BIGINT, user_id VARCHAR, _first_seen TIMESTAMPTZ
                                      (earliest event, null without events), then one column
                                      per user property; one row for every user of the
                                      population (users seen only in events have null
                                      properties)
        schema.json                   DatasetSchema below
        cache/                        per-user tables and other derived files (disposable)

`_uid` is a unique integer id per user given at import (a dense numbering, or the source
id itself when every source id is an integer), so that per-user work groups by integers,
which is faster than grouping by text; `user_id` keeps the id as the team knows it. A version directory never changes
once published (it is written under a temporary name, checked, then renamed), so caches
keyed by it never go stale; a new import or an append makes a new version.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

SCHEMA_FORMAT = 1
UID = "_uid"
RESERVED_EVENT_COLUMNS = (UID, "event", "timestamp")
FIRST_SEEN = "_first_seen"
RESERVED_USER_COLUMNS = (UID, "user_id", FIRST_SEEN)
PROPERTY_TYPES = ("integer", "float", "boolean", "text", "timestamp")


@dataclass
class DatasetSchema:
    n_users: int
    n_events: int
    data_start: str | None  # ISO 8601 UTC of the earliest event, None without events
    data_end: str | None  # ISO 8601 UTC of the latest event
    events: dict[str, int]  # event name -> number of events
    event_properties: dict[str, str]  # name -> one of PROPERTY_TYPES
    user_properties: dict[str, str]
    user_id_type: str = "text"  # "integer" when every source user_id was an integer
    source_files: list[str] = field(default_factory=list)
    format: int = SCHEMA_FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> DatasetSchema:
        data = json.loads(text)
        return cls(**data)


@dataclass(frozen=True)
class DatasetVersion:
    """A published version of a dataset: what the engine needs to read it."""

    path: Path

    @property
    def events_dir(self) -> Path:
        return self.path / "events"

    @property
    def events_glob(self) -> str:
        return str(self.events_dir / "*.parquet")

    @property
    def users_path(self) -> Path:
        return self.path / "users.parquet"

    @property
    def schema_path(self) -> Path:
        return self.path / "schema.json"

    @property
    def cache_dir(self) -> Path:
        return self.path / "cache"

    def schema(self) -> DatasetSchema:
        return DatasetSchema.from_json(self.schema_path.read_text())

    def has_events(self) -> bool:
        return any(self.events_dir.glob("*.parquet"))


def version_dir(dataset_dir: Path, version: int) -> Path:
    return dataset_dir / f"v{version}"
