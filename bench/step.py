"""One measured step of the benchmark, run in its own process so that its peak memory is
its own: `python -m bench.step NAME DATA_DIR`. Prints {"seconds", "cpu_seconds",
"peak_mb", "detail"}: wall time, CPU time of the process (all its threads; on a shared
machine the steadier figure), and peak resident memory.

What a worker has done before its job is not timed: modules imported and, for the
engine steps, the process's DuckDB database opened (analytics.engine.duck.engine_cursor; a
worker opens it once, on its first job). Each job's own connection is timed."""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import django

SUCCESS = {"events": ["purchase"], "within_days": 14}
CRITERION = {"all": [
    {"kind": "event_count", "event": "login", "op": ">=", "value": 3, "within_days": 7},
    {"kind": "did_event", "event": "export"},
    {"kind": "property", "property": "plan", "op": "in", "value": ["pro", "business"]},
]}
BREAKDOWN = {"property": "company_size"}
ENGINE_STEPS = ("scan", "peruser", "test_cached", "breakdown", "prepare", "discovery",
                "discovery_unprepared", "new_criterion", "new_criterion_plain")
# The window of a working session's discovery runs, whose measures each import prepares.
DISCOVERY_DAYS = 7
# The command line on files against one DuckDB query on the same files (bench/files.py):
# both timed as child processes, so this process's own set-up is not part of either.
# Step -> (shape, data): the run's own data, or the smaller data issue 13 also sets the
# goal at (users, events; generated under bench-data/ when missing, untimed).
SMALL_DATA = (300_000, 5_000_000)
FILE_STEPS = {"cli_files": ("criterion", None), "cli_files_breakdown": ("breakdown", None),
              "cli_files_300k": ("criterion", SMALL_DATA),
              "cli_files_breakdown_300k": ("breakdown", SMALL_DATA)}

# Issue 13 point 3: criteria never tested before on a warm success definition.
NEW_CRITERIA = {
    "did_event": {"kind": "did_event", "event": "invite_teammate", "within_days": 7},
    "event_count": {"kind": "event_count", "event": "search", "op": ">=", "value": 2,
                    "within_days": 14},
    "property": {"kind": "property", "property": "country", "op": "=", "value": "DE"},
    # not a goal: the most frequent event but one (a fifth of all rows)
    "event_count_login": {"kind": "event_count", "event": "login", "op": ">=", "value": 5},
}


def engine_settings():
    from analytics.engine.analysis import EngineSettings

    return EngineSettings(memory_limit=os.environ.get("DUCKDB_MEMORY_LIMIT", "1GB"),
                          threads=int(os.environ.get("DUCKDB_THREADS", 2)))


def version(data: Path):
    from analytics.engine.storage import DatasetVersion

    return DatasetVersion(data / "imported" / "v1")


def clear_cache(data: Path) -> None:
    shutil.rmtree(version(data).cache_dir, ignore_errors=True)


def clear_all_but_prepared(data: Path) -> None:
    """The cache as an import leaves it: the discovery measures it prepares (made here,
    untimed, when missing), nothing else."""
    from analytics.engine import discovery_store
    from analytics.engine.discovery import prepare

    kept = discovery_store.store_dir(version(data), DISCOVERY_DAYS)
    for path in version(data).cache_dir.glob("*"):
        if path != kept:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    if not kept.is_dir():
        prepare(version(data), within_days=DISCOVERY_DAYS, settings=engine_settings())


def plain_version(data: Path):
    """The same data imported as one events file (not clustered by name)."""
    from analytics.engine.storage import DatasetVersion

    return DatasetVersion(data / "imported-plain" / "v1")


def import_into(data: Path, published: Path, *, clustered: bool = True) -> dict:
    from analytics.engine.importer import ColumnMapping, import_dataset
    from analytics.engine.importing import events

    if not clustered:
        events.CLUSTER_MIN_BYTES = 2**62
    dest = data / "import-run" / "v1"
    shutil.rmtree(dest.parent, ignore_errors=True)
    schema = import_dataset(events=[data / "events.csv"], users=data / "users.csv",
                            mapping=ColumnMapping(), dest=dest,
                            memory_limit="1GB", threads=2)
    shutil.rmtree(published, ignore_errors=True)
    published.parent.mkdir(parents=True, exist_ok=True)
    dest.rename(published)
    shutil.rmtree(dest.parent, ignore_errors=True)
    return {"users": schema.n_users, "events": schema.n_events,
            "files": len(list((published / "events").glob("*.parquet")))}


def forget_columns(version, criterion: dict) -> None:
    """Remove the cached column tables holding this criterion's measures, so that it is
    computed as if never tested before."""
    from analytics.engine.peruser import COLUMNS_PREFIX
    from analytics.engine.peruser_columns import features_of

    wanted = {f.key for f in features_of(criterion)}
    for manifest in version.cache_dir.glob(f"{COLUMNS_PREFIX}*.json"):
        if wanted & set(json.loads(manifest.read_text())["features"]):
            manifest.with_suffix(".parquet").unlink(missing_ok=True)
            manifest.unlink(missing_ok=True)


def warm_success(version) -> None:
    """The success definition's per-user table, as a test builds it (not the one a
    discovery run leaves, which is not in _uid order and so pairs by a hash join)."""
    from analytics.engine.analysis import analyze

    shutil.rmtree(version.cache_dir, ignore_errors=True)
    analyze(version, SUCCESS, criterion=CRITERION, settings=engine_settings())


