"""The compiler: a scenario (streams over a horizon, a platform, profiles) -> an :class:`Instance`.

Streams become jobs, jobs become tasks (layer groups, prefill chunks, decode blocks), and data
dependencies become edges carrying bytes. The node and edge attributes are those documented in
:mod:`rtgen_opt.instance`.

Periodic streams
----------------
Frame ``k`` of a stream is released at ``phase_ms + k * period`` (on the resolution grid) for
every release before ``horizon_ms``; its deadline is ``release + deadline_ms`` (default: one
period). The frame is one job, ``<stream>#<k>``, made of one task per layer group,
``<stream>#<k>/<group>``: group ``model`` (granularity ``model``), ``g0 .. g{K-1}``
(``groups:K``: ``min(K, layers)`` contiguous groups balanced by layer count) or the layer's name
(``layer``). A group runs on a kind when every one of its layers does, for the sum of their
latencies, and on every processor of that kind. Where a layer edge crosses two groups the group
edge carries the sum of the output bytes of the crossing source layers.

A cascaded stream's frame ``k`` exists only when triggered: a Bernoulli(``p``) draw from
``numpy.random.default_rng([seed, crc32(stream name)])`` -- seeded by the stream's *name*, so
adding, removing or reordering other streams never changes its draws -- and only if its
upstream frame exists. The upstream frame is the one released latest at or before it (the same
``k`` for equal periods and phases); with no such frame, the dependent frame does not exist.
Edges go from the upstream frame's sink task(s) to the dependent frame's source task(s),
carrying the output bytes of the upstream model's sink layers.

LLM streams
-----------
Requests are listed (``requests[i]`` becomes ``<stream>#r<i>``) or drawn from a Poisson process
(exponential inter-arrival times from the stream's seeded generator, at most ``count``);
requests arriving at or after ``horizon_ms`` are outside the scenario. A request with ``P``
prompt tokens and ``N`` output tokens becomes:

* ``ceil(P / prefill_chunk)`` prefill tasks ``<req>/p<c>`` in a chain (the last chunk may be
  partial), each taking ``tokens * prefill_ms_per_token[kind] + prefill_chunk_overhead_ms[kind]``.
  Together they form the job ``<req>/ttft`` with deadline ``arrival + ttft_slo_ms``; the prefill
  produces the first output token.
* ``ceil((N - 1) / decode_block)`` decode tasks ``<req>/d<j>`` in a chain after the prefill, each
  its own job. Output token ``i`` (``i >= 1``) costs ``base_ms + per_context_token_ms * (P + i)``
  on a kind. Block ``j`` ends with token ``t_j = min((j + 1) * decode_block, N - 1)`` and has
  the milestone deadline ``arrival + ttft_slo_ms + t_j * tpot_slo_ms`` -- that is
  ``(j + 1) * decode_block * tpot_slo_ms`` after the TTFT target for every full block.
* Each edge carries the KV cache of the context at that point, ``kv_bytes_per_token *
  context`` (context = prompt tokens processed so far, or ``P + t_j`` after decode block ``j``),
  plus ``activation_bytes_per_token`` for the hidden state handed over, so moving a request to
  another processor pays for its KV cache.

LLM tasks are never dropped (``droppable=False``). Every task of a job has the job's deadline,
stream and weight.
"""

from __future__ import annotations

import bisect
import math
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from rtgen_opt.errors import ArgumentError, SpecError
from rtgen_opt.grid import on_grid, ticks
from rtgen_opt.instance import Instance, Request, Stream
from rtgen_opt.spec import (
    LLMProfileSpec,
    LLMStreamSpec,
    ModelSpec,
    PeriodicStreamSpec,
    ScenarioSpec,
    check_scenario,
    load,
    parse_granularity,
)

__all__ = [
    "DEFAULT_MAX_TASKS",
    "compile",
    "frame_releases",
    "model_groups",
    "parse_load",
    "stream_rng",
    "task_cap",
    "task_count",
    "with_load",
]

#: The most tasks :func:`compile` makes unless told otherwise (its ``max_tasks``, or the
#: environment variable ``RTGEN_OPT_MAX_TASKS``): a medium scenario has about a thousand, the
#: solvers struggle beyond tens of thousands, and a graph of a million tasks takes gigabytes.
DEFAULT_MAX_TASKS = 200_000
MAX_TASKS_ENV = "RTGEN_OPT_MAX_TASKS"


