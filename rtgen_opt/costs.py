"""The roofline cost model: a layer's latency on a processor kind from its FLOPs and bytes.

A layer takes as long as the slower of its compute and its memory traffic, plus a fixed launch
cost (the mathematics, with its conventions, is in ``formulations/costs.md``)::

    t = max(FLOPs / (compute_efficiency x peak_gflops x 1e6),
            bytes / (memory_efficiency x mem_bandwidth_gb_s x 1e6)) + launch_ms

in ms: ``GFLOP/s x 1e6 = FLOP/ms`` and ``GB/s x 1e6 = bytes/ms``. The roofline figures of a kind
come from the ``roofline`` block of its processors in a platform spec
(:class:`rtgen_opt.spec.models.RooflineSpec`).

Convolution layers (MAESTRO's ``CONV`` with dimensions N, K, C, Y, X, R, S) count FLOPs and
bytes with Y, X taken as the *output* height and width (see :class:`ConvLayer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from rtgen_opt.errors import SpecError

#: Bytes per tensor element by default: INT8 inference, as on NPUs.
DEFAULT_BYTES_PER_ELEMENT = 1.0


class Roofline(Protocol):
    """What the cost model reads of a roofline block (e.g. ``RooflineSpec``)."""

    peak_gflops: float
    mem_bandwidth_gb_s: float
    compute_efficiency: float
    memory_efficiency: float
    launch_ms: float


@dataclass(frozen=True, slots=True)
class ConvLayer:
    """A convolution (or fully-connected: Y = X = R = S = 1) layer in MAESTRO's dimensions.

    N batch, K output channels, C input channels, Y x X the *output* feature map, R x S the
    filter. Convention (documented in ``formulations/costs.md``):

    - FLOPs = 2 N K C Y X R S (a multiply and an add per MAC);
    - elements = weights K C R S + input N C (Y + R - 1)(X + S - 1) + output N K Y X, each read
      or written once (stride 1, 'same' padding: the input tile is the output grown by the
      filter's halo);
    - a depthwise layer appears in XRBench's files as C = 1 (or K = 1): its FLOPs and weights
      come out right, its activations count one side only (a slight under-estimate of bytes).

    Examples
    --------
    >>> layer = ConvLayer("c", n=1, k=2, c=3, y=4, x=4, r=3, s=3)
    >>> layer.flops
    1728.0
    >>> layer.elements  # 54 weights + 3*6*6 input + 2*4*4 output
    194.0
    """

    name: str
    n: int
    k: int
    c: int
    y: int
    x: int
    r: int
    s: int

    def __post_init__(self) -> None:
        for dim in ("n", "k", "c", "y", "x", "r", "s"):
            value = getattr(self, dim)
            if not isinstance(value, int) or value < 1:
                raise SpecError(
                    None, f"{self.name}.{dim.upper()}", f"expected an integer >= 1, got {value!r}"
                )

    @property
    def flops(self) -> float:
        return 2.0 * self.n * self.k * self.c * self.y * self.x * self.r * self.s

    @property
    def weight_elements(self) -> float:
        return float(self.k * self.c * self.r * self.s)

    @property
    def input_elements(self) -> float:
        return float(self.n * self.c * (self.y + self.r - 1) * (self.x + self.s - 1))

    @property
    def output_elements(self) -> float:
        return float(self.n * self.k * self.y * self.x)

    @property
    def elements(self) -> float:
        return self.weight_elements + self.input_elements + self.output_elements

    def bytes(self, bytes_per_element: float = DEFAULT_BYTES_PER_ELEMENT) -> float:
        """Bytes moved to and from memory."""
        return self.elements * bytes_per_element

    def output_bytes(self, bytes_per_element: float = DEFAULT_BYTES_PER_ELEMENT) -> float:
        """Size of the output feature map: what the next layer receives."""
        return self.output_elements * bytes_per_element


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
    layer: ConvLayer,
    roofline: Roofline,
    bytes_per_element: float = DEFAULT_BYTES_PER_ELEMENT,
) -> float:
    """Latency in ms of one layer on a processor kind with the given roofline."""
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
    layer: ConvLayer,
    rooflines: Mapping[str, Roofline],
    bytes_per_element: float = DEFAULT_BYTES_PER_ELEMENT,
) -> dict[str, float]:
    """Latency in ms of ``layer`` on every kind with a roofline (kinds in sorted order)."""
    return {kind: layer_ms(layer, rooflines[kind], bytes_per_element) for kind in sorted(rooflines)}
