"""``rtgen-opt import onnx``: FLOPs and bytes of small models built in the test, checked by hand;
layers and their DAG; bad inputs give one line and exit 2; the result compiles and solves."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

import rtgen_opt
from rtgen_opt.cli import main
from rtgen_opt.errors import SpecError
from rtgen_opt.importers.onnx import read_graph
from rtgen_opt.spec import load
from tests.importers.onnx_builders import build_mlp

F4 = 4  # float32 bytes


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def nodes(graph):
    return {n.name: n for n in graph.nodes}


def test_convnet_node_costs_by_hand(convnet):
    n = nodes(read_graph(convnet))
    # conv1: 2 N K C Y X R S + bias (K per pixel); weights 4*3*9 + bias 4 + input 3*8*8 + output 4*8*8
    assert n["conv1"].flops == 2 * 4 * 3 * 8 * 8 * 9 + 4 * 64
    assert n["conv1"].nbytes == (108 + 4 + 192 + 256) * F4
    assert n["relu1"].flops == 256 and n["relu1"].nbytes == 2 * 256 * F4
    # maxpool 2x2 stride 2: one compare per window element of each of the 4*4*4 outputs
    assert n["pool1"].flops == 4 * 4 * 4 * 2 * 2
    assert n["pool1"].nbytes == (256 + 64) * F4
    assert n["conv2"].flops == 2 * 8 * 4 * 4 * 4 * 9
    assert n["conv2"].nbytes == (8 * 4 * 9 + 64 + 128) * F4
    # batch norm at inference: scale and shift per element; 4 parameter vectors of 8
    assert n["bn2"].flops == 2 * 128 and n["bn2"].nbytes == (2 * 128 + 32) * F4
    assert n["gap"].flops == 8 * 16 and n["gap"].nbytes == (128 + 8) * F4
    assert n["flatten"].flops == 0 and n["flatten"].nbytes == 0  # a view moves nothing
    # gemm 1x8 by 8x10 plus bias
    assert n["fc"].flops == 2 * 8 * 10 + 10
    assert n["fc"].nbytes == (8 + 80 + 10 + 10) * F4
    assert [x.category for x in n.values()] == [
        "conv",
        "elementwise",
        "pool",
        "conv",
        "norm",
        "elementwise",
        "pool",
        "view",
        "matmul",
    ]


def test_convnet_layers_fuse_and_count_boundary_bytes(convnet):
    g = read_graph(convnet)
    assert [layer.nodes for layer in g.layers] == [
        ("conv1", "relu1", "pool1"),
        ("conv2", "bn2", "relu2", "gap", "flatten"),
        ("fc",),
    ]
    l0, l1, l2 = g.layers
    assert l0.flops == 14080 + 256 + 256
    # only what crosses the layer: x, w1, b1 in, p1 out; c1 and r1 stay on chip
    assert l0.nbytes == (192 + 108 + 4 + 64) * F4
    assert l0.output_bytes == 64 * F4
    assert l1.nbytes == (64 + 288 + 32 + 8) * F4 and l1.output_bytes == 8 * F4
    assert l2.output_bytes == 10 * F4
    assert g.edges == ((0, 1), (1, 2))
    assert g.flops == sum(x.flops for x in g.nodes)


def test_mlp_by_hand(mlp):
    g = read_graph(mlp)
    n = nodes(g)
    assert n["fc1"].flops == 2 * 4 * 16 * 32
    assert n["fc1"].nbytes == (4 * 16 + 16 * 32 + 4 * 32) * F4  # weights read once, not per row
    assert n["add1"].flops == 4 * 32 and n["add1"].nbytes == (128 + 32 + 128) * F4
    assert n["fc2"].flops == 2 * 4 * 32 * 8
    assert [layer.nodes for layer in g.layers] == [("fc1", "add1", "relu"), ("fc2", "add2")]


def test_symbolic_batch_defaults_to_one_or_takes_the_given_shape(tmp_path):
    path = build_mlp(tmp_path / "dyn.onnx", batch="N")
    g = read_graph(path)
    assert g.defaulted_dims == ("x[0] (N) = 1",)
    assert nodes(g)["fc1"].flops == 2 * 1 * 16 * 32
    g8 = read_graph(path, input_shapes={"x": [8, 16]})
    assert nodes(g8)["fc1"].flops == 2 * 8 * 16 * 32
    with pytest.raises(SpecError, match="no graph input 'y'"):
        read_graph(path, input_shapes={"y": [1]})


def test_attention_keeps_the_branching_dag(attention):
    g = read_graph(attention)
    n = nodes(g)
    assert n["q_proj"].flops == 2 * 4 * 8 * 8
    # scores: a batched product of q [1,4,8] and k^T [1,8,4]: both operands are activations
    assert n["scores"].flops == 2 * 4 * 8 * 4
    assert n["scores"].nbytes == (32 + 32 + 16) * F4
    assert n["softmax"].flops == 5 * 16  # max, subtract, exp, sum, divide per score
    assert n["k_t"].category == "movement" and n["k_t"].nbytes == 2 * 32 * F4
    names = [layer.name for layer in g.layers]
    assert names == ["q_proj", "k_proj", "v_proj", "scores", "context", "o_proj"]
    edges = {(names[u], names[v]) for u, v in g.edges}
    # x fans out to three projections that join again: not a chain
    assert edges == {
        ("q_proj", "scores"),
        ("k_proj", "scores"),
        ("v_proj", "context"),
        ("scores", "context"),
        ("context", "o_proj"),
    }


def test_fused_attention_op(attention_op):
    (node,) = read_graph(attention_op).nodes
    b, h, s, d = 1, 2, 4, 4
    assert node.category == "attention"
    assert node.flops == 2 * b * h * s * s * d * 2 + 5 * b * h * s * s
    assert node.nbytes == 4 * (b * h * s * d) * F4  # q, k, v, output; the scores stay on chip


def test_bytes_per_element_override(convnet):
    g = read_graph(convnet, bytes_per_element=1.0)
    assert nodes(g)["conv1"].nbytes == 108 + 4 + 192 + 256


def test_unknown_op_refused_by_name_or_costed_by_bytes(unknown_op):
    with pytest.raises(SpecError, match=r"op 'com.example.FancyOp' is unknown"):
        read_graph(unknown_op)
    g = read_graph(unknown_op, unknown_ops="bytes")
    fancy = nodes(g)["fancy"]
    assert fancy.category == "unknown" and fancy.flops == 0
    assert fancy.nbytes == 2 * 16 * F4  # never zero: its input and output are moved
    assert g.unknown_ops == ("com.example.FancyOp (1 node)",)


def test_cli_writes_profiles_the_loader_reads(convnet, tmp_path):
    out = tmp_path / "p.yaml"
    result = run("import", "onnx", convnet, "-o", out)
    assert result.exit_code == 0, result.output
    spec = load(out)
    (model,) = spec.models
    assert [layer.name for layer in model.layers] == ["conv1", "conv2", "fc"]
    assert model.edges is None  # a chain
    assert set(model.layers[0].latency_ms) == {"cpu", "gpu", "npu"}
    assert model.layers[0].output_bytes == 64 * F4
    text = out.read_text()
    # every latency line carries [E] and the header states the cost-model parameters
    lat_lines = [line for line in text.splitlines() if "latency_ms:" in line]
    assert lat_lines and all("# [E] roofline" in line for line in lat_lines)
    assert "npu: 50000 GFLOP/s x 0.2, 60 GB/s x 1, launch 0.01 ms per layer" in text
    # the estimate is the roofline of the layer's FLOPs and bytes on that kind
    npu = 14592 / (0.2 * 50_000e6)
    mem = 1472 / 60e6
    assert model.layers[0].latency_ms["npu"] == pytest.approx(max(npu, mem) + 0.01, rel=1e-5)


def test_cli_groups_keep_the_dag_and_sum_latencies(attention, tmp_path):
    run("import", "onnx", attention, "-o", tmp_path / "all.yaml")
    result = run("import", "onnx", attention, "-o", tmp_path / "g.yaml", "--groups", "3")
    assert result.exit_code == 0, result.output
    whole = load(tmp_path / "all.yaml").models[0]
    grouped = load(tmp_path / "g.yaml").models[0]
    assert len(grouped.layers) == 3
    for kind in ("cpu", "gpu", "npu"):
        assert sum(x.latency_ms[kind] for x in grouped.layers) == pytest.approx(
            sum(x.latency_ms[kind] for x in whole.layers), rel=1e-5
        )
    assert len(whole.edges) == 5


def test_two_commands_from_onnx_to_a_solved_and_replayed_scenario(mlp, tmp_path):
    out, scenario, report = tmp_path / "mlp.yaml", tmp_path / "mlp_scenario.yaml", tmp_path / "r"
    result = run("import", "onnx", mlp, "-o", out, "--scenario", scenario, "--fps", "100")
    assert result.exit_code == 0, result.output
    inst = rtgen_opt.compile(scenario)
    assert len(inst.jobs) == 6  # six periods by default
    result = run("report", scenario, "--out", report, "--time-limit", "5", "-j", "1", "--quiet")
    assert result.exit_code == 0, result.output
    import pandas as pd

    table = pd.read_csv(report / "results.csv")
    assert "cpsat" in set(table["method"]) and len(table) > 2
    assert table.loc[table["method"] == "cpsat", "optimal"].all()


def test_bad_inputs_one_line_exit_2(tmp_path, unknown_op, convnet):
    bad = tmp_path / "bad.onnx"
    bad.write_text("this is not protobuf")
    for args, match in (
        (("import", "onnx", bad, "-o", tmp_path / "o.yaml"), "not an ONNX model"),
        (("import", "onnx", tmp_path / "missing.onnx", "-o", tmp_path / "o.yaml"), "no such file"),
        (("import", "onnx", unknown_op, "-o", tmp_path / "o.yaml"), "FancyOp"),
        (
            ("import", "onnx", convnet, "-o", tmp_path / "o.yaml", "--input-shape", "x=1xa"),
            "--input-shape",
        ),
    ):
        result = CliRunner().invoke(main, [str(a) for a in args])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("rtgen-opt: error:") and match in lines[0]
        assert "Traceback" not in result.output
    assert not (tmp_path / "o.yaml").exists()


def test_unknown_op_with_bytes_is_reported(unknown_op, tmp_path):
    out = tmp_path / "u.yaml"
    result = CliRunner().invoke(
        main, ["import", "onnx", str(unknown_op), "-o", str(out), "--unknown-ops", "bytes"]
    )
    assert result.exit_code == 0
    assert "com.example.FancyOp" in result.output  # the warning
    assert "costed by the bytes they move only: com.example.FancyOp" in out.read_text()
    yaml.safe_load(out.read_text())
