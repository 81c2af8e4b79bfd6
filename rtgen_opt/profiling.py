"""Measuring an ONNX model where the user is, with ONNX Runtime: whole model and per node.

:func:`measure` runs a model on one execution provider: ``warmup`` runs, then ``repeat`` timed
runs of the whole model (wall clock around ``InferenceSession.run``, the runtime's own graph
optimisations on), whose median is the model's latency and whose 10th-90th percentiles are its
spread. Then, where the provider reports per-node times to ONNX Runtime's profiler, a second
session with graph optimisations off (so that every node keeps the name it has in the file)
runs ``node_repeat`` times, and each node gets its median kernel time.

:func:`apportion` turns that into a measured latency per layer: the whole-model median split
over the layers in proportion to their nodes' kernel times. The layers' latencies thus add up
to the measured whole-model latency of the optimised session, and their ratios are measured
too (nodes fused by the optimiser are timed unfused; the split is the best available).

:func:`calibrate` fits a kind's roofline efficiencies to such measurements
(:func:`rtgen_opt.costs.fit_efficiency`). Needs ``onnxruntime`` (``pip install
'rtgen-opt[onnx]'``).
"""

from __future__ import annotations

import json
import os
import platform as _platform
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rtgen_opt.costs import Fit, Roofline, Sample, fit_efficiency
from rtgen_opt.errors import ArgumentError, SpecError

#: The processor kind each ONNX Runtime execution provider runs on. A provider not listed here
#: is named by ``--provider-kind`` or skipped.
PROVIDER_KINDS = {
    "CPUExecutionProvider": "cpu",
    "XnnpackExecutionProvider": "cpu",
    "DnnlExecutionProvider": "cpu",
    "ACLExecutionProvider": "cpu",
    "ArmNNExecutionProvider": "cpu",
    "CUDAExecutionProvider": "gpu",
    "TensorrtExecutionProvider": "gpu",
    "ROCMExecutionProvider": "gpu",
    "MIGraphXExecutionProvider": "gpu",
    "DmlExecutionProvider": "gpu",
    "WebGpuExecutionProvider": "gpu",
    "QNNExecutionProvider": "npu",
    "VitisAIExecutionProvider": "npu",
    "NnapiExecutionProvider": "npu",
}
#: Providers that do not run models on this machine.
NOT_COMPUTE = frozenset({"AzureExecutionProvider"})


def _ort() -> Any:
    try:
        import onnxruntime
    except ImportError:  # pragma: no cover - the extra is part of the test install
        raise SpecError(
            None, None, "onnxruntime is needed to profile: pip install 'rtgen-opt[onnx]'"
        ) from None
    return onnxruntime


@dataclass(frozen=True, slots=True)
class Machine:
    """Where a measurement was taken."""

    cpu: str
    system: str
    python: str
    onnxruntime: str
    onnx: str

    def text(self) -> str:
        return (
            f"{self.cpu}; {self.system}; Python {self.python}, onnxruntime {self.onnxruntime}, "
            f"onnx {self.onnx}"
        )


def machine() -> Machine:
    """This machine: CPU model, OS, and the runtime versions."""
    cpu = _platform.processor() or _platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import onnx

        onnx_version = onnx.__version__
    except ImportError:  # pragma: no cover
        onnx_version = "-"
    cores = os.cpu_count() or 0
    return Machine(
        cpu=f"{cpu} ({cores} logical cores)",
        system=_platform.platform(terse=True),
        python=_platform.python_version(),
        onnxruntime=_ort().__version__,
        onnx=onnx_version,
    )


def compute_providers() -> list[str]:
    """The execution providers of the installed onnxruntime that run models here."""
    return [p for p in _ort().get_available_providers() if p not in NOT_COMPUTE]


