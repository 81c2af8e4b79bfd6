"""ONNX models -> profiles: each node's FLOPs and bytes, nodes grouped into layers, and a
latency per processor kind from the roofline cost model (:mod:`rtgen_opt.costs`).

:func:`read_graph` reads a ``.onnx`` file with the ``onnx`` package (``pip install
rtgen-opt[onnx]``), runs its shape inference, and costs every node from the inferred tensor
shapes (:func:`node_cost`; the rules per op are in ``formulations/costs.md``):

- convolutions, matrix products, attention, elementwise ops, pooling and normalisation by the
  cost model's layer types;
- data movement (transpose, concat, gather, resize...) by the bytes it moves; pure views
  (reshape, squeeze...) move nothing;
- shape computations whose inputs are all constant (``Shape``, ``Constant`` and what only they
  feed) are folded, as every runtime folds them when it loads the model;
- an op the cost model does not know is refused by name, or, with ``unknown_ops="bytes"``,
  costed by the bytes it moves (reported by name, never silently as zero).

Nodes are then grouped into layers (:func:`fuse_layers`): each convolution, matrix product or
attention node starts a layer and the lighter nodes that follow it join the layer of their
latest producer (conv + batch norm + activation is one layer, as runtimes fuse them). The
layers keep the graph's DAG: a layer edge for every tensor that crosses from one layer to
another. ``groups=K`` merges them further into K contiguous groups in topological order,
balanced by estimated latency.

Units: FLOPs, bytes, milliseconds.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rtgen_opt.costs import (
    SOFTMAX_FLOPS_PER_ELEMENT,
    AttentionLayer,
    ConvLayer,
    ElementwiseLayer,
    Layer,
    MatMulLayer,
    MovementLayer,
    NormLayer,
    PoolLayer,
    Roofline,
    kind_rooflines,
    roofline_ms,
)
from rtgen_opt.errors import ArgumentError, SpecError
from rtgen_opt.importers.profiles_out import LayerOut, ModelOut, num

# --------------------------------------------------------------------------- op table
#: Ops costed as one FLOP per output element (arithmetic, comparisons, activations, casts).
ELEMENTWISE_OPS = frozenset(
    [
        "Abs",
        "Acos",
        "Acosh",
        "Add",
        "And",
        "Asin",
        "Asinh",
        "Atan",
        "Atanh",
        "BitShift",
        "BitwiseAnd",
        "BitwiseNot",
        "BitwiseOr",
        "BitwiseXor",
        "Cast",
        "CastLike",
        "Ceil",
        "Celu",
        "Clip",
        "Cos",
        "Cosh",
        "DequantizeLinear",
        "Div",
        "Elu",
        "Equal",
        "Erf",
        "Exp",
        "Floor",
        "Gelu",
        "Greater",
        "GreaterOrEqual",
        "HardSigmoid",
        "HardSwish",
        "IsInf",
        "IsNaN",
        "LeakyRelu",
        "Less",
        "LessOrEqual",
        "Log",
        "Max",
        "Mean",
        "Min",
        "Mish",
        "Mod",
        "Mul",
        "Neg",
        "Not",
        "Or",
        "Pow",
        "PRelu",
        "QuantizeLinear",
        "Reciprocal",
        "Relu",
        "Round",
        "Selu",
        "Shrink",
        "Sigmoid",
        "Sign",
        "Sin",
        "Sinh",
        "Softplus",
        "Softsign",
        "Sqrt",
        "Sub",
        "Sum",
        "Swish",
        "Tan",
        "Tanh",
        "ThresholdedRelu",
        "Where",
        "Xor",
    ]
)
SOFTMAX_OPS = frozenset({"Softmax", "LogSoftmax", "Hardmax"})
REDUCE_OPS = frozenset(
    [
        "ArgMax",
        "ArgMin",
        "ReduceL1",
        "ReduceL2",
        "ReduceLogSum",
        "ReduceLogSumExp",
        "ReduceMax",
        "ReduceMean",
        "ReduceMin",
        "ReduceProd",
        "ReduceSum",
        "ReduceSumSquare",
    ]
)
POOL_OPS = frozenset({"AveragePool", "MaxPool", "LpPool"})
GLOBAL_POOL_OPS = frozenset({"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"})
NORM_OPS = {
    "BatchNormalization": "batch",
    "LayerNormalization": "layer",
    "InstanceNormalization": "instance",
    "GroupNormalization": "group",
    "MeanVarianceNormalization": "instance",
    "LpNormalization": "layer",
    "RMSNormalization": "layer",
    "SimplifiedLayerNormalization": "layer",
}
MOVEMENT_OPS = frozenset(
    [
        "Compress",
        "Concat",
        "DepthToSpace",
        "Expand",
        "Gather",
        "GatherElements",
        "GatherND",
        "Pad",
        "Resize",
        "ReverseSequence",
        "ScatterElements",
        "ScatterND",
        "Slice",
        "SpaceToDepth",
        "Split",
        "Tile",
        "TopK",
        "Transpose",
        "Trilu",
        "Upsample",
        "OneHot",
        "NonZero",
        "CumSum",
    ]
)
#: Metadata-only ops: a runtime changes the tensor's shape, not its bytes.
VIEW_OPS = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"})
#: Ops whose output depends only on constants or shapes: folded when the model is loaded.
SHAPE_OPS = frozenset({"Shape", "Size", "Constant", "ConstantOfShape", "Range", "EyeLike"})
CONV_OPS = frozenset({"Conv", "ConvInteger", "QLinearConv"})
MATMUL_OPS = frozenset({"MatMul", "MatMulInteger", "QLinearMatMul", "Gemm"})
#: Ops that start a layer of their own (the others join the layer of their latest producer).
ANCHOR_CATEGORIES = frozenset({"conv", "matmul", "attention"})

# input positions of the data, the weights and the bias for the quantized variants
_CONV_INPUTS = {"Conv": (0, 1, 2), "ConvInteger": (0, 1, None), "QLinearConv": (0, 3, 8)}
_MATMUL_INPUTS = {"MatMul": (0, 1), "MatMulInteger": (0, 1), "QLinearMatMul": (0, 3)}


def known_ops() -> frozenset[str]:
    """Every op the cost model costs by its own rule."""
    return (
        ELEMENTWISE_OPS
        | SOFTMAX_OPS
        | REDUCE_OPS
        | POOL_OPS
        | GLOBAL_POOL_OPS
        | frozenset(NORM_OPS)
        | MOVEMENT_OPS
        | VIEW_OPS
        | SHAPE_OPS
        | CONV_OPS
        | MATMUL_OPS
        | {"ConvTranspose", "Attention"}
    )


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class Tensor:
    """A tensor of the graph: shape (after inference) and bytes per element."""

    name: str
    shape: tuple[int, ...]
    itemsize: float
    dtype: str

    @property
    def elements(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> float:
        return self.elements * self.itemsize


@dataclass(frozen=True, slots=True)
class NodeCost:
    """A costed node: its category (conv, matmul, attention, elementwise, pool, norm, movement,
    view, unknown), its FLOPs, the bytes it moves and its output bytes."""

    name: str
    op: str
    category: str
    flops: float
    nbytes: float
    output_bytes: float
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OnnxLayer:
    """A layer: fused nodes, their FLOPs, the bytes crossing its boundary, its output bytes."""

    name: str
    nodes: tuple[str, ...]
    ops: tuple[str, ...]
    flops: float
    nbytes: float
    output_bytes: float
    outputs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OnnxGraph:
    """A costed ONNX graph: nodes, layers, layer edges, and what was folded or unknown."""

    name: str
    file: str
    nodes: tuple[NodeCost, ...]
    layers: tuple[OnnxLayer, ...]
    edges: tuple[tuple[int, int], ...]
    folded: tuple[str, ...]
    unknown_ops: tuple[str, ...]
    defaulted_dims: tuple[str, ...]
    tensors: Mapping[str, Tensor]
    opset: int

    @property
    def flops(self) -> float:
        return sum(n.flops for n in self.nodes)


# --------------------------------------------------------------------------- reading
def _onnx() -> Any:
    try:
        import onnx
    except ImportError:  # pragma: no cover - the extra is part of the test install
        raise SpecError(
            None, None, "the onnx package is needed: pip install 'rtgen-opt[onnx]'"
        ) from None
    return onnx


def load_model(path: str | os.PathLike[str]) -> Any:
    """The ``onnx.ModelProto`` in ``path``; a SpecError if it is not an ONNX file."""
    onnx = _onnx()
    path = Path(path)
    if not path.is_file():
        raise SpecError(str(path), None, "no such file")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # DecodeError, ValueError...: any way a file is not a model
        raise SpecError(
            str(path), None, f"not an ONNX model ({type(exc).__name__}: {exc})".split("\n")[0]
        ) from None
    if not model.graph.node:
        raise SpecError(str(path), "graph", "not an ONNX model: the graph has no node")
    return model


def _dims(type_proto: Any) -> list[int | None] | None:
    t = type_proto.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]


def _fix_inputs(
    model: Any, input_shapes: Mapping[str, Sequence[int]], file: str
) -> tuple[str, ...]:
    """Give every graph input concrete dims: ``input_shapes`` first, unknown dims 1."""
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    names = {i.name for i in inputs}
    for name in input_shapes:
        if name not in names:
            raise SpecError(
                file,
                "--input-shape",
                f"no graph input {name!r} (inputs: {', '.join(sorted(names))})",
            )
    defaulted: list[str] = []
    for inp in inputs:
        shape = inp.type.tensor_type.shape
        if inp.name in input_shapes:
            want = list(input_shapes[inp.name])
            del shape.dim[:]
            for v in want:
                shape.dim.add().dim_value = int(v)
            continue
        for i, d in enumerate(shape.dim):
            if not d.HasField("dim_value") or d.dim_value <= 0:
                label = d.dim_param or "?"
                d.Clear()
                d.dim_value = 1
                defaulted.append(f"{inp.name}[{i}] ({label}) = 1")
    return tuple(defaulted)


def _itemsize(onnx: Any, elem_type: int) -> tuple[float, str]:
    try:
        dt = onnx.helper.tensor_dtype_to_np_dtype(elem_type)
        return float(dt.itemsize), str(dt)
    except Exception:  # exotic types (float8, int4): one byte, said in the dtype name
        return 1.0, onnx.TensorProto.DataType.Name(elem_type).lower()


def read_graph(
    path: str | os.PathLike[str],
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    bytes_per_element: float | None = None,
    unknown_ops: str = "error",
) -> OnnxGraph:
    """The costed graph of the ONNX model in ``path`` (see the module docstring).

    Parameters
    ----------
    path
        An ``.onnx`` file (weights may sit in external data files: only their shapes are read).
    input_shapes
        Concrete shapes for graph inputs; a dimension left symbolic is taken as 1 (batch 1),
        and listed in ``defaulted_dims``.
    bytes_per_element
        Bytes per tensor element for every tensor (e.g. 1 for INT8 deployment); default: each
        tensor's own element type (float32: 4).
    unknown_ops
        ``"error"``: an op the cost model does not know raises; ``"bytes"``: it is costed by
        the bytes it moves and listed in ``unknown_ops``.

    Raises
    ------
    SpecError
        When the file is not an ONNX model, an op is unknown (``unknown_ops="error"``), or a
        tensor's shape cannot be inferred.
    """
    if unknown_ops not in ("error", "bytes"):
        raise ArgumentError("unknown_ops", f"expected 'error' or 'bytes', got {unknown_ops!r}")
    onnx = _onnx()
    file = str(path)
    model = load_model(path)
    defaulted = _fix_inputs(model, input_shapes or {}, file)
    try:
        model = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception as exc:
        raise SpecError(file, None, f"shape inference failed: {exc}".split("\n")[0]) from None
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    graph = model.graph
    tensors: dict[str, Tensor] = {}
    constants: set[str] = set()
    for init in graph.initializer:
        size, dtype = _itemsize(onnx, init.data_type)
        tensors[init.name] = Tensor(init.name, tuple(int(d) for d in init.dims), size, dtype)
        constants.add(init.name)
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        if vi.name in tensors or not vi.type.HasField("tensor_type"):
            continue
        dims = _dims(vi.type)
        if dims is None or any(d is None for d in dims):
            continue
        size, dtype = _itemsize(onnx, vi.type.tensor_type.elem_type)
        tensors[vi.name] = Tensor(vi.name, tuple(int(d) for d in dims), size, dtype)
    if bytes_per_element is not None:
        tensors = {
            n: Tensor(t.name, t.shape, float(bytes_per_element), t.dtype)
            for n, t in tensors.items()
        }

    known = known_ops()
    names = _node_names(graph)
    folded: list[str] = []
    unknown: dict[str, int] = {}
    costs: list[NodeCost] = []
    for node, name in zip(graph.node, names, strict=True):
        ins = tuple(i for i in node.input if i)
        if node.domain not in ("", "ai.onnx") and node.op_type not in known:
            op = f"{node.domain}.{node.op_type}"
        else:
            op = node.op_type
        if node.op_type in SHAPE_OPS or (ins and all(i in constants for i in ins)):
            folded.append(name)
            constants.update(o for o in node.output if o)
            continue
        if op not in known:
            unknown[op] = unknown.get(op, 0) + 1
            if unknown_ops == "error":
                raise SpecError(
                    file,
                    f"node {name!r}",
                    f"op {op!r} is unknown to the cost model; pass --unknown-ops bytes "
                    "to cost it by the bytes it moves",
                )
        outs = tuple(o for o in node.output if o)
        for t in ins + outs:
            if t not in tensors:
                raise SpecError(
                    file,
                    f"node {name!r}",
                    f"the shape of tensor {t!r} could not be inferred; "
                    "fix the graph inputs' shapes with --input-shape NAME=D1xD2x...",
                )
        costs.append(_cost(node, name, op, ins, outs, tensors))
    layers, edges = fuse_layers(costs, tensors, graph_outputs=[o.name for o in graph.output])
    return OnnxGraph(
        name=graph.name or Path(file).stem,
        file=file,
        nodes=tuple(costs),
        layers=layers,
        edges=edges,
        folded=tuple(folded),
        unknown_ops=tuple(
            f"{op} ({n} node{'s' if n > 1 else ''})" for op, n in sorted(unknown.items())
        ),
        defaulted_dims=defaulted,
        tensors=tensors,
        opset=opset,
    )


def _node_names(graph: Any) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for i, node in enumerate(graph.node):
        name = node.name or f"{node.op_type}_{i}"
        base, k = name, 2
        while name in seen:
            name, k = f"{base}~{k}", k + 1
        seen.add(name)
        out.append(name)
    return out


# --------------------------------------------------------------------------- node costs
def _attr(node: Any, name: str, default: Any = None) -> Any:
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _spatial(dims: Sequence[int]) -> tuple[int, int]:
    """Spatial dims folded into MAESTRO's two: (Y, X) = (prod of all but the last, the last)."""
    if not dims:
        return 1, 1
    return math.prod(dims[:-1]), dims[-1]


