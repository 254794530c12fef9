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

from tests.fresh_python import fresh_python

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


def bare_shell(tmp: Path) -> dict:
    """A fresh shell: no SECRET_KEY, no DEBUG, no test flag; the app's database and data
    directory point where the test can see whether anything touched them."""
    return {"PATH": "/usr/bin:/bin", "SQLITE_PATH": str(tmp / "app.sqlite3"),
            "DATA_DIR": str(tmp / "data")}


@pytest.mark.slow
def test_files_are_analysed_in_a_bare_shell_without_the_app_database(files):
    events, users = files
    tmp = events.parent
    command = [sys.executable, "manage.py", "analyze", "--events", str(events),
               "--users", str(users), "--success", json.dumps(SUCCESS),
               "--criterion", json.dumps({"kind": "did_event", "event": "login"})]
    # Several at once, as scripts and notebooks run them: none waits for a database lock.
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=settings.BASE_DIR, env=bare_shell(tmp))
            for _ in range(3)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], outputs
    assert {json.loads(out)["group"]["users"] for out, _ in outputs} == {2}
    assert not (tmp / "app.sqlite3").exists() and not (tmp / "data").exists()
    discovered = subprocess.run(
        [sys.executable, "manage.py", "discover", "--events", str(events), "--users", str(users),
         "--success", json.dumps(SUCCESS), "--top", "3"],
        capture_output=True, text=True, cwd=settings.BASE_DIR, env=bare_shell(tmp))
    assert discovered.returncode == 0, discovered.stderr
    assert len(json.loads(discovered.stdout)["characteristics"]) <= 3
    refused = subprocess.run(command[:-1] + [json.dumps({"kind": "did_event", "event": "nope"})],
                             capture_output=True, text=True, cwd=settings.BASE_DIR,
                             env=bare_shell(tmp))
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.strip().splitlines() == [
        "CommandError: unknown event 'nope'; known: login, purchase, signup"]


def test_files_from_the_command_line_load_no_statistics_library_before_they_need_it():
    # Start-up cost: scipy.stats alone takes about a second to import.
    probe = ("import sys; import analytics.cli, analytics.engine.analysis, "
             "analytics.engine.discovery; print('scipy.stats' in sys.modules, "
             "'django' in sys.modules)")
    result = fresh_python(probe)
    assert result.stdout.split() == ["False", "False"], result.stderr


@pytest.mark.slow
def test_one_off_commands_need_no_secret_key_but_serving_pages_does(tmp_path):
    env = bare_shell(tmp_path)
    check = subprocess.run([sys.executable, "manage.py", "check"], capture_output=True,
                           text=True, cwd=settings.BASE_DIR, env=env, timeout=120)
    assert check.returncode == 0, check.stderr
    serve = subprocess.run([sys.executable, "manage.py", "runserver", "--noreload",
                            "127.0.0.1:0"], capture_output=True, text=True,
                           cwd=settings.BASE_DIR, env=env, timeout=120)
    assert serve.returncode != 0 and "SECRET_KEY must be set" in serve.stderr


def test_the_command_on_large_files_loads_the_statistics_while_it_reads(files, monkeypatch):
    from analytics import cli
    from analytics.engine import distributions

    started: list = []
    real = distributions.load_in_background
    monkeypatch.setattr(distributions, "load_in_background",
                        lambda: started.append(1) or real())
    events, users = files

    def run() -> dict:
        out, err = StringIO(), StringIO()
        code = cli.main(["manage.py", "analyze", "--events", str(events), "--users", str(users),
                         "--success", json.dumps(SUCCESS), "--criterion",
                         json.dumps({"kind": "did_event", "event": "login"})], out, err)
        assert code == 0, err.getvalue()
        return json.loads(out.getvalue())

    assert run()["group"]["users"] == 2
    assert started == []  # tiny files: left to the first test that needs it
    monkeypatch.setattr(cli, "OVERLAP_IMPORT_BYTES", events.stat().st_size)
    assert run()["group"]["users"] == 2
    assert started == [1]
