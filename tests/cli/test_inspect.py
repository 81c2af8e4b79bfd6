"""``rtgen-opt inspect`` on every file in instances/, ``rtgen-opt schema``, and malformed inputs:
exit status 2 with one line and no traceback."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

import rtgen_opt
from rtgen_opt.cli import main
from tests.spec.test_spec import MALFORMED, malformed_files, write_files

INSTANCES = Path(__file__).resolve().parents[2] / "instances"
LIBRARY = sorted(p for p in INSTANCES.rglob("*") if p.is_file())


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_library_is_not_empty():
    assert len([p for p in LIBRARY if "scenarios" in p.parts]) >= 6


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(INSTANCES)))
def test_inspect_every_library_file(path):
    result = run("inspect", str(path))
    assert result.exit_code == 0, result.output
    out = result.output
    if "scenarios" in path.parts:
        inst = rtgen_opt.compile(path)
        assert f"tasks      {inst.graph.number_of_nodes()}\n" in out
        assert f"edges      {inst.graph.number_of_edges()}\n" in out
        assert f"jobs       {len(inst.jobs)}\n" in out
        assert f"miss mode  {inst.miss_mode}" in out
        for stream in inst.streams:
            assert f"\n  {stream} " in out
        for kind in ("cpu", "gpu", "npu"):
            assert f"\n  {kind} " in out
        assert f"llm requests {len(inst.requests)}" in out
    elif "platforms" in path.parts:
        assert out.startswith(f"platform {path.stem}")  # each platform is named as its file
        assert "cpu0, cpu1" in out and "zero-copy" in out
    else:
        assert out.startswith("profiles ")


def test_inspect_work_per_kind(tmp_path):
    path, _, _ = write_files(tmp_path)
    out = run("inspect", str(path)).output
    # toy: 6 seg frames (npu 3 ms, gpu 4 ms; no cpu) + chat prefill (npu 50, gpu 80 ms) and
    # decode (gpu only: 84.1 + 84.26 + 21.09 ms)
    lines = {line.split()[0]: line for line in out.splitlines() if "tasks eligible" in line}
    assert "0 tasks eligible" in lines["cpu"] and " 0.000 ms total" in lines["cpu"]
    assert "8 tasks eligible" in lines["npu"] and "68.000 ms total" in lines["npu"]
    assert (
        "11 tasks eligible" in lines["gpu"]
        and f"{24 + 80 + 84.1 + 84.26 + 21.09:.3f}" in (lines["gpu"])
    )


def test_inspect_instance_json(tmp_path):
    path, _, _ = write_files(tmp_path)
    inst = rtgen_opt.compile(path)
    inst.save(tmp_path / "toy.json")
    via_json = run("inspect", str(tmp_path / "toy.json")).output
    assert via_json == run("inspect", str(path)).output


def test_schema_command():
    result = run("schema", "scenario")
    assert result.exit_code == 0
    assert json.loads(result.output)["properties"]["streams"]["type"] == "array"
    every = json.loads(run("schema").output)
    assert set(every) == {"platform", "profiles", "scenario"}
    assert run("schema", "recipe").exit_code == 2


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_exit_2_one_line(tmp_path, case):
    scenario, file, field = malformed_files(tmp_path, case)
    result = CliRunner().invoke(main, ["inspect", str(scenario)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith(f"rtgen-opt: error: {file}: {field}: ")


def test_malformed_via_subprocess(tmp_path):
    scenario, file, field = malformed_files(tmp_path, MALFORMED[1])  # negative fps
    proc = subprocess.run(["rtgen-opt", "inspect", str(scenario)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() == (
        f"rtgen-opt: error: {file}: {field}: expected a number > 0, got -3"
    )


def test_inspect_platform_yaml_refused_as_instance_elsewhere(tmp_path):
    result = CliRunner().invoke(main, ["inspect", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "cannot read" in result.output