def node_layer(
    node: Any, op: str, ins: Sequence[str], outs: Sequence[str], tensors: Mapping[str, Tensor]
) -> tuple[str, Layer]:
    """The cost-model layer of one node, with its category (see ``formulations/costs.md``)."""
    shape = {n: tensors[n].shape for n in list(ins) + list(outs)}
    out_el = sum(tensors[o].elements for o in outs)
    in_el = sum(tensors[i].elements for i in ins)
    all_inputs = [i for i in node.input]  # with the empty optional ones, for positions
    name = node.name or op
    if op in CONV_OPS:
        xi, wi, bi = _CONV_INPUTS[op]
        x, w, y = shape[all_inputs[xi]], shape[all_inputs[wi]], shape[outs[0]]
        groups = int(_attr(node, "group", 1))
        oy, ox = _spatial(y[2:])
        iy, ix = _spatial(x[2:])
        r, s = _spatial(w[2:])
        conv = ConvLayer(
            name, n=x[0], k=w[0], c=x[1], y=oy, x=ox, r=r, s=s, groups=groups, in_y=iy, in_x=ix
        )
        bias = bi is not None and len(all_inputs) > bi and all_inputs[bi]
        if not bias:
            return "conv", conv
        # a bias adds one FLOP per output element and reads K values
        return "conv", _Sum(name, conv.flops + conv.output_elements, conv.elements + w[0], out_el)
    if op == "ConvTranspose":
        x, w, y = shape[ins[0]], shape[ins[1]], shape[outs[0]]
        groups = int(_attr(node, "group", 1))
        iy, ix = _spatial(x[2:])
        oy, ox = _spatial(y[2:])
        r, s = _spatial(w[2:])
        # the convolution it is the transpose of: the same MACs, input and output swapped
        conv = ConvLayer(
            name,
            n=x[0],
            k=x[1],
            c=w[1] * groups,
            y=iy,
            x=ix,
            r=r,
            s=s,
            groups=groups,
            in_y=oy,
            in_x=ox,
        )
        bias_el = w[1] * groups if len(ins) > 2 else 0
        return "conv", _Sum(
            name, conv.flops + (out_el if bias_el else 0), conv.elements + bias_el, out_el
        )
    if op in _MATMUL_INPUTS or op == "Gemm":
        return "matmul", _matmul(node, op, all_inputs, outs, shape, tensors)
    if op == "Attention":
        return "attention", _attention(node, ins, outs, shape)
    if op in ELEMENTWISE_OPS:
        return "elementwise", ElementwiseLayer(name, out_el, in_el, 1.0)
    if op in SOFTMAX_OPS:
        return "elementwise", ElementwiseLayer(name, out_el, in_el, SOFTMAX_FLOPS_PER_ELEMENT)
    if op in REDUCE_OPS:
        # one FLOP per input element, reading the input once and writing the output
        data = tensors[ins[0]].elements
        return "elementwise", ElementwiseLayer(name, out_el, in_el, data / max(out_el, 1))
    if op in POOL_OPS or op in GLOBAL_POOL_OPS:
        x, y = shape[ins[0]], shape[outs[0]]
        iy, ix = _spatial(x[2:])
        oy, ox = _spatial(y[2:])
        if op in GLOBAL_POOL_OPS:
            r, s = iy, ix
        else:
            r, s = _spatial(list(_attr(node, "kernel_shape", [1])))
        return "pool", PoolLayer(name, n=x[0], c=x[1], y=oy, x=ox, r=r, s=s, in_y=iy, in_x=ix)
    if op in NORM_OPS:
        data = tensors[ins[0]].elements
        params = sum(tensors[i].elements for i in ins[1:])
        return "norm", NormLayer(name, NORM_OPS[op], data, params)
    if op in VIEW_OPS:
        return "view", MovementLayer(name, 0.0, 0.0)
    if op in MOVEMENT_OPS:
        return "movement", MovementLayer(name, float(in_el), float(out_el))
    return "unknown", MovementLayer(name, float(in_el), float(out_el))


