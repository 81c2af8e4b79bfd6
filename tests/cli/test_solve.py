"""``rtgen-opt solve`` end to end."""

import json
import re
from pathlib import Path

from click.testing import CliRunner

from rtgen_opt.cli import main
from rtgen_opt.instance import Instance
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import validate

DATA = Path(__file__).parents[1] / "data"


def test_solve_prints_summary_and_writes_a_valid_schedule(tmp_path):
    out = tmp_path / "s.json"
    res = CliRunner().invoke(
        main,
        ["solve", str(DATA / "ft06.json"), "--objective", "makespan", "-t", "10", "-o", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert "status     optimal" in res.output and "value      55" in res.output
    assert "makespan 55.000 ms" in res.output  # the metrics table
    sched = Schedule.load(out)
    assert validate(Instance.load(DATA / "ft06.json"), sched) == []
    assert json.loads(out.read_text())["provenance"]["bound"] == [55.0]


def test_solve_reads_fjsp_and_csv_out(tmp_path):
    out = tmp_path / "s.csv"
    res = CliRunner().invoke(
        main,
        ["solve", str(DATA / "fjsp" / "179.txt"), "--objective", "makespan", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert "value      11" in res.output and out.read_text().startswith("# provenance")


def test_bad_objective_and_settings_exit_2():
    r1 = CliRunner().invoke(main, ["solve", str(DATA / "ft06.json"), "--objective", "speed"])
    assert r1.exit_code == 2 and "unknown objective 'speed'" in r1.output
    r2 = CliRunner().invoke(main, ["solve", str(DATA / "ft06.json"), "--settings", "nope"])
    assert r2.exit_code == 2 and "unknown settings" in r2.output


def test_cli_refuses_over_the_cap_in_one_line():
    res = CliRunner().invoke(
        main,
        ["solve", str(DATA / "ft06.json"), "--objective", "makespan", "--solver", "milp-highs"]
        + ["--max-pairs", "3", "-q"],
    )
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("rtgen-opt: error: milp-highs: the MILP of ")
    assert re.search(r"would have [0-9,]+ disjunctive pairs", lines[0])
    assert "cap of 3" in lines[0] and "use --solver cpsat (default) or --max-pairs" in lines[0]
    assert res.stdout == ""
    # The cap is the MILP's: with CP-SAT it is an error of the options, as is a negative one.
    for extra, words in ((["--max-pairs", "3"], "not cpsat"), (["--max-pairs", "-1"], ">= 0")):
        res = CliRunner().invoke(main, ["solve", str(DATA / "ft06.json"), *extra])
        assert res.exit_code == 2 and words in res.stderr, res.stderr


def test_solve_says_which_pinning_it_started_from(monkeypatch):
    import rtgen_opt.optimise as optimise

    scenario = Path(__file__).parents[2] / "instances" / "scenarios" / "game_npc_heavy_1s.yaml"
    args = ["solve", str(scenario), "--method", "decompose", "-t", "20", "--quiet"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "status     optimal" in res.output
    # the lane timeline misses nothing here: it is the start, proven at once
    assert "(started from lane-timeline)" in res.output, res.output
    monkeypatch.setattr(optimise, "TIMELINE_SHARE", 0.0)  # the affinity search instead
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0 and "status     optimal" in res.output, res.output
    # the hand tracker kept off the CPU is what lets every frame meet its deadline
    assert re.search(r"started from affinity; pinning [^\n]*hands on ", res.output), res.output
