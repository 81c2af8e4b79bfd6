"""The instance every solver and policy sees: a task DAG and the platform it runs on.

An :class:`Instance` is built by :func:`rtgen_opt.compile` from a scenario, by
:meth:`Instance.from_networkx` from any task graph, or read from a generic instance JSON file
(:meth:`Instance.load`), so classic scheduling benchmarks run through the same machinery.

Node attributes of ``Instance.graph`` (one node per task, keyed by a string task id)
------------------------------------------------------------------------------------
durations : dict[str, float]
    Milliseconds on each *eligible* processor (processor name -> ms). A processor that is not a
    key cannot run the task.
release : float
    Earliest start, ms.
deadline : float or None
    Absolute deadline of the task's job, ms (``None``: the job has no deadline).
job : str
    Id of the job the task belongs to. A job completes when its last task ends.
stream : str
    Name of the stream the job comes from.
weight : float
    Weight of the job (the ``misses`` and ``tardiness`` objectives are weighted sums).
phase : str
    ``"frame"`` (a periodic model inference), ``"prefill"``, ``"decode"`` or ``"task"``.
request : str or None
    The LLM request a prefill/decode task belongs to.
tokens : int
    Tokens a prefill chunk or decode block processes (0 for other tasks).

Edge attributes (``u -> v``: ``v`` may start only after ``u`` ends, plus a transfer delay)
-----------------------------------------------------------------------------------------
bytes : float
    Data moved from ``u`` to ``v``. When ``u`` and ``v`` run on *different* processors the delay
    is ``sync_ms + bytes / bandwidth`` of the platform's link between their kinds; on the same
    processor it is 0.
delay : float or dict[tuple[str, str], float] or None
    An explicit delay overriding the link model: a number applies to every pair of different
    processors, a dict maps ``(processor_of_u, processor_of_v)`` to ms (missing pairs fall back
    to the link model). Used by generic task-graph benchmarks.

Time grid
---------
Every instance has a ``resolution`` (ms, default 0.001 = 1 us). Durations, releases and
deadlines are rounded to the nearest multiple of it when the instance is built, and transfer
delays are rounded *up* to it (:meth:`Instance.transfer_ms`). The exact models scale time by
``1 / resolution`` to integers and are then exact for the instance, so no policy can beat a proven
optimum by a rounding sliver.

Jobs
----
``Instance.jobs`` maps a job id to its :class:`Job`: release, deadline, weight, stream, whether
it may be dropped, and its tasks. In ``drop`` mode a droppable job may be skipped entirely; a job
with a task whose predecessor belongs to a skipped job must be skipped too (cascades).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import networkx as nx

from rtgen_opt import grid
from rtgen_opt.errors import SpecError
from rtgen_opt.files import read_text, write_atomic

MissMode = Literal["late", "drop"]
MISS_MODES: tuple[MissMode, ...] = ("late", "drop")
DEFAULT_RESOLUTION_MS = 0.001
INSTANCE_FORMAT = "rtgen-opt-instance"
INSTANCE_VERSION = 1
PHASES = ("frame", "prefill", "decode", "task")


@dataclass(frozen=True, slots=True)
class Processor:
    """One processor: runs one task at a time, without preemption.

    ``active_w``/``idle_w`` are watts while busy / idle (0 when unknown); energy is reported in
    mJ (W x ms).
    """

    name: str
    kind: str
    active_w: float = 0.0
    idle_w: float = 0.0


@dataclass(frozen=True, slots=True)
class Link:
    """The cost of moving data between two processors of given kinds: ``sync_ms + bytes/bw``.

    ``bytes_per_ms`` is ``inf`` for zero-copy (only the synchronisation is paid).
    """

    sync_ms: float = 0.0
    bytes_per_ms: float = math.inf

    def delay(self, nbytes: float) -> float:
        if nbytes <= 0 or math.isinf(self.bytes_per_ms):
            return self.sync_ms
        return self.sync_ms + nbytes / self.bytes_per_ms


@dataclass(frozen=True)
class Platform:
    """Processors and the transfer links between processor kinds.

    ``links`` maps ``(source kind, destination kind)`` to a :class:`Link`; pairs it does not name
    use ``default_link``. Transfers between two tasks on the same processor cost nothing.
    """

    name: str
    processors: tuple[Processor, ...]
    default_link: Link = Link()
    links: Mapping[tuple[str, str], Link] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = [p.name for p in self.processors]
        if len(set(names)) != len(names):
            raise SpecError(None, "processors", f"processor names must be unique, got {names}")
        if not names:
            raise SpecError(None, "processors", "a platform needs at least one processor")

    @cached_property
    def by_name(self) -> dict[str, Processor]:
        return {p.name: p for p in self.processors}

    @property
    def kinds(self) -> tuple[str, ...]:
        """Processor kinds in order of first appearance."""
        return tuple(dict.fromkeys(p.kind for p in self.processors))

    def link(self, src_kind: str, dst_kind: str) -> Link:
        return self.links.get((src_kind, dst_kind), self.default_link)

    def transfer_ms(self, nbytes: float, src: str, dst: str) -> float:
        """Delay of moving ``nbytes`` from processor ``src`` to processor ``dst`` (names)."""
        if src == dst:
            return 0.0
        by = self.by_name
        return self.link(by[src].kind, by[dst].kind).delay(nbytes)

    def to_dict(self) -> dict[str, Any]:
        def link_dict(link: Link) -> dict[str, Any]:
            bw = None if math.isinf(link.bytes_per_ms) else link.bytes_per_ms
            return {"sync_ms": link.sync_ms, "bytes_per_ms": bw}

        return {
            "name": self.name,
            "processors": [
                {"name": p.name, "kind": p.kind, "active_w": p.active_w, "idle_w": p.idle_w}
                for p in self.processors
            ],
            "default_link": link_dict(self.default_link),
            "links": [
                {"src": s, "dst": d, **link_dict(link)}
                for (s, d), link in sorted(self.links.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Platform:
        def link_of(d: Mapping[str, Any]) -> Link:
            bw = d.get("bytes_per_ms")
            return Link(float(d.get("sync_ms", 0.0)), math.inf if bw is None else float(bw))

        return cls(
            name=str(data.get("name", "platform")),
            processors=tuple(
                Processor(
                    p["name"], p["kind"], float(p.get("active_w", 0)), float(p.get("idle_w", 0))
                )
                for p in data["processors"]
            ),
            default_link=link_of(data.get("default_link", {})),
            links={(d["src"], d["dst"]): link_of(d) for d in data.get("links", [])},
        )

    @classmethod
    def homogeneous(cls, names: Iterable[str], kind: str = "machine") -> Platform:
        """A platform of identical-kind processors with free transfers (job-shop style)."""
        return cls(name="machines", processors=tuple(Processor(n, kind) for n in names))


@dataclass(frozen=True, slots=True)
class Job:
    """A job: one frame of a periodic stream, or one milestone of an LLM request.

    ``tasks`` are in topological order; the job completes when the last of them ends.
    """

    id: str
    stream: str
    release: float
    deadline: float | None
    weight: float
    droppable: bool
    tasks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Stream:
    """What the metrics need to know of a stream (kind ``periodic``, ``llm`` or ``generic``)."""

    name: str
    kind: str = "generic"
    model: str | None = None
    period_ms: float | None = None
    ttft_slo_ms: float | None = None
    tpot_slo_ms: float | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """One LLM request: its arrival and sizes, and the ids of its prefill and decode tasks."""

    id: str
    stream: str
    arrival: float
    prompt_tokens: int
    output_tokens: int
    ttft_slo_ms: float
    tpot_slo_ms: float
    prefill_tasks: tuple[str, ...]
    decode_tasks: tuple[str, ...]


def _topological_order(graph: nx.DiGraph) -> tuple[str, ...]:
    """Deterministic topological order: ties broken by (release, task id)."""
    releases = {n: graph.nodes[n].get("release", 0.0) for n in graph}
    try:
        return tuple(nx.lexicographical_topological_sort(graph, key=lambda n: (releases[n], n)))
    except nx.NetworkXUnfeasible as exc:
        cycle = nx.find_cycle(graph)
        raise SpecError(None, "edges", f"the task graph has a cycle: {cycle[:4]}") from exc


@dataclass(frozen=True)
class Instance:
    """A task DAG with documented node/edge attributes (see the module docstring) and a platform.

    Build it with :func:`rtgen_opt.compile`, :meth:`from_networkx` or :meth:`load`; treat the
    graph as read-only (cached views are derived from it).
    """

    graph: nx.DiGraph
    platform: Platform
    miss_mode: MissMode = "late"
    name: str = "instance"
    horizon: float | None = None
    streams: Mapping[str, Stream] = field(default_factory=dict)
    requests: Mapping[str, Request] = field(default_factory=dict)
    resolution: float = DEFAULT_RESOLUTION_MS

    def on_grid(self, ms: float) -> float:
        """``ms`` rounded to the nearest multiple of the resolution (:func:`rtgen_opt.grid.on_grid`)."""
        return grid.on_grid(ms, self.resolution)

    def ticks(self, ms: float) -> int:
        """``ms`` as a whole number of resolution steps (nearest; :func:`rtgen_opt.grid.ticks`)."""
        return grid.ticks(ms, self.resolution)

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_networkx(
        cls,
        graph: nx.DiGraph,
        platform: Platform,
        *,
        miss_mode: MissMode = "late",
        name: str = "instance",
        horizon: float | None = None,
        streams: Mapping[str, Stream] | None = None,
        requests: Mapping[str, Request] | None = None,
        droppable: bool = True,
        resolution: float = DEFAULT_RESOLUTION_MS,
    ) -> Instance:
        """Build an instance from any task graph.

        Only ``durations`` is required on every node; ``release`` defaults to 0, ``deadline`` to
        ``None``, ``job`` to the node's own id, ``stream`` to ``"default"``, ``weight`` to 1,
        ``phase`` to ``"task"``. Edge ``bytes`` defaults to 0. Node ids become strings. Times
        are rounded to the ``resolution`` grid (see the module docstring).

        Raises
        ------
        SpecError
            When a node has no durations, names an unknown processor, has a negative value, or
            the graph has a cycle.

        Examples
        --------
        >>> import networkx as nx
        >>> g = nx.DiGraph()
        >>> g.add_node("a", durations={"m0": 3.0, "m1": 5.0})
        >>> g.add_node("b", durations={"m1": 2.0})
        >>> g.add_edge("a", "b")
        >>> inst = Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"]))
        >>> inst.tasks
        ('a', 'b')
        """
        if not (isinstance(resolution, (int, float)) and resolution > 0):
            raise SpecError(
                None, "resolution", f"expected a positive number of ms, got {resolution!r}"
            )
        if miss_mode not in MISS_MODES:
            raise SpecError(
                None, "miss_mode", f"expected one of {', '.join(MISS_MODES)}, got {miss_mode!r}"
            )

        def snap(ms: float) -> float:
            return grid.on_grid(ms, resolution)

        procs = set(platform.by_name)
        g = nx.DiGraph()
        for raw, attrs in graph.nodes(data=True):
            node = str(raw)
            where = f"tasks[{node}]"
            durations = attrs.get("durations")
            if not isinstance(durations, Mapping) or not durations:
                raise SpecError(
                    None, f"{where}.durations", "expected a non-empty mapping processor -> ms"
                )
            clean: dict[str, float] = {}
            for proc, ms in durations.items():
                if proc not in procs:
                    raise SpecError(
                        None,
                        f"{where}.durations.{proc}",
                        f"unknown processor (known: {sorted(procs)})",
                    )
                if not isinstance(ms, (int, float)) or not math.isfinite(ms) or ms < 0:
                    raise SpecError(
                        None,
                        f"{where}.durations.{proc}",
                        f"expected a finite duration >= 0, got {ms!r}",
                    )
                clean[str(proc)] = snap(float(ms))
            release = float(attrs.get("release", 0.0))
            if not math.isfinite(release) or release < 0:
                raise SpecError(
                    None, f"{where}.release", f"expected a finite time >= 0, got {release!r}"
                )
            deadline = attrs.get("deadline")
            phase = attrs.get("phase", "task")
            if phase not in PHASES:
                raise SpecError(None, f"{where}.phase", f"expected one of {PHASES}, got {phase!r}")
            g.add_node(
                node,
                durations=dict(sorted(clean.items())),
                release=snap(release),
                deadline=None if deadline is None else snap(float(deadline)),
                job=str(attrs.get("job", node)),
                stream=str(attrs.get("stream", "default")),
                weight=float(attrs.get("weight", 1.0)),
                phase=phase,
                request=attrs.get("request"),
                tokens=int(attrs.get("tokens", 0)),
                droppable=bool(attrs.get("droppable", droppable)),
            )
        for u, v, attrs in graph.edges(data=True):
            nbytes = float(attrs.get("bytes", 0.0))
            if not math.isfinite(nbytes) or nbytes < 0:
                raise SpecError(
                    None, f"edges[{u}->{v}].bytes", f"expected bytes >= 0, got {nbytes!r}"
                )
            delay = attrs.get("delay")
            if isinstance(delay, Mapping):
                delay = {(str(a), str(b)): float(ms) for (a, b), ms in delay.items()}
            elif delay is not None:
                delay = float(delay)
            g.add_edge(str(u), str(v), bytes=nbytes, delay=delay)
        inst = cls(
            graph=g,
            platform=platform,
            miss_mode=miss_mode,
            name=name,
            horizon=horizon,
            streams=dict(streams or {}),
            requests=dict(requests or {}),
            resolution=float(resolution),
        )
        inst.tasks  # noqa: B018 - raises SpecError on a cycle, now rather than later
        return inst

    # ----------------------------------------------------------------- derived views
    @cached_property
    def tasks(self) -> tuple[str, ...]:
        """Task ids in a deterministic topological order (ties by release, then id)."""
        return _topological_order(self.graph)

    @cached_property
    def jobs(self) -> dict[str, Job]:
        """Jobs by id, in order of (release, id)."""
        members: dict[str, list[str]] = {}
        for t in self.tasks:
            members.setdefault(self.graph.nodes[t]["job"], []).append(t)
        jobs = []
        for jid, tasks in members.items():
            attrs = [self.graph.nodes[t] for t in tasks]
            deadlines = {a["deadline"] for a in attrs}
            if len(deadlines) != 1:
                raise SpecError(
                    None, f"jobs[{jid}]", f"tasks of one job disagree on its deadline: {deadlines}"
                )
            droppable = all(a.get("droppable", True) for a in attrs)
            jobs.append(
                Job(
                    id=jid,
                    stream=attrs[0]["stream"],
                    release=min(a["release"] for a in attrs),
                    deadline=attrs[0]["deadline"],
                    weight=attrs[0]["weight"],
                    droppable=droppable,
                    tasks=tuple(tasks),
                )
            )
        jobs.sort(key=lambda j: (j.release, j.id))
        return {j.id: j for j in jobs}

    @cached_property
    def job_successors(self) -> dict[str, tuple[str, ...]]:
        """For each job, the other jobs that have a task depending on one of its tasks."""
        succ: dict[str, set[str]] = {j: set() for j in self.jobs}
        nodes = self.graph.nodes
        for u, v in self.graph.edges:
            ju, jv = nodes[u]["job"], nodes[v]["job"]
            if ju != jv:
                succ[ju].add(jv)
        return {j: tuple(sorted(s)) for j, s in succ.items()}

    @cached_property
    def droppable(self) -> frozenset[str]:
        """The jobs that may be dropped *in effect*: in ``drop`` mode, a job whose whole drop
        closure (:meth:`drop_closure`: the job and every job depending on it) may be dropped.

        Dropping a job drops its dependents, so a job that an undroppable job (an LLM
        milestone) depends on must run, whatever its own ``droppable`` flag says. This is the
        one definition the exact models, the bounds, the list schedule and the simulator use;
        in ``late`` mode it is empty.
        """
        if self.miss_mode != "drop":
            return frozenset()
        jobs = self.jobs
        # Pinned: undroppable, or some job depending on it (transitively) is: walk the job
        # graph backwards from the undroppable jobs.
        preds: dict[str, list[str]] = {j: [] for j in jobs}
        for j, succs in self.job_successors.items():
            for k in succs:
                preds[k].append(j)
        stack = [j for j, job in jobs.items() if not job.droppable]
        pinned: set[str] = set()
        while stack:
            j = stack.pop()
            if j not in pinned:
                pinned.add(j)
                stack.extend(preds[j])
        return frozenset(j for j in jobs if j not in pinned)

    def drop_closure(self, jobs: Iterable[str]) -> frozenset[str]:
        """The given jobs and every job that depends on one of them, transitively."""
        seen: set[str] = set()
        stack = list(jobs)
        while stack:
            j = stack.pop()
            if j not in seen:
                seen.add(j)
                stack.extend(self.job_successors[j])
        return frozenset(seen)

    @property
    def processors(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.platform.processors)

    def durations(self, task: str) -> dict[str, float]:
        """Processor name -> ms for the processors that can run ``task``."""
        return self.graph.nodes[task]["durations"]

    def transfer_ms(self, u: str, v: str, proc_u: str, proc_v: str) -> float:
        """Delay between the end of ``u`` on ``proc_u`` and the start of ``v`` on ``proc_v``,
        rounded up to the resolution grid (0 on the same processor)."""
        return self.transfer_ticks(u, v, proc_u, proc_v) * self.resolution

    def transfer_ticks(self, u: str, v: str, proc_u: str, proc_v: str) -> int:
        """:meth:`transfer_ms` as a whole number of resolution steps (rounded up)."""
        if proc_u == proc_v:
            return 0
        attrs = self.graph.edges[u, v]
        delay = attrs.get("delay")
        ms = None
        if isinstance(delay, Mapping):
            ms = delay.get((proc_u, proc_v))
        elif delay is not None:
            ms = delay
        if ms is None:
            ms = self.platform.transfer_ms(attrs.get("bytes", 0.0), proc_u, proc_v)
        return grid.ticks_up(ms, self.resolution)

    def restrict(self, jobs: Iterable[str], name: str | None = None) -> Instance:
        """The instance of ``jobs`` alone: their tasks, the edges among them, their requests.

        Edges from or to other jobs are left out, which only relaxes: the restriction of any
        schedule of this instance to ``jobs`` is a schedule of the restricted instance (the
        decomposition bound of ``formulations/bounds.md`` rests on it). An LLM request is kept
        when all its tasks are (give a request's jobs together).

        Examples
        --------
        >>> g = nx.DiGraph()
        >>> g.add_node("a", durations={"m": 1.0}, job="A")
        >>> g.add_node("b", durations={"m": 2.0}, job="B")
        >>> g.add_edge("a", "b")
        >>> sub = Instance.from_networkx(g, Platform.homogeneous(["m"])).restrict(["B"])
        >>> sub.tasks, list(sub.graph.edges)
        (('b',), [])
        """
        keep = set(jobs)
        unknown = keep - set(self.jobs)
        if unknown:
            raise SpecError(None, "jobs", f"not jobs of {self.name}: {sorted(unknown)[:3]}")
        tasks = [t for j in keep for t in self.jobs[j].tasks]
        graph = self.graph.subgraph(tasks).copy()
        inside = set(tasks)
        requests = {
            r: req
            for r, req in self.requests.items()
            if all(t in inside for t in (*req.prefill_tasks, *req.decode_tasks))
        }
        return replace(self, graph=graph, requests=requests, name=name or self.name)

    def with_durations(self, factors: Mapping[str, float], name: str | None = None) -> Instance:
        """A copy whose task durations are multiplied per task (noise realisations)."""
        g = self.graph.copy()
        for t, f in factors.items():
            g.nodes[t]["durations"] = {
                p: self.on_grid(ms * f) for p, ms in g.nodes[t]["durations"].items()
            }
        return replace(self, graph=g, name=name or self.name)

    def with_processors(
        self, allowed: Mapping[str, Iterable[str]], name: str | None = None
    ) -> Instance:
        """A copy where each task of ``allowed`` may run only on the processors listed for it
        (a subset of its own; tasks not listed keep all theirs).

        Only options are removed, so a schedule of the copy is a schedule of this instance
        (the affinity search, :mod:`rtgen_opt.exact.affinity`, rests on it).

        Examples
        --------
        >>> g = nx.DiGraph()
        >>> g.add_node("a", durations={"m0": 1.0, "m1": 2.0})
        >>> inst = Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"]))
        >>> inst.with_processors({"a": ["m1"]}).durations("a")
        {'m1': 2.0}
        """
        g = self.graph.copy()
        for t, procs in allowed.items():
            own = g.nodes[t]["durations"]
            keep = {p: own[p] for p in procs if p in own}
            if not keep:
                raise SpecError(None, f"tasks[{t}]", f"expected a processor among {sorted(own)}")
            g.nodes[t]["durations"] = keep
        return replace(self, graph=g, name=name or self.name)

    # ----------------------------------------------------------------- files
    def to_dict(self) -> dict[str, Any]:
        tasks = []
        for t in self.tasks:
            a = self.graph.nodes[t]
            tasks.append({"id": t, **{k: a[k] for k in sorted(a)}})
        edges = []
        for u, v in sorted(self.graph.edges):
            a = self.graph.edges[u, v]
            delay = a.get("delay")
            if isinstance(delay, Mapping):
                delay = [[p, q, ms] for (p, q), ms in sorted(delay.items())]
            edges.append({"src": u, "dst": v, "bytes": a.get("bytes", 0.0), "delay": delay})
        return {
            "format": INSTANCE_FORMAT,
            "version": INSTANCE_VERSION,
            "name": self.name,
            "miss_mode": self.miss_mode,
            "horizon": self.horizon,
            "resolution": self.resolution,
            "platform": self.platform.to_dict(),
            "streams": [
                {f: getattr(s, f) for f in Stream.__dataclass_fields__}
                for s in self.streams.values()
            ],
            "requests": [
                {
                    f: list(v) if isinstance(v := getattr(r, f), tuple) else v
                    for f in Request.__dataclass_fields__
                }
                for r in self.requests.values()
            ],
            "tasks": tasks,
            "edges": edges,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], file: str | None = None) -> Instance:
        if not isinstance(data, Mapping):
            raise SpecError(file, None, f"expected a JSON object with format {INSTANCE_FORMAT!r}")
        if data.get("format") != INSTANCE_FORMAT:
            raise SpecError(
                file, "format", f"expected {INSTANCE_FORMAT!r}, got {data.get('format')!r}"
            )
        try:
            platform = Platform.from_dict(data["platform"])
            g = nx.DiGraph()
            for i, t in enumerate(data["tasks"]):
                attrs = dict(t)
                tid = attrs.pop("id")
                if not isinstance(tid, str):
                    raise SpecError(file, f"tasks[{i}].id", "expected a string")
                g.add_node(tid, **attrs)
            for i, e in enumerate(data.get("edges", [])):
                for end in ("src", "dst"):
                    if e[end] not in g:
                        raise SpecError(file, f"edges[{i}].{end}", f"unknown task {e[end]!r}")
                delay = e.get("delay")
                if isinstance(delay, list):
                    delay = {(p, q): ms for p, q, ms in delay}
                g.add_edge(e["src"], e["dst"], bytes=e.get("bytes", 0.0), delay=delay)
            streams = {s["name"]: Stream(**s) for s in data.get("streams", [])}
            requests = {}
            for r in data.get("requests", []):
                r = dict(r)
                r["prefill_tasks"] = tuple(r["prefill_tasks"])
                r["decode_tasks"] = tuple(r["decode_tasks"])
                requests[r["id"]] = Request(**r)
            inst = cls.from_networkx(
                g,
                platform,
                miss_mode=data.get("miss_mode", "late"),
                name=data.get("name", "instance"),
                horizon=data.get("horizon"),
                resolution=data.get("resolution", DEFAULT_RESOLUTION_MS),
                streams=streams,
                requests=requests,
            )
        except SpecError as exc:
            if exc.file is None:
                more = [SpecError(file, e.field, e.message) for e in exc.more]
                raise SpecError(file, exc.field, exc.message, more=more) from None
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(
                file, None, f"malformed instance JSON ({type(exc).__name__}: {exc})"
            ) from None
        return inst

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the generic instance JSON atomically."""
        write_atomic(path, json.dumps(self.to_dict(), indent=1, allow_nan=False))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Instance:
        path = Path(path)
        text = read_text(path, "an instance JSON file")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(
                str(path), None, f"invalid JSON at line {exc.lineno}: {exc.msg}"
            ) from None
        return cls.from_dict(data, file=str(path))