@dataclass(frozen=True, slots=True)
class _Sum:
    """FLOPs and elements of a node that adds a little to a cost-model layer (a bias)."""

    name: str
    flops: float
    elements: float
    output_elements: float


def _matmul(node, op, all_inputs, outs, shape, tensors) -> MatMulLayer:
    name = node.name or op
    if op == "Gemm":
        a, b = shape[all_inputs[0]], shape[all_inputs[1]]
        m, k = (a[1], a[0]) if _attr(node, "transA", 0) else (a[0], a[1])
        n = b[0] if _attr(node, "transB", 0) else b[1]
        return MatMulLayer(name, m=m, k=k, n=n, bias=len(all_inputs) > 2 and bool(all_inputs[2]))
    ai, bi = _MATMUL_INPUTS[op]
    a, b = list(shape[all_inputs[ai]]), list(shape[all_inputs[bi]])
    if len(a) == 1:
        a = [1, a[0]]
    if len(b) == 1:
        b = [b[0], 1]
    out = shape[outs[0]]
    batch = math.prod(out[:-2]) if len(out) > 2 else 1
    b_batch = math.prod(b[:-2]) if len(b) > 2 else 1
    return MatMulLayer(name, m=a[-2], k=a[-1], n=b[-1], batch=batch, b_batch=b_batch)


