"""The roofline cost model: a layer's latency on a processor kind from its FLOPs and bytes.

A layer takes as long as the slower of its compute and its memory traffic, plus a fixed launch
cost (the mathematics, with its conventions, is in ``formulations/costs.md``)::

    t = max(FLOPs / (compute_efficiency x peak_gflops x 1e6),
            bytes / (memory_efficiency x mem_bandwidth_gb_s x 1e6)) + launch_ms

in ms: ``GFLOP/s x 1e6 = FLOP/ms`` and ``GB/s x 1e6 = bytes/ms``. The roofline figures of a kind
come from the ``roofline`` block of its processors in a platform spec
(:class:`rtgen_opt.spec.models.RooflineSpec`).

Layer types, each counting its FLOPs and the tensor elements it reads and writes once:

- :class:`ConvLayer`: convolutions in MAESTRO's dimensions N, K, C, Y, X, R, S, with Y, X the
  *output* height and width (optionally grouped, with the true input size);
- :class:`MatMulLayer`: matrix products and fully connected (Gemm) layers;
- :class:`AttentionLayer`: a fused scaled-dot-product attention block (scores stay on chip);
- :class:`ElementwiseLayer`: activations, arithmetic, softmax (a cost per output element);
- :class:`PoolLayer`: max / average pooling, global pooling;
- :class:`NormLayer`: batch, layer, instance and group normalisation;
- :class:`MovementLayer`: data movement (transpose, concat, gather...) and any op the model
  does not know: no FLOPs, only bytes.

:func:`fit_efficiency` fits a kind's two efficiencies to measured latencies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from rtgen_opt.errors import SpecError

#: Bytes per tensor element by default: INT8 inference, as on NPUs.
DEFAULT_BYTES_PER_ELEMENT = 1.0

#: FLOPs per score of a softmax: max, subtract, exp, sum, divide.
SOFTMAX_FLOPS_PER_ELEMENT = 5.0


class Roofline(Protocol):
    """What the cost model reads of a roofline block (e.g. ``RooflineSpec``)."""

    peak_gflops: float
    mem_bandwidth_gb_s: float
    compute_efficiency: float
    memory_efficiency: float
    launch_ms: float


class Layer(Protocol):
    """What the cost model reads of a layer: its FLOPs and the elements it moves."""

    name: str

    @property
    def flops(self) -> float: ...

    @property
    def elements(self) -> float: ...

    @property
    def output_elements(self) -> float: ...

    def bytes(self, bytes_per_element: float = DEFAULT_BYTES_PER_ELEMENT) -> float: ...

    def output_bytes(self, bytes_per_element: float = DEFAULT_BYTES_PER_ELEMENT) -> float: ...


class _Sized:
    """Bytes from element counts: ``elements`` moved, ``output_elements`` handed on."""

    __slots__ = ()

    def bytes(self, bytes_per_element: float = DEFAULT_BYTES_PER_ELEMENT) -> float:
        """Bytes moved to and from memory."""
        return self.elements * bytes_per_element  # type: ignore[attr-defined]

    def output_bytes(self, bytes_per_element: float = DEFAULT_BYTES_PER_ELEMENT) -> float:
        """Size of the output: what the next layer receives."""
        return self.output_elements * bytes_per_element  # type: ignore[attr-defined]


def _positive(layer: str, **dims: float | None) -> None:
    for dim, value in dims.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1:
            raise SpecError(None, f"{layer}.{dim}", f"expected a number >= 1, got {value!r}")


def _non_negative(layer: str, **dims: float) -> None:
    for dim, value in dims.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise SpecError(None, f"{layer}.{dim}", f"expected a number >= 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class ConvLayer(_Sized):
    """A convolution (or fully-connected: Y = X = R = S = 1) layer in MAESTRO's dimensions.

    N batch, K output channels, C input channels, Y x X the *output* feature map, R x S the
    filter. Convention (documented in ``formulations/costs.md``):

    - FLOPs = 2 N K (C / groups) Y X R S (a multiply and an add per MAC);
    - elements = weights K (C / groups) R S + input N C H_in W_in + output N K Y X, each read or
      written once. The input size ``in_y x in_x`` defaults to MAESTRO's reading, stride 1 with
      'same' padding: the output grown by the filter's halo, (Y + R - 1)(X + S - 1);
    - a depthwise layer is ``groups = C = K``; XRBench's files write it as C = 1 (or K = 1), for
      which the FLOPs and weights come out right and the activations count one side only.

    Examples
    --------
    >>> layer = ConvLayer("c", n=1, k=2, c=3, y=4, x=4, r=3, s=3)
    >>> layer.flops
    1728.0
    >>> layer.elements  # 54 weights + 3*6*6 input + 2*4*4 output
    194.0
    >>> ConvLayer("dw", n=1, k=8, c=8, y=4, x=4, r=3, s=3, groups=8, in_y=8, in_x=8).flops
    2304.0
    """

    name: str
    n: int
    k: int
    c: int
    y: int
    x: int
    r: int
    s: int
    groups: int = 1
    in_y: int | None = None
    in_x: int | None = None

    def __post_init__(self) -> None:
        for dim in ("n", "k", "c", "y", "x", "r", "s", "groups", "in_y", "in_x"):
            value = getattr(self, dim)
            if value is None and dim in ("in_y", "in_x"):
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SpecError(
                    None, f"{self.name}.{dim.upper()}", f"expected an integer >= 1, got {value!r}"
                )
        if self.c % self.groups or self.k % self.groups:
            raise SpecError(
                None,
                f"{self.name}.GROUPS",
                f"expected a divisor of C = {self.c} and K = {self.k}, got {self.groups}",
            )

    @property
    def flops(self) -> float:
        return 2.0 * self.n * self.k * (self.c // self.groups) * self.y * self.x * self.r * self.s

    @property
    def weight_elements(self) -> float:
        return float(self.k * (self.c // self.groups) * self.r * self.s)

    @property
    def input_elements(self) -> float:
        in_y = self.in_y if self.in_y is not None else self.y + self.r - 1
        in_x = self.in_x if self.in_x is not None else self.x + self.s - 1
        return float(self.n * self.c * in_y * in_x)

    @property
    def output_elements(self) -> float:
        return float(self.n * self.k * self.y * self.x)

    @property
    def elements(self) -> float:
        return self.weight_elements + self.input_elements + self.output_elements


@dataclass(frozen=True, slots=True)
class MatMulLayer(_Sized):
    """``batch`` products of an (m x k) by a (k x n) matrix: MatMul, Gemm, fully connected.

    - FLOPs = 2 batch m k n (+ batch m n with a bias);
    - elements = A batch m k + B b_batch k n + bias n + output batch m n, where ``b_batch`` is 1
      when B is a weight matrix shared by every product (a linear layer) and ``batch`` when
      each product has its own B (attention scores written as two MatMuls).

    Examples
    --------
    >>> fc = MatMulLayer("fc", m=1, k=512, n=10, bias=True)
    >>> fc.flops, fc.elements  # 2*512*10 + 10; 512 + 5120 + 10 + 10
    (10250.0, 5652.0)
    """

    name: str
    m: int
    k: int
    n: int
    batch: int = 1
    b_batch: int = 1
    bias: bool = False

    def __post_init__(self) -> None:
        _positive(self.name, m=self.m, k=self.k, n=self.n, batch=self.batch, b_batch=self.b_batch)

    @property
    def flops(self) -> float:
        bias = self.batch * self.m * self.n if self.bias else 0
        return 2.0 * self.batch * self.m * self.k * self.n + bias

    @property
    def weight_elements(self) -> float:
        return float(self.b_batch * self.k * self.n + (self.n if self.bias else 0))

    @property
    def input_elements(self) -> float:
        return float(self.batch * self.m * self.k)

    @property
    def output_elements(self) -> float:
        return float(self.batch * self.m * self.n)

    @property
    def elements(self) -> float:
        return self.input_elements + self.weight_elements + self.output_elements


@dataclass(frozen=True, slots=True)
class AttentionLayer(_Sized):
    """Fused scaled-dot-product attention: softmax(Q K^T / sqrt(d)) V, per batch and head.

    ``heads`` query heads of ``head_dim``, ``kv_heads`` key/value heads (grouped-query attention;
    default ``heads``), ``q_len`` queries against ``kv_len`` keys.

    - FLOPs = 2 b h q kv d (scores) + 2 b h q kv d_v (weighted sum of V)
      + 5 b h q kv (softmax, :data:`SOFTMAX_FLOPS_PER_ELEMENT`);
    - elements = Q b h q d + K b h_kv kv d + V b h_kv kv d_v + output b h q d_v: the scores
      never leave the chip (a fused kernel). An unfused graph (MatMul, Softmax, MatMul) is costed
      node by node instead and pays for the scores.

    Examples
    --------
    >>> att = AttentionLayer("att", batch=1, heads=2, q_len=4, kv_len=4, head_dim=8)
    >>> att.flops  # 2*2*4*4*8 twice + 5*2*4*4
    1184.0
    >>> att.elements  # Q, K, V and the output: 4 x (2*4*8)
    256.0
    """

    name: str
    batch: int
    heads: int
    q_len: int
    kv_len: int
    head_dim: int
    kv_heads: int | None = None
    v_head_dim: int | None = None

    def __post_init__(self) -> None:
        _positive(
            self.name,
            batch=self.batch,
            heads=self.heads,
            q_len=self.q_len,
            kv_len=self.kv_len,
            head_dim=self.head_dim,
            kv_heads=self.kv_heads,
            v_head_dim=self.v_head_dim,
        )

    @property
    def _hkv(self) -> int:
        return self.kv_heads if self.kv_heads is not None else self.heads

    @property
    def _dv(self) -> int:
        return self.v_head_dim if self.v_head_dim is not None else self.head_dim

    @property
    def flops(self) -> float:
        scores = self.batch * self.heads * self.q_len * self.kv_len
        return 2.0 * scores * (self.head_dim + self._dv) + SOFTMAX_FLOPS_PER_ELEMENT * scores

    @property
    def input_elements(self) -> float:
        q = self.batch * self.heads * self.q_len * self.head_dim
        kv = self.batch * self._hkv * self.kv_len * (self.head_dim + self._dv)
        return float(q + kv)

    @property
    def output_elements(self) -> float:
        return float(self.batch * self.heads * self.q_len * self._dv)

    @property
    def elements(self) -> float:
        return self.input_elements + self.output_elements


@dataclass(frozen=True, slots=True)
class ElementwiseLayer(_Sized):
    """An op computing each output element from its inputs: activations, arithmetic, softmax.

    - FLOPs = ``flops_per_element`` x output elements (1 for arithmetic and activations, 5 for a
      softmax: :data:`SOFTMAX_FLOPS_PER_ELEMENT`);
    - elements = every input element (broadcast inputs count their own size) + the output.

    Examples
    --------
    >>> add = ElementwiseLayer("add", output_elements=1000, input_elements=2000)
    >>> add.flops, add.elements
    (1000.0, 3000.0)
    """

    name: str
    output_elements: float
    input_elements: float
    flops_per_element: float = 1.0

    def __post_init__(self) -> None:
        _non_negative(
            self.name,
            output_elements=self.output_elements,
            input_elements=self.input_elements,
            flops_per_element=self.flops_per_element,
        )

    @property
    def flops(self) -> float:
        return float(self.flops_per_element * self.output_elements)

    @property
    def elements(self) -> float:
        return float(self.input_elements + self.output_elements)


@dataclass(frozen=True, slots=True)
class PoolLayer(_Sized):
    """Max or average pooling of an R x S window over N x C maps, Y x X the output.

    - FLOPs = N C Y X R S (one compare or add per window element);
    - elements = input N C H_in W_in + output N C Y X. Global pooling is R x S = H_in x W_in
      with a 1 x 1 output.

    Examples
    --------
    >>> PoolLayer("gap", n=1, c=64, y=1, x=1, r=7, s=7, in_y=7, in_x=7).flops
    3136.0
    """

    name: str
    n: int
    c: int
    y: int
    x: int
    r: int
    s: int
    in_y: int
    in_x: int

    def __post_init__(self) -> None:
        _positive(
            self.name,
            n=self.n,
            c=self.c,
            y=self.y,
            x=self.x,
            r=self.r,
            s=self.s,
            in_y=self.in_y,
            in_x=self.in_x,
        )

    @property
    def flops(self) -> float:
        return float(self.n * self.c * self.y * self.x * self.r * self.s)

    @property
    def input_elements(self) -> float:
        return float(self.n * self.c * self.in_y * self.in_x)

    @property
    def output_elements(self) -> float:
        return float(self.n * self.c * self.y * self.x)

    @property
    def elements(self) -> float:
        return self.input_elements + self.output_elements


#: FLOPs per element of each normalisation at inference: batch norm is a scale and a shift;
#: layer/instance/group norm compute a mean and a variance (a sum and a sum of squares: 3),
#: then subtract, multiply by the reciprocal deviation, scale and shift (4).
NORM_FLOPS_PER_ELEMENT = {"batch": 2.0, "layer": 7.0, "instance": 7.0, "group": 7.0}


@dataclass(frozen=True, slots=True)
class NormLayer(_Sized):
    """A normalisation of ``elements`` activations with ``params`` scale/shift values.

    - FLOPs = :data:`NORM_FLOPS_PER_ELEMENT` [``norm``] x elements;
    - elements = input + output + params.

    Examples
    --------
    >>> NormLayer("ln", norm="layer", activations=1024, params=128).flops
    7168.0
    """

    name: str
    norm: str
    activations: float
    params: float = 0.0

    def __post_init__(self) -> None:
        if self.norm not in NORM_FLOPS_PER_ELEMENT:
            raise SpecError(
                None,
                f"{self.name}.norm",
                f"expected one of {', '.join(NORM_FLOPS_PER_ELEMENT)}, got {self.norm!r}",
            )
        _non_negative(self.name, activations=self.activations, params=self.params)

    @property
    def flops(self) -> float:
        return NORM_FLOPS_PER_ELEMENT[self.norm] * self.activations

    @property
    def output_elements(self) -> float:
        return float(self.activations)

    @property
    def elements(self) -> float:
        return 2.0 * self.activations + self.params


@dataclass(frozen=True, slots=True)
class MovementLayer(_Sized):
    """Data movement without arithmetic (transpose, concat, gather, pad, resize...), and the
    fallback for any op the cost model does not know: no FLOPs, every input and output element
    moved once. A pure view (reshape, squeeze) moves nothing: give it zero elements.

    Examples
    --------
    >>> MovementLayer("t", input_elements=100, output_elements=100).elements
    200.0
    """

    name: str
    input_elements: float
    output_elements: float

    def __post_init__(self) -> None:
        _non_negative(
            self.name, input_elements=self.input_elements, output_elements=self.output_elements
        )

    @property
    def flops(self) -> float:
        return 0.0

    @property
    def elements(self) -> float:
        return float(self.input_elements + self.output_elements)


def roofline_ms(flops: float, nbytes: float, roofline: Roofline) -> float:
    """Latency in ms of work of ``flops`` FLOPs moving ``nbytes`` bytes, under ``roofline``.

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> rf = R(peak_gflops=1000, mem_bandwidth_gb_s=100, compute_efficiency=0.5,
    ...        memory_efficiency=1.0, launch_ms=0.01)
    >>> roofline_ms(1e9, 1e6, rf)  # compute 2 ms > memory 0.01 ms
    2.01
    """
    compute = flops / (roofline.compute_efficiency * roofline.peak_gflops * 1e6)
    memory = nbytes / (roofline.memory_efficiency * roofline.mem_bandwidth_gb_s * 1e6)
    return max(compute, memory) + roofline.launch_ms


def layer_ms(
    layer: Layer,
    roofline: Roofline,
    bytes_per_element: float = DEFAULT_BYTES_PER_ELEMENT,
) -> float:
    """Latency in ms of one layer (of any layer type) on a processor kind with ``roofline``."""
    return roofline_ms(layer.flops, layer.bytes(bytes_per_element), roofline)


def kind_rooflines(platform, file: str | None = None) -> dict[str, Roofline]:
    """Roofline of each processor kind of a platform spec that declares one.

    Processors of one kind must agree on it (a profile gives one latency per kind); kinds with
    no roofline block are left out: no layer can be costed for them.

    Raises
    ------
    SpecError
        When two processors of one kind declare different rooflines.
    """
    out: dict[str, Roofline] = {}
    for i, proc in enumerate(platform.processors):
        rf = proc.roofline
        if rf is None:
            continue
        seen = out.setdefault(proc.kind, rf)
        if seen != rf:
            raise SpecError(
                file,
                f"processors[{i}].roofline",
                f"processors of kind {proc.kind!r} declare different rooflines",
            )
    return out


def layer_latencies(
    layer: Layer,
    rooflines: Mapping[str, Roofline],
    bytes_per_element: float = DEFAULT_BYTES_PER_ELEMENT,
) -> dict[str, float]:
    """Latency in ms of ``layer`` on every kind with a roofline (kinds in sorted order)."""
    return {kind: layer_ms(layer, rooflines[kind], bytes_per_element) for kind in sorted(rooflines)}


# --------------------------------------------------------------------------- calibration
@dataclass(frozen=True, slots=True)
class Sample:
    """One measured latency: ``flops`` FLOPs and ``nbytes`` bytes took ``ms`` on a kind, paying
    ``launches`` launch costs (the number of layers it spans)."""

    flops: float
    nbytes: float
    ms: float
    launches: int = 1


@dataclass(frozen=True, slots=True)
class Fit:
    """Efficiencies fitted to samples, and the fit's error (estimate / measured - 1)."""

    compute_efficiency: float
    memory_efficiency: float
    samples: int
    median_abs_error: float
    max_abs_error: float


