"""The input schemas: pydantic models of the three YAML file kinds (platform, profiles, scenario).

The models check each field on its own (types, ranges, one-of choices); checks that need several
files at once (a profile's processor kinds against the platform, a stream's model against the
profiles, cascade cycles) live in :mod:`rtgen_opt.spec.checks` so that each error can name the
file it is in. Every model is frozen and refuses unknown fields.

Units: milliseconds, bytes, watts; bandwidths in GB/s (1 GB/s = 1e6 bytes/ms).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from rtgen_opt.instance import Link, Platform, Processor

Ms = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveMs = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Bytes = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1)]
GRANULARITY_RE = re.compile(r"^(model|layer|groups:([1-9][0-9]*))$")
# Stream names become part of task ids (`<stream>#<k>/<group>`), so they may not contain the
# separators.
STREAM_NAME_RE = re.compile(r"^[^#/\s]+$")


class Spec(BaseModel):
    """Base of every spec model: frozen, strict types, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, populate_by_name=True)


def parse_granularity(value: str) -> tuple[str, int]:
    """``"model"`` -> ``("model", 1)``, ``"groups:3"`` -> ``("groups", 3)``,
    ``"layer"`` -> ``("layer", 0)``.

    Raises
    ------
    ValueError
        When ``value`` is none of ``model``, ``layer``, ``groups:K`` with K >= 1.

    Examples
    --------
    >>> parse_granularity("groups:4")
    ('groups', 4)
    """
    m = GRANULARITY_RE.match(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"expected 'model', 'layer' or 'groups:K' with K >= 1, got {value!r}")
    if m.group(2):
        return "groups", int(m.group(2))
    return (value, 1) if value == "model" else (value, 0)


def _granularity(value: str | None) -> str | None:
    if value is not None:
        parse_granularity(value)
    return value


# --------------------------------------------------------------------------- platform
class RooflineSpec(Spec):
    """Peak figures of a processor for the roofline cost model (:mod:`rtgen_opt.costs`)."""

    peak_gflops: PositiveMs = Field(description="peak compute, GFLOP/s (or GOP/s for INT8)")
    mem_bandwidth_gb_s: PositiveMs = Field(description="memory bandwidth available to it, GB/s")
    compute_efficiency: float = Field(1.0, gt=0, le=1, description="sustained fraction of peak")
    memory_efficiency: float = Field(1.0, gt=0, le=1, description="sustained fraction of BW")
    launch_ms: Ms = Field(0.0, description="fixed cost per launched layer group, ms")


class ProcessorSpec(Spec):
    """A processor, or ``count`` identical ones named ``<name>0``, ``<name>1``, ..."""

    name: Name
    kind: Name = Field(description="cpu, gpu, npu or any label the profiles use")
    count: int = Field(1, ge=1, description="identical processors of this kind")
    active_w: float = Field(0.0, ge=0, allow_inf_nan=False, description="watts while busy")
    idle_w: float = Field(0.0, ge=0, allow_inf_nan=False, description="watts while idle")
    roofline: RooflineSpec | None = None

    @property
    def names(self) -> tuple[str, ...]:
        if self.count == 1:
            return (self.name,)
        return tuple(f"{self.name}{i}" for i in range(self.count))


class LinkSpec(Spec):
    """Cost of moving data between two processors: ``sync_ms + bytes / bandwidth``."""

    sync_ms: Ms = 0.0
    bandwidth_gb_s: PositiveMs | None = Field(None, description="GB/s; null = zero-copy")

    def to_link(self) -> Link:
        bw = math.inf if self.bandwidth_gb_s is None else self.bandwidth_gb_s * 1e6
        return Link(sync_ms=self.sync_ms, bytes_per_ms=bw)


class PairLinkSpec(LinkSpec):
    """The link from processors of kind ``src`` to processors of kind ``dst`` (one direction)."""

    src: Name
    dst: Name


class TransfersSpec(Spec):
    default: LinkSpec = LinkSpec()
    pairs: list[PairLinkSpec] = []