def _attention(node, ins, outs, shape) -> AttentionLayer:
    """ONNX ``Attention`` (opset 23): Q, K, V as (B, H, S, d) or (B, S, H*d) with head counts."""
    q, k, v = shape[ins[0]], shape[ins[1]], shape[ins[2]]
    name = node.name or "Attention"
    if len(q) == 4:
        b, h, sq, d = q
        hk, skv, dv = k[1], k[2], v[3]
    else:
        h = int(_attr(node, "q_num_heads", 1))
        hk = int(_attr(node, "kv_num_heads", h))
        b, sq, d = q[0], q[1], q[2] // h
        skv, dv = k[1], v[2] // hk
    return AttentionLayer(
        name, batch=b, heads=h, q_len=sq, kv_len=skv, head_dim=d, kv_heads=hk, v_head_dim=dv
    )


def _cost(node, name, op, ins, outs, tensors) -> NodeCost:
    category, layer = node_layer(node, op, ins, outs, tensors)
    itemsize = tensors[outs[0]].itemsize if outs else 1.0
    out_bytes = sum(tensors[o].nbytes for o in outs)
    return NodeCost(
        name=name,
        op=op,
        category=category,
        flops=float(layer.flops),
        nbytes=float(layer.elements * itemsize),
        output_bytes=float(out_bytes),
        inputs=tuple(ins),
        outputs=outs,
    )


