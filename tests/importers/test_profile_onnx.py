"""``rtgen-opt profile``: measure the small models on this machine's CPU with ONNX Runtime."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from click.testing import CliRunner

import rtgen_opt
from rtgen_opt.cli import main
from rtgen_opt.errors import SpecError
from rtgen_opt.spec import load

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")

from rtgen_opt import profiling  # noqa: E402
from rtgen_opt.importers.onnx import layer_latencies, read_graph  # noqa: E402

PLATFORM = Path(__file__).resolve().parents[2] / "instances" / "platforms" / "ryzen_ai_hx370.yaml"


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_measure_times_every_node_and_apportions_the_median(convnet):
    m = profiling.measure(convnet, warmup=2, repeat=7, node_repeat=3, threads=1)
    assert len(m.runs_ms) == 7 and all(t > 0 for t in m.runs_ms)
    assert m.percentile(10) <= m.median_ms <= m.percentile(90)
    graph = read_graph(convnet)
    # graph optimisations off for the node profile: every node is timed under its own name
    assert set(m.node_ms) == {n.name for n in graph.nodes}
    split = profiling.apportion(graph, layer_latencies(graph, {}), m)
    assert split is not None and set(split) == {0, 1, 2}
    assert math.fsum(split.values()) == pytest.approx(m.median_ms)
    assert "[M] CPUExecutionProvider" in m.note() and "median of 7 runs" in m.note()


def test_profile_cli_writes_measured_profiles_and_a_scenario(mlp, tmp_path):
    out, scenario = tmp_path / "mlp.yaml", tmp_path / "mlp_here.yaml"
    result = cli(
        "profile",
        mlp,
        "-o",
        out,
        "--warmup",
        "1",
        "--repeat",
        "5",
        "--node-repeat",
        "2",
        "--threads",
        "1",
        "--scenario",
        scenario,
        "--fps",
        "500",
    )
    assert result.exit_code == 0, result.output
    (model,) = load(out).models
    assert [layer.name for layer in model.layers] == ["fc1", "fc2"]
    assert all(set(layer.latency_ms) == {"cpu"} for layer in model.layers)
    text = out.read_text()
    assert "Measured here:" in text and f"onnxruntime {ort.__version__}" in text
    assert all(
        "cpu [M] CPUExecutionProvider" in line
        for line in text.splitlines()
        if "latency_ms:" in line
    )
    inst = rtgen_opt.compile(scenario)
    assert {p.kind for p in inst.platform.processors} == {"cpu"}
    opt = rtgen_opt.solve(inst, solver="cpsat", time_limit=5)
    assert opt.status.value == "optimal"


def test_profile_with_platform_estimates_the_other_kinds_and_calibrates(attention, tmp_path):
    out, cal = tmp_path / "att.yaml", tmp_path / "cal.yaml"
    result = cli(
        "profile",
        attention,
        "-o",
        out,
        "--repeat",
        "3",
        "--node-repeat",
        "2",
        "--threads",
        "1",
        "--platform",
        PLATFORM,
        "--calibrate",
        "--platform-out",
        cal,
    )
    assert result.exit_code == 0, result.output
    (model,) = load(out).models
    assert all(set(layer.latency_ms) == {"cpu", "gpu", "npu"} for layer in model.layers)
    assert "gpu, npu [E] roofline" in out.read_text()
    assert "calibrated cpu: compute_efficiency" in result.output
    spec = load(cal)
    cpu = next(p for p in spec.processors if p.kind == "cpu").roofline
    assert 0 < cpu.compute_efficiency <= 1 and 0 < cpu.memory_efficiency <= 1
    npu = next(p for p in spec.processors if p.kind == "npu").roofline
    assert npu.compute_efficiency == 0.2  # unmeasured kinds keep theirs


def test_profile_bad_inputs(tmp_path, convnet):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00\x01garbage")
    for args, match in (
        (("profile", bad, "-o", tmp_path / "o.yaml"), "not an ONNX model"),
        (("profile", convnet, "-o", tmp_path / "o.yaml", "--calibrate"), "needs --platform"),
        (
            (
                "profile",
                convnet,
                "-o",
                tmp_path / "o.yaml",
                "--provider",
                "NoSuchExecutionProvider",
            ),
            "is not offered by this onnxruntime",
        ),
    ):
        result = cli(*args)
        assert result.exit_code == 2, result.output
        (line,) = result.output.strip().splitlines()
        assert match in line


def test_unknown_provider_kind_needs_a_name():
    with pytest.raises(SpecError, match="not offered"):
        profiling.provider_kinds(["FancyExecutionProvider"])
    assert profiling.provider_kinds(None)["CPUExecutionProvider"] == "cpu"