class PlatformSpec(Spec):
    """A platform file (``kind: platform``)."""

    kind: Literal["platform"] = "platform"
    name: Name
    description: str = ""
    processors: list[ProcessorSpec] = Field(min_length=1)
    transfers: TransfersSpec = TransfersSpec()

    @property
    def kinds(self) -> tuple[str, ...]:
        """Processor kinds in order of first appearance."""
        return tuple(dict.fromkeys(p.kind for p in self.processors))

    def processors_of(self, kind: str) -> tuple[str, ...]:
        """Names of every processor of ``kind`` (after expanding ``count``)."""
        return tuple(n for p in self.processors if p.kind == kind for n in p.names)

    def to_platform(self) -> Platform:
        """The :class:`~rtgen_opt.instance.Platform` the solvers see."""
        return Platform(
            name=self.name,
            processors=tuple(
                Processor(n, p.kind, p.active_w, p.idle_w) for p in self.processors for n in p.names
            ),
            default_link=self.transfers.default.to_link(),
            links={(q.src, q.dst): q.to_link() for q in self.transfers.pairs},
        )


# --------------------------------------------------------------------------- profiles
class LayerSpec(Spec):
    """One layer: its latency on each kind that can run it, and its output size."""

    name: Name
    latency_ms: dict[str, Ms] = Field(
        min_length=1, description="kind -> ms; a kind that is missing cannot run the layer"
    )
    output_bytes: Bytes = 0.0


class ModelSpec(Spec):
    """A model: layers listed in a topological order, and the edges between them."""

    name: Name
    description: str = ""
    layers: list[LayerSpec] = Field(min_length=1)
    edges: list[Annotated[list[Name], Field(min_length=2, max_length=2)]] | None = Field(
        None, description="[src_layer, dst_layer] pairs; default: a chain in listed order"
    )

    def layer_edges(self) -> list[tuple[str, str]]:
        """The layer edges (the listed chain when ``edges`` is not given)."""
        if self.edges is None:
            names = [layer.name for layer in self.layers]
            return list(zip(names[:-1], names[1:], strict=True))
        return [(u, v) for u, v in self.edges]

    def groups(self, granularity: str) -> list[tuple[int, ...]]:
        """Layer indices of each layer group at ``granularity``.

        ``model``: one group; ``groups:K``: ``min(K, layers)`` contiguous groups balanced by
        layer count (``numpy.array_split``); ``layer``: one group per layer.

        Examples
        --------
        >>> m = ModelSpec(name="m", layers=[{"name": str(i), "latency_ms": {"cpu": 1.0}}
        ...                                 for i in range(5)])
        >>> m.groups("groups:2")
        [(0, 1, 2), (3, 4)]
        """
        mode, k = parse_granularity(granularity)
        n = len(self.layers)
        if mode == "model":
            return [tuple(range(n))]
        if mode == "layer":
            return [(i,) for i in range(n)]
        return [tuple(int(i) for i in part) for part in np.array_split(np.arange(n), min(k, n))]


class DecodeCostSpec(Spec):
    """Decode cost of one token on one kind: ``base_ms + per_context_token_ms x context``."""

    base_ms: Ms
    per_context_token_ms: Ms = 0.0


class LLMProfileSpec(Spec):
    """An LLM: prefill and decode costs per kind, and KV-cache size."""

    name: Name
    description: str = ""
    prefill_ms_per_token: dict[str, PositiveMs] = Field(min_length=1)
    prefill_chunk_overhead_ms: dict[str, Ms] = {}
    decode_ms_per_token: dict[str, DecodeCostSpec] = Field(min_length=1)
    kv_bytes_per_token: Bytes = Field(description="KV-cache bytes per token of context")
    activation_bytes_per_token: Bytes = Field(
        0.0, description="hidden-state bytes handed from one task to the next"
    )


class ProfilesSpec(Spec):
    """A profiles file (``kind: profiles``): vision/audio models and LLMs."""

    kind: Literal["profiles"] = "profiles"
    name: str = ""
    description: str = ""
    models: list[ModelSpec] = []
    llms: list[LLMProfileSpec] = []


# --------------------------------------------------------------------------- scenario
class CascadeSpec(Spec):
    """A frame exists only when the upstream stream's frame triggers it (probability ``p``)."""

    from_: Name = Field(alias="from", description="the upstream (periodic) stream")
    p: float = Field(1.0, ge=0, le=1, description="trigger probability")


