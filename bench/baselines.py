"""The same per-user table the engine builds (first_seen, purchase within 14 days, logins
in the first 7 days, did export, plan), written the best plain way in pandas and in polars,
from the same Parquet files, to put the engine's time in perspective."""

from __future__ import annotations

from pathlib import Path


def pandas_peruser(events_glob: str, users_path: Path) -> int:
    import pandas as pd

    files = sorted(Path(events_glob).parent.glob(Path(events_glob).name))
    events = pd.concat(
        [pd.read_parquet(f, columns=["_uid", "event", "timestamp"]) for f in files],
        ignore_index=True,
    )
    first_seen = events.groupby("_uid", sort=False)["timestamp"].min().rename("first_seen")
    events = events.join(first_seen, on="_uid")
    since = events["timestamp"] - events["first_seen"]
    success = (
        events[(events["event"] == "purchase") & (since < pd.Timedelta(days=14))]
        .groupby("_uid", sort=False).size().rename("success")
    )
    logins = (
        events[(events["event"] == "login") & (since < pd.Timedelta(days=7))]
        .groupby("_uid", sort=False).size().rename("logins_7d")
    )
    exported = events[events["event"] == "export"].groupby("_uid", sort=False).size().rename("export")
    users = pd.read_parquet(users_path, columns=["_uid", "plan"]).set_index("_uid")
    table = users.join([first_seen, success, logins, exported])
    table["success"] = table["success"].fillna(0) > 0
    table["logins_7d"] = table["logins_7d"].fillna(0).astype("int64")
    table["export"] = table["export"].fillna(0) > 0
    return len(table)


def polars_peruser(events_glob: str, users_path: Path) -> int:
    import polars as pl

    events = pl.scan_parquet(events_glob).select("_uid", "event", "timestamp")
    first = events.group_by("_uid").agg(pl.col("timestamp").min().alias("first_seen"))
    since = pl.col("timestamp") - pl.col("first_seen")
    per_user = (
        events.join(first, on="_uid")
        .group_by("_uid")
        .agg(
            pl.col("first_seen").first(),
            ((pl.col("event") == "purchase") & (since < pl.duration(days=14))).any().alias("success"),
            ((pl.col("event") == "login") & (since < pl.duration(days=7))).sum().alias("logins_7d"),
            (pl.col("event") == "export").any().alias("export"),
        )
    )
    users = pl.scan_parquet(str(users_path)).select("_uid", "plan")
    table = users.join(per_user, on="_uid", how="left").collect()
    return table.height