# --------------------------------------------------------------------------- layers
def fuse_layers(
    nodes: Sequence[NodeCost], tensors: Mapping[str, Tensor], graph_outputs: Sequence[str]
) -> tuple[tuple[OnnxLayer, ...], tuple[tuple[int, int], ...]]:
    """Nodes (in topological order) -> layers and the layer DAG.

    A conv, matmul or attention node starts a layer; any other node joins the layer of its
    latest producer (a node fed only by graph inputs and constants starts one). Layers are
    numbered in creation order and every tensor flows from a lower to a higher number, so the
    layer graph is a DAG in listed order. A layer's bytes are those crossing its boundary: the
    inputs it reads from outside (weights included) and the outputs another layer or the graph
    reads; tensors produced and consumed inside it stay on chip.
    """
    producer: dict[str, int] = {}  # tensor -> layer index
    members: list[list[NodeCost]] = []
    for node in nodes:
        sources = [producer[i] for i in node.inputs if i in producer]
        if node.category in ANCHOR_CATEGORIES or not sources:
            members.append([node])
            index = len(members) - 1
        else:
            index = max(sources)
            members[index].append(node)
        for o in node.outputs:
            producer[o] = index
    consumers: dict[str, set[int]] = {}
    for index, group in enumerate(members):
        for node in group:
            for i in node.inputs:
                consumers.setdefault(i, set()).add(index)
    outputs = set(graph_outputs)
    layers: list[OnnxLayer] = []
    edges: set[tuple[int, int]] = set()
    for index, group in enumerate(members):
        made = {o for node in group for o in node.outputs}
        read = {i for node in group for i in node.inputs} - made
        leaving = sorted(
            o for o in made if o in outputs or any(c != index for c in consumers.get(o, ()))
        )
        views = all(node.category == "view" for node in group)
        boundary = 0.0 if views else sum(tensors[t].nbytes for t in read | set(leaving))
        for t in read:
            if t in producer and producer[t] != index:
                edges.add((producer[t], index))
        layers.append(
            OnnxLayer(
                name=group[0].name,
                nodes=tuple(n.name for n in group),
                ops=tuple(n.op for n in group),
                flops=sum(n.flops for n in group),
                nbytes=float(boundary),
                output_bytes=float(sum(tensors[t].nbytes for t in leaving)),
                outputs=tuple(leaving),
            )
        )
    return tuple(layers), tuple(sorted(edges))