def new_criteria(version) -> dict:
    """Each criterion timed alone, as a worker runs its job (result JSON stored aside),
    after the success definition is warm (warm_success, untimed) and with no cached
    column for the criterion."""
    from analytics.engine.analysis import analyze

    timings = {}
    for label, criterion in NEW_CRITERIA.items():
        forget_columns(version, criterion)
        started, cpu_started = time.perf_counter(), time.process_time()
        result = analyze(version, SUCCESS, criterion=criterion, settings=engine_settings())
        json.dumps(result)
        timings[label] = round(time.perf_counter() - started, 4)
        # CPU time of all threads: steadier than wall time on a shared machine.
        timings[f"{label}_cpu"] = round(time.process_time() - cpu_started, 4)
    timings["max_goal_kinds"] = max(timings[k] for k in ("did_event", "event_count",
                                                         "property"))
    return timings


def run(name: str, data: Path) -> object:
    from analytics.engine import duck

    if name == "copy_csv":
        target = data / "copy.parquet"
        con = duck.connect(memory_limit="1GB", threads=2)
        con.execute(f"COPY (SELECT * FROM read_csv('{data / 'events.csv'}')) TO '{target}' "
                    "(FORMAT parquet, COMPRESSION zstd)")
        target.unlink()
        return None
    if name == "import":
        # The engine steps read what this importer writes (events clustered by name).
        return import_into(data, version(data).path)
    if name == "import_plain":
        return import_into(data, plain_version(data).path, clustered=False)
    if name in ("new_criterion", "new_criterion_plain"):
        return new_criteria(version(data) if name == "new_criterion" else plain_version(data))
    if name == "scan":
        con = duck.engine_cursor(memory_limit="1GB", threads=2)
        # Touch every value of the three columns (min/max alone could come from Parquet
        # statistics without reading the data).
        return con.execute(
            "SELECT sum(_uid), max(length(event)), max(epoch_us(timestamp) % 1000003) "
            "FROM read_parquet(?)",
            [version(data).events_glob],
        ).fetchone()[0]
    if name in ("peruser", "test_cached", "breakdown"):
        from analytics.engine.analysis import analyze

        if name == "peruser":
            clear_cache(data)
        if name == "breakdown":
            result = analyze(version(data), SUCCESS, breakdown=BREAKDOWN, settings=engine_settings())
            return {"buckets": len(result["buckets"]), "p": result["p_value"]}
        result = analyze(version(data), SUCCESS, criterion=CRITERION, settings=engine_settings())
        return {"group": result["group"]["users"], "lift": result["lift"]}
    if name == "prepare":
        # What each import's version gets next (a job behind everyone's): discovery's
        # measures of the sessions' window. The cache is cleared before, untimed.
        from analytics.engine.discovery import prepare

        result = prepare(version(data), within_days=DISCOVERY_DAYS, settings=engine_settings())
        stored = sum(f.stat().st_size for f in version(data).cache_dir.rglob("*") if f.is_file())
        return {**result, "stored_mb": round(stored / 2**20)}
    if name in ("discovery", "discovery_unprepared"):
        # From an imported dataset (its measures prepared), or with nothing prepared; the
        # cache is cleared before, untimed.
        from analytics.engine.discovery import discover

        result = discover(version(data), SUCCESS, within_days=DISCOVERY_DAYS, top=20,
                          settings=engine_settings())
        return {"shown": len(result["characteristics"]), "tried": result.get("tried")}
    if name == "pandas":
        from bench.baselines import pandas_peruser

        return pandas_peruser(version(data).events_glob, version(data).users_path)
    if name == "polars":
        from bench.baselines import polars_peruser

        return polars_peruser(version(data).events_glob, version(data).users_path)
    raise SystemExit(f"unknown step {name}")


def main() -> None:
    if sys.argv[1] == "cli_startup":
        from bench.files import startup

        print(json.dumps(startup(), default=str))
        return
    if sys.argv[1] == "verdict":
        # Its own settings (a worker, Redis, a database of its own) before Django starts.
        from bench.verdict import measure as measure_verdict

        started = time.perf_counter()
        detail = measure_verdict(Path(sys.argv[2]))
        # The figure: the slowest of the goal's kinds (each must be under a second).
        print(json.dumps({"seconds": detail["max_goal_kinds"], "cpu_seconds": 0.0,
                          "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                          "wall_with_set_up": time.perf_counter() - started,
                          "detail": detail}, default=str))
        return
    if sys.argv[1] in FILE_STEPS:
        from bench.files import measure

        shape, size = FILE_STEPS[sys.argv[1]]
        data = Path(sys.argv[2])
        if size is not None:
            from bench.data import directory_name, generate

            data = data.parent / directory_name(*size)
            generate(data, users=size[0], events=size[1])
        print(json.dumps(measure(data, shape), default=str))
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hypothesislab.settings")
    os.environ.setdefault("HYPOTHESISLAB_TESTING", "1")
    django.setup()
    name, data = sys.argv[1], Path(sys.argv[2])
    # Imports are not what we measure: load the modules a worker has loaded already.
    import scipy.stats  # noqa: F401  (the statistics import it on a worker's first job)

    import analytics.engine.analysis  # noqa: F401
    import analytics.engine.discovery  # noqa: F401
    import analytics.engine.importer  # noqa: F401
    import analytics.engine.stats  # noqa: F401

    if name in ENGINE_STEPS:
        from analytics.engine import duck

        settings = engine_settings()
        duck.engine_cursor(memory_limit=settings.memory_limit, threads=settings.threads).close()

    if name in ("new_criterion", "new_criterion_plain"):
        warm_success(version(data) if name == "new_criterion" else plain_version(data))
    if name in ("prepare", "discovery_unprepared"):
        clear_cache(data)
    if name == "discovery":
        clear_all_but_prepared(data)
    started, cpu_started = time.perf_counter(), time.process_time()
    detail = run(name, data)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_mb": peak_mb,
                      "detail": detail}, default=str))


if __name__ == "__main__":
    main()
