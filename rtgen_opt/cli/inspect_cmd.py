"""``rtgen-opt inspect FILE`` and ``rtgen-opt schema [KIND]``."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import click

from rtgen_opt.cli import load_kwargs, load_option, main
from rtgen_opt.inputs import load_instance
from rtgen_opt.instance import Instance
from rtgen_opt.spec import (
    SPEC_KINDS,
    PlatformSpec,
    ProfilesSpec,
    read_yaml,
    schema,
)
from rtgen_opt.spec import load as load_spec


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@load_option
def inspect(file: Path, load: float | dict[str, float] | None) -> None:
    """Summarise FILE: a scenario, instance JSON, XRBench .m or FJSP file (the compiled task
    graph), or a platform or profiles YAML."""
    if file.suffix.lower() in (".yaml", ".yml") and file.is_file():
        kind = read_yaml(file).get("kind")
        if kind in ("platform", "profiles"):
            spec = load_spec(file)
            text = (
                platform_summary(spec) if isinstance(spec, PlatformSpec) else profiles_summary(spec)
            )
            click.echo(text)
            return
    click.echo(instance_summary(load_instance(file, **load_kwargs(load))))


@main.command("schema")
@click.argument("kind", required=False, type=click.Choice(list(SPEC_KINDS)))
def schema_cmd(kind: str | None) -> None:
    """Print the JSON Schema of a file KIND (platform, profiles, scenario); all three if none."""
    if kind is not None:
        click.echo(json.dumps(schema(kind), indent=2))
    else:
        click.echo(json.dumps({k: schema(k) for k in SPEC_KINDS}, indent=2))


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}".rstrip("0").rstrip(".") + " ms"


def instance_summary(inst: Instance) -> str:
    """A readable summary of an instance: size, jobs per stream, work per processor kind."""
    g = inst.graph
    lines = [
        f"instance   {inst.name}",
        f"platform   {inst.platform.name}: "
        + ", ".join(f"{p.name} ({p.kind})" for p in inst.platform.processors),
        f"tasks      {g.number_of_nodes()}",
        f"edges      {g.number_of_edges()}",
        f"jobs       {len(inst.jobs)}",
        f"horizon    {_ms(inst.horizon)}",
        f"miss mode  {inst.miss_mode}",
        f"resolution {_ms(inst.resolution)}",
    ]
    per_stream = Counter(j.stream for j in inst.jobs.values())
    tasks_per_stream = Counter(g.nodes[t]["stream"] for t in g)
    lines.append("streams")
    for name in sorted(per_stream):
        s = inst.streams.get(name)
        what = ""
        if s is not None and s.kind == "periodic":
            what = f"  periodic {s.model}, period {_ms(s.period_ms)}"
        elif s is not None and s.kind == "llm":
            what = f"  llm {s.model}, TTFT SLO {_ms(s.ttft_slo_ms)}, TPOT SLO {_ms(s.tpot_slo_ms)}"
        lines.append(
            f"  {name:<16} {per_stream[name]:>6} jobs {tasks_per_stream[name]:>6} tasks{what}"
        )
    # Total work per kind: for each task that can run on the kind, its fastest duration there.
    kinds = inst.platform.kinds
    kind_of = {p.name: p.kind for p in inst.platform.processors}
    work = dict.fromkeys(kinds, 0.0)
    eligible = Counter()
    for t in g:
        best: dict[str, float] = {}
        for proc, ms in g.nodes[t]["durations"].items():
            k = kind_of[proc]
            best[k] = min(best.get(k, math.inf), ms)
        for k, ms in best.items():
            work[k] += ms
            eligible[k] += 1
    lines.append("work per processor kind (sum over eligible tasks of their duration there)")
    for k in kinds:
        count = sum(1 for p in inst.platform.processors if p.kind == k)
        lines.append(
            f"  {k:<8} x{count}  {eligible[k]:>6} tasks eligible  {work[k]:>12.3f} ms total"
        )
    if inst.requests:
        lines.append(f"llm requests {len(inst.requests)}")
        for r in inst.requests.values():
            lines.append(
                f"  {r.id:<16} arrival {_ms(r.arrival)}, prompt {r.prompt_tokens}, "
                f"output {r.output_tokens} tokens, {len(r.prefill_tasks)} prefill + "
                f"{len(r.decode_tasks)} decode tasks"
            )
    return "\n".join(lines)


def platform_summary(spec: PlatformSpec) -> str:
    lines = [f"platform {spec.name}", "processors"]
    for p in spec.processors:
        roof = ""
        if p.roofline is not None:
            r = p.roofline
            roof = (
                f", roofline {r.peak_gflops:g} GFLOP/s x {r.compute_efficiency:g}, "
                f"{r.mem_bandwidth_gb_s:g} GB/s x {r.memory_efficiency:g}"
            )
        lines.append(
            f"  {', '.join(p.names):<12} kind {p.kind:<5} active {p.active_w:g} W, "
            f"idle {p.idle_w:g} W{roof}"
        )

    def link(sync: float, bw: float | None) -> str:
        return f"{sync:g} ms + " + ("zero-copy" if bw is None else f"bytes / {bw:g} GB/s")

    d = spec.transfers.default
    lines.append(f"transfers  default: {link(d.sync_ms, d.bandwidth_gb_s)}")
    for q in spec.transfers.pairs:
        lines.append(f"  {q.src} -> {q.dst}: {link(q.sync_ms, q.bandwidth_gb_s)}")
    return "\n".join(lines)


def profiles_summary(spec: ProfilesSpec) -> str:
    lines = [
        f"profiles {spec.name or '(unnamed)'}: {len(spec.models)} models, {len(spec.llms)} llms"
    ]
    for m in spec.models:
        kinds = sorted({k for layer in m.layers for k in layer.latency_ms})
        total = {
            k: sum(layer.latency_ms[k] for layer in m.layers)
            for k in kinds
            if all(k in layer.latency_ms for layer in m.layers)
        }
        whole = ", ".join(f"{k} {ms:g} ms" for k, ms in total.items()) or "no single kind"
        lines.append(
            f"  model {m.name:<22} {len(m.layers)} layers, kinds {','.join(kinds)}; "
            f"whole model: {whole}"
        )
    for llm in spec.llms:
        prefill = ", ".join(f"{k} {ms:g}" for k, ms in llm.prefill_ms_per_token.items())
        decode = ", ".join(
            f"{k} {c.base_ms:g}+{c.per_context_token_ms:g}/ctx"
            for k, c in llm.decode_ms_per_token.items()
        )
        lines.append(
            f"  llm   {llm.name:<22} prefill ms/token: {prefill}; decode ms/token: {decode}; "
            f"KV {llm.kv_bytes_per_token:g} B/token"
        )
    return "\n".join(lines)