# --------------------------------------------------------------------------- latencies
@dataclass(frozen=True, slots=True)
class CostedLayer:
    """A layer (or a group of layers) with its latency per kind and what it spans."""

    name: str
    latency_ms: dict[str, float]
    flops: float
    nbytes: float
    output_bytes: float
    layers: tuple[int, ...]
    nodes: tuple[str, ...]
    outputs: tuple[str, ...]


def layer_latencies(graph: OnnxGraph, rooflines: Mapping[str, Roofline]) -> list[CostedLayer]:
    """Every layer of ``graph`` costed on every kind of ``rooflines`` (kinds sorted)."""
    out = []
    for i, layer in enumerate(graph.layers):
        lat = {k: roofline_ms(layer.flops, layer.nbytes, rooflines[k]) for k in sorted(rooflines)}
        out.append(
            CostedLayer(
                layer.name,
                lat,
                layer.flops,
                layer.nbytes,
                layer.output_bytes,
                (i,),
                layer.nodes,
                layer.outputs,
            )
        )
    return out


def group_layers(
    graph: OnnxGraph, costed: Sequence[CostedLayer], groups: int | None
) -> tuple[list[CostedLayer], list[tuple[int, int]]]:
    """``costed`` layers merged into ``groups`` contiguous groups (None: one per layer).

    Boundaries fall where the cumulative mean latency over kinds crosses j / K of the total, so
    groups are balanced by estimated time. A group's latency per kind is the sum of its layers'
    (DESIGN §1); its output bytes are those of the tensors that leave it; a group edge exists
    where a layer edge crosses groups.
    """
    n = len(costed)
    if groups is None or groups >= n:
        return list(costed), list(graph.edges)
    if groups < 1:
        raise ArgumentError("--groups", f"expected an integer >= 1, got {groups}")
    weight = np.array(
        [np.mean(list(c.latency_ms.values())) if c.latency_ms else 1.0 for c in costed]
    )
    cum = np.cumsum(weight)
    total = cum[-1] if cum[-1] > 0 else 1.0
    cuts = [0]
    for j in range(1, groups):
        # the first layer index at which the cumulative share reaches j/K, kept strictly
        # increasing and leaving at least one layer for each remaining group
        at = int(np.searchsorted(cum, total * j / groups, side="left")) + 1
        at = max(at, cuts[-1] + 1)
        at = min(at, n - (groups - j))
        cuts.append(at)
    cuts.append(n)
    group_of = {}
    for g in range(groups):
        for i in range(cuts[g], cuts[g + 1]):
            group_of[i] = g
    # tensors a layer reads from another layer: from the edges and the layers' outputs
    readers: dict[int, set[int]] = {}
    for u, v in graph.edges:
        readers.setdefault(u, set()).add(v)
    out: list[CostedLayer] = []
    edges: set[tuple[int, int]] = set()
    for u, v in graph.edges:
        if group_of[u] != group_of[v]:
            edges.add((group_of[u], group_of[v]))
    for g in range(groups):
        part = list(range(cuts[g], cuts[g + 1]))
        kinds = costed[part[0]].latency_ms.keys()
        lat = {k: sum(costed[i].latency_ms[k] for i in part) for k in kinds}
        # a layer's outputs leave the group if a reader is in another group, or the layer is a sink
        leaving = [
            i for i in part if not readers.get(i) or any(group_of[r] != g for r in readers[i])
        ]
        out.append(
            CostedLayer(
                name="model" if groups == 1 else f"g{g}",
                latency_ms=lat,
                flops=sum(costed[i].flops for i in part),
                nbytes=sum(costed[i].nbytes for i in part),
                output_bytes=sum(costed[i].output_bytes for i in leaving),
                layers=tuple(part),
                nodes=tuple(nm for i in part for nm in costed[i].nodes),
                outputs=tuple(t for i in leaving for t in costed[i].outputs),
            )
        )
    return out, sorted(edges)


