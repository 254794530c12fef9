"""Discovery's behaviour measures of a version, kept once computed.

What a discovery run measures per user (events' counts in the window, sessions, time in
the app, averages of event properties, the first events' properties) depends on the
events and the users' first-seen times alone, never on the success definition. Reading
50M events for them is most of a run's time, so a version's measures are computed once,
in a job of their own after each import (discovery.prepare), and kept here; a run takes
the ones it finds and computes the rest (discovery_table.build_table).

    cache/discovery-measures-<window>/
        manifest.json      FORMAT, the features held, each numpy column's file, dtype
                           and mask, the averages' NaN flags, the first events' columns
        <column>.npy       a numpy column by user row (users.parquet order), whole
                           numbers in the fewest bytes that hold them
        <column>.mask.npy  its nulls, for a column that has them
        firsts.parquet     the first events' properties: ix, then one column each

The directory is written under a temporary name and renamed: a reader sees all of it or
none. Like the rest of the cache it may be deleted at any time; runs then compute
everything, as before it was prepared."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from analytics.engine import duck
from analytics.engine.peruser_columns import Feature
from analytics.engine.storage import DatasetVersion

FORMAT = 2  # bump when what a column holds changes: older stores are then ignored
PREFIX = "discovery-measures-"
MANIFEST = "manifest.json"
FIRSTS_FILE = "firsts.parquet"


@dataclass
class Stored:
    """What a store held for some features: numpy columns by user row (with the NaN
    flags of averages holding NaN), the features they are, and the first events'
    properties (a Parquet file with `ix` and one column per feature in `firsts`)."""

    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    features: list[Feature] = field(default_factory=list)
    nan_flags: dict[str, str] = field(default_factory=dict)  # column -> its flag column
    firsts_path: str | None = None
    firsts: dict[Feature, str] = field(default_factory=dict)  # feature -> its column there


def store_dir(version: DatasetVersion, days: int | None) -> Path:
    return version.cache_dir / f"{PREFIX}{'all' if days is None else f'{days}d'}"


def save(con: duck.Connection, version: DatasetVersion, days: int | None,
         features: list[Feature], arrays: dict[str, np.ndarray],
         nan_flags: dict[str, str], firsts_table: str,
         firsts: dict[Feature, str]) -> Path:
    """Keep these measures: `arrays` by column (each feature's column and the NaN flags
    named in `nan_flags`), and the first events' properties from the temporary table
    `firsts_table` (ix and the columns `firsts` names; not read when there are none)."""
    final = store_dir(version, days)
    version.cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = version.cache_dir / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex}"
    temporary.mkdir()
    try:
        columns = {}
        wanted = [f.column for f in features] + list(nan_flags.values())
        for name in wanted:
            values = arrays[name]
            mask = np.ma.getmaskarray(values) if isinstance(values, np.ma.MaskedArray) else None
            data = np.ma.getdata(values)
            np.save(temporary / f"{name}.npy", _narrowed(data), allow_pickle=False)
            if mask is not None:
                np.save(temporary / f"{name}.mask.npy", mask, allow_pickle=False)
            columns[name] = {"masked": mask is not None, "dtype": data.dtype.str}
        if firsts:
            # Our own table name only; the path binds.
            con.execute(f"COPY {firsts_table} TO ? (FORMAT parquet)",  # noqa: S608
                        [str(temporary / FIRSTS_FILE)])
        manifest = {"format": FORMAT, "days": days, "columns": columns,
                    "features": {f.key: f.column for f in features},
                    "nan_flags": nan_flags,
                    "firsts": {f.key: name for f, name in firsts.items()}}
        (temporary / MANIFEST).write_text(json.dumps(manifest))
        shutil.rmtree(final, ignore_errors=True)  # an older format's, or a broken one
        os.replace(temporary, final)
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return final


def load(version: DatasetVersion, features: list[Feature]) -> Stored:
    """Whatever the version's stores hold of these features (an empty Stored when none
    does). A store that cannot be read is passed over: the run computes instead."""
    stored = Stored()
    wanted = set(features)
    for directory in sorted(version.cache_dir.glob(f"{PREFIX}*")):
        try:
            manifest = json.loads((directory / MANIFEST).read_text())
            if manifest.get("format") != FORMAT:
                continue
            _take(directory, manifest, wanted, stored)
        except (OSError, ValueError, KeyError):
            continue  # being replaced, or half deleted: computed instead
    return stored


def _take(directory: Path, manifest: dict, wanted: set[Feature], stored: Stored) -> None:
    found = [Feature(key) for key in manifest["features"] if Feature(key) in wanted
             and Feature(key) not in stored.features]
    arrays: dict[str, np.ndarray] = {}
    flags: dict[str, str] = {}
    for feature in found:
        column = feature.column
        names = [column]
        if column in manifest["nan_flags"]:
            flags[column] = manifest["nan_flags"][column]
            names.append(flags[column])
        for name in names:
            arrays[name] = _column(directory, name, manifest["columns"][name])
    # All read before any is taken: a store that fails halfway adds nothing.
    stored.arrays.update(arrays)
    stored.nan_flags.update(flags)
    stored.features += found
    firsts = {Feature(key): name for key, name in manifest["firsts"].items()
              if Feature(key) in wanted}
    if firsts and not (directory / FIRSTS_FILE).is_file():
        raise OSError(f"{directory / FIRSTS_FILE} is missing")
    if firsts and stored.firsts_path is None:
        stored.firsts_path = str(directory / FIRSTS_FILE)
        stored.firsts = firsts


def _narrowed(data: np.ndarray) -> np.ndarray:
    """Counts in the fewest bytes that hold them (most users do an event a few times:
    a quarter or an eighth of the disk), read back as what they were (_column)."""
    if data.dtype.kind not in "iu" or not len(data):
        return data
    for narrow in (np.uint8, np.uint16, np.uint32, np.int32):
        limits = np.iinfo(narrow)
        if limits.min <= data.min() and data.max() <= limits.max:
            return data.astype(narrow)
    return data


def _column(directory: Path, name: str, info: dict) -> np.ndarray:
    data = np.load(directory / f"{name}.npy", allow_pickle=False).astype(
        np.dtype(info["dtype"]), copy=False)
    if not info["masked"]:
        return data
    return np.ma.MaskedArray(data, mask=np.load(directory / f"{name}.mask.npy",
                                                allow_pickle=False))