def compile(  # noqa: A001 - the public name of the compiler, rtgen_opt.compile
    scenario: ScenarioSpec | str | os.PathLike[str],
    *,
    seed: int | None = None,
    granularity: str | None = None,
    miss_mode: str | None = None,
    horizon_ms: float | None = None,
    load: float | Mapping[str, float] | None = None,
    max_tasks: int | None = None,
) -> Instance:
    """Compile a scenario into an :class:`~rtgen_opt.instance.Instance`.

    Parameters
    ----------
    scenario
        A :class:`~rtgen_opt.spec.ScenarioSpec` or the path of a scenario YAML file.
    seed, granularity, miss_mode, horizon_ms
        Overrides of the scenario's values, for sweeps. ``granularity`` replaces the scenario's
        and every stream's own.
    load
        Scales the streams' rates, for load sweeps (see :func:`with_load`): a factor for every
        stream, or a mapping from stream names to factors (the others keep theirs).
    max_tasks
        Refuse a scenario that would make more tasks than this (counted before any frame is
        expanded, see :func:`task_count`); default :func:`task_cap`, i.e.
        ``RTGEN_OPT_MAX_TASKS`` or :data:`DEFAULT_MAX_TASKS`.

    Returns
    -------
    Instance
        Deterministic: the same scenario and overrides give the same instance JSON.

    Raises
    ------
    SpecError
        For a malformed scenario or override, naming the file and field, and for a scenario
        beyond the task cap, with the count it would have made.

    Examples
    --------
    >>> import rtgen_opt
    >>> inst = rtgen_opt.compile("instances/scenarios/video_call_small.yaml")  # doctest: +SKIP
    >>> len(inst.jobs)  # doctest: +SKIP
    """
    spec = _with_overrides(_scenario_of(scenario), seed, granularity, miss_mode, horizon_ms)
    if load is not None:
        spec = with_load(spec, load)
    check_scenario(spec)
    _check_size(spec, task_cap() if max_tasks is None else max_tasks)
    builder = _Builder(spec)
    for stream in _cascade_order(spec):
        if isinstance(stream, PeriodicStreamSpec):
            builder.add_periodic(stream)
        else:
            builder.add_llm(stream)
    return builder.instance()


# --------------------------------------------------------------------------- inputs
def _scenario_of(scenario: ScenarioSpec | str | os.PathLike[str]) -> ScenarioSpec:
    if isinstance(scenario, ScenarioSpec):
        return scenario
    if isinstance(scenario, (str, os.PathLike)):
        spec = load(scenario)
        if not isinstance(spec, ScenarioSpec):
            raise SpecError(
                str(scenario), "kind", f"expected a scenario file, got a {spec.kind} file"
            )
        return spec
    raise TypeError(f"expected a ScenarioSpec or a path, got {type(scenario).__name__}")


def _with_overrides(
    spec: ScenarioSpec,
    seed: int | None,
    granularity: str | None,
    miss_mode: str | None,
    horizon_ms: float | None,
) -> ScenarioSpec:
    update: dict[str, Any] = {}
    if seed is not None:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ArgumentError("seed", f"expected an integer >= 0, got {seed!r}")
        update["seed"] = seed
    if miss_mode is not None:
        if miss_mode not in ("late", "drop"):
            raise ArgumentError("miss_mode", f"expected 'late' or 'drop', got {miss_mode!r}")
        update["miss_mode"] = miss_mode
    if horizon_ms is not None:
        if not isinstance(horizon_ms, (int, float)) or not 0 < horizon_ms < math.inf:
            raise ArgumentError("horizon_ms", f"expected a number > 0, got {horizon_ms!r}")
        update["horizon_ms"] = float(horizon_ms)
    if granularity is not None:
        try:
            parse_granularity(granularity)
        except ValueError as exc:
            raise ArgumentError("granularity", str(exc)) from None
        update["granularity"] = granularity
        update["streams"] = [
            s.model_copy(update={"granularity": None}) if isinstance(s, PeriodicStreamSpec) else s
            for s in spec.streams
        ]
    return spec.model_copy(update=update) if update else spec


