"""Qualcomm AI Hub's published measurements (quic/ai-hub-models ``perf.yaml``) -> profiles.

A ``perf.yaml`` (ai-hub-models >= 0.30) holds, per precision (``float``, ``w8a8``, ...), per
component of the model (e.g. MediaPipe Hand's detector and landmark net), per device, per
runtime (``qnn_dlc``, ``tflite``, ``onnx``, ...) one profiling job::

    precisions:
      float:
        components:
          YOLOv8-Detection:
            performance_metrics:
              Snapdragon X Elite CRD:
                qnn_dlc:
                  job_id: jgn38nzv5
                  job_status: Passed
                  inference_time_milliseconds: 4.026
                  estimated_peak_memory_range_mb: {min: 5, max: 11}
                  primary_compute_unit: NPU
                  layer_counts: {total: 257, npu: 257}

:func:`import_perf` turns the components of one precision on one device into one model whose
layers are the components, in file order, each with the measured latency of the compute unit
it ran on (``NPU`` -> kind ``npu``, ``GPU`` -> ``gpu``), tagged [M] with the job, runtime,
precision, device and file version. Per component and unit, the first runtime in order of
preference that ran every layer on that unit is taken. A job that put layers on the CPU fell
back from the accelerator: its time is no accelerator's latency, so it is never used, and when
a component has no other job the import is refused, saying so.

LLMs (runtime ``genie``) give a time-to-first-token range (one prompt-processor chunk up to the
full context) and a response rate: the prefill cost per token is the slope of that range, the
chunk overhead what is left at one chunk, the decode cost per token the inverse of the rate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rtgen_opt.errors import SpecError
from rtgen_opt.files import read_text
from rtgen_opt.importers.profiles_out import (
    DecodeOut,
    LayerOut,
    LLMOut,
    ModelOut,
    num,
    write_profiles,
)
from rtgen_opt.spec import safe_load

UNIT_KINDS = {"NPU": "npu", "GPU": "gpu", "CPU": "cpu"}
RUNTIME_PREFERENCE = (
    "qnn_dlc",
    "qnn_context_binary",
    "tflite",
    "onnx",
    "precompiled_qnn_onnx",
    "genie",
)
#: AI Hub's LLMs process prompts in chunks of this many tokens (info.yaml of each LLM:
#: "Input sequence length for Prompt Processor: 128").
DEFAULT_PROMPT_CHUNK = 128


@dataclass
class AihubImport:
    """What :func:`import_perf` read: the models and LLMs, and the header citing the file."""

    name: str
    header: list[str]
    models: list[ModelOut] = field(default_factory=list)
    llms: list[LLMOut] = field(default_factory=list)
    used: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return "; ".join(self.used)


def _read(path: Path) -> dict[str, Any]:
    text = read_text(path, "an AI Hub perf.yaml file")
    try:
        data = safe_load(text)
    except yaml.YAMLError:
        raise SpecError(str(path), None, "not a YAML file") from None
    if not isinstance(data, dict) or not isinstance(data.get("precisions"), dict):
        raise SpecError(
            str(path),
            "precisions",
            "expected AI Hub's perf.yaml layout (ai-hub-models >= 0.30): a 'precisions' mapping",
        )
    return data


def _names(items: Sequence[str], limit: int = 6) -> str:
    items = list(items)
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(repr(i) for i in items[:limit]) + more


def _fell_back(entry: Mapping[str, Any]) -> str | None:
    """Why a job's time is not an accelerator's latency (None if it is one)."""
    unit = str(entry.get("primary_compute_unit", ""))
    counts = entry.get("layer_counts") or {}
    total = counts.get("total")
    on_cpu = counts.get("cpu", 0) or 0
    if unit == "CPU":
        return f"it ran on the CPU ({on_cpu or total} of {total} layers)"
    if on_cpu:
        return f"{on_cpu} of {total} layers fell back to the CPU"
    return None


def import_perf(
    path: str | os.PathLike[str],
    *,
    device: str,
    precision: str = "float",
    runtimes: Sequence[str] | None = None,
    name: str | None = None,
    version: str | None = None,
    kv_bytes_per_token: float | None = None,
    prompt_chunk: int = DEFAULT_PROMPT_CHUNK,
) -> AihubImport:
    """Profiles of the model in an AI Hub ``perf.yaml`` on ``device`` (see the module doc).

    Raises
    ------
    SpecError
        When the file is not a perf.yaml, lacks the precision or the device, or a component
        has no accelerator measurement (every job fell back to the CPU or failed).
    """
    path = Path(path)
    file = str(path)
    data = _read(path)
    precisions = data["precisions"]
    if precision not in precisions:
        raise SpecError(
            file,
            "precisions",
            f"no precision {precision!r}; the file has {_names(precisions)} (--precision)",
        )
    components = (precisions[precision] or {}).get("components") or {}
    if not components:
        raise SpecError(file, f"precisions.{precision}.components", "no component")
    order = tuple(runtimes) if runtimes else RUNTIME_PREFERENCE
    name = name or path.parent.name or path.stem
    cite = f"{path.parent.name}/{path.name}" + (f" ({version})" if version else "")
    out = AihubImport(
        name=name,
        header=[
            f"Imported from Qualcomm AI Hub's published measurements: {cite}, "
            f"precision {precision}, device {device!r}, by `rtgen-opt import aihub`.",
            "Tags: [M] measured by AI Hub on that device (inference_time_milliseconds of one "
            "profiling job); [E] our estimate.",
        ],
    )
    layers: list[LayerOut] = []
    for comp, body in components.items():
        where = f"precisions.{precision}.components.{comp}.performance_metrics"
        metrics = (body or {}).get("performance_metrics") or {}
        if device not in metrics:
            raise SpecError(
                file,
                where,
                f"no device {device!r} for {comp}; the file has {_names(sorted(metrics))}",
            )
        jobs = metrics[device] or {}
        if "genie" in jobs and (jobs["genie"] or {}).get("llm_metrics"):
            out.llms.append(
                _llm(
                    comp,
                    jobs["genie"],
                    device,
                    precision,
                    cite,
                    kv_bytes_per_token,
                    prompt_chunk,
                    file,
                    f"{where}.{device}.genie",
                )
            )
            out.used.append(f"{comp}: genie (LLM)")
            continue
        chosen: dict[str, tuple[str, Mapping[str, Any]]] = {}
        refused: list[str] = []
        for rt in order:
            entry = jobs.get(rt)
            if not isinstance(entry, Mapping):
                continue
            if entry.get("job_status", "Passed") != "Passed":
                refused.append(f"{rt}: job {entry.get('job_status')}")
                continue
            why = _fell_back(entry)
            if why is not None:
                refused.append(f"{rt}: {why}")
                continue
            kind = UNIT_KINDS.get(str(entry.get("primary_compute_unit")))
            ms = entry.get("inference_time_milliseconds")
            if kind is None or not isinstance(ms, (int, float)):
                refused.append(f"{rt}: no compute unit or latency")
                continue
            chosen.setdefault(kind, (rt, entry))
        if not chosen:
            if not refused:
                raise SpecError(
                    file,
                    f"{where}.{device}",
                    f"no job of {comp} on runtimes {_names(order)}; it has {_names(jobs)}",
                )
            raise SpecError(
                file,
                f"{where}.{device}",
                f"{comp} has no accelerator measurement on {device} ({precision}): "
                + "; ".join(refused),
            )
        parts = []
        for kind, (rt, entry) in sorted(chosen.items()):
            counts = entry.get("layer_counts") or {}
            mem = entry.get("estimated_peak_memory_range_mb") or {}
            parts.append(
                f"{kind} [M] {rt} {num(entry['inference_time_milliseconds'])} ms, "
                f"{entry.get('primary_compute_unit')} "
                f"({counts.get('total', '?')} layers), job {entry.get('job_id', '?')}, "
                f"peak memory {mem.get('min', '?')}-{mem.get('max', '?')} MB"
            )
        skipped = f"; not used: {'; '.join(refused)}" if refused else ""
        layers.append(
            LayerOut(
                name=comp,
                latency_ms={
                    k: float(e["inference_time_milliseconds"])
                    for k, (_, e) in sorted(chosen.items())
                },
                latency_comment="; ".join(parts) + skipped,
                output_bytes=0.0,
                bytes_comment="[E] unknown: perf.yaml gives no tensor sizes (0 = transfers cost "
                "their sync time only); set it from the component's output shape",
            )
        )
        out.used.append(
            f"{comp}: " + ", ".join(f"{k} {rt}" for k, (rt, _) in sorted(chosen.items()))
        )
    if layers:
        out.models.append(
            ModelOut(
                name=name,
                layers=layers,
                description=f"AI Hub {path.parent.name}, {precision}, on {device}: "
                + ", ".join(layer.name for layer in layers),
            )
        )
    return out


def _llm(
    comp: str,
    genie: Mapping[str, Any],
    device: str,
    precision: str,
    cite: str,
    kv_bytes_per_token: float | None,
    chunk: int,
    file: str,
    where: str,
) -> LLMOut:
    entries = [e for e in genie.get("llm_metrics") or [] if isinstance(e, Mapping)]
    entry = max(entries, key=lambda e: e.get("context_length", 0))
    try:
        context = int(entry["context_length"])
        lo = float(entry["time_to_first_token_range_milliseconds"]["min"])
        hi = float(entry["time_to_first_token_range_milliseconds"]["max"])
        rate = float(entry["tokens_per_second"])
    except (KeyError, TypeError, ValueError):
        raise SpecError(
            file,
            f"{where}.llm_metrics",
            "expected context_length, a TTFT range and tokens_per_second",
        ) from None
    if kv_bytes_per_token is None:
        raise SpecError(
            file,
            where,
            f"{comp} is an LLM: give --kv-bytes-per-token (perf.yaml does not state the KV cache)",
        )
    if context <= chunk or hi <= lo or rate <= 0:
        raise SpecError(
            file, f"{where}.llm_metrics", "expected max TTFT > min TTFT, context > chunk"
        )
    per_token = (hi - lo) / (context - chunk)
    overhead = max(0.0, lo - chunk * per_token)
    src = f"AI Hub {cite}, {precision}, {device}, genie (NPU)"
    if abs(lo - chunk * per_token) <= 0.01 * lo:
        # TTFT proportional to the number of chunks: the cost per token is a measurement / count
        per_token = lo / chunk
        prefill_why = (
            f"[M] TTFT {num(lo)} ms for one {chunk}-token chunk / {chunk} ({num(hi)} ms at "
            f"{context} tokens: proportional to the chunks) ({src})"
        )
    else:
        prefill_why = (
            f"[M->E fit] slope of the TTFT range {num(lo)}-{num(hi)} ms from {chunk} to "
            f"{context} prompt tokens ({src})"
        )
    return LLMOut(
        name=comp,
        description=f"{comp} on {device}, {precision}, Genie",
        prefill_ms_per_token={"npu": (per_token, prefill_why)},
        prefill_chunk_overhead_ms={
            "npu": (overhead, f"[M->E fit] TTFT at {chunk} tokens less {chunk} x the slope")
        },
        decode_ms_per_token={
            "npu": DecodeOut(
                1000.0 / rate,
                0.0,
                f"[M] 1000 / {num(rate)} tok/s ({src}); per-context slope 0 [E]: AI Hub gives "
                "one response rate",
            )
        },
        kv_bytes_per_token=(float(kv_bytes_per_token), "[E] given on the command line"),
    )


def write(result: AihubImport, out: str | os.PathLike[str]) -> None:
    """Write the imported profiles (checked by the loader first)."""
    write_profiles(out, result.name, result.header, result.models, result.llms)
