"""XRBench (Kwon et al., MLSys 2023) in rtgen_opt: usage scenarios and schedules.

:func:`read_scenario` turns a MAESTRO ``.m`` usage scenario into a
:class:`~rtgen_opt.spec.models.ScenarioSpec`: one periodic stream per network, layer latencies
per processor kind from the roofline cost model (:mod:`rtgen_opt.costs`), cascades from the
``Dependency`` blocks. :func:`read_schedule_csv` reads a schedule XRBench's simulator wrote
into per-frame records for :func:`rtgen_opt.metrics.xrbench_score`.

The ``.m`` format, as the seven usage scenarios and the probability sweep use it::

    Network ES_RITNet {
      FPS: 60
      Probability: 1.0                     (optional; trigger probability of a dependent model)
      Dependency: { ES_RITNet }            (optional, before or after Probability)
      Layer conv1 {
        Type: CONV
        Dimensions: { N: 1, K: 32, C: 32, Y: 160, X: 100, R: 3, S: 3 }
      }
    }

Tokens may be separated by any whitespace (``FPS:3`` and ``FPS: 3`` both parse); ``//``
comments are ignored.

XRBench's semantics kept here: period = ``1000 // FPS`` ms (integer division, as XRBench's load
generator: 60 FPS -> 16 ms), relative deadline one period, a dependent network's frame exists
with probability ``Probability`` and depends on the upstream frame, late frames are dropped
(``miss_mode="drop"``).
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from rtgen_opt.costs import DEFAULT_BYTES_PER_ELEMENT, ConvLayer, kind_rooflines, layer_latencies
from rtgen_opt.errors import SpecError
from rtgen_opt.files import read_text
from rtgen_opt.metrics import FrameRecord
from rtgen_opt.spec import PlatformSpec, ScenarioSpec, load, parse

#: XRBench runs each scenario for 700 ms, but its schedule CSV holds 42 frames at 60 FPS and
#: 31 at 45 FPS (frames released before ~670 ms): a horizon of 672 ms releases exactly those
#: frames (k x period < 672 for k = 0..41 at 16 ms and k = 0..30 at 22 ms).
DEFAULT_HORIZON_MS = 672.0

#: The platform XRBench scenarios are costed on when none is given: the packaged Ryzen AI 9 HX 370
#: platform (also instances/platforms/ryzen_ai_hx370.yaml). Its processors' roofline blocks (peaks
#: [V], efficiencies and launch costs [E], each number cited in the file) turn XRBench's layer
#: shapes into per-kind latencies.
DEFAULT_PLATFORM = files("rtgen_opt") / "data" / "platforms" / "ryzen_ai_hx370.yaml"

DIMENSIONS = ("N", "K", "C", "Y", "X", "R", "S")
_TOKEN = re.compile(r"\s*(?:([{}:,])|([^\s{}:,]+))")


@dataclass(frozen=True, slots=True)
class Network:
    """One ``Network`` block of a MAESTRO scenario file."""

    name: str
    fps: int
    probability: float
    dependencies: tuple[str, ...]
    layers: tuple[ConvLayer, ...]

    @property
    def period_ms(self) -> int:
        """XRBench's period: ``1000 // FPS`` ms."""
        return 1000 // self.fps


# --------------------------------------------------------------------------- parsing
class _Tokens:
    """Tokens of a ``.m`` file with their line numbers, consumed front to back."""

    def __init__(self, text: str, file: str | None) -> None:
        self.file = file
        self.items: list[tuple[str, int]] = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            line = line.split("//", 1)[0]
            pos = 0
            while pos < len(line):
                m = _TOKEN.match(line, pos)
                if m is None or m.end() == pos:
                    break  # only trailing whitespace is left
                self.items.append((m.group(1) or m.group(2), lineno))
                pos = m.end()
        self.pos = 0

    def error(self, field: str | None, message: str) -> SpecError:
        line = self.items[min(self.pos, len(self.items) - 1)][1] if self.items else 1
        return SpecError(self.file, field, f"line {line}: {message}")

    def peek(self) -> str | None:
        return self.items[self.pos][0] if self.pos < len(self.items) else None

    def next(self, field: str | None = None) -> str:
        if self.pos >= len(self.items):
            raise self.error(field, "unexpected end of file")
        token = self.items[self.pos][0]
        self.pos += 1
        return token

    def expect(self, token: str, field: str | None) -> None:
        got = self.next(field)
        if got != token:
            self.pos -= 1
            raise self.error(field, f"expected {token!r}, got {got!r}")

    def name(self, field: str | None) -> str:
        got = self.next(field)
        if got in "{}:,":
            self.pos -= 1
            raise self.error(field, f"expected a name, got {got!r}")
        return got

    def number(self, field: str, kind: type = float) -> Any:
        got = self.next(field)
        try:
            return kind(got)
        except ValueError:
            self.pos -= 1
            raise self.error(
                field, f"expected {'an integer' if kind is int else 'a number'}, got {got!r}"
            ) from None