def with_load(spec: ScenarioSpec, load: float | Mapping[str, float]) -> ScenarioSpec:
    """The scenario with its streams' rates multiplied by ``load``.

    A periodic stream runs at ``fps x load`` (its period divided by ``load``; its deadline stays
    one period unless the scenario sets ``deadline_ms``); an LLM stream's Poisson rate is
    multiplied by ``load`` and listed arrivals are compressed in time (``arrival / load``).
    The seeded Poisson draws are the same exponentials scaled by ``1 / load``, so a loaded
    scenario's requests arrive at the unloaded arrival times divided by ``load``: load sweeps
    are nested and deterministic. ``load`` is one factor for every stream, or a mapping from
    stream names to factors.

    Raises
    ------
    ArgumentError
        For a factor that is not a finite number > 0, or an unknown stream name.

    Examples
    --------
    >>> from rtgen_opt.spec import load as load_spec
    >>> spec = load_spec("instances/scenarios/game_npc_small.yaml")  # doctest: +SKIP
    >>> with_load(spec, {"frame": 2}).streams[0].fps  # doctest: +SKIP
    120.0
    """
    names = [s.name for s in spec.streams]
    factors = dict.fromkeys(names, load) if not isinstance(load, Mapping) else dict(load)
    for name, f in factors.items():
        if name not in names:
            raise ArgumentError("load", f"unknown stream {name!r}; streams: {', '.join(names)}")
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f < math.inf:
            raise ArgumentError("load", f"expected a factor > 0 for {name!r}, got {f!r}")
    streams = []
    for s in spec.streams:
        f = float(factors.get(s.name, 1.0))
        if f == 1.0:
            streams.append(s)
        elif isinstance(s, PeriodicStreamSpec):
            rate = {"fps": s.fps * f} if s.fps is not None else {"period_ms": s.period_ms / f}
            streams.append(s.model_copy(update=rate))
        elif s.poisson is not None:
            poisson = s.poisson.model_copy(update={"rate_per_s": s.poisson.rate_per_s * f})
            streams.append(s.model_copy(update={"poisson": poisson}))
        else:
            requests = [r.model_copy(update={"arrival_ms": r.arrival_ms / f}) for r in s.requests]
            streams.append(s.model_copy(update={"requests": requests}))
    return spec.model_copy(update={"streams": streams})


def parse_load(text: str) -> float | dict[str, float]:
    """``"1.5"`` -> 1.5; ``"npc=2,frame=1.5"`` -> ``{"npc": 2.0, "frame": 1.5}`` (the CLI's
    ``--load``).

    >>> parse_load("1.5"), parse_load("npc=2, frame=1.5")
    (1.5, {'npc': 2.0, 'frame': 1.5})
    """
    expected = f"expected a factor > 0 (1.5) or stream=factor pairs (npc=2,frame=1.5), got {text!r}"
    try:
        if "=" not in text:
            out: float | dict[str, float] = float(text)
            factors = [out]
        else:
            out = {}
            for part in text.split(","):
                name, _, value = part.partition("=")
                out[name.strip()] = float(value)
            factors = list(out.values())
    except ValueError:
        raise ArgumentError("--load", expected) from None
    if not all(math.isfinite(f) and f > 0 for f in factors):
        raise ArgumentError("--load", expected)
    return out


