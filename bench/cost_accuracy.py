"""How accurate is the roofline cost model? Its estimate beside every published whole-model
latency we can cost, and beside ONNX Runtime on this machine's CPU.

For each standard network of ``bench/onnx_zoo.py`` (the published architectures as ONNX graphs):

1. **NPU, Snapdragon X Elite**: Qualcomm AI Hub's measured latency (quic/ai-hub-models v0.46.1,
   commit 52c080d, ``<model>/perf.yaml``, qnn_dlc, every layer on the NPU) against the roofline on
   the shipped platform ``instances/platforms/snapdragon_x_elite.yaml`` (kind npu): w8a8 at one
   byte per element, float at two (fp16 on the NPU) with half the INT8 peak [E].
2. **NPU and CPU, Intel Core Ultra 155H / 288V**: OpenVINO INT8 latencies (research/profiles.md
   §2, ``openvinotoolkit/openvino: graph-data-ov.json``) for ResNet-50 and MobileNet-v2, against
   the roofline of :data:`INTEL` (peaks [V] or [E], the shipped default efficiencies).
3. **CPU, this machine**: ONNX Runtime (CPU EP, float32) measured here against the roofline of
   :data:`THIS_CPU` [E]; then the efficiencies fitted to these measurements (``rtgen-opt profile
   --calibrate`` does the same per layer) and their leave-one-out error.

Writes ``bench/results/cost_accuracy.md`` (and ``.csv``). Run: ``python bench/cost_accuracy.py``
(``--no-measure`` skips step 3; it takes about a minute on 2 cores).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import onnx_zoo  # noqa: E402

from rtgen_opt.costs import Sample, fit_efficiency, roofline_ms  # noqa: E402
from rtgen_opt.importers.onnx import read_graph  # noqa: E402
from rtgen_opt.spec import load  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

#: AI Hub v0.46.1, "Snapdragon X Elite CRD", qnn_dlc, inference_time_milliseconds [M]
AIHUB_XELITE = {
    "resnet18": {"float": 1.435, "w8a8": 0.622},
    "resnet50": {"float": 2.379, "w8a8": 0.958},
    "resnet101": {"float": 3.531, "w8a8": 1.271},
    "wideresnet50": {"float": 4.693, "w8a8": 1.797},
    "resnext50": {"float": 2.671, "w8a8": 1.26},
    "mobilenet_v2": {"float": 1.048, "w8a8": 0.579},
    "squeezenet1_1": {"float": 0.783, "w8a8": 0.49},
    "vit": {"float": 11.827},
}
#: OpenVINO INT8, research/profiles.md §2 [M]: (device, kind) -> model -> ms
OPENVINO = {
    ("Core Ultra 7 155H", "npu"): {"resnet50": 1.56, "mobilenet_v2": 0.77},
    ("Core Ultra 7 155H", "cpu"): {"resnet50": 6.25, "mobilenet_v2": 1.36},
    ("Core Ultra 9 288V", "npu"): {"resnet50": 0.74, "mobilenet_v2": 0.39},
    ("Core Ultra 9 288V", "cpu"): {"resnet50": 4.62, "mobilenet_v2": 1.02},
}


def R(peak, bw, ce, me, launch):  # noqa: N802 - a roofline block
    return SimpleNamespace(
        peak_gflops=peak,
        mem_bandwidth_gb_s=bw,
        compute_efficiency=ce,
        memory_efficiency=me,
        launch_ms=launch,
    )


#: Rooflines of the Intel parts (whole CPU; NPU): peaks [V] for the NPUs (11, 48 TOPS,
#: profiles.md §1), [E] for the CPUs (INT8 VNNI: P-cores 128 ops/cycle, E-cores 64, at max
#: turbo); DRAM 120 / 136 GB/s; efficiencies the shipped defaults (npu 0.2 / 0.5, cpu 0.4 / 0.55).
INTEL = {
    ("Core Ultra 7 155H", "npu"): R(11_000, 120, 0.2, 0.5, 0.01),
    ("Core Ultra 7 155H", "cpu"): R(6 * 4.8 * 128 + 8 * 3.8 * 64, 120, 0.4, 0.55, 0.002),
    ("Core Ultra 9 288V", "npu"): R(48_000, 136, 0.2, 0.5, 0.01),
    ("Core Ultra 9 288V", "cpu"): R(4 * 5.1 * 128 + 4 * 3.7 * 64, 136, 0.4, 0.55, 0.002),
}
#: This machine's CPU for ONNX Runtime float32 [E]: 2 cores x ~3 GHz x 32 FP32 FLOP/cycle
#: (AVX2, two FMA pipes), ~20 GB/s for a 2-vCPU share of a server's DRAM; default efficiencies.
THIS_CPU = R(2 * 3.0 * 32, 20, 0.4, 0.55, 0.002)


def estimate(graph, rf) -> float:
    """Whole-model roofline estimate: the sum of the layers' latencies (DESIGN §1)."""
    return sum(roofline_ms(layer.flops, layer.nbytes, rf) for layer in graph.layers)


