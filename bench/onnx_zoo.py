"""Standard vision networks written as ONNX graphs with onnx.helper (random weights).

The cost model needs shapes, not weights: these graphs have the published architectures
(torchvision's ResNet-18/50/101, Wide ResNet-50-2, ResNeXt-50 32x4d, MobileNet-v2,
SqueezeNet 1.1, ViT-B/16; 224x224 inputs, batch 1), so their FLOPs and bytes are those of the
models Qualcomm AI Hub profiled, and ONNX Runtime can time them on this machine. Used by
``bench/cost_accuracy.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Graph:
    """A small builder: each method adds nodes and returns the name of its output tensor."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list = []
        self.inits: list = []
        self.count = 0
        self.rng = np.random.default_rng(0)

    def _id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, array: np.ndarray, prefix: str = "w") -> str:
        name = self._id(prefix)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def weight(self, *shape: int) -> str:
        scale = 1.0 / np.sqrt(max(1, int(np.prod(shape[1:]))))
        return self.const((self.rng.standard_normal(shape) * scale).astype(np.float32))

    def op(self, op: str, inputs: list[str], **attrs) -> str:
        out = self._id(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def conv(
        self,
        x,
        cin,
        cout,
        k,
        stride=1,
        groups=1,
        bn=True,
        relu=True,
        relu6=False,
        bias=False,
        pad=None,
    ):
        pad = k // 2 if pad is None else pad
        inputs = [x, self.weight(cout, cin // groups, k, k)]
        if bias:
            inputs.append(self.const(np.zeros(cout, np.float32)))
        y = self.op(
            "Conv",
            inputs,
            kernel_shape=[k, k],
            strides=[stride, stride],
            pads=[pad] * 4,
            group=groups,
        )
        if bn:
            ones, zeros = np.ones(cout, np.float32), np.zeros(cout, np.float32)
            y = self.op(
                "BatchNormalization",
                [y, self.const(ones), self.const(zeros), self.const(zeros), self.const(ones)],
            )
        if relu6:
            y = self.op(
                "Clip",
                [y, self.const(np.array(0, np.float32)), self.const(np.array(6, np.float32))],
            )
        elif relu:
            y = self.op("Relu", [y])
        return y

    def model(self, x_shape, out: str) -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes,
            self.name,
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
            [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, 1000])],
            self.inits,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        return model


def _head(g: Graph, x: str, c: int, classes: int = 1000) -> str:
    x = g.op("GlobalAveragePool", [x])
    x = g.op("Flatten", [x])
    return g.op("Gemm", [x, g.weight(classes, c), g.const(np.zeros(classes, np.float32))], transB=1)


def resnet(
    depth: int, width: int = 64, groups: int = 1, name: str | None = None
) -> onnx.ModelProto:
    """torchvision ResNet-18/50/101, Wide ResNet-50-2 (width 128), ResNeXt-50 32x4d."""
    blocks = {18: [2, 2, 2, 2], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3]}[depth]
    bottleneck = depth >= 50
    g = Graph(name or f"resnet{depth}")
    x = g.conv("x", 3, 64, 7, stride=2)
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for stage, n in enumerate(blocks):
        planes = 64 * 2**stage
        for b in range(n):
            stride = 2 if stage > 0 and b == 0 else 1
            if bottleneck:
                mid = int(planes * (width / 64.0)) * groups
                cout = planes * 4
                y = g.conv(x, cin, mid, 1)
                y = g.conv(y, mid, mid, 3, stride=stride, groups=groups)
                y = g.conv(y, mid, cout, 1, relu=False)
            else:
                cout = planes
                y = g.conv(x, cin, cout, 3, stride=stride)
                y = g.conv(y, cout, cout, 3, relu=False)
            short = (
                x
                if stride == 1 and cin == cout
                else g.conv(x, cin, cout, 1, stride=stride, relu=False)
            )
            x = g.op("Relu", [g.op("Add", [y, short])])
            cin = cout
    return g.model([1, 3, 224, 224], _head(g, x, cin))


def mobilenet_v2() -> onnx.ModelProto:
    g = Graph("mobilenet_v2")
    x = g.conv("x", 3, 32, 3, stride=2, relu6=True)
    cin = 32
    for t, c, n, s in [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]:
        for i in range(n):
            stride = s if i == 0 else 1
            hidden = cin * t
            y = x if t == 1 else g.conv(x, cin, hidden, 1, relu6=True)
            y = g.conv(y, hidden, hidden, 3, stride=stride, groups=hidden, relu6=True)
            y = g.conv(y, hidden, c, 1, relu=False)
            x = g.op("Add", [x, y]) if stride == 1 and cin == c else y
            cin = c
    x = g.conv(x, 320, 1280, 1, relu6=True)
    return g.model([1, 3, 224, 224], _head(g, x, 1280))


