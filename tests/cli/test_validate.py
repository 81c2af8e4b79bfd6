"""``rtgen-opt validate SCHEDULE --instance FILE``: violations (exit 1), metrics (exit 0), bad
files (exit 2, one line)."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from rtgen_opt.cli import main
from rtgen_opt.instance import Instance, Link, Platform, Processor, Stream
from rtgen_opt.schedule import Schedule

XRBENCH = Path(__file__).parents[1] / "data" / "xrbench" / "usage_scenarios"


def _instance() -> Instance:
    platform = Platform(
        "soc",
        (Processor("cpu", "cpu", 10.0, 1.0), Processor("npu", "npu", 2.0, 0.5)),
        default_link=Link(0.5, 1000.0),
    )
    g = nx.DiGraph()
    for k in (0, 1):
        frame = dict(job=f"F{k}", stream="cam", release=10.0 * k, deadline=10.0 * k + 10.0)
        g.add_node(f"f{k}a", durations={"npu": 2.0, "cpu": 4.0}, **frame)
        g.add_node(f"f{k}b", durations={"cpu": 3.0}, **frame)
        g.add_edge(f"f{k}a", f"f{k}b", bytes=1000.0)  # npu -> cpu: 0.5 + 1 ms
    streams = {"cam": Stream("cam", "periodic", "seg", period_ms=10.0)}
    return Instance.from_networkx(g, platform, name="two-frames", streams=streams, horizon=20.0)


VALID = [
    ("f0a", "npu", 0.0, 2.0),
    ("f0b", "cpu", 3.5, 6.5),
    ("f1a", "npu", 10.0, 12.0),
    ("f1b", "cpu", 13.5, 16.5),
]


@pytest.fixture
def files(tmp_path):
    inst = tmp_path / "inst.json"
    _instance().save(inst)
    return tmp_path, inst


def _run(*args):
    return CliRunner().invoke(main, ["validate", *map(str, args)])


@pytest.mark.parametrize("suffix", [".json", ".csv"])
def test_valid_schedule_prints_metrics(files, suffix):
    tmp, inst = files
    sched = tmp / f"s{suffix}"
    Schedule.build(VALID, method="hand").save(sched)
    result = _run(sched, "--instance", inst)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "valid schedule of two-frames (4 tasks)" in out
    assert "cam" in out and "overall" in out and "npu" in out
    assert "DVR 0.0%" in out and "makespan 16.500 ms" in out


def test_xrbench_flag_prints_the_score(files):
    tmp, inst = files
    sched = tmp / "s.json"
    Schedule.build(VALID).save(sched)
    result = _run(sched, "--instance", inst, "--xrbench")
    assert result.exit_code == 0
    assert "XRBench score" in result.stdout
    # both frames finish 3.5 ms early: RT ~ 1; energy 2 W x 2 + 10 W x 3 = 34 mJ
    assert f"overall {100 * (1500 - 34) / 1500:.6f}" in result.stdout


def test_violations_exit_1(files):
    tmp, inst = files
    sched = tmp / "bad.json"
    rows = [r for r in VALID if r[0] != "f1b"]
    rows[1] = ("f0b", "cpu", 2.0, 5.0)  # before f0a's output reaches the cpu
    Schedule.build(rows).save(sched)
    result = _run(sched, "--instance", inst)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines == [
        "missing_task\tf1b\tjob F1 is not dropped but f1b is not placed",
        lines[1],
    ]
    assert lines[1].startswith("precedence\tf0a,f0b\t")
    assert "INVALID: 2 violation(s)" in result.stderr


def test_xrbench_instance_and_empty_schedule(tmp_path):
    sched = tmp_path / "empty.json"
    Schedule.build([]).save(sched)
    result = _run(sched, "--instance", XRBENCH / "AR_gaming.m")
    assert result.exit_code == 1
    assert all(line.startswith("missing_task\t") for line in result.stdout.splitlines())
    assert len(result.stdout.splitlines()) == 63  # one task per frame at model granularity


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("garbage.json", "{not json", "invalid JSON"),
        ("list.json", "[1, 2]", "expected a JSON object"),
        ("row.json", '{"format": "rtgen-opt-schedule", "tasks": [{"task": 1}]}', "tasks[0]"),
        ("prov.csv", "# provenance: {bad\nrecord,id,processor,start,end\n", "provenance"),
        ("cols.csv", "a,b\n1,2\n", "header"),
        ("missing.json", None, "cannot read"),
    ],
)
def test_bad_schedule_file_exits_2_with_one_line(files, name, text, needle):
    tmp, inst = files
    path = tmp / name
    if text is not None:
        path.write_text(text)
    result = _run(path, "--instance", inst)
    assert result.exit_code == 2
    assert result.stdout == ""
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and needle in err[0]


def test_bad_instance_file_exits_2(files):
    tmp, _ = files
    sched = tmp / "s.json"
    Schedule.build(VALID).save(sched)
    bad = tmp / "inst.json"
    bad.write_text('{"format": "something-else"}')
    result = _run(sched, "--instance", bad)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"rtgen-opt: error: {bad}: format: expected 'rtgen-opt-instance', got 'something-else'"
    ]
    result = _run(sched, "--instance", tmp / "nope.yaml")
    assert result.exit_code == 2 and "cannot read" in result.stderr