class PeriodicStreamSpec(Spec):
    """A model run every period; frame k is released at ``phase_ms + k * period``."""

    type: Literal["periodic"]
    name: Name
    model: Name
    fps: PositiveMs | None = None
    period_ms: PositiveMs | None = None
    phase_ms: Ms = 0.0
    deadline_ms: PositiveMs | None = Field(None, description="relative; default one period")
    cascade: CascadeSpec | None = None
    weight: float = Field(1.0, ge=0, allow_inf_nan=False)
    granularity: str | None = Field(None, description="model | groups:K | layer")

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return _stream_name(value)

    @field_validator("granularity")
    @classmethod
    def _check_granularity(cls, value: str | None) -> str | None:
        return _granularity(value)

    @model_validator(mode="after")
    def _one_rate(self) -> PeriodicStreamSpec:
        if (self.fps is None) == (self.period_ms is None):
            raise ValueError("give exactly one of fps and period_ms")
        return self

    @property
    def period(self) -> float:
        """The period in ms."""
        return self.period_ms if self.period_ms is not None else 1000.0 / self.fps


class RequestSpec(Spec):
    arrival_ms: Ms
    prompt_tokens: int | None = Field(None, ge=1)
    output_tokens: int | None = Field(None, ge=1)


class PoissonSpec(Spec):
    """Seeded Poisson arrivals in ``[0, horizon_ms)``, at most ``count`` of them."""

    rate_per_s: PositiveMs
    count: int | None = Field(None, ge=1)


class LLMStreamSpec(Spec):
    """LLM requests: each becomes prefill chunks, then decode blocks (see rtgen_opt.compile)."""

    type: Literal["llm"]
    name: Name
    model: Name = Field(description="an llm profile")
    requests: list[RequestSpec] | None = None
    poisson: PoissonSpec | None = None
    prompt_tokens: int | None = Field(None, ge=1, description="default for every request")
    output_tokens: int | None = Field(None, ge=1, description="default for every request")
    ttft_slo_ms: PositiveMs
    tpot_slo_ms: PositiveMs
    prefill_chunk: int = Field(ge=1, description="tokens per prefill task")
    decode_block: int = Field(ge=1, description="tokens per decode task")
    weight: float = Field(1.0, ge=0, allow_inf_nan=False)

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        return _stream_name(value)

    @model_validator(mode="after")
    def _one_arrival_source(self) -> LLMStreamSpec:
        if (self.requests is None) == (self.poisson is None):
            raise ValueError("give exactly one of requests and poisson")
        return self


StreamSpec = Annotated[PeriodicStreamSpec | LLMStreamSpec, Field(discriminator="type")]
STREAM_TYPES = ("periodic", "llm")


class ScenarioSpec(Spec):
    """A scenario file (``kind: scenario``).

    ``platform`` and ``profiles`` may be paths in the file; :func:`rtgen_opt.spec.load` reads
    them (relative to the scenario file), so the loaded object always holds them inline.
    """

    kind: Literal["scenario"] = "scenario"
    name: Name
    description: str = ""
    horizon_ms: PositiveMs
    seed: int = Field(0, ge=0)
    miss_mode: Literal["late", "drop"] = "late"
    granularity: str = Field("model", description="model | groups:K | layer")
    resolution_ms: PositiveMs = 0.001
    platform: PlatformSpec
    profiles: list[ProfilesSpec] = Field(min_length=1)
    streams: list[StreamSpec] = Field(min_length=1)

    # Where each part came from, for error messages: "" = this file, else the referenced path.
    _file: str | None = PrivateAttr(None)
    _platform_file: str | None = PrivateAttr(None)
    _profiles_files: tuple[str | None, ...] = PrivateAttr(())

    @field_validator("granularity")
    @classmethod
    def _check_granularity(cls, value: str) -> str:
        return _granularity(value)

    def stream_granularity(self, stream: PeriodicStreamSpec) -> str:
        return stream.granularity or self.granularity


def _stream_name(value: str) -> str:
    if not STREAM_NAME_RE.match(value):
        raise ValueError(f"expected a name without '#', '/' or spaces, got {value!r}")
    return value


SPEC_KINDS: dict[str, type[Spec]] = {
    "platform": PlatformSpec,
    "profiles": ProfilesSpec,
    "scenario": ScenarioSpec,
}