def squeezenet1_1() -> onnx.ModelProto:
    g = Graph("squeezenet1_1")
    x = g.conv("x", 3, 64, 3, stride=2, bn=False, bias=True)
    # torchvision pads 0 here; 'same' padding keeps the sizes close (111 vs 112)
    pool = dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    x = g.op("MaxPool", [x], **pool)
    cin = 64
    for i, (s, e) in enumerate(
        [(16, 64), (16, 64), (32, 128), (32, 128), (48, 192), (48, 192), (64, 256), (64, 256)]
    ):
        sq = g.conv(x, cin, s, 1, bn=False, bias=True)
        a = g.conv(sq, s, e, 1, bn=False, bias=True)
        b = g.conv(sq, s, e, 3, bn=False, bias=True)
        x = g.op("Concat", [a, b], axis=1)
        cin = 2 * e
        if i in (1, 3):
            x = g.op("MaxPool", [x], **pool)
    x = g.conv(x, cin, 1000, 1, bn=False, bias=True)
    x = g.op("GlobalAveragePool", [x])
    return g.model([1, 3, 224, 224], g.op("Flatten", [x]))


def vit_b16() -> onnx.ModelProto:
    """ViT-B/16: 16x16 patches -> 196 tokens + class token, 12 blocks of d = 768, 12 heads."""
    g = Graph("vit_b16")
    d, heads, tokens, mlp = 768, 12, 197, 3072
    x = g.conv("x", 3, d, 16, stride=16, bn=False, relu=False, bias=True, pad=0)  # [1,768,14,14]
    x = g.op("Reshape", [x, g.const(np.array([1, d, 196], np.int64))])
    x = g.op("Transpose", [x], perm=[0, 2, 1])
    x = g.op("Concat", [g.const(np.zeros((1, 1, d), np.float32)), x], axis=1)
    x = g.op("Add", [x, g.const(np.zeros((1, tokens, d), np.float32))])

    def ln(t):
        return g.op(
            "LayerNormalization",
            [t, g.const(np.ones(d, np.float32)), g.const(np.zeros(d, np.float32))],
            axis=-1,
        )

    def linear(t, cin, cout):
        return g.op(
            "Add", [g.op("MatMul", [t, g.weight(cin, cout)]), g.const(np.zeros(cout, np.float32))]
        )

    head_shape = g.const(np.array([1, tokens, heads, d // heads], np.int64))
    for _ in range(12):
        h = ln(x)
        q, k, v = (
            g.op("Transpose", [g.op("Reshape", [linear(h, d, d), head_shape])], perm=[0, 2, 1, 3])
            for _ in range(3)
        )
        s = g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])])
        s = g.op("Div", [s, g.const(np.array(np.sqrt(d // heads), np.float32))])
        p = g.op("Softmax", [s], axis=-1)
        o = g.op("Transpose", [g.op("MatMul", [p, v])], perm=[0, 2, 1, 3])
        o = g.op("Reshape", [o, g.const(np.array([1, tokens, d], np.int64))])
        x = g.op("Add", [x, linear(o, d, d)])
        h = linear(ln(x), d, mlp)  # GELU as x * sigmoid(1.702 x), in opset 17
        h = g.op(
            "Mul", [h, g.op("Sigmoid", [g.op("Mul", [h, g.const(np.array(1.702, np.float32))])])]
        )
        x = g.op("Add", [x, linear(h, mlp, d)])
    x = ln(x)
    x = g.op("Gather", [x, g.const(np.array(0, np.int64))], axis=1)
    y = g.op("Gemm", [x, g.weight(1000, d), g.const(np.zeros(1000, np.float32))], transB=1)
    return g.model([1, 3, 224, 224], y)


MODELS = {
    "resnet18": lambda: resnet(18),
    "resnet50": lambda: resnet(50),
    "resnet101": lambda: resnet(101),
    "wideresnet50": lambda: resnet(50, width=128, name="wideresnet50"),
    "resnext50": lambda: resnet(50, width=4, groups=32, name="resnext50"),
    "mobilenet_v2": mobilenet_v2,
    "squeezenet1_1": squeezenet1_1,
    "vit": vit_b16,
}


def build(name: str, folder: Path) -> Path:
    """Write model ``name`` to ``folder/name.onnx`` (once) and return its path."""
    path = folder / f"{name}.onnx"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        model = MODELS[name]()
        onnx.checker.check_model(model)
        onnx.save(model, str(path))
    return path