def task_cap() -> int:
    """The task cap: ``RTGEN_OPT_MAX_TASKS`` when set, else :data:`DEFAULT_MAX_TASKS`."""
    text = os.environ.get(MAX_TASKS_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_TASKS
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise ArgumentError(MAX_TASKS_ENV, f"expected an integer >= 1, got {text!r}")
    return value


def task_count(spec: ScenarioSpec) -> dict[str, int]:
    """The tasks each stream of ``spec`` makes, by arithmetic (no frame is expanded): every
    frame before the horizon (a cascaded stream's as if always triggered) times its layer
    groups; every listed request before the horizon (a Poisson stream: its expected number of
    requests, at most ``count``) times its prefill and decode tasks. An upper bound for
    periodic streams up to the rounding of releases to the grid.

    >>> from rtgen_opt.spec import load
    >>> task_count(load("instances/scenarios/video_call_small.yaml"))  # doctest: +SKIP
    """
    horizon = spec.horizon_ms
    out: dict[str, int] = {}
    for s in spec.streams:
        if isinstance(s, PeriodicStreamSpec):
            model = next(m for p in spec.profiles for m in p.models if m.name == s.model)
            frames = max(0, math.ceil((horizon - s.phase_ms) / s.period))
            out[s.name] = frames * len(model.groups(spec.stream_granularity(s)))
            continue

        def per_request(prompt: int, output: int, s: LLMStreamSpec = s) -> int:
            return math.ceil(prompt / s.prefill_chunk) + math.ceil((output - 1) / s.decode_block)

        if s.requests is not None:
            out[s.name] = sum(
                per_request(r.prompt_tokens or s.prompt_tokens, r.output_tokens or s.output_tokens)
                for r in s.requests
                if r.arrival_ms < horizon
            )
        else:
            expected = math.ceil(s.poisson.rate_per_s * horizon / 1000.0)
            count = expected if s.poisson.count is None else min(expected, s.poisson.count)
            out[s.name] = count * per_request(s.prompt_tokens, s.output_tokens)
    return out


def _check_size(spec: ScenarioSpec, cap: int) -> None:
    counts = task_count(spec)
    total = sum(counts.values())
    if total > cap:
        biggest = max(sorted(counts), key=counts.__getitem__)
        raise SpecError(
            spec._file,
            "horizon_ms",
            f"the scenario would make about {total:,} tasks ({counts[biggest]:,} of stream "
            f"{biggest!r}), more than the cap of {cap:,}; shorten the horizon or lower the "
            f"rates, or raise the cap ({MAX_TASKS_ENV})",
        )


def _cascade_order(spec: ScenarioSpec) -> list[PeriodicStreamSpec | LLMStreamSpec]:
    """Streams with every cascade's upstream before its dependents; otherwise listed order."""
    g = nx.DiGraph()
    position = {s.name: i for i, s in enumerate(spec.streams)}
    g.add_nodes_from(position)
    for s in spec.streams:
        if isinstance(s, PeriodicStreamSpec) and s.cascade is not None:
            g.add_edge(s.cascade.from_, s.name)
    order = nx.lexicographical_topological_sort(g, key=lambda n: position[n])
    return [spec.streams[position[n]] for n in order]


def stream_rng(seed: int, stream: str) -> np.random.Generator:
    """The random generator of one stream: seeded by the scenario seed and the stream's name."""
    return np.random.default_rng([seed, zlib.crc32(stream.encode())])


def frame_releases(
    phase_ms: float, period_ms: float, horizon_ms: float, resolution_ms: float
) -> list[int]:
    """Release times of a periodic stream's frames, in resolution ticks, before the horizon.

    Examples
    --------
    >>> frame_releases(0.0, 1000 / 30, 100.0, 0.001)
    [0, 33333, 66667]
    """
    horizon = ticks(horizon_ms, resolution_ms)
    out = []
    k = 0
    while (t := ticks(phase_ms + k * period_ms, resolution_ms)) < horizon:
        out.append(t)
        k += 1
    return out


# --------------------------------------------------------------------------- layer groups
@dataclass(frozen=True, slots=True)
class Group:
    """A layer group: its name, its latency per kind that can run it, its layers' indices."""

    name: str
    latency_ms: dict[str, float]
    layers: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ModelTasks:
    """A model cut into layer groups, with the group edges (bytes) and the cascade ends."""

    groups: tuple[Group, ...]
    edges: tuple[tuple[int, int, float], ...]
    sources: tuple[int, ...]
    sinks: tuple[int, ...]
    sink_bytes: tuple[float, ...]  # output bytes of the model's sink layers in each sink group


def model_groups(model: ModelSpec, granularity: str, kinds: tuple[str, ...]) -> ModelTasks:
    """Cut ``model`` into layer groups at ``granularity`` for a platform with ``kinds``."""
    mode, _ = parse_granularity(granularity)
    parts = model.groups(granularity)
    group_of = {j: g for g, part in enumerate(parts) for j in part}
    names = [layer.name for layer in model.layers]
    groups = []
    for g, part in enumerate(parts):
        layers = [model.layers[j] for j in part]
        latency = {
            k: sum(layer.latency_ms[k] for layer in layers)
            for k in kinds
            if all(k in layer.latency_ms for layer in layers)
        }
        name = {"model": "model", "layer": names[part[0]]}.get(mode, f"g{g}")
        groups.append(Group(name, latency, part))
    index = {n: j for j, n in enumerate(names)}
    crossing: dict[tuple[int, int], set[int]] = {}
    has_successor: set[int] = set()
    for u, v in model.layer_edges():
        iu, iv = index[u], index[v]
        has_successor.add(iu)
        if group_of[iu] != group_of[iv]:
            crossing.setdefault((group_of[iu], group_of[iv]), set()).add(iu)
    edges = tuple(
        (a, b, float(sum(model.layers[j].output_bytes for j in sorted(src))))
        for (a, b), src in sorted(crossing.items())
    )
    has_in = {b for _, b, _ in edges}
    has_out = {a for a, _, _ in edges}
    sinks = tuple(g for g in range(len(parts)) if g not in has_out)
    sink_bytes = tuple(
        float(sum(model.layers[j].output_bytes for j in parts[g] if j not in has_successor))
        for g in sinks
    )
    sources = tuple(g for g in range(len(parts)) if g not in has_in)
    return ModelTasks(tuple(groups), edges, sources, sinks, sink_bytes)


# --------------------------------------------------------------------------- the builder
class _Builder:
    """Accumulates the task graph stream by stream (upstream streams first)."""

    def __init__(self, spec: ScenarioSpec) -> None:
        self.spec = spec
        self.res = spec.resolution_ms
        self.platform = spec.platform.to_platform()
        self.kinds = spec.platform.kinds
        self.procs = {k: spec.platform.processors_of(k) for k in self.kinds}
        self.models = {m.name: m for p in spec.profiles for m in p.models}
        self.llms = {m.name: m for p in spec.profiles for m in p.llms}
        self.graph = nx.DiGraph()
        self.streams: dict[str, Stream] = {}
        self.requests: dict[str, Request] = {}
        # per periodic stream: release ticks of its frames, and the tasks of each existing frame
        self.releases: dict[str, list[int]] = {}
        self.frames: dict[str, dict[int, tuple[list[str], list[str]]]] = {}
        self.sink_bytes: dict[str, tuple[float, ...]] = {}

    def _on_grid(self, ms: float) -> float:
        return on_grid(ms, self.res)

    def durations(self, per_kind: dict[str, float]) -> dict[str, float]:
        return {p: ms for k, ms in per_kind.items() for p in self.procs[k]}

    def add_periodic(self, s: PeriodicStreamSpec) -> None:
        spec = self.spec
        cut = model_groups(self.models[s.model], spec.stream_granularity(s), self.kinds)
        period = s.period
        deadline_ms = s.deadline_ms if s.deadline_ms is not None else period
        releases = frame_releases(s.phase_ms, period, spec.horizon_ms, self.res)
        self.releases[s.name] = releases
        self.sink_bytes[s.name] = cut.sink_bytes
        self.streams[s.name] = Stream(s.name, "periodic", s.model, period_ms=period)
        upstream = s.cascade.from_ if s.cascade is not None else None
        triggered = (
            stream_rng(spec.seed, s.name).random(len(releases)) < s.cascade.p
            if s.cascade is not None
            else np.ones(len(releases), dtype=bool)
        )
        frames: dict[int, tuple[list[str], list[str]]] = {}
        for k, tick in enumerate(releases):
            up_frame = None
            if upstream is not None:
                up_k = bisect.bisect_right(self.releases[upstream], tick) - 1
                up_frame = self.frames[upstream].get(up_k) if up_k >= 0 else None
                if up_frame is None or not triggered[k]:
                    continue
            job = f"{s.name}#{k}"
            release = tick * self.res
            # from the exact release, not the rounded one, so rounding never compounds
            deadline = self._on_grid(s.phase_ms + k * period + deadline_ms)
            ids = [f"{job}/{g.name}" for g in cut.groups]
            for tid, g in zip(ids, cut.groups, strict=True):
                self.graph.add_node(
                    tid,
                    durations=self.durations(g.latency_ms),
                    release=release,
                    deadline=deadline,
                    job=job,
                    stream=s.name,
                    weight=s.weight,
                    phase="frame",
                    request=None,
                    tokens=0,
                    droppable=True,
                )
            for a, b, nbytes in cut.edges:
                self.graph.add_edge(ids[a], ids[b], bytes=nbytes)
            sources = [ids[g] for g in cut.sources]
            sinks = [ids[g] for g in cut.sinks]
            if up_frame is not None:
                for sink, nbytes in zip(up_frame[1], self.sink_bytes[upstream], strict=True):
                    for src in sources:
                        self.graph.add_edge(sink, src, bytes=nbytes)
            frames[k] = (sources, sinks)
        self.frames[s.name] = frames

    def arrivals(self, s: LLMStreamSpec) -> list[tuple[int, float, int, int]]:
        """(index, arrival ms, prompt tokens, output tokens) of each request before the horizon."""
        horizon = self.spec.horizon_ms
        if s.requests is not None:
            return [
                (
                    i,
                    r.arrival_ms,
                    r.prompt_tokens or s.prompt_tokens,
                    r.output_tokens or s.output_tokens,
                )
                for i, r in enumerate(s.requests)
                if ticks(r.arrival_ms, self.res) < ticks(horizon, self.res)
            ]
        rng = stream_rng(self.spec.seed, s.name)
        out: list[tuple[int, float, int, int]] = []
        t = 0.0
        while s.poisson.count is None or len(out) < s.poisson.count:
            t += float(rng.exponential(1000.0 / s.poisson.rate_per_s))
            if ticks(t, self.res) >= ticks(horizon, self.res):
                break
            out.append((len(out), t, s.prompt_tokens, s.output_tokens))
        return out

    def add_llm(self, s: LLMStreamSpec) -> None:
        llm = self.llms[s.model]
        self.streams[s.name] = Stream(
            s.name, "llm", s.model, ttft_slo_ms=s.ttft_slo_ms, tpot_slo_ms=s.tpot_slo_ms
        )
        for i, arrival, prompt, output in self.arrivals(s):
            arrival = on_grid(arrival, self.res)
            self.add_request(s, llm, f"{s.name}#r{i}", arrival, prompt, output)

    def add_request(
        self,
        s: LLMStreamSpec,
        llm: LLMProfileSpec,
        rid: str,
        arrival: float,
        prompt: int,
        output: int,
    ) -> None:
        def node(tid: str, job: str, deadline: float, phase: str, tokens: int, per_kind) -> None:
            self.graph.add_node(
                tid,
                durations=self.durations(per_kind),
                release=arrival,
                deadline=deadline,
                job=job,
                stream=s.name,
                weight=s.weight,
                phase=phase,
                request=rid,
                tokens=tokens,
                droppable=False,
            )

        def kv(context: int) -> float:
            return llm.kv_bytes_per_token * context + llm.activation_bytes_per_token

        prefill, decode = [], []
        chunk = s.prefill_chunk
        for c in range(math.ceil(prompt / chunk)):
            tokens = min(chunk, prompt - c * chunk)
            tid = f"{rid}/p{c}"
            node(
                tid,
                f"{rid}/ttft",
                arrival + s.ttft_slo_ms,
                "prefill",
                tokens,
                {
                    k: tokens * ms + llm.prefill_chunk_overhead_ms.get(k, 0.0)
                    for k, ms in llm.prefill_ms_per_token.items()
                },
            )
            if prefill:
                self.graph.add_edge(prefill[-1], tid, bytes=kv(c * chunk))
            prefill.append(tid)
        context = prompt  # tokens in the KV cache after the prefill
        block = s.decode_block
        for j in range(math.ceil((output - 1) / block)):
            first, last = j * block + 1, min((j + 1) * block, output - 1)
            tid = f"{rid}/d{j}"
            node(
                tid,
                tid,
                arrival + s.ttft_slo_ms + last * s.tpot_slo_ms,
                "decode",
                last - first + 1,
                {
                    k: sum(
                        c.base_ms + c.per_context_token_ms * (prompt + i)
                        for i in range(first, last + 1)
                    )
                    for k, c in llm.decode_ms_per_token.items()
                },
            )
            self.graph.add_edge((decode or prefill)[-1], tid, bytes=kv(context))
            decode.append(tid)
            context = prompt + last
        self.requests[rid] = Request(
            id=rid,
            stream=s.name,
            arrival=arrival,
            prompt_tokens=prompt,
            output_tokens=output,
            ttft_slo_ms=s.ttft_slo_ms,
            tpot_slo_ms=s.tpot_slo_ms,
            prefill_tasks=tuple(prefill),
            decode_tasks=tuple(decode),
        )

    def instance(self) -> Instance:
        spec = self.spec
        return Instance.from_networkx(
            self.graph,
            self.platform,
            miss_mode=spec.miss_mode,
            name=spec.name,
            horizon=spec.horizon_ms,
            streams={s.name: self.streams[s.name] for s in spec.streams},
            requests=self.requests,
            resolution=spec.resolution_ms,
        )
