"""``rtgen-opt import onnx|aihub|csv``: profiles YAML from a model or from measured latencies."""

from __future__ import annotations

from pathlib import Path

import click

from rtgen_opt.cli import main
from rtgen_opt.cli.params import COUNT, NONNEGATIVE, OUT_FILE, POSITIVE
from rtgen_opt.errors import SpecError


def parse_shapes(values: tuple[str, ...]) -> dict[str, list[int]]:
    """``("x=1x3x224x224",)`` -> ``{"x": [1, 3, 224, 224]}`` (SpecError on a malformed one)."""
    out: dict[str, list[int]] = {}
    for value in values:
        name, sep, dims = value.rpartition("=")
        try:
            shape = [int(d) for d in dims.split("x")]
        except ValueError:
            shape = []
        if not sep or not name or not shape or min(shape) < 1:
            raise SpecError(
                None, "--input-shape", f"expected NAME=D1xD2x... (D >= 1), got {value!r}"
            )
        out[name] = shape
    return out


def load_platform(path: str | None):
    """The platform spec at ``path``, or the packaged Ryzen AI platform when None."""
    from rtgen_opt.spec import PlatformSpec, load

    if path is None:
        from rtgen_opt.importers.xrbench import default_platform

        return default_platform()
    spec = load(path)
    if not isinstance(spec, PlatformSpec):
        raise SpecError(path, "kind", f"expected a platform file, got {spec.kind}")
    return spec


def scenario_options(f):
    """``--scenario FILE --fps F --horizon-ms H --granularity G``, shared by import and profile."""
    f = click.option(
        "--granularity",
        default="model",
        show_default=True,
        help="Of the written scenario: model, groups:K or layer.",
    )(f)
    f = click.option(
        "--horizon-ms", type=POSITIVE, help="Of the written scenario (default 6 periods)."
    )(f)
    f = click.option(
        "--fps", type=POSITIVE, default=30.0, show_default=True, help="Frame rate of the scenario."
    )(f)
    f = click.option(
        "--scenario",
        type=OUT_FILE,
        help="Also write a scenario running the model periodically (deadline one period).",
    )(f)
    return f


def write_scenario(
    scenario, *, out, platform_path, platform_spec, model, fps, horizon_ms, granularity, source
):
    from rtgen_opt.importers.profiles_out import write_stub_scenario

    platform = (
        platform_path
        if platform_path is not None
        else platform_spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    )
    write_stub_scenario(
        scenario,
        profiles_path=out,
        platform=platform,
        model=model,
        fps=fps,
        horizon_ms=horizon_ms,
        granularity=granularity,
        source=source,
    )
    click.echo(f"wrote {scenario}: {model} at {fps:g} FPS", err=True)


@main.group("import")
def import_group() -> None:
    """Write profiles YAML from an ONNX model (roofline estimates), from Qualcomm AI Hub's
    published perf.yaml, or from your own measurements in a CSV file."""