def parse_networks(text: str, file: str | None = None) -> list[Network]:
    """The ``Network`` blocks of a MAESTRO scenario, in file order.

    Raises
    ------
    SpecError
        Naming the file, the field (``networks[1].layers[4].Dimensions.K``) and the line.

    Examples
    --------
    >>> nets = parse_networks('''Network A { FPS:30 Layer l1 { Type: CONV
    ...   Dimensions: { N: 1, K: 8, C: 3, Y: 32, X: 32, R: 3, S: 3 } } }''')
    >>> nets[0].name, nets[0].period_ms, nets[0].layers[0].k
    ('A', 33, 8)
    """
    tokens = _Tokens(text, file)
    networks: list[Network] = []
    while tokens.peek() is not None:
        where = f"networks[{len(networks)}]"
        keyword = tokens.next(where)
        if keyword != "Network":
            tokens.pos -= 1
            raise tokens.error(where, f"expected 'Network', got {keyword!r}")
        networks.append(_parse_network(tokens, where))
    if not networks:
        raise SpecError(file, None, "no 'Network' block found")
    names = [n.name for n in networks]
    for i, net in enumerate(networks):
        if net.name in names[:i]:
            raise SpecError(file, f"networks[{i}]", f"duplicate network {net.name!r}")
    for i, net in enumerate(networks):
        for dep in net.dependencies:
            if dep not in names:
                raise SpecError(
                    file, f"networks[{i}].Dependency", f"unknown network {dep!r} ({net.name})"
                )
    return networks


def _parse_network(tokens: _Tokens, where: str) -> Network:
    name = tokens.name(f"{where}.name")
    tokens.expect("{", where)
    fps: int | None = None
    probability = 1.0
    dependencies: list[str] = []
    layers: list[ConvLayer] = []
    while (key := tokens.next(where)) != "}":
        if key == "Layer":
            layers.append(_parse_layer(tokens, f"{where}.layers[{len(layers)}]"))
            continue
        tokens.expect(":", f"{where}.{key}")
        if key == "FPS":
            fps = tokens.number(f"{where}.FPS", int)
            if not 1 <= fps <= 1000:
                raise tokens.error(f"{where}.FPS", f"expected an integer in 1..1000, got {fps}")
        elif key == "Probability":
            probability = tokens.number(f"{where}.Probability")
            if not 0.0 <= probability <= 1.0:
                raise tokens.error(
                    f"{where}.Probability", f"expected a number in [0, 1], got {probability}"
                )
        elif key == "Dependency":
            tokens.expect("{", f"{where}.Dependency")
            while (dep := tokens.next(f"{where}.Dependency")) != "}":
                if dep != ",":
                    dependencies.append(dep)
        else:
            tokens.pos -= 2
            raise tokens.error(
                where, f"unknown key {key!r}; expected FPS, Probability, Dependency or Layer"
            )
    if fps is None:
        raise tokens.error(f"{where}.FPS", f"network {name!r} has no FPS")
    if not layers:
        raise tokens.error(f"{where}.layers", f"network {name!r} has no layer")
    return Network(name, fps, probability, tuple(dependencies), tuple(_unique_names(layers)))


def _unique_names(layers: list[ConvLayer]) -> list[ConvLayer]:
    """Layers with repeated names renamed ``name~2``, ``name~3``, ... (profiles need unique)."""
    seen: dict[str, int] = {}
    out = []
    for layer in layers:
        count = seen.get(layer.name, 0) + 1
        seen[layer.name] = count
        if count > 1:
            layer = ConvLayer(f"{layer.name}~{count}", *(getattr(layer, d) for d in "nkcyxrs"))
        out.append(layer)
    return out


