"""``rtgen-opt replay``: metrics table, spread over seeds, policy comparison, plug-ins, errors."""

from __future__ import annotations

import textwrap

import networkx as nx
import pytest
from click.testing import CliRunner

from rtgen_opt.cli import main
from rtgen_opt.instance import Instance, Link, Platform, Processor
from rtgen_opt.metrics import evaluate
from rtgen_opt.online import policy_names, simulate
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import validate


@pytest.fixture
def instance_file(tmp_path):
    g = nx.DiGraph()
    for k in range(6):
        g.add_node(
            f"a{k}",
            durations={"cpu": 4.0, "npu": 1.0},
            release=2.0 * k,
            deadline=2.0 * k + 2.5,
            job=f"j{k}",
            stream="vision",
        )
        g.add_node(
            f"b{k}",
            durations={"cpu": 2.0, "npu": 1.0},
            release=2.0 * k,
            deadline=2.0 * k + 2.5,
            job=f"j{k}",
            stream="vision",
        )
        g.add_edge(f"a{k}", f"b{k}", bytes=100.0)
    plat = Platform(
        "soc",
        (Processor("cpu", "cpu", 4.0, 1.0), Processor("npu", "npu", 2.0, 0.5)),
        default_link=Link(0.2, 1000.0),
    )
    inst = Instance.from_networkx(g, plat, miss_mode="drop", name="cli-demo")
    path = tmp_path / "demo.json"
    inst.save(path)
    return inst, path


def run(*args):
    return CliRunner().invoke(main, ["replay", *map(str, args)])


def test_prints_the_metrics_table_of_the_validated_schedule(instance_file, tmp_path):
    inst, path = instance_file
    out = tmp_path / "s.csv"
    res = run(path, "--policy", "fcfs-fixed", "--out", out)
    assert res.exit_code == 0, res.output
    expected = evaluate(inst, simulate(inst, "fcfs-fixed").schedule)
    assert "replay fcfs-fixed on cli-demo: 12 tasks, 6 jobs" in res.output
    assert expected.table() in res.output
    written = Schedule.load(out)
    assert validate(inst, written) == [] and written.provenance["method"] == "fcfs-fixed"


def test_noise_prints_mean_and_spread_over_seeds(instance_file):
    inst, path = instance_file
    res = run(path, "-p", "edf-eft", "--noise", "0.3", "--seeds", "4", "--seed", "10")
    assert res.exit_code == 0, res.output
    assert "noise sigma 0.3, seeds 10..13" in res.output
    makespans = [
        simulate(inst, "edf-eft", noise=0.3, seed=s).schedule.makespan for s in range(10, 14)
    ]
    line = next(ln for ln in res.output.splitlines() if ln.startswith("makespan_ms"))
    mean, _std, lo, hi = (float(x) for x in line.split()[1:])
    assert mean == pytest.approx(sum(makespans) / 4, rel=1e-3)
    assert lo == pytest.approx(min(makespans), rel=1e-3)
    assert hi == pytest.approx(max(makespans), rel=1e-3)
    assert lo < hi  # the seeds differ


def test_policy_all_compares_every_policy(instance_file):
    inst, path = instance_file
    res = run(path, "--policy", "all")
    assert res.exit_code == 0, res.output
    rows = {ln.split()[0]: ln.split() for ln in res.output.splitlines()[3:]}
    assert sorted(rows) == policy_names()
    for name in policy_names():
        misses = evaluate(inst, simulate(inst, name).schedule).summary["misses"]
        assert float(rows[name][1]) == misses


def test_a_plugin_policy_by_module_and_class(instance_file, tmp_path, monkeypatch):
    _, path = instance_file
    (tmp_path / "cli_plugin_mod.py").write_text(
        textwrap.dedent(
            """
            from rtgen_opt.online.policies.fixed import FCFSFixed

            class Mine(FCFSFixed):
                '''FCFS pinned, under another name.'''
                name = "mine"
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    res = run(path, "--policy", "cli_plugin_mod:Mine")
    assert res.exit_code == 0, res.output
    assert "replay mine on cli-demo" in res.output


PLUGIN = """
from rtgen_opt.online.policies.fixed import FCFSFixed

class Mine(FCFSFixed):
    'FCFS pinned, under no name of its own: named by how it was given.'
    name = ""
"""


def test_a_plugin_policy_by_file_path_without_pythonpath(instance_file, tmp_path, monkeypatch):
    _, path = instance_file
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "mypolicies.py").write_text(PLUGIN)
    monkeypatch.chdir(tmp_path)
    res = run(path, "--policy", "./plugins/mypolicies.py:Mine")
    assert res.exit_code == 0, res.output
    assert "replay ./plugins/mypolicies.py:Mine on cli-demo" in res.output
    # the same file by its absolute path is loaded once
    res = run(path, "--policy", f"{tmp_path}/plugins/mypolicies.py:Mine")
    assert res.exit_code == 0, res.output
    bad = {
        "./plugins/none.py:Mine": "policy: no such file: ./plugins/none.py",
        "./plugins/mypolicies.py:Theirs": "policy: ./plugins/mypolicies.py has no 'Theirs'",
        "nomodule:Mine": "(a module must be on PYTHONPATH; or give its file, e.g. ./nomodule.py",
        "nope": "or your own class as module:Class or path/to/file.py:Class",
    }
    for spec, message in bad.items():
        res = run(path, "--policy", spec)
        assert res.exit_code == 2 and message in res.stderr, res.output
        assert len(res.stderr.splitlines()) == 1


def test_a_plugin_file_that_fails_is_one_line(instance_file, tmp_path):
    _, path = instance_file
    (tmp_path / "broken.py").write_text("import math\n1 / 0\n")
    res = run(path, "--policy", f"{tmp_path / 'broken.py'}:Mine")
    assert res.exit_code == 2 and "ZeroDivisionError: division by zero" in res.stderr
    assert "Traceback" not in res.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--policy", "nope"], "policy: unknown policy 'nope'"),
        (["--noise", "-1"], "--noise: expected a sigma >= 0, got -1"),
        (["--noise", "nan"], "--noise: expected a sigma >= 0, got nan"),
        (["--seeds", "0"], "--seeds: expected an integer >= 1, got 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(instance_file, args, message):
    _, path = instance_file
    res = run(path, *args)
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output


def test_a_missing_file_is_one_line_and_exit_2(tmp_path):
    res = run(tmp_path / "none.json")
    assert res.exit_code == 2
    assert "none.json" in res.output


def test_all_policies_with_out_write_one_file_per_policy(instance_file, tmp_path):
    inst, path = instance_file
    res = run(path, "--policy", "all", "--out", tmp_path / "s.json")
    assert res.exit_code == 0, res.output
    assert f"wrote {len(policy_names())} schedules: {tmp_path / 's.<policy>.json'}" in res.stderr
    written = sorted(p.name for p in tmp_path.glob("s.*.json"))
    assert written == sorted(f"s.{name}.json" for name in policy_names())
    for name in policy_names():
        sched = Schedule.load(tmp_path / f"s.{name}.json")
        assert validate(inst, sched) == [] and sched == simulate(inst, name).schedule