@import_group.command("onnx")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, type=OUT_FILE, help="Profiles YAML.")
@click.option("--groups", type=COUNT, help="Merge the layers into K groups.")
@click.option(
    "--platform",
    type=click.Path(dir_okay=False),
    help="Platform whose roofline blocks cost the layers (default: the packaged Ryzen AI HX 370).",
)
@click.option("--name", help="Model name in the profiles (default: the file's stem).")
@click.option(
    "--bytes-per-element",
    type=POSITIVE,
    help="Bytes per tensor element for every tensor (1 = INT8); default: each tensor's type.",
)
@click.option(
    "--input-shape",
    multiple=True,
    metavar="NAME=D1xD2...",
    help="Concrete shape of a graph input (symbolic dimensions default to 1).",
)
@click.option(
    "--unknown-ops",
    type=click.Choice(["error", "bytes"]),
    default="error",
    show_default=True,
    help="An op the cost model does not know: refuse, or cost it by the bytes it moves.",
)
@scenario_options
def import_onnx(
    model: str,
    out: str,
    groups: int | None,
    platform: str | None,
    name: str | None,
    bytes_per_element: float | None,
    input_shape: tuple[str, ...],
    unknown_ops: str,
    scenario: str | None,
    fps: float,
    horizon_ms: float | None,
    granularity: str,
) -> None:
    """Cost the ONNX MODEL layer by layer on every processor kind of a platform (roofline
    estimates, tagged [E]) and write the profiles YAML."""
    from rtgen_opt.importers import onnx as onnx_import
    from rtgen_opt.importers.profiles_out import write_profiles

    shapes = parse_shapes(input_shape)
    spec = load_platform(platform)
    rooflines = onnx_import.platform_rooflines(spec, platform)
    graph = onnx_import.read_graph(
        model, input_shapes=shapes, bytes_per_element=bytes_per_element, unknown_ops=unknown_ops
    )
    layers, edges = onnx_import.group_layers(
        graph, onnx_import.layer_latencies(graph, rooflines), groups
    )
    name = name or Path(model).stem
    header = onnx_import.import_header(graph, "rtgen-opt import onnx")
    header += onnx_import.roofline_header(rooflines, spec.name)
    profile = onnx_import.model_out(graph, layers, edges, name=name)
    write_profiles(out, name, header, [profile])
    if graph.unknown_ops:
        click.echo(
            "rtgen-opt: warning: costed by bytes moved only: " + ", ".join(graph.unknown_ops),
            err=True,
        )
    total = {k: sum(x.latency_ms[k] for x in layers) for k in sorted(rooflines)}
    click.echo(
        f"wrote {out}: {name}, {len(layers)} layers; whole model "
        + ", ".join(f"{k} {v:.4g} ms" for k, v in total.items())
        + " [E]",
        err=True,
    )
    if scenario:
        write_scenario(
            scenario,
            out=out,
            platform_path=platform,
            platform_spec=spec,
            model=name,
            fps=fps,
            horizon_ms=horizon_ms,
            granularity=granularity,
            source=f"roofline estimates from {Path(model).name}",
        )


@import_group.command("aihub")
@click.argument("perf", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, type=OUT_FILE, help="Profiles YAML.")
@click.option("--device", required=True, help='AI Hub device name, e.g. "Snapdragon X Elite CRD".')
@click.option(
    "--precision",
    default="float",
    show_default=True,
    help="Precision block of the perf.yaml (float, w8a8, w8a16, w4a16, ...).",
)
@click.option(
    "--runtime",
    multiple=True,
    help="Runtimes to take, in order of preference (default: qnn_dlc, qnn_context_binary, "
    "tflite, onnx, precompiled_qnn_onnx, genie).",
)
@click.option("--name", help="Model name in the profiles (default: the perf.yaml's folder).")
@click.option("--version", "source_version", help="Version of the file, cited in the comments.")
@click.option(
    "--kv-bytes-per-token",
    type=NONNEGATIVE,
    help="For an LLM: KV-cache bytes per token of context.",
)
@click.option(
    "--prompt-chunk",
    type=COUNT,
    default=128,
    show_default=True,
    help="For an LLM: tokens per prompt-processor chunk (AI Hub's info.yaml states it).",
)
def import_aihub(
    perf: str,
    out: str,
    device: str,
    precision: str,
    runtime: tuple[str, ...],
    name: str | None,
    source_version: str | None,
    kv_bytes_per_token: float | None,
    prompt_chunk: int,
) -> None:
    """Profiles from a Qualcomm AI Hub perf.yaml (quic/ai-hub-models): the measured latency of
    each component on DEVICE, per compute unit, tagged [M]. Refuses a model that fell back to
    the CPU."""
    from rtgen_opt.importers import aihub

    result = aihub.import_perf(
        perf,
        device=device,
        precision=precision,
        runtimes=runtime or None,
        name=name,
        version=source_version,
        kv_bytes_per_token=kv_bytes_per_token,
        prompt_chunk=prompt_chunk,
    )
    aihub.write(result, out)
    click.echo(f"wrote {out}: {result.summary()}", err=True)


@import_group.command("csv")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, type=OUT_FILE, help="Profiles YAML.")
@click.option("--name", help="Name of the profiles (default: the file's stem).")
def import_csv(file: str, out: str, name: str | None) -> None:
    """Profiles from your own measurements: a CSV with columns model, layer, kind, latency_ms
    and optionally output_bytes, tag (M, E or V; default M) and source."""
    from rtgen_opt.importers import csv_profiles

    spec = csv_profiles.import_csv(file, out, name=name)
    click.echo(
        f"wrote {out}: " + ", ".join(f"{m.name} ({len(m.layers)} layers)" for m in spec.models),
        err=True,
    )
