"""``--load`` on every command that compiles a scenario: the instance it works on is the one
``rtgen_opt.compile(path, load=...)`` builds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import rtgen_opt
from rtgen_opt.cli import main
from rtgen_opt.compile import parse_load
from rtgen_opt.report import run as report_run
from rtgen_opt.schedule import Schedule

SCENARIO = Path(__file__).resolve().parents[2] / "instances" / "scenarios" / "game_npc_small.yaml"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.mark.parametrize("load", ["2", "0.5", "frame=2"])
def test_inspect_shows_the_loaded_instance(load):
    inst = rtgen_opt.compile(SCENARIO, load=parse_load(load))
    assert len(inst.tasks) != len(rtgen_opt.compile(SCENARIO).tasks)
    result = run("inspect", str(SCENARIO), "--load", load)
    assert result.exit_code == 0, result.output
    assert f"tasks      {len(inst.tasks)}\n" in result.output


def test_replay_solve_and_validate_work_on_the_loaded_instance(tmp_path):
    inst = rtgen_opt.compile(SCENARIO, load=2.0)
    out = tmp_path / "s.json"
    assert run("replay", str(SCENARIO), "--load", "2", "--out", str(out)).exit_code == 0
    schedule = Schedule.load(out)
    assert set(schedule.placements) | set(schedule.dropped) == set(inst.tasks)
    assert run("validate", str(out), "-i", str(SCENARIO), "--load", "2").exit_code == 0
    # the same schedule is not one of the unloaded instance
    assert run("validate", str(out), "-i", str(SCENARIO)).exit_code != 0
    solved = run("solve", str(SCENARIO), "--load", "2", "-t", "5", "-q", "--out", str(out))
    assert solved.exit_code == 0, solved.output
    assert f"({len(inst.tasks)} tasks" in solved.output


def test_report_compiles_its_suite_at_the_load(tmp_path):
    df = report_run([SCENARIO], load=2.0, policies=("edf-eft",), solvers=(), quiet=True)
    jobs = len(rtgen_opt.compile(SCENARIO, load=2.0).jobs)
    assert list(df["jobs"]) == [jobs]
    result = run(
        "report",
        str(SCENARIO),
        "--load",
        "2",
        "--solvers",
        "",
        "--policies",
        "edf-eft",
        "--out",
        str(tmp_path / "r"),
        "-q",
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "settings.json").read_text())  # written


@pytest.mark.parametrize("bad", ["x", "npc=", "-1", "0"])
def test_a_bad_load_is_one_line_and_status_2(bad):
    result = CliRunner().invoke(main, ["inspect", str(SCENARIO), "--load", bad])
    assert result.exit_code == 2
    assert "--load" in result.output and "Traceback" not in result.output


def test_load_on_an_instance_file_is_refused(tmp_path):
    path = tmp_path / "i.json"
    rtgen_opt.compile(SCENARIO).save(path)
    result = CliRunner().invoke(main, ["inspect", str(path), "--load", "2"])
    assert result.exit_code == 2 and "only a scenario compiles" in result.output
