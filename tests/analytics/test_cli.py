"""The CLI of definitions.md section 6: one JSON document on stdout, exit 2 with a one-line
message on stderr for bad input, and the same numbers as a job run through the app."""

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

SUCCESS = {"events": ["purchase"]}
EVENTS = """user_id,event,timestamp,device
a,signup,2024-01-01T10:00:00Z,mobile
a,login,2024-01-01T11:00:00Z,mobile
a,purchase,2024-01-02T10:00:00+02:00,mobile
b,signup,2024-01-01T09:00:00Z,desktop
b,login,2024-01-03T09:00:00Z,desktop
c,signup,2024-01-05T09:00:00Z,desktop
c,purchase,2024-01-05T10:00:00Z,desktop
d,signup,2024-01-06T09:00:00Z,mobile
"""
USERS = "user_id,plan\na,pro\nb,free\nc,pro\nd,\ne,free\n"


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    events = tmp_path / "events.csv"
    events.write_text(EVENTS)
    users = tmp_path / "users.csv"
    users.write_text(USERS)
    return events, users


def analyze(*args: str) -> dict:
    out = StringIO()
    call_command("analyze", *args, stdout=out)
    return json.loads(out.getvalue())


def test_analyze_a_criterion_from_files(files):
    events, users = files
    result = analyze("--events", str(events), "--users", str(users),
                     "--success", json.dumps(SUCCESS),
                     "--criterion", json.dumps({"kind": "property", "property": "plan", "op": "=", "value": "pro"}))
    # Population: a-d from events plus e from users only; a and c purchased, both pro.
    assert result["population"]["users"] == 5 and result["population"]["successes"] == 2
    assert result["group"]["users"] == 2 and result["group"]["successes"] == 2
    assert result["rest"]["users"] == 3 and result["rest"]["successes"] == 0
    assert result["lift"] is None  # the rest's rate is 0
    assert result["test"] == "fisher"  # tiny counts
    assert set(result) >= {"population", "group", "rest", "diff", "lift", "lift_ci95", "p_value", "test"}


def test_analyze_a_breakdown(files):
    events, users = files
    result = analyze("--events", str(events), "--users", str(users), "--success", json.dumps(SUCCESS),
                     "--criterion", json.dumps({"breakdown": {"property": "plan"}}))
    labels = [bucket["label"] for bucket in result["buckets"]]
    assert labels == ["free", "pro", "(none)"]  # most users first, (none) last
    assert [b["users"] for b in result["buckets"]] == [2, 2, 1]
    assert "p_value" in result


@pytest.mark.parametrize("args, message", [
    (["--success", "{not json", "--criterion", "{}"], "not valid JSON"),
    (["--success", json.dumps(SUCCESS), "--criterion",
      json.dumps({"kind": "did_event", "event": "purchse"})], "purchase"),
    (["--success", json.dumps(SUCCESS), "--criterion",
      json.dumps({"kind": "property", "property": "plan", "op": ">", "value": "x", "extra": 1})], ""),
])
def test_bad_input_is_a_command_error_with_code_2(files, args, message):
    events, users = files
    with pytest.raises(CommandError) as raised:
        call_command("analyze", "--events", str(events), "--users", str(users), *args, stdout=StringIO())
    assert raised.value.returncode == 2
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_refused_file_names_the_line(tmp_path):
    bad = tmp_path / "events.csv"
    bad.write_text("user_id,event,timestamp\na,login,2024-01-01T00:00:00Z\nb,login,not a time\n")
    with pytest.raises(CommandError) as raised:
        call_command("analyze", "--events", str(bad), "--success", json.dumps(SUCCESS),
                     "--criterion", json.dumps({"kind": "did_event", "event": "login"}), stdout=StringIO())
    assert raised.value.returncode == 2
    assert "line 3" in str(raised.value) and "timestamp" in str(raised.value)


@pytest.mark.slow
def test_the_real_command_prints_only_json_and_exits_2_on_errors(files):
    events, users = files
    base = [sys.executable, "manage.py", "analyze", "--events", str(events), "--users", str(users),
            "--success", json.dumps(SUCCESS)]
    env = {"PATH": "/usr/bin:/bin", "HYPOTHESISLAB_TESTING": "1", "DATA_DIR": str(events.parent / "d"),
           "SQLITE_PATH": str(events.parent / "db.sqlite3")}
    ok = subprocess.run(base + ["--criterion", json.dumps({"kind": "did_event", "event": "login"})],
                        capture_output=True, text=True, cwd=settings.BASE_DIR, env=env)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["group"]["users"] == 2
    bad = subprocess.run(base + ["--criterion", json.dumps({"kind": "did_event", "event": "nope"})],
                         capture_output=True, text=True, cwd=settings.BASE_DIR, env=env)
    assert bad.returncode == 2 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1


def test_the_cli_and_a_job_give_the_same_json(files, team, owner):
    from analytics.models import AnalysisJob, JobStatus
    from analytics.services import analysis_submit, import_now

    events, users = files
    criterion = {"kind": "event_count", "event": "login", "op": ">=", "value": 1}
    from_cli = analyze("--events", str(events), "--users", str(users), "--success", json.dumps(SUCCESS),
                       "--criterion", json.dumps(criterion))
    imported = import_now(team=team, name="cli", events=[events], users=users, mapping={})
    dataset = imported.dataset
    dataset.refresh_from_db()
    job = analysis_submit(team=team, dataset=dataset, success=SUCCESS, criterion=criterion,
                          created_by=owner)
    job = AnalysisJob.objects.get(pk=job.pk)
    assert job.status == JobStatus.DONE
    assert job.result == from_cli
    from_dataset = analyze("--dataset", str(dataset.pk), "--success", json.dumps(SUCCESS),
                           "--criterion", json.dumps(criterion))
    assert from_dataset == from_cli
