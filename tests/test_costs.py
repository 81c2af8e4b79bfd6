"""The roofline cost model, by hand and as properties."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtgen_opt.costs import (
    ConvLayer,
    kind_rooflines,
    layer_latencies,
    layer_ms,
    roofline_ms,
)
from rtgen_opt.errors import SpecError


def _roofline(peak=1000.0, bw=100.0, ce=1.0, me=1.0, launch=0.0):
    return SimpleNamespace(
        peak_gflops=peak,
        mem_bandwidth_gb_s=bw,
        compute_efficiency=ce,
        memory_efficiency=me,
        launch_ms=launch,
    )


def test_conv_counts_by_hand():
    # a 3x3 conv, 32 -> 64 channels, 1x 56x56 output
    layer = ConvLayer("conv", n=1, k=64, c=32, y=56, x=56, r=3, s=3)
    assert layer.flops == 2 * 64 * 32 * 56 * 56 * 9
    assert layer.weight_elements == 64 * 32 * 9
    assert layer.input_elements == 32 * 58 * 58  # the output tile plus the 1-pixel halo
    assert layer.output_elements == 64 * 56 * 56
    assert layer.bytes() == layer.elements  # int8 by default
    assert layer.bytes(2.0) == 2 * layer.elements
    assert layer.output_bytes(4.0) == 4 * 64 * 56 * 56


def test_fully_connected_layer():
    fc = ConvLayer("fc", n=1, k=512, c=512, y=128, x=1, r=1, s=1)
    assert fc.flops == 2 * 512 * 512 * 128
    assert fc.elements == 512 * 512 + 512 * 128 + 512 * 128


def test_roofline_compute_and_memory_bound():
    rf = _roofline(peak=1000.0, bw=100.0, ce=0.5, me=0.5, launch=0.01)
    # compute: 1e9 FLOP / (0.5 x 1000 GFLOP/s) = 2 ms; memory: 1e6 B / (0.5 x 100 GB/s) = 0.02 ms
    assert roofline_ms(1e9, 1e6, rf) == pytest.approx(2.01)
    # memory: 1e8 B / 50 GB/s = 2 ms beats compute 1e6 FLOP / 500 GFLOP/s = 0.002 ms
    assert roofline_ms(1e6, 1e8, rf) == pytest.approx(2.01)


def test_layer_ms_and_latencies_per_kind():
    layer = ConvLayer("conv", n=1, k=64, c=32, y=56, x=56, r=3, s=3)
    npu, cpu = _roofline(peak=50_000, bw=60, ce=0.2), _roofline(peak=1_000, bw=120, ce=0.5)
    expected_npu = max(layer.flops / (0.2 * 50_000e6), layer.bytes() / 60e6)
    assert layer_ms(layer, npu) == pytest.approx(expected_npu)
    lat = layer_latencies(layer, {"npu": npu, "cpu": cpu})
    assert list(lat) == ["cpu", "npu"]
    assert lat["cpu"] > lat["npu"]


@pytest.mark.parametrize("dim", ["n", "k", "c", "y", "x", "r", "s"])
def test_conv_rejects_non_positive_dimensions(dim):
    dims = dict(n=1, k=1, c=1, y=1, x=1, r=1, s=1)
    dims[dim] = 0
    with pytest.raises(SpecError, match=f"conv.{dim.upper()}"):
        ConvLayer("conv", **dims)


def test_kind_rooflines():
    a, b = _roofline(peak=1.0), _roofline(peak=2.0)
    procs = [
        SimpleNamespace(kind="cpu", roofline=a),
        SimpleNamespace(kind="cpu", roofline=a),
        SimpleNamespace(kind="npu", roofline=b),
        SimpleNamespace(kind="dsp", roofline=None),
    ]
    assert kind_rooflines(SimpleNamespace(processors=procs)) == {"cpu": a, "npu": b}
    procs.append(SimpleNamespace(kind="cpu", roofline=b))
    with pytest.raises(SpecError, match=r"processors\[4\]\.roofline"):
        kind_rooflines(SimpleNamespace(processors=procs))


dims = st.integers(1, 64)


@given(dims, dims, dims, dims, dims, st.integers(1, 7), st.integers(1, 7))
def test_roofline_properties(n, k, c, y, x, r, s):
    layer = ConvLayer("l", n=n, k=k, c=c, y=y, x=x, r=r, s=s)
    rf = _roofline(peak=500.0, bw=50.0, ce=0.4, me=0.6, launch=0.005)
    t = layer_ms(layer, rf)
    # never faster than either roof, and exactly the slower one plus the launch
    compute = layer.flops / (0.4 * 500e6)
    memory = layer.bytes() / (0.6 * 50e6)
    assert t == pytest.approx(max(compute, memory) + 0.005)
    # more of every resource never makes it slower; double the work never makes it faster
    assert layer_ms(layer, _roofline(peak=1000.0, bw=100.0, ce=0.4, me=0.6, launch=0.005)) <= t
    bigger = ConvLayer("l", n=2 * n, k=k, c=c, y=y, x=x, r=r, s=s)
    assert layer_ms(bigger, rf) >= t
