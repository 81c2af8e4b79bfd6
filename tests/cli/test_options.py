"""Every numeric option of every command is checked the same way (rtgen_opt.cli.params), and
short options mean one thing across commands."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from rtgen_opt.cli import main
from rtgen_opt.cli.params import Number

DATA = Path(__file__).parents[1] / "data"
FT06 = str(DATA / "ft06.json")
SCENARIO = str(Path(__file__).parents[2] / "instances" / "scenarios" / "video_call_small.yaml")


def _commands(group: click.Group = main, path: tuple[str, ...] = ()):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _commands(cmd, (*path, name))
        else:
            yield (*path, name), cmd


def test_every_numeric_option_uses_the_shared_type():
    plain = (click.types.IntParamType, click.types.FloatParamType)
    loose = [
        f"{' '.join(path)} {max(p.opts, key=len)}"
        for path, cmd in _commands()
        for p in cmd.params
        if isinstance(p.type, plain) and not isinstance(p.type, Number)
    ]
    assert loose == []


@pytest.mark.parametrize(
    "args, option, expected",
    [
        (["solve", FT06, "--time-limit", "-1"], "--time-limit", "expected seconds > 0, got -1"),
        (["solve", FT06, "-t", "0"], "--time-limit", "expected seconds > 0, got 0"),
        (["solve", FT06, "-t", "nan"], "--time-limit", "expected seconds > 0, got nan"),
        (["solve", FT06, "--workers", "0"], "--workers", "expected an integer >= 1, got 0"),
        (["solve", FT06, "-w", "-3"], "--workers", "expected an integer >= 1, got -3"),
        (["solve", FT06, "--seed", "-1"], "--seed", "expected an integer >= 0, got -1"),
        (["solve", FT06, "-w", "1.5"], "--workers", "expected an integer >= 1, got 1.5"),
        (["replay", FT06, "--seeds", "0"], "--seeds", "expected an integer >= 1, got 0"),
        (["replay", FT06, "--noise", "inf"], "--noise", "expected a sigma >= 0, got inf"),
        (["report", FT06, "--out", "o", "--time-limit", "-1"], "--time-limit", "seconds > 0"),
        (["report", FT06, "--out", "o", "-j", "0"], "--workers", "an integer >= 1"),
        (["report", FT06, "--out", "o", "--solver-threads", "0"], "--solver-threads", ">= 1"),
        (
            ["sweep", SCENARIO, "--load", "1", "--out", "o", "--threshold", "1"],
            "--threshold",
            "expected a rate >= 0 and < 1, got 1",
        ),
        (["sweep", SCENARIO, "--load", "1", "--out", "o", "--seeds", "0"], "--seeds", ">= 1"),
        (["gantt", FT06, "-i", FT06, "--out", "g.png", "--width", "0"], "--width", "> 0"),
        (["import", "onnx", "m.onnx", "--out", "p.yaml", "--fps", "0"], "--fps", "> 0"),
        (["import", "onnx", "m.onnx", "--out", "p.yaml", "--groups", "0"], "--groups", ">= 1"),
        (["profile", "m.onnx", "--out", "p.yaml", "--repeat", "0"], "--repeat", ">= 1"),
        (["profile", "m.onnx", "--out", "p.yaml", "--warmup", "-1"], "--warmup", ">= 0"),
    ],
)
def test_bad_numbers_are_one_line_naming_the_option(tmp_path, monkeypatch, args, option, expected):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith(f"rtgen-opt: error: {option}: ") and expected in lines[0]
    assert not Path("o").exists()  # refused before anything ran


def test_short_options_mean_one_thing_across_commands():
    """-o is the output (file or folder) of every command that writes one; no letter names two
    different long options anywhere."""
    meaning: dict[str, set[str]] = {}
    for _, cmd in _commands():
        for p in cmd.params:
            if not isinstance(p, click.Option):
                continue
            longs = [o for o in p.opts if o.startswith("--")]
            for short in (o for o in p.opts if not o.startswith("--")):
                meaning.setdefault(short, set()).add(longs[0])
    assert meaning["-o"] == {"--out"}
    assert {s: m for s, m in meaning.items() if len(m) > 1} == {}
    writers = [
        " ".join(path)
        for path, cmd in _commands()
        for p in cmd.params
        if "--out" in p.opts and "-o" not in p.opts
    ]
    assert writers == []


def test_solve_o_is_the_output_and_gantt_keeps_output_as_an_alias(tmp_path):
    out = tmp_path / "s.json"
    res = CliRunner().invoke(main, ["solve", FT06, "--objective", "makespan", "-q", "-o", str(out)])
    assert res.exit_code == 0, res.output
    picture = tmp_path / "g.svg"
    res = CliRunner().invoke(main, ["gantt", str(out), "-i", FT06, "--output", str(picture)])
    assert res.exit_code == 0, res.output
    assert picture.read_text().startswith("<?xml")


@pytest.mark.parametrize("args", [[], ["import"]])
def test_a_group_alone_still_prints_its_help(args):
    res = CliRunner().invoke(main, args)
    assert res.output.startswith("Usage: ") and "Commands:" in res.output
    assert "rtgen-opt: error" not in res.output