def _predict(samples: Sequence[Sample], roofline: Roofline, ce: np.ndarray, me: np.ndarray):
    f = np.array([s.flops for s in samples])
    b = np.array([s.nbytes for s in samples])
    n = np.array([s.launches for s in samples], dtype=float)
    compute = f[None, None, :] / (ce[:, None, None] * roofline.peak_gflops * 1e6)
    memory = b[None, None, :] / (me[None, :, None] * roofline.mem_bandwidth_gb_s * 1e6)
    return np.maximum(compute, memory) + n * roofline.launch_ms


def fit_efficiency(samples: Sequence[Sample], roofline: Roofline) -> Fit:
    """The compute and memory efficiencies in (0, 1] that best explain measured latencies.

    Minimises the squared error of log(estimate / measured) over the samples, peaks and launch
    cost held fixed: a log-spaced grid over both efficiencies from 1e-4 to 1, then a finer grid
    around the best cell. A measurement faster than the peaks allow leaves an efficiency at 1.
    An efficiency that no sample constrains (every sample bound by the other resource) stays
    at the largest value consistent with them, as the grid is searched from 1 downwards.

    Raises
    ------
    SpecError
        When no sample has a positive latency above the launch cost.

    Examples
    --------
    >>> from types import SimpleNamespace as R
    >>> rf = R(peak_gflops=100, mem_bandwidth_gb_s=10, compute_efficiency=1,
    ...        memory_efficiency=1, launch_ms=0.0)
    >>> fit = fit_efficiency([Sample(4e8, 1e3, 10.0), Sample(1e3, 5e7, 10.0)], rf)
    >>> round(fit.compute_efficiency, 3), round(fit.memory_efficiency, 3)
    (0.4, 0.5)
    """
    usable = [s for s in samples if s.ms > 0 and math.isfinite(s.ms)]
    if not usable:
        raise SpecError(None, "samples", "expected at least one positive measured latency")
    measured = np.log([s.ms for s in usable])
    c_lo, c_hi, m_lo, m_hi = -4.0, 0.0, -4.0, 0.0
    best = (1.0, 1.0)
    for _ in range(4):
        ce = np.logspace(c_hi, c_lo, 121)  # from 1 downwards: ties keep the larger efficiency
        me = np.logspace(m_hi, m_lo, 121)
        err = ((np.log(_predict(usable, roofline, ce, me)) - measured) ** 2).sum(axis=2)
        i, j = np.unravel_index(int(np.argmin(err)), err.shape)
        best = (float(ce[i]), float(me[j]))
        # refine: a grid of two cells either side of the best one
        c_step, m_step = (c_hi - c_lo) / 60, (m_hi - m_lo) / 60
        c_lo, c_hi = math.log10(best[0]) - c_step, min(0.0, math.log10(best[0]) + c_step)
        m_lo, m_hi = math.log10(best[1]) - m_step, min(0.0, math.log10(best[1]) + m_step)
    rel = (
        _predict(usable, roofline, np.array([best[0]]), np.array([best[1]]))[0, 0]
        / np.exp(measured)
        - 1.0
    )
    return Fit(
        compute_efficiency=best[0],
        memory_efficiency=best[1],
        samples=len(usable),
        median_abs_error=float(np.median(np.abs(rel))),
        max_abs_error=float(np.max(np.abs(rel))),
    )