def rows(measure: bool, zoo: Path) -> list[dict]:
    xelite = load(ROOT / "instances" / "platforms" / "snapdragon_x_elite.yaml")
    npu = next(p.roofline for p in xelite.processors if p.kind == "npu")
    npu_fp16 = R(
        npu.peak_gflops / 2,
        npu.mem_bandwidth_gb_s,
        npu.compute_efficiency,
        npu.memory_efficiency,
        npu.launch_ms,
    )
    out = []
    graphs = {}
    for name in onnx_zoo.MODELS:
        path = onnx_zoo.build(name, zoo)
        int8 = read_graph(path, bytes_per_element=1.0)
        fp16 = read_graph(path, bytes_per_element=2.0)
        graphs[name] = (path, read_graph(path))
        for precision, ms in AIHUB_XELITE[name].items():
            g, rf = (int8, npu) if precision == "w8a8" else (fp16, npu_fp16)
            out.append(
                dict(
                    model=name,
                    device="Snapdragon X Elite (AI Hub)",
                    kind="npu",
                    precision=precision,
                    measured_ms=ms,
                    estimate_ms=estimate(g, rf),
                    gflop=g.flops / 1e9,
                )
            )
        for (device, kind), table in OPENVINO.items():
            if name in table:
                out.append(
                    dict(
                        model=name,
                        device=f"{device} (OpenVINO)",
                        kind=kind,
                        precision="int8",
                        measured_ms=table[name],
                        estimate_ms=estimate(int8, INTEL[(device, kind)]),
                        gflop=int8.flops / 1e9,
                    )
                )
    if measure:
        from rtgen_opt import profiling

        here = []
        for name, (path, g) in graphs.items():
            m = profiling.measure(path, warmup=2, repeat=5, node_repeat=0, threads=2)
            row = dict(
                model=name,
                device="this machine (ONNX Runtime)",
                kind="cpu",
                precision="float32",
                measured_ms=m.median_ms,
                estimate_ms=estimate(g, THIS_CPU),
                gflop=g.flops / 1e9,
            )
            here.append((row, g))
            out.append(row)
        # fitted efficiencies, and leave-one-out: fit on the others, estimate this one
        samples = [
            Sample(g.flops, sum(x.nbytes for x in g.layers), r["measured_ms"], len(g.layers))
            for r, g in here
        ]
        fit = fit_efficiency(samples, THIS_CPU)
        for i, (r, g) in enumerate(here):
            rest = fit_efficiency(samples[:i] + samples[i + 1 :], THIS_CPU)
            rf = R(
                THIS_CPU.peak_gflops,
                THIS_CPU.mem_bandwidth_gb_s,
                rest.compute_efficiency,
                rest.memory_efficiency,
                THIS_CPU.launch_ms,
            )
            out.append(
                dict(
                    r,
                    device="this machine, calibrated (leave-one-out)",
                    estimate_ms=estimate(g, rf),
                )
            )
        out.append(
            dict(
                model="(fit)",
                device=f"this machine: compute_efficiency "
                f"{fit.compute_efficiency:.3g}, memory_efficiency "
                f"{fit.memory_efficiency:.3g}",
                kind="cpu",
                precision="",
                measured_ms=math.nan,
                estimate_ms=math.nan,
                gflop=math.nan,
            )
        )
    return out


def table(out: list[dict]) -> str:
    lines = [
        "| model | device | kind | precision | GFLOP | measured ms | roofline ms | error |",
        "| --- | --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in out:
        if math.isnan(r["measured_ms"]):
            continue
        err = r["estimate_ms"] / r["measured_ms"] - 1
        lines.append(
            f"| {r['model']} | {r['device']} | {r['kind']} | {r['precision']} | {r['gflop']:.2f} | "
            f"{r['measured_ms']:.3f} | {r['estimate_ms']:.3f} | {err:+.0%} |"
        )
    return "\n".join(lines)


def summary(out: list[dict]) -> str:
    groups: dict[str, list[float]] = {}
    for r in out:
        if math.isnan(r["measured_ms"]):
            continue
        key = f"{r['kind']}, {r['device']}"
        groups.setdefault(key, []).append(r["estimate_ms"] / r["measured_ms"] - 1)
    lines = [
        "| kind, source | n | median error | median abs error | min | max |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, errs in groups.items():
        lines.append(
            f"| {key} | {len(errs)} | {statistics.median(errs):+.0%} | "
            f"{statistics.median(abs(e) for e in errs):.0%} | {min(errs):+.0%} | {max(errs):+.0%} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-measure", action="store_true", help="skip the ONNX Runtime runs")
    ap.add_argument("--zoo", type=Path, default=Path("/tmp/rtgen_opt_zoo"))
    args = ap.parse_args()
    out = rows(not args.no_measure, args.zoo)
    fit = [r["device"] for r in out if r["model"] == "(fit)"]
    from rtgen_opt.profiling import machine

    text = "\n\n".join(
        [
            "# Cost-model accuracy (`python bench/cost_accuracy.py`)",
            "error = roofline estimate / measured - 1 (negative: the model is optimistic). "
            "The estimate of a model is the sum of its fused layers' roofline latencies "
            "(rtgen_opt/costs.py, formulations/costs.md).",
            "## Error per kind and source",
            summary(out),
            "## Every model",
            table(out),
            ("Fitted to this machine's measurements: " + fit[0] + "." if fit else ""),
            f"This machine: {machine().text()}." if not args.no_measure else "",
        ]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cost_accuracy.md").write_text(text.strip() + "\n")
    import csv

    with (RESULTS / "cost_accuracy.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(out[0]))
        w.writeheader()
        w.writerows(out)
    print(text)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