def _parse_layer(tokens: _Tokens, where: str) -> ConvLayer:
    name = tokens.name(f"{where}.name")
    tokens.expect("{", where)
    dims: dict[str, int] = {}
    layer_type = None
    while (key := tokens.next(where)) != "}":
        tokens.expect(":", f"{where}.{key}")
        if key == "Type":
            layer_type = tokens.name(f"{where}.Type")
            if layer_type != "CONV":
                raise tokens.error(
                    f"{where}.Type", f"unsupported layer type {layer_type!r} (expected CONV)"
                )
        elif key == "Dimensions":
            tokens.expect("{", f"{where}.Dimensions")
            while (dim := tokens.next(f"{where}.Dimensions")) != "}":
                if dim == ",":
                    continue
                if dim not in DIMENSIONS:
                    tokens.pos -= 1
                    raise tokens.error(
                        f"{where}.Dimensions", f"unknown dimension {dim!r}; expected {DIMENSIONS}"
                    )
                tokens.expect(":", f"{where}.Dimensions.{dim}")
                value = tokens.number(f"{where}.Dimensions.{dim}", int)
                if value < 1:
                    raise tokens.error(f"{where}.Dimensions.{dim}", f"expected >= 1, got {value}")
                dims[dim] = value
        else:
            tokens.pos -= 2
            raise tokens.error(where, f"unknown key {key!r}; expected Type or Dimensions")
    if layer_type is None:
        raise tokens.error(f"{where}.Type", f"layer {name!r} has no Type")
    missing = [d for d in DIMENSIONS if d not in dims]
    if missing:
        raise tokens.error(f"{where}.Dimensions", f"layer {name!r} lacks {', '.join(missing)}")
    return ConvLayer(name, *(dims[d] for d in DIMENSIONS))


def read_networks(path: str | os.PathLike[str]) -> list[Network]:
    """The networks of a MAESTRO ``.m`` scenario file (see :func:`parse_networks`)."""
    path = Path(path)
    text = read_text(path, "an XRBench MAESTRO .m scenario")
    return parse_networks(text, file=str(path))


# --------------------------------------------------------------------------- scenario
def default_platform() -> PlatformSpec:
    """The packaged default platform (:data:`DEFAULT_PLATFORM`) as a checked platform spec."""
    with as_file(DEFAULT_PLATFORM) as path:
        return load(path)  # type: ignore[return-value]


def _platform_spec(platform: PlatformSpec | str | os.PathLike[str] | None) -> PlatformSpec:
    if platform is None:
        return default_platform()
    if isinstance(platform, PlatformSpec):
        return platform
    spec = load(platform)
    if not isinstance(spec, PlatformSpec):
        raise SpecError(str(platform), "kind", f"expected a platform file, got {spec.kind}")
    return spec


def scenario_data(
    networks: list[Network],
    platform: PlatformSpec,
    *,
    name: str,
    horizon_ms: float = DEFAULT_HORIZON_MS,
    seed: int = 0,
    miss_mode: str = "drop",
    granularity: str = "model",
    bytes_per_element: float = DEFAULT_BYTES_PER_ELEMENT,
    file: str | None = None,
) -> dict[str, Any]:
    """The scenario mapping (as a scenario YAML would hold it) for parsed networks."""
    rooflines = kind_rooflines(platform, file)
    if not rooflines:
        raise SpecError(
            file,
            "platform",
            f"platform {platform.name!r} has no processor with a roofline block: "
            "XRBench layers can only be costed by the roofline model",
        )
    models, streams = [], []
    for i, net in enumerate(networks):
        models.append(
            {
                "name": net.name,
                "description": f"XRBench network, {len(net.layers)} CONV layers",
                "layers": [
                    {
                        "name": layer.name,
                        "latency_ms": layer_latencies(layer, rooflines, bytes_per_element),
                        "output_bytes": layer.output_bytes(bytes_per_element),
                    }
                    for layer in net.layers
                ],
            }
        )
        stream: dict[str, Any] = {
            "type": "periodic",
            "name": net.name,
            "model": net.name,
            "period_ms": float(net.period_ms),
        }
        if len(net.dependencies) > 1:
            raise SpecError(
                file,
                f"networks[{i}].Dependency",
                f"{net.name} depends on {len(net.dependencies)} networks; one is supported",
            )
        if net.dependencies:
            stream["cascade"] = {"from": net.dependencies[0], "p": net.probability}
        elif net.probability != 1.0:
            raise SpecError(
                file,
                f"networks[{i}].Probability",
                f"{net.name} has Probability {net.probability} but no Dependency to trigger it",
            )
        streams.append(stream)
    return {
        "kind": "scenario",
        "name": name,
        "description": "imported from an XRBench MAESTRO scenario; latencies from the roofline "
        "cost model (rtgen_opt.costs)",
        "horizon_ms": float(horizon_ms),
        "seed": seed,
        "miss_mode": miss_mode,
        "granularity": granularity,
        "platform": platform.model_dump(mode="json", by_alias=True, exclude_defaults=True),
        "profiles": [{"kind": "profiles", "name": f"{name}-roofline", "models": models}],
        "streams": streams,
    }