def provider_kinds(
    providers: Sequence[str] | None, overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Provider -> kind for the providers to measure (default: every compute provider, the
    first per kind). Raises SpecError for a provider onnxruntime does not offer here."""
    available = compute_providers()
    kinds = {**PROVIDER_KINDS, **(overrides or {})}
    if providers:
        for p in providers:
            if p not in available:
                raise SpecError(
                    None,
                    "--provider",
                    f"{p!r} is not offered by this onnxruntime (it has {', '.join(available)})",
                )
            if p not in kinds:
                raise SpecError(
                    None, "--provider-kind", f"give the processor kind of {p!r}: {p}=KIND"
                )
        return {p: kinds[p] for p in providers}
    out: dict[str, str] = {}
    for p in available:
        kind = kinds.get(p)
        if kind is not None and kind not in out.values():
            out[p] = kind
    return out


@dataclass(frozen=True, slots=True)
class Measurement:
    """Whole-model times (ms) and per-node median kernel times (ms) on one provider."""

    provider: str
    kind: str
    runs_ms: tuple[float, ...]
    node_ms: Mapping[str, float]
    warmup: int
    threads: int | None
    machine: Machine

    @property
    def median_ms(self) -> float:
        return statistics.median(self.runs_ms)

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.runs_ms, q))

    def note(self) -> str:
        """The source of the measured numbers, for a YAML comment."""
        threads = "default" if self.threads is None else str(self.threads)
        return (
            f"[M] {self.provider} (machine above), {threads} intra-op threads; "
            f"median of {len(self.runs_ms)} runs after {self.warmup} warm-up "
            f"(p10-p90 {self.percentile(10):.4g}-{self.percentile(90):.4g} ms)"
        )


_NUMPY_TYPES = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int8)": np.int8,
    "tensor(uint8)": np.uint8,
    "tensor(int16)": np.int16,
    "tensor(int32)": np.int32,
    "tensor(int64)": np.int64,
    "tensor(bool)": np.bool_,
}


def _feeds(session: Any, input_shapes: Mapping[str, Sequence[int]], seed: int) -> dict:
    rng = np.random.default_rng(seed)
    feeds = {}
    for inp in session.get_inputs():
        shape = input_shapes.get(inp.name) or [
            d if isinstance(d, int) and d > 0 else 1 for d in inp.shape
        ]
        dtype = _NUMPY_TYPES.get(inp.type)
        if dtype is None:
            raise ArgumentError(f"input {inp.name!r}", f"cannot feed an input of type {inp.type}")
        if np.issubdtype(dtype, np.floating):
            feeds[inp.name] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[inp.name] = np.zeros(shape, dtype)
    return feeds


def _named_model(path: Path) -> bytes:
    """The model with every node named as the importer names it (unique, never empty)."""
    import onnx

    from rtgen_opt.importers.onnx import _node_names

    model = onnx.load(str(path), load_external_data=False)
    for node, name in zip(model.graph.node, _node_names(model.graph), strict=True):
        node.name = name
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer):
        return b""  # external weights: the file itself must be loaded
    return model.SerializeToString()


def measure(
    path: str | os.PathLike[str],
    provider: str = "CPUExecutionProvider",
    kind: str = "cpu",
    *,
    warmup: int = 5,
    repeat: int = 20,
    node_repeat: int = 5,
    threads: int | None = None,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    seed: int = 0,
) -> Measurement:
    """Time the model in ``path`` on ``provider`` (see the module docstring).

    Raises
    ------
    SpecError
        When onnxruntime cannot load or run the model there.
    """
    ort = _ort()
    path = Path(path)
    if warmup < 0 or repeat < 1 or node_repeat < 0:
        raise ArgumentError("--repeat", "expected warmup >= 0, repeat >= 1, node repeat >= 0")
    named = _named_model(path)

    def session(optimise: bool, profile_dir: str | None = None) -> Any:
        so = ort.SessionOptions()
        so.log_severity_level = 3
        if threads is not None:
            so.intra_op_num_threads = threads
            so.inter_op_num_threads = 1
        if not optimise:
            so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        if profile_dir is not None:
            so.enable_profiling = True
            so.profile_file_prefix = str(Path(profile_dir) / "ort")
        try:
            return ort.InferenceSession(named or str(path), so, providers=[provider])
        except Exception as exc:
            raise SpecError(
                str(path), None, f"onnxruntime ({provider}) cannot load it: {exc}".split("\n")[0]
            ) from None

    sess = session(True)
    feeds = _feeds(sess, input_shapes or {}, seed)

    def run(s: Any) -> None:
        try:
            s.run(None, feeds)
        except Exception as exc:
            raise SpecError(
                str(path), None, f"onnxruntime ({provider}) cannot run it: {exc}".split("\n")[0]
            ) from None

    for _ in range(warmup):
        run(sess)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        run(sess)
        runs.append((time.perf_counter() - start) * 1e3)
    node_ms: dict[str, float] = {}
    if node_repeat:
        with tempfile.TemporaryDirectory() as tmp:
            prof = session(False, tmp)
            run(prof)  # a warm-up run, left out below
            for _ in range(node_repeat):
                run(prof)
            trace = prof.end_profiling()
            node_ms = _node_medians(Path(trace), skip_first=True)
    return Measurement(
        provider=provider,
        kind=kind,
        runs_ms=tuple(runs),
        node_ms=node_ms,
        warmup=warmup,
        threads=threads,
        machine=machine(),
    )


def _node_medians(trace: Path, skip_first: bool) -> dict[str, float]:
    """Median kernel time (ms) per node from an ONNX Runtime profile (Chrome trace JSON)."""
    try:
        events = json.loads(trace.read_text())
    except (OSError, ValueError):
        return {}
    runs: list[dict[str, float]] = []
    current: dict[str, float] | None = None
    for ev in events:
        if ev.get("cat") == "Session" and ev.get("name") == "model_run":
            continue
        if ev.get("cat") != "Node" or not str(ev.get("name", "")).endswith("_kernel_time"):
            continue
        node = ev["name"][: -len("_kernel_time")]
        if current is None or node in current:
            current = {}
            runs.append(current)
        current[node] = current.get(node, 0.0) + float(ev.get("dur", 0.0)) / 1e3
    if skip_first and len(runs) > 1:
        runs = runs[1:]
    nodes = sorted({n for r in runs for n in r})
    return {n: statistics.median(r.get(n, 0.0) for r in runs) for n in nodes}


def apportion(graph: Any, layers: Sequence[Any], m: Measurement) -> dict[int, float] | None:
    """Measured latency (ms) of each of ``layers`` (of ``graph``): the whole-model median split
    in proportion to the layers' node kernel times; None when the provider reported no node
    times for the layers' nodes (then only the whole model is measured)."""
    per_layer = [sum(m.node_ms.get(n, 0.0) for n in layer.nodes) for layer in layers]
    total = sum(per_layer)
    timed = {n for layer in layers for n in layer.nodes if n in m.node_ms}
    if total <= 0 or not timed:
        return None
    return {i: m.median_ms * t / total for i, t in enumerate(per_layer)}


@dataclass(frozen=True)
class Calibration:
    """Fitted efficiencies per kind, and the samples they were fitted to."""

    fits: Mapping[str, Fit]
    samples: Mapping[str, tuple[Sample, ...]] = field(default_factory=dict)


def calibrate(
    samples: Mapping[str, Sequence[Sample]], rooflines: Mapping[str, Roofline]
) -> Calibration:
    """Fit each measured kind's efficiencies (kinds without a roofline are refused)."""
    fits = {}
    for kind, s in sorted(samples.items()):
        if kind not in rooflines:
            raise SpecError(
                None,
                "--platform",
                f"kind {kind!r} was measured but the platform has no roofline block for it",
            )
        fits[kind] = fit_efficiency(s, rooflines[kind])
    return Calibration(fits, {k: tuple(v) for k, v in samples.items()})
