"""``rtgen-opt report``, ``gantt`` and ``trace`` on the command line."""

import json

import networkx as nx
import pandas as pd
import pytest
from click.testing import CliRunner

from rtgen_opt.cli import main
from rtgen_opt.instance import Instance, Platform, Processor
from rtgen_opt.online import replay


@pytest.fixture()
def files(tmp_path):
    platform = Platform("soc", (Processor("cpu", "cpu"), Processor("npu", "npu")))
    g = nx.DiGraph()
    for k in range(3):
        g.add_node(
            f"f{k}.a",
            durations={"cpu": 2.0, "npu": 1.0},
            job=f"f{k}",
            stream="cam",
            release=2.0 * k,
            deadline=2.0 * k + 2.0,
        )
        g.add_node(
            f"f{k}.b",
            durations={"cpu": 1.0, "npu": 1.5},
            job=f"f{k}",
            stream="cam",
            release=2.0 * k,
            deadline=2.0 * k + 2.0,
        )
        g.add_edge(f"f{k}.a", f"f{k}.b", delay=0.25)
    inst = Instance.from_networkx(g, platform, name="cli")
    inst.save(tmp_path / "cli.json")
    sched = replay(inst, "fcfs-fixed")
    sched.save(tmp_path / "fcfs.json")
    sched.save(tmp_path / "fcfs.csv")
    return tmp_path


def test_report_command_writes_the_report(files):
    out = files / "out"
    res = CliRunner().invoke(
        main,
        [
            "report",
            str(files / "cli.json"),
            "--out",
            str(out),
            "--policies",
            "fcfs-fixed,edf-eft",
            "--solvers",
            "none",
            "--workers",
            "1",
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "1 instance(s), 2 runs (2 computed, 0 from the cache)" in res.output
    assert f"wrote {out / 'report.html'}" in res.output
    df = pd.read_csv(out / "results.csv")
    assert list(df["method"]) == ["fcfs-fixed", "edf-eft"]
    assert (out / "report.md").is_file() and (out / "schedules" / "cli" / "edf-eft.json").is_file()
    again = CliRunner().invoke(
        main,
        [
            "report",
            str(files / "cli.json"),
            "-o",
            str(out),
            "--policies",
            "fcfs-fixed,edf-eft",
            "--solvers",
            "none",
            "-j",
            "1",
            "-q",
        ],
    )
    assert "(0 computed, 2 from the cache)" in again.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--policies", "nope"], "unknown policy 'nope'"),
        (["--solvers", "cpsat,,milp-cbc"], "empty name"),
        (["--objective", "speed"], "unknown objective 'speed'"),
    ],
)
def test_report_bad_options_exit_2_with_one_line(files, args, message):
    res = CliRunner().invoke(
        main, ["report", str(files / "cli.json"), "--out", str(files / "o"), *args]
    )
    assert res.exit_code == 2
    assert message in res.output and res.output.count("\n") == 1


@pytest.mark.parametrize("schedule", ["fcfs.json", "fcfs.csv"])
@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_gantt_command(files, schedule, suffix, magic):
    out = files / f"g{suffix}"
    res = CliRunner().invoke(
        main,
        ["gantt", str(files / schedule), "--instance", str(files / "cli.json"), "-o", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert out.read_bytes().startswith(magic)


def test_trace_command(files):
    out = files / "t.json"
    res = CliRunner().invoke(
        main,
        ["trace", str(files / "fcfs.json"), "--instance", str(files / "cli.json"), "-o", str(out)],
    )
    assert res.exit_code == 0, res.output
    trace = json.loads(out.read_text())
    assert sum(e["ph"] == "X" for e in trace["traceEvents"]) == 6
    assert trace["otherData"]["method"] == "fcfs-fixed"


def test_invalid_schedule_and_bad_suffix_exit_2(files):
    bad = files / "bad.json"
    data = json.loads((files / "fcfs.json").read_text())
    data["tasks"][0]["end"] += 5.0
    bad.write_text(json.dumps(data))
    for cmd, out in (("gantt", "g.png"), ("trace", "t.json")):
        res = CliRunner().invoke(
            main, [cmd, str(bad), "--instance", str(files / "cli.json"), "-o", str(files / out)]
        )
        assert res.exit_code == 2 and "invalid schedule" in res.output
        assert not (files / out).exists()
    res = CliRunner().invoke(
        main,
        [
            "gantt",
            str(files / "fcfs.json"),
            "-i",
            str(files / "cli.json"),
            "-o",
            str(files / "g.bmp"),
        ],
    )
    assert res.exit_code == 2 and "picture format" in res.output


def test_report_runs_a_plugin_given_by_path_and_keeps_its_files_inside_out(files, monkeypatch):
    (files / "pl").mkdir()
    (files / "pl" / "mine.py").write_text(
        "from rtgen_opt.online.policies.fixed import FCFSFixed\n\n\n"
        "class Mine(FCFSFixed):\n    name = ''\n"
    )
    monkeypatch.chdir(files / "pl")
    out = files / "out"
    res = CliRunner().invoke(
        main,
        ["report", str(files / "cli.json"), "--out", str(out), "--policies", "../pl/mine.py:Mine"]
        + ["--solvers", "none", "-j", "1", "-q"],
    )
    assert res.exit_code == 0, res.output
    assert "| ../pl/mine.py:Mine | 0 |" in res.output
    df = pd.read_csv(out / "results.csv")
    assert df["schedule"].tolist() == ["schedules/cli/_pl_mine.py:Mine.json"]
    assert (out / "schedules" / "cli" / "_pl_mine.py:Mine.json").is_file()
    assert not (files / "pl" / "mine.py:Mine.json").exists()  # nothing outside --out
