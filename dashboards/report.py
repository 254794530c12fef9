"""What a dashboard page and a snapshot show, assembled from a trend result (a finished
AnalysisJob's JSON or a snapshot's copy): charts, tables and the week-over-week moves."""

from __future__ import annotations

from datetime import UTC, date, timedelta

from analytics.charts import bin_labels_shown, bucket_bars, trend_chart, week_label
from analytics.engine import stats
from analytics.engine.weeks import ALL_USERS, latest_complete_week, week_changes
from analytics.numbers import percent


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def version_markers(versions: list, weeks: list[dict]) -> list[dict]:
    """Where the success definition changed: a dashed line at the week of each new
    version (after the first), labelled with the version."""
    known = {w["week"] for w in weeks}
    markers = []
    for version in versions:
        if version.version == 1:
            continue
        week = monday(version.created_at.astimezone(UTC).date()).isoformat()
        if week in known:
            markers.append({"week": week, "label": f"v{version.version}"})
    return markers


def judged_line(weeks: list[dict]) -> str:
    """The one sentence that says which week the numbers judge and why, from a trend
    result's weeks; the same words on the dashboard, its review and the printable page."""
    latest = latest_complete_week({"weeks": weeks})
    if latest is None:
        return ("Judged: no week yet. A week is judged once every user first seen in it "
                "has had the whole success window.")
    later = len(weeks) - 1 - latest
    if later == 0:
        running = "no later week in the data"
    elif later == 1:
        running = "the week after it is still running (its success windows are not over)"
    else:
        running = (f"the {later} weeks after it are still running (their success windows "
                   "are not over)")
    return f"Judged: the week of {week_label(weeks[latest]['week'])} (the last complete week); {running}."


def _cell(n: int, x: int) -> dict:
    low_high = stats.wilson_interval(x, n)
    return {"users": n, "successes": x, "rate": stats.rate(x, n), "ci95": low_high,
            "rate_text": percent(stats.rate(x, n)),
            "ci_text": f"{percent(low_high[0])}–{percent(low_high[1])}" if low_high else "–"}


def dashboard_report(result: dict, *, names: dict[str, dict], markers: list[dict]) -> dict:
    """Everything the page draws. `names` maps a segment key to {"name", "group",
    "explanation"} (the dashboard's segments as they are or were)."""
    weeks = result["weeks"]
    latest = latest_complete_week(result)
    changes = week_changes(result)
    by_bucket = {(r["segment"], r["bucket"]): r for r in changes["rows"]}
    overall_series = [{"label": "All users", "cells": [[w["users"], w["successes"]]
                                                         for w in weeks]}]
    segments = []
    for segment in result["segments"]:
        info = names.get(segment["key"], {"name": segment["key"], "group": "",
                                          "explanation": ""})
        # The engine keeps an empty "(none)" bucket (bins keep every bucket): noise here.
        shown = [b for b in segment["buckets"] if b["users"] or b["label"] != "(none)"]
        # Bins read "1 to <3" on the page; the engine's "1-3" stays in the JSON.
        read = bin_labels_shown([b["label"] for b in shown])
        shown = [{**b, "label": read.get(b["label"], b["label"]), "engine_label": b["label"]}
                 for b in shown]
        rows = []
        for bucket in shown:
            now = bucket["weeks"][latest] if latest is not None else None
            before = bucket["weeks"][latest - 1] if latest else None
            rows.append({
                "label": bucket["label"], **_cell(bucket["users"], bucket["successes"]),
                "now": _cell(*now) if now else None,
                "before": _cell(*before) if before else None,
                "change": by_bucket.get((segment["key"], bucket["engine_label"])),
            })
        series = [{"label": b["label"], "cells": b["weeks"]} for b in shown if b["users"]]
        segments.append({
            "key": segment["key"], **info, "kind": segment["kind"], "rows": rows,
            "p_value": segment.get("p_value"),
            "chart": trend_chart(weeks, series, markers=markers),
            "bars": bucket_bars(shown),
            "week_table": [
                {"week": week_label(w["week"]), "complete": w["complete"],
                 "cells": [_cell(*b["weeks"][i]) for b in shown]}
                for i, w in enumerate(weeks)],
            "flagged": sum(1 for r in rows if r["change"] and r["change"]["flagged"]),
        })
    population = result["population"]
    return {
        "population": population,
        "overall": _cell(population["users"], population["successes"]),
        "weeks": weeks,
        "week_count": len(weeks),
        "first_week": week_label(weeks[0]["week"]) if weeks else None,
        "last_week": week_label(weeks[-1]["week"]) if weeks else None,
        "latest_week": weeks[latest] if latest is not None else None,
        "latest_label": week_label(weeks[latest]["week"]) if latest is not None else None,
        "latest": _cell(weeks[latest]["users"], weeks[latest]["successes"])
        if latest is not None else None,
        "incomplete_weeks": sum(1 for w in weeks if not w["complete"]),
        "without_week": result.get("without_week", {}),
        "overall_chart": trend_chart(weeks, overall_series, markers=markers, height=220),
        "overall_change": by_bucket.get((ALL_USERS, "all users")),
        "changes": changes,
        "segments": segments,
        "data_end": result.get("data_end"),
        "judged": judged_line(weeks),
    }
