"""``rtgen-opt profile MODEL.onnx``: measure a model here with ONNX Runtime, write [M] profiles."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from rtgen_opt.cli import main
from rtgen_opt.cli.import_cmd import load_platform, parse_shapes, scenario_options, write_scenario
from rtgen_opt.cli.params import COUNT, COUNT0, OUT_FILE
from rtgen_opt.errors import ArgumentError, SpecError


def _provider_kinds(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        provider, sep, kind = value.partition("=")
        if not sep or not provider or not kind:
            raise ArgumentError("--provider-kind", f"expected PROVIDER=KIND, got {value!r}")
        out[provider] = kind
    return out


@main.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, type=OUT_FILE, help="Profiles YAML.")
@click.option(
    "--provider",
    multiple=True,
    help="Execution provider to measure (repeatable; default: every one onnxruntime offers "
    "here, the first per processor kind).",
)
@click.option(
    "--provider-kind",
    multiple=True,
    metavar="PROVIDER=KIND",
    help="The processor kind a provider runs on, for one rtgen-opt does not know.",
)
@click.option("--warmup", type=COUNT0, default=5, show_default=True)
@click.option("--repeat", type=COUNT, default=20, show_default=True)
@click.option(
    "--node-repeat",
    type=COUNT0,
    default=5,
    show_default=True,
    help="Profiled runs for the per-node times (0: whole model only).",
)
@click.option("--threads", type=COUNT, help="Intra-op threads (default: ORT's).")
@click.option("--groups", type=COUNT, help="Merge the layers into K groups.")
@click.option("--name", help="Model name in the profiles (default: the file's stem).")
@click.option("--input-shape", multiple=True, metavar="NAME=D1xD2...")
@click.option(
    "--unknown-ops", type=click.Choice(["error", "bytes"]), default="error", show_default=True
)
@click.option(
    "--platform",
    type=click.Path(dir_okay=False),
    help="The platform you are running on: its other kinds get roofline estimates [E], and "
    "--calibrate fits its efficiencies.",
)
@click.option(
    "--calibrate", is_flag=True, help="Fit the roofline efficiencies of each measured kind."
)
@click.option(
    "--platform-out",
    type=OUT_FILE,
    help="With --calibrate: write the platform with the fitted efficiencies here.",
)
@scenario_options
def profile(
    model: str,
    out: str,
    provider: tuple[str, ...],
    provider_kind: tuple[str, ...],
    warmup: int,
    repeat: int,
    node_repeat: int,
    threads: int | None,
    groups: int | None,
    name: str | None,
    input_shape: tuple[str, ...],
    unknown_ops: str,
    platform: str | None,
    calibrate: bool,
    platform_out: str | None,
    scenario: str | None,
    fps: float,
    horizon_ms: float | None,
    granularity: str,
) -> None:
    """Measure MODEL on this machine with ONNX Runtime (each execution provider: warm-up, then
    timed runs; per node where the profiler allows) and write the measured latencies, tagged
    [M] with the machine, provider and runtime versions."""
    from rtgen_opt import profiling
    from rtgen_opt.costs import Sample
    from rtgen_opt.importers import onnx as onnx_import
    from rtgen_opt.importers.onnx import CostedLayer
    from rtgen_opt.importers.profiles_out import write_profiles

    if calibrate and platform is None:
        raise ArgumentError("--calibrate", "needs --platform: the peaks the efficiencies scale")
    if platform_out and not calibrate:
        raise ArgumentError("--platform-out", "only with --calibrate")
    shapes = parse_shapes(input_shape)
    spec = load_platform(platform) if platform is not None else None
    rooflines = onnx_import.platform_rooflines(spec, platform) if spec is not None else {}
    graph = onnx_import.read_graph(model, input_shapes=shapes, unknown_ops=unknown_ops)
    kinds = profiling.provider_kinds(provider or None, _provider_kinds(provider_kind))
    if spec is not None:
        for p, kind in kinds.items():
            if kind not in spec.kinds:
                raise SpecError(
                    platform, "processors", f"{p} runs on kind {kind!r}, which the platform lacks"
                )
    base = onnx_import.layer_latencies(graph, rooflines)
    measured: dict[str, profiling.Measurement] = {}
    per_layer: dict[str, dict[int, float] | None] = {}
    for p, kind in kinds.items():
        click.echo(f"measuring {Path(model).name} on {p} ({kind}) ...", err=True)
        m = profiling.measure(
            model,
            p,
            kind,
            warmup=warmup,
            repeat=repeat,
            node_repeat=node_repeat,
            threads=threads,
            input_shapes=shapes,
        )
        measured[kind] = m
        per_layer[kind] = profiling.apportion(graph, base, m)
        click.echo(
            f"  median {m.median_ms:.4g} ms (p10-p90 {m.percentile(10):.4g}-"
            f"{m.percentile(90):.4g} ms), {len(m.node_ms)} nodes timed",
            err=True,
        )
    whole_only = any(v is None for v in per_layer.values())
    if whole_only:
        # some provider timed the whole model only: one layer, measured as a whole
        base, _ = onnx_import.group_layers(graph, base, 1)
        per_layer = {k: {0: m.median_ms} for k, m in measured.items()}
    merged = [
        CostedLayer(
            c.name,
            {**c.latency_ms, **{k: per_layer[k][i] for k in measured}},  # type: ignore[index]
            c.flops,
            c.nbytes,
            c.output_bytes,
            c.layers,
            c.nodes,
            c.outputs,
        )
        for i, c in enumerate(base)
    ]
    edges = list(graph.edges) if not whole_only else []
    layers, edges = (
        onnx_import.group_layers(graph, merged, groups) if not whole_only else (merged, edges)
    )
    notes = "; ".join(
        f"{k} {m.note()}"
        + ("" if whole_only else ", split over layers by the node times of ORT's profiler")
        for k, m in measured.items()
    )
    name = name or Path(model).stem
    header = onnx_import.import_header(graph, "rtgen-opt profile")
    header.append(f"Measured here: {next(iter(measured.values())).machine.text()}")
    if rooflines:
        header += onnx_import.roofline_header(rooflines, spec.name)  # type: ignore[union-attr]
    measured_map = {
        i: ({k: layer.latency_ms[k] for k in measured}, notes) for i, layer in enumerate(layers)
    }
    profile_out = onnx_import.model_out(graph, layers, edges, name=name, measured=measured_map)
    write_profiles(out, name, header, [profile_out])
    click.echo(
        f"wrote {out}: {name}, {len(layers)} layers; "
        + ", ".join(f"{k} {m.median_ms:.4g} ms [M]" for k, m in measured.items()),
        err=True,
    )
    if calibrate:
        samples: dict[str, list[Sample]] = {}
        for kind, m in measured.items():
            if whole_only:
                samples[kind] = [
                    Sample(
                        graph.flops,
                        sum(layer.nbytes for layer in graph.layers),
                        m.median_ms,
                        len(graph.layers),
                    )
                ]
            else:
                samples[kind] = [
                    Sample(c.flops, c.nbytes, per_layer[kind][i])  # type: ignore[index]
                    for i, c in enumerate(base)
                ]
        cal = profiling.calibrate(samples, rooflines)
        for kind, fit in cal.fits.items():
            click.echo(
                f"calibrated {kind}: compute_efficiency {fit.compute_efficiency:.4g}, "
                f"memory_efficiency {fit.memory_efficiency:.4g} ({fit.samples} samples, "
                f"median |error| {fit.median_abs_error:.1%}, max {fit.max_abs_error:.1%})"
            )
        if platform_out:
            _write_calibrated(platform, platform_out, cal, Path(model).name)
            click.echo(f"wrote {platform_out}", err=True)
    if scenario:
        plat_spec = spec
        if spec is None:
            plat_spec = _this_machine(list(measured))
        write_scenario(
            scenario,
            out=out,
            platform_path=platform,
            platform_spec=plat_spec,
            model=name,
            fps=fps,
            horizon_ms=horizon_ms,
            granularity=granularity,
            source=f"latencies measured by rtgen-opt profile on {next(iter(measured.values())).machine.cpu}",
        )


def _this_machine(kinds: list[str]):
    """A platform of this machine: one processor per measured kind."""
    from rtgen_opt.spec import parse

    data = {
        "kind": "platform",
        "name": "this-machine",
        "description": "the machine rtgen-opt profile measured on, one processor per kind",
        "processors": [{"name": k, "kind": k} for k in kinds],
    }
    if len(kinds) > 1:
        # [E] profiles.md §4 default transfer model: 0.2 ms sync, 40 GB/s copy
        data["transfers"] = {"default": {"sync_ms": 0.2, "bandwidth_gb_s": 40.0}}
    return parse(data, kind="platform")


def _write_calibrated(platform: str, out: str, cal, model: str) -> None:
    from rtgen_opt.files import write_atomic
    from rtgen_opt.importers.profiles_out import num
    from rtgen_opt.spec import parse, read_yaml, safe_load

    data = read_yaml(Path(platform))
    lines = [
        f"# {Path(platform).name} with roofline efficiencies fitted by `rtgen-opt profile "
        f"--calibrate` to measurements of {model} [E: fitted to [M]]:"
    ]
    for proc in data.get("processors", []):
        fit = cal.fits.get(proc.get("kind"))
        if fit is None or not isinstance(proc.get("roofline"), dict):
            continue
        proc["roofline"]["compute_efficiency"] = float(num(fit.compute_efficiency, 4))
        proc["roofline"]["memory_efficiency"] = float(num(fit.memory_efficiency, 4))
        lines.append(
            f"#   {proc['kind']}: compute {num(fit.compute_efficiency, 4)}, memory "
            f"{num(fit.memory_efficiency, 4)} ({fit.samples} samples, median |error| "
            f"{fit.median_abs_error:.1%})"
        )
    data["name"] = f"{data.get('name', 'platform')}-calibrated"
    text = "\n".join(lines) + "\n" + yaml.safe_dump(data, sort_keys=False)
    parse(safe_load(text), file=out)
    write_atomic(out, text)
