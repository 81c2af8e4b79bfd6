"""Small ONNX models built in the tests with onnx.helper.

Each builder writes the model to a file and returns its path. The FLOPs and bytes in the tests
are counted by hand from the shapes written here (formulations/costs.md has the rules).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(0)


def _init(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(RNG.standard_normal(shape).astype(np.float32), name)


def _save(graph, path: Path, opset: int = 17) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset < 21 else 10
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def build_convnet(path: Path) -> Path:
    """x[1,3,8,8] -> conv 3x3 (4, bias) -> relu -> maxpool 2 -> conv 3x3 (8) -> bn -> relu
    -> global avg pool -> flatten -> gemm (10, bias)."""
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node(
            "MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]
        ),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node(
            "BatchNormalization", ["c2", "bn_s", "bn_b", "bn_m", "bn_v"], ["n2"], name="bn2"
        ),
        helper.make_node("Relu", ["n2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], name="fc", transB=1),
    ]
    inits = [
        _init("w1", 4, 3, 3, 3),
        _init("b1", 4),
        _init("w2", 8, 4, 3, 3),
        _init("bn_s", 8),
        _init("bn_b", 8),
        _init("bn_m", 8),
        numpy_helper.from_array(np.ones(8, np.float32), "bn_v"),
        _init("wf", 10, 8),
        _init("bf", 10),
    ]
    graph = helper.make_graph(
        nodes,
        "convnet",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    return _save(graph, path)


def build_mlp(path: Path, batch: int | str = 4) -> Path:
    """x[batch,16] -> matmul (32) -> add -> relu -> matmul (8) -> add."""
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["m1"], name="fc1"),
        helper.make_node("Add", ["m1", "b1"], ["a1"], name="add1"),
        helper.make_node("Relu", ["a1"], ["h"], name="relu"),
        helper.make_node("MatMul", ["h", "w2"], ["m2"], name="fc2"),
        helper.make_node("Add", ["m2", "b2"], ["y"], name="add2"),
    ]
    inits = [_init("w1", 16, 32), _init("b1", 32), _init("w2", 32, 8), _init("b2", 8)]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 8])],
        inits,
    )
    return _save(graph, path)


def build_attention(path: Path) -> Path:
    """One attention head over x[1,4,8]: q, k, v projections (8 -> 8), scores = q k^T / sqrt 8,
    softmax, times v, output projection. The graph branches three ways at x and joins again."""
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"], name="q_proj"),
        helper.make_node("MatMul", ["x", "wk"], ["k"], name="k_proj"),
        helper.make_node("MatMul", ["x", "wv"], ["v"], name="v_proj"),
        helper.make_node("Transpose", ["k"], ["kt"], name="k_t", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["s"], name="scores"),
        helper.make_node("Div", ["s", "scale"], ["sd"], name="scale"),
        helper.make_node("Softmax", ["sd"], ["p"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["o"], name="context"),
        helper.make_node("MatMul", ["o", "wo"], ["y"], name="o_proj"),
    ]
    inits = [
        _init("wq", 8, 8),
        _init("wk", 8, 8),
        _init("wv", 8, 8),
        _init("wo", 8, 8),
        numpy_helper.from_array(np.array(np.sqrt(8.0), np.float32), "scale"),
    ]
    graph = helper.make_graph(
        nodes,
        "attention",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8])],
        inits,
    )
    return _save(graph, path)


def build_attention_op(path: Path) -> Path:
    """ONNX's fused Attention op (opset 23): q, k, v of shape [1, 2 heads, 4 tokens, 4]."""
    nodes = [helper.make_node("Attention", ["q", "k", "v"], ["y"], name="attn")]
    inputs = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 2, 4, 4]) for n in ("q", "k", "v")
    ]
    graph = helper.make_graph(
        nodes,
        "attention_op",
        inputs,
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 4, 4])],
    )
    return _save(graph, path, opset=23)


def build_unknown_op(path: Path) -> Path:
    """x[1,16] -> Relu -> a custom-domain op the cost model does not know -> Relu."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu_in"),
        helper.make_node("FancyOp", ["r"], ["f"], name="fancy", domain="com.example"),
        helper.make_node("Relu", ["f"], ["y"], name="relu_out"),
    ]
    graph = helper.make_graph(
        nodes,
        "unknown",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])],
        value_info=[helper.make_tensor_value_info("f", TensorProto.FLOAT, [1, 16])],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)],
    )
    model.ir_version = 8
    onnx.save(model, str(path))
    return path
