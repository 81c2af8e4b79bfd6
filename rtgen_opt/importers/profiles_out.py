"""Writing the profiles (and scenario) YAML that importers produce, a comment on every number.

An importer builds :class:`ModelOut` / :class:`LLMOut` records whose numbers each carry the
comment citing their source and tag; :func:`render_profiles` lays them out as a ``kind:
profiles`` file, :func:`write_profiles` checks the text with the ordinary loader
(:func:`rtgen_opt.spec.parse`) before it writes it atomically, so a written file always loads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rtgen_opt.errors import SpecError
from rtgen_opt.files import write_atomic
from rtgen_opt.spec import ProfilesSpec, parse, safe_load


def num(x: float, digits: int = 6) -> str:
    """``x`` to ``digits`` significant digits, positional (YAML 1.1 reads ``1e-05`` as a
    string, so no exponent is ever written).

    Examples
    --------
    >>> num(0.000012345678), num(1234567.0), num(2.0)
    ('0.0000123457', '1234570', '2')
    """
    x = float(x)
    if x == 0:
        return "0"
    return np.format_float_positional(x, precision=digits, unique=False, fractional=False, trim="-")


def comment(text: str) -> str:
    """A one-line YAML comment (newlines folded)."""
    return " ".join(text.split())


@dataclass
class LayerOut:
    """One layer: latency per kind and output bytes, each with the comment that sources it."""

    name: str
    latency_ms: Mapping[str, float]
    latency_comment: str
    output_bytes: float = 0.0
    bytes_comment: str = ""


@dataclass
class ModelOut:
    name: str
    layers: list[LayerOut]
    description: str = ""
    edges: list[tuple[str, str]] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class DecodeOut:
    base_ms: float
    per_context_token_ms: float
    comment: str


@dataclass
class LLMOut:
    name: str
    prefill_ms_per_token: Mapping[str, tuple[float, str]]
    decode_ms_per_token: Mapping[str, DecodeOut]
    kv_bytes_per_token: tuple[float, str]
    prefill_chunk_overhead_ms: Mapping[str, tuple[float, str]] = field(default_factory=dict)
    activation_bytes_per_token: tuple[float, str] | None = None
    description: str = ""
    notes: list[str] = field(default_factory=list)


def _q(text: str) -> str:
    """A YAML-safe scalar for a name or description."""
    return yaml.safe_dump(text, default_style=None, width=10_000).strip().removesuffix("\n...")


def _flow(values: Mapping[str, float]) -> str:
    return "{" + ", ".join(f"{k}: {num(v)}" for k, v in values.items()) + "}"


def render_profiles(
    name: str,
    header: Sequence[str],
    models: Sequence[ModelOut] = (),
    llms: Sequence[LLMOut] = (),
) -> str:
    """The text of a ``kind: profiles`` file with ``header`` comment lines on top."""
    lines = [f"# {comment(h)}" if h else "#" for h in header]
    lines += ["kind: profiles", f"name: {_q(name)}"]
    if models:
        lines.append("models:")
    for m in models:
        lines.append(f"  - name: {_q(m.name)}")
        for note in m.notes:
            lines.append(f"    # {comment(note)}")
        if m.description:
            lines.append(f"    description: {_q(m.description)}")
        lines.append("    layers:")
        for layer in m.layers:
            lines.append(f"      - name: {_q(layer.name)}")
            lines.append(
                f"        latency_ms: {_flow(layer.latency_ms)}  # {comment(layer.latency_comment)}"
            )
            tail = f"  # {comment(layer.bytes_comment)}" if layer.bytes_comment else ""
            lines.append(f"        output_bytes: {num(layer.output_bytes, 12)}{tail}")
        if m.edges is not None:
            lines.append("    edges:")
            for u, v in m.edges:
                lines.append(f"      - [{_q(u)}, {_q(v)}]")
    if llms:
        lines.append("llms:")
    for llm in llms:
        lines.append(f"  - name: {_q(llm.name)}")
        for note in llm.notes:
            lines.append(f"    # {comment(note)}")
        if llm.description:
            lines.append(f"    description: {_q(llm.description)}")
        lines.append("    prefill_ms_per_token:")
        for kind, (value, why) in llm.prefill_ms_per_token.items():
            lines.append(f"      {kind}: {num(value)}  # {comment(why)}")
        if llm.prefill_chunk_overhead_ms:
            lines.append("    prefill_chunk_overhead_ms:")
            for kind, (value, why) in llm.prefill_chunk_overhead_ms.items():
                lines.append(f"      {kind}: {num(value)}  # {comment(why)}")
        lines.append("    decode_ms_per_token:")
        for kind, d in llm.decode_ms_per_token.items():
            lines.append(
                f"      {kind}: {{base_ms: {num(d.base_ms)}, "
                f"per_context_token_ms: {num(d.per_context_token_ms)}}}  # {comment(d.comment)}"
            )
        value, why = llm.kv_bytes_per_token
        lines.append(f"    kv_bytes_per_token: {num(value, 12)}  # {comment(why)}")
        if llm.activation_bytes_per_token is not None:
            value, why = llm.activation_bytes_per_token
            lines.append(f"    activation_bytes_per_token: {num(value, 12)}  # {comment(why)}")
    return "\n".join(lines) + "\n"


def check_text(text: str, file: str | None) -> Any:
    """Parse ``text`` as rtgen_opt would load it (the importer's own bug if this fails)."""
    return parse(safe_load(text), file=file)


def write_profiles(
    path: str | os.PathLike[str],
    name: str,
    header: Sequence[str],
    models: Sequence[ModelOut] = (),
    llms: Sequence[LLMOut] = (),
) -> ProfilesSpec:
    """Render, check with the loader, write atomically; returns the spec as loaded."""
    text = render_profiles(name, header, models, llms)
    spec = check_text(text, str(path))
    write_atomic(path, text)
    return spec


def write_stub_scenario(
    path: str | os.PathLike[str],
    *,
    profiles_path: str | os.PathLike[str],
    platform: str | os.PathLike[str] | Mapping[str, Any],
    model: str,
    fps: float,
    horizon_ms: float | None = None,
    granularity: str = "model",
    source: str = "",
) -> None:
    """A scenario running ``model`` at ``fps`` (deadline one period) on ``platform``.

    ``platform`` is a platform YAML path (referenced relative to the scenario) or a platform
    mapping (written inline). The horizon defaults to six periods. The scenario is checked by
    the loader (it must compile) before it is written.
    """
    path = Path(path)
    if not fps > 0:
        raise SpecError(None, "--fps", f"expected a number > 0, got {fps}")
    period = 1000.0 / fps
    horizon = horizon_ms if horizon_ms is not None else 6 * period
    base = path.parent.resolve()
    data: dict[str, Any] = {
        "kind": "scenario",
        "name": path.stem.removesuffix(".scenario"),
        "description": f"{model} at {num(fps)} FPS, deadline one period"
        + (f"; {source}" if source else ""),
        "horizon_ms": float(num(horizon)),
        "seed": 0,
        "miss_mode": "late",
        "granularity": granularity,
        "platform": (
            os.path.relpath(Path(platform).resolve(), base)
            if isinstance(platform, (str, os.PathLike))
            else dict(platform)
        ),
        "profiles": [os.path.relpath(Path(profiles_path).resolve(), base)],
        "streams": [{"type": "periodic", "name": "frames", "model": model, "fps": float(fps)}],
    }
    text = "# Written by rtgen-opt: one periodic stream of the imported model.\n" + yaml.safe_dump(
        data, sort_keys=False
    )
    from rtgen_opt.compile import compile

    spec = parse(safe_load(text), file=str(path), base_dir=path.parent)
    compile(spec)  # fails here, not later, if the model cannot run on the platform
    write_atomic(path, text)
