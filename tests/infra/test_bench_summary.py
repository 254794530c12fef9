"""The summary table `make bench` ends with (bench/summary.py): ratios against the
yardstick of the same run, goals read in wall and CPU time, steps without a goal row."""

from __future__ import annotations

from bench.run import STEPS
from bench.summary import GOALS, print_summary, summary_row


def result(wall: float, cpu: float, peak: float = 100.0, **extra) -> dict:
    return {"median_s": wall, "cpu_s": cpu, "peak_mb": peak, "detail": {}, **extra}


def test_every_goal_row_names_a_step_of_the_bench_and_a_yardstick_it_knows():
    steps = {step for step, _, _ in STEPS}
    assert set(GOALS) <= steps
    for goal in GOALS.values():
        assert goal.yardstick in (None, "floor") or goal.yardstick in steps


def test_a_floor_measured_beside_the_step_gives_its_ratio_and_verdict():
    met = summary_row("cli_files", result(3.0, 1.6, floor_s=2.0, floor_cpu_s=1.0), {}, "")
    assert (met.ratio, met.met, met.point) == ("1.50x / 1.60x", "yes", "13.2")
    loaded = summary_row("cli_files", result(4.4, 1.6, floor_s=2.0, floor_cpu_s=1.0), {}, "")
    assert loaded.met == "CPU only"
    missed = summary_row("cli_files", result(4.4, 2.4, floor_s=2.0, floor_cpu_s=1.0), {}, "")
    assert missed.met == "no"


def test_a_yardstick_step_of_the_same_run():
    results = {"copy_csv": result(20.0, 30.0), "import": result(28.0, 50.0)}
    row = summary_row("import", results["import"], results, "")
    assert row.ratio == "1.40x / 1.67x" and row.met == "wall only"
    assert summary_row("import", results["import"], {}, "").met == "n/a: copy_csv not run"
    # polars is the slower yardstick: its ratio to the engine's table must be large
    results = {"peruser": result(4.0, 4.0), "polars": result(16.0, 15.0)}
    assert summary_row("polars", results["polars"], results, "").met == "yes"


def test_time_memory_and_counts_together():
    ok = result(4.0, 6.0, peak=1500, detail={"tried": 207})
    assert summary_row("discovery", ok, {}, "").met == "yes"
    assert summary_row("discovery", {**ok, "detail": {"tried": 66}}, {}, "").met == "no"
    assert summary_row("discovery", {**ok, "peak_mb": 2100}, {}, "").met == "no"
    kinds = {"did_event": 0.4, "event_count": 0.9, "property": 0.01,
             "did_event_cpu": 0.4, "event_count_cpu": 0.6, "property_cpu": 0.01}
    row = summary_row("new_criterion", result(9.0, 9.0, kinds=kinds), {}, "")
    assert (row.wall, row.cpu, row.met) == (0.9, 0.6, "CPU only")


def test_a_step_without_a_goal_row_is_listed_with_its_text(capsys):
    results = {"scan": result(1.5, 2.0), "cold_start": result(0.8, 0.5)}
    print_summary(results, [*STEPS, ("cold_start", 3, "a new step, no goal row yet")],
                  users=10, events=100)
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split()[:3] == ["point", "step", "wall"]
    assert [line.split()[0] for line in lines[3:]] == ["scan", "cold_start"]
    assert lines[-1].rstrip().endswith("a new step, no goal row yet")


def test_issue_13_points_come_first_in_order(capsys):
    results = {"peruser": result(4.0, 4.0), "cli_files": result(1.0, 1.0, floor_s=1, floor_cpu_s=1),
               "cli_startup": result(0.2, 0.2, floor_s=0.1, floor_cpu_s=0.1),
               "copy_csv": result(20.0, 30.0)}
    print_summary(results, STEPS, users=10, events=100)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines[3:5]] == [["13.1", "cli_startup"],
                                                          ["13.2", "cli_files"]]
    assert [line.split()[0] for line in lines[5:]] == ["3", "copy_csv"]