def platform_rooflines(platform: Any, file: str | None = None) -> dict[str, Roofline]:
    """The rooflines of a platform spec; a SpecError when it has none."""
    rooflines = kind_rooflines(platform, file)
    if not rooflines:
        raise SpecError(
            file,
            "processors",
            f"platform {platform.name!r} has no processor with a roofline block: "
            "an ONNX model can only be costed by the roofline model",
        )
    return rooflines


# --------------------------------------------------------------------------- profiles
def _si(x: float, unit: str) -> str:
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {prefix}{unit}"
    return f"{x:.3g} {unit}"


def roofline_header(rooflines: Mapping[str, Roofline], platform: str) -> list[str]:
    """Comment lines stating the cost-model parameters behind every [E] latency."""
    lines = [
        f"Roofline cost model (rtgen_opt/costs.py, formulations/costs.md), platform {platform}:"
    ]
    for kind in sorted(rooflines):
        r = rooflines[kind]
        lines.append(
            f"  {kind}: {num(r.peak_gflops)} GFLOP/s x {num(r.compute_efficiency)}, "
            f"{num(r.mem_bandwidth_gb_s)} GB/s x {num(r.memory_efficiency)}, "
            f"launch {num(r.launch_ms)} ms per layer"
        )
    return lines


def _tensor_text(graph: OnnxGraph, names: Sequence[str], limit: int = 3) -> str:
    parts = [
        f"{n} {graph.tensors[n].dtype}[{','.join(str(d) for d in graph.tensors[n].shape)}]"
        for n in names[:limit]
    ]
    more = f" +{len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(parts) + more