def read_scenario(
    path: str | os.PathLike[str],
    platform: PlatformSpec | str | os.PathLike[str] | None = None,
    *,
    horizon_ms: float = DEFAULT_HORIZON_MS,
    seed: int = 0,
    miss_mode: str = "drop",
    granularity: str = "model",
    bytes_per_element: float = DEFAULT_BYTES_PER_ELEMENT,
) -> ScenarioSpec:
    """A scenario spec from an XRBench MAESTRO ``.m`` usage scenario.

    Parameters
    ----------
    path
        The ``.m`` file.
    platform
        A platform spec or platform YAML path whose processors carry ``roofline`` blocks;
        default :data:`DEFAULT_PLATFORM` (the packaged Ryzen AI 9 HX 370 platform).
    horizon_ms
        Scenario horizon; the default reproduces XRBench's frame counts
        (:data:`DEFAULT_HORIZON_MS`).
    seed
        Seed of the cascade triggers.
    miss_mode
        ``"drop"`` as in XRBench (late frames are dropped), or ``"late"``.
    granularity
        ``model``, ``groups:K`` or ``layer``.
    bytes_per_element
        Bytes per tensor element for the cost model (1 = INT8).

    Returns
    -------
    ScenarioSpec
        One periodic stream per network, named after it, ``period_ms = 1000 // FPS``, deadline
        one period, a cascade ``from`` the ``Dependency`` with ``p = Probability``.

    Raises
    ------
    SpecError
        For a malformed file, or a platform without roofline figures.
    """
    path = Path(path)
    networks = read_networks(path)
    spec = _platform_spec(platform)
    data = scenario_data(
        networks,
        spec,
        name=path.stem,
        horizon_ms=horizon_ms,
        seed=seed,
        miss_mode=miss_mode,
        granularity=granularity,
        bytes_per_element=bytes_per_element,
        file=str(path),
    )
    # parsed and checked like a scenario YAML; errors name the .m file
    return parse(data, file=str(path), kind="scenario")  # type: ignore[return-value]


# --------------------------------------------------------------------------- schedules
SCHEDULE_COLUMNS = (
    "AcceleratorID",
    "Model Name",
    "Frame ID",
    "Injection Time (ms)",
    "Dispatch Time (ms)",
    "Deadline Time (ms)",
    "Completion Time (ms)",
    "Violated Deadline Amount (ms)",
    "Energy (mJ)",
)


def read_schedule_csv(
    path: str | os.PathLike[str], frames: Mapping[str, int] | None = None
) -> list[FrameRecord]:
    """Per-frame records of a schedule CSV written by XRBench's simulator.

    XRBench writes completed frames only. A frame id missing below a model's largest id is a
    dropped frame; so is every id up to ``frames[model] - 1`` when ``frames`` gives the number
    of frames a model had (drops after its last completed frame leave no other trace). Dropped
    frames have ``completion=None``, energy 0 and a NaN deadline (it does not enter the score).

    Raises
    ------
    SpecError
        For a missing column or a malformed number.
    """
    path = Path(path)
    text = read_text(path, "an XRBench schedule CSV file")
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in SCHEDULE_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise SpecError(str(path), "header", f"missing columns: {', '.join(missing)}")
    done: dict[str, dict[int, FrameRecord]] = {}
    for line, row in enumerate(reader, start=2):
        try:
            model = row["Model Name"]
            frame = int(row["Frame ID"])
            record = FrameRecord(
                model,
                float(row["Deadline Time (ms)"]),
                float(row["Completion Time (ms)"]),
                float(row["Energy (mJ)"]),
            )
        except (TypeError, ValueError):
            raise SpecError(str(path), f"line {line}", "expected numbers") from None
        done.setdefault(model, {})[frame] = record
    out: list[FrameRecord] = []
    for model in sorted(set(done) | set(frames or {})):
        by_id = done.get(model, {})
        count = max(max(by_id, default=-1) + 1, (frames or {}).get(model, 0))
        for k in range(count):
            out.append(by_id.get(k) or FrameRecord(model, math.nan, None, 0.0))
    return out