def model_out(
    graph: OnnxGraph,
    layers: Sequence[CostedLayer],
    edges: Sequence[tuple[int, int]],
    *,
    name: str,
    tag: str = "E",
    latency_note: str = "roofline (parameters above)",
    measured: Mapping[int, tuple[dict[str, float], str]] | None = None,
) -> ModelOut:
    """The profile of ``graph`` with ``layers``: every latency and output size commented.

    ``measured`` replaces, for some layers, latencies of some kinds by measured ones (with the
    comment that sources them); the other kinds keep their roofline estimate.
    """
    out_layers = []
    for i, layer in enumerate(layers):
        lat = dict(layer.latency_ms)
        why = (
            f"[{tag}] {latency_note}: {_si(layer.flops, 'FLOP')}, {_si(layer.nbytes, 'B')} moved; "
            f"nodes {', '.join(layer.nodes[:4])}{' ...' if len(layer.nodes) > 4 else ''}"
        )
        if measured and i in measured:
            values, note = measured[i]
            lat.update(values)
            est = [k for k in lat if k not in values]
            why = note + (
                f"; {', '.join(est)} [E] {latency_note}: {_si(layer.flops, 'FLOP')}, "
                f"{_si(layer.nbytes, 'B')} moved"
                if est
                else ""
            )
        out_layers.append(
            LayerOut(
                name=layer.name,
                latency_ms=dict(sorted(lat.items())),
                latency_comment=why,
                output_bytes=layer.output_bytes,
                bytes_comment=f"[E] inferred shapes: {_tensor_text(graph, layer.outputs)}"
                if layer.outputs
                else "",
            )
        )
    chain = [(i, i + 1) for i in range(len(layers) - 1)]
    edge_names = None
    if list(edges) != chain:
        edge_names = [(layers[u].name, layers[v].name) for u, v in edges]
    notes = []
    if graph.unknown_ops:
        notes.append(
            "ops unknown to the cost model, costed by the bytes they move only: "
            + ", ".join(graph.unknown_ops)
        )
    return ModelOut(
        name=name,
        layers=out_layers,
        description=f"{len(graph.nodes)} ONNX nodes in {len(graph.layers)} layers"
        + (f", {len(layers)} groups" if len(layers) != len(graph.layers) else "")
        + f"; {_si(graph.flops, 'FLOP')} per inference",
        edges=edge_names,
        notes=notes,
    )


def import_header(graph: OnnxGraph, command: str) -> list[str]:
    """Header lines every profile imported from ``graph`` starts with."""
    import onnx

    lines = [
        f"Imported from {Path(graph.file).name} by `{command}` "
        f"(onnx {onnx.__version__}, opset {graph.opset}).",
        "Tags: [M] measured; [E] our estimate (the roofline cost model), NOT measured.",
        f"{len(graph.nodes)} nodes costed, {len(graph.folded)} constant/shape nodes folded.",
    ]
    if graph.defaulted_dims:
        lines.append("Symbolic input dimensions taken as 1: " + ", ".join(graph.defaulted_dims))
    if graph.unknown_ops:
        lines.append("Unknown ops, costed by bytes moved only: " + ", ".join(graph.unknown_ops))
    itemsizes = sorted({f"{t.dtype}: {num(t.itemsize)} B" for t in graph.tensors.values()})
    lines.append("Bytes per element: " + ", ".join(itemsizes))
    return lines
