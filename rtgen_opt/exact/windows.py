"""Integer time and time windows: what every exact backend (CP-SAT, MILP) builds its model on.

Backend-neutral: nothing here knows a solver. :func:`windows` turns an :class:`Instance` into
integer *model time* and derives, per (task, eligible processor) *option*:

- ``est[t, p]`` (head): the earliest start of ``t`` on ``p`` -- its release, and every predecessor
  ``u`` finished on its best processor plus the cheapest transfer from there to ``p``;
- ``tail[t, p]``: the least time between the end of ``t`` on ``p`` and the end of the last task
  that must run after it (successors that cannot be dropped while ``t`` runs), with the cheapest
  durations and transfers;
- ``horizon``: a *safe* horizon -- some optimal schedule (for every objective rtgen_opt knows,
  all of them regular: never worse when a task starts earlier) ends by then; so every option
  lies in ``[est[t, p], horizon - tail[t, p]]`` without cutting off an optimum.

Model time
----------
Times are integers in units of ``scale.unit_ms`` = ``resolution x g``, where ``g`` is the
greatest common divisor of every duration, release, deadline and transfer in ticks (the
instance's own grid, :meth:`Instance.ticks`). The model is therefore exact: converting a model
time back with :meth:`TimeScale.to_ms` gives the instance's value on its grid.

Safe horizon
------------
In a *semi-active* schedule (no task can start earlier without changing the order on its
processor) each task starts at its release, at the end of the previous task on its processor, or
at a predecessor's end plus a transfer. Following those causes backwards visits each task at
most once, so every task ends by ``max release + sum over tasks of (longest duration + largest
incoming transfer)``. Every objective here is regular, so left-shifting an optimal schedule to a
semi-active one keeps it optimal: the bound is safe. With an upper bound ``U`` on the optimal
makespan (a known schedule's makespan, when the objective *is* makespan) ``min(safe, U)`` is
safe too.

Examples
--------
>>> import networkx as nx
>>> from rtgen_opt.instance import Instance, Platform
>>> g = nx.DiGraph()
>>> g.add_node("a", durations={"m0": 3.0, "m1": 5.0})
>>> g.add_node("b", durations={"m1": 2.0})
>>> g.add_edge("a", "b", delay=4.0)
>>> w = windows(Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"])))
>>> w.scale.unit_ms, w.est["b", "m1"], w.critical_path
(1.0, 5, 7)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, reduce

from rtgen_opt import grid
from rtgen_opt.instance import Instance

Option = tuple[str, str]  # (task, processor)


@dataclass(frozen=True, slots=True)
class TimeScale:
    """Model time unit: one model time step is ``unit_ticks`` instance ticks = ``unit_ms`` ms."""

    resolution: float
    unit_ticks: int

    @property
    def unit_ms(self) -> float:
        return self.resolution * self.unit_ticks

    def to_ms(self, t: int) -> float:
        """Model time -> ms (on the instance grid)."""
        return t * self.unit_ticks * self.resolution

    def from_ticks(self, ticks: int) -> int:
        """Instance ticks (a multiple of ``unit_ticks`` by construction) -> model time."""
        return ticks // self.unit_ticks

    def from_ms(self, ms: float) -> int:
        """ms -> nearest model time (for hints and values already on the grid)."""
        return round(ms / self.unit_ms)


@dataclass(frozen=True)
class Windows:
    """Integer data and time windows of an instance (see the module docstring).

    Attributes
    ----------
    scale
        The model time unit.
    tasks
        Task ids in the instance's topological order.
    options
        ``task -> eligible processors`` (sorted).
    duration
        ``(task, processor) -> model time``.
    release
        ``task -> model time``.
    deadline
        ``job -> model time`` for jobs with a deadline.
    est, tail
        Heads and tails per option (see the module docstring).
    horizon
        The safe horizon: every option ends by ``horizon - tail``.
    critical_path
        ``max over tasks of min over options of est + duration + tail``: a lower bound on the
        makespan when no task can be dropped.
    """

    scale: TimeScale
    tasks: tuple[str, ...]
    options: dict[str, tuple[str, ...]]
    duration: dict[Option, int]
    release: dict[str, int]
    deadline: dict[str, int]
    transfers: dict[tuple[str, str, str, str], int]
    est: dict[Option, int]
    tail: dict[Option, int]
    horizon: int
    critical_path: int
    always_present: dict[tuple[str, str], bool]

    def transfer(self, u: str, v: str, p: str, q: str) -> int:
        """Transfer delay of edge ``u -> v`` from processor ``p`` to ``q`` in model time."""
        return self.transfers.get((u, v, p, q), 0)

    def has_transfer(self, u: str, v: str) -> bool:
        """Whether edge ``u -> v`` costs anything on some pair of processors."""
        return (u, v) in self._edges_with_transfer

    @cached_property
    def _edges_with_transfer(self) -> frozenset[tuple[str, str]]:
        return frozenset((u, v) for u, v, _, _ in self.transfers)

    def lct(self, task: str, proc: str) -> int:
        """Latest completion of ``task`` on ``proc``: ``horizon - tail``."""
        return self.horizon - self.tail[task, proc]

    def lst(self, task: str, proc: str) -> int:
        """Latest start of ``task`` on ``proc``."""
        return self.lct(task, proc) - self.duration[task, proc]

    def min_duration(self, task: str) -> int:
        return min(self.duration[task, p] for p in self.options[task])

    def to_ms(self, t: int) -> float:
        return self.scale.to_ms(t)


def time_scale(instance: Instance) -> tuple[TimeScale, dict[tuple[str, str, str, str], int]]:
    """The coarsest unit every time value is a multiple of, and the transfer ticks.

    It holds for any instance that only narrows ``instance``'s processors
    (:meth:`~rtgen_opt.instance.Instance.with_processors`): its values are among these, so
    :func:`windows` may take it from here instead of scanning every value again.
    """
    g = instance.graph
    values: list[int] = []
    for t in instance.tasks:
        a = g.nodes[t]
        values.extend(instance.ticks(ms) for ms in a["durations"].values())
        values.append(instance.ticks(a["release"]))
        if a["deadline"] is not None:
            values.append(instance.ticks(a["deadline"]))
    transfers: dict[tuple[str, str, str, str], int] = {}
    for u, v in g.edges:
        for p in g.nodes[u]["durations"]:
            for q in g.nodes[v]["durations"]:
                if p != q:
                    ticks = instance.transfer_ticks(u, v, p, q)
                    if ticks:
                        transfers[u, v, p, q] = ticks
    values.extend(transfers.values())
    unit = reduce(math.gcd, (abs(x) for x in values), 0) or 1
    return TimeScale(instance.resolution, unit), transfers


def windows(
    instance: Instance,
    *,
    makespan_upper: float | None = None,
    known_scale: tuple[TimeScale, dict[tuple[str, str, str, str], int]] | None = None,
) -> Windows:
    """Integer model data and time windows of ``instance``.

    Parameters
    ----------
    instance
        The instance.
    makespan_upper
        Optional upper bound (ms) on the makespan of *some optimal* schedule, e.g. a known
        schedule's makespan when the objective is makespan; the horizon is then
        ``min(safe horizon, makespan_upper)``. Do not pass it for other objectives.
    known_scale
        :func:`time_scale` of an instance that ``instance`` narrows (the affinity search
        scores many such), to skip computing it again.

    Returns
    -------
    Windows
    """
    scale, transfer_ticks = known_scale or time_scale(instance)
    g = instance.graph
    to = scale.from_ticks
    tasks = instance.tasks
    options = {t: tuple(sorted(g.nodes[t]["durations"])) for t in tasks}
    duration = {
        (t, p): to(instance.ticks(ms)) for t in tasks for p, ms in g.nodes[t]["durations"].items()
    }
    release = {t: to(instance.ticks(g.nodes[t]["release"])) for t in tasks}
    deadline = {
        j.id: to(instance.ticks(j.deadline))
        for j in instance.jobs.values()
        if j.deadline is not None
    }
    transfers = {k: to(v) for k, v in transfer_ticks.items()}

    def tr(u: str, v: str, p: str, q: str) -> int:
        return transfers.get((u, v, p, q), 0)

    # Heads: earliest start of each option from releases and predecessors' best options.
    est: dict[Option, int] = {}
    for v in tasks:
        for q in options[v]:
            start = release[v]
            for u in g.predecessors(v):
                start = max(
                    start,
                    min(est[u, p] + duration[u, p] + tr(u, v, p, q) for p in options[u]),
                )
            est[v, q] = start

    # Which successors run whenever their predecessor runs (so tails may count them): in late
    # mode all of them; in drop mode those of the same job or of a job that cannot be dropped
    # (Instance.droppable).
    droppable = instance.droppable
    always_present: dict[tuple[str, str], bool] = {}
    for u, v in g.edges:
        ju, jv = g.nodes[u]["job"], g.nodes[v]["job"]
        always_present[u, v] = ju == jv or jv not in droppable

    tail: dict[Option, int] = {}
    for u in reversed(tasks):
        for p in options[u]:
            rest = 0
            for v in g.successors(u):
                if always_present[u, v]:
                    rest = max(
                        rest,
                        min(tr(u, v, p, q) + duration[v, q] + tail[v, q] for q in options[v]),
                    )
            tail[u, p] = rest

    critical_path = max(
        (min(est[t, p] + duration[t, p] + tail[t, p] for p in options[t]) for t in tasks),
        default=0,
    )

    incoming = {
        v: max(
            (
                transfers.get((u, v, p, q), 0)
                for u in g.predecessors(v)
                for p in options[u]
                for q in options[v]
            ),
            default=0,
        )
        for v in tasks
    }
    safe = max(release.values(), default=0) + sum(
        max(duration[t, p] for p in options[t]) + incoming[t] for t in tasks
    )
    horizon = safe
    if makespan_upper is not None:
        horizon = min(safe, grid.floor(makespan_upper / scale.unit_ms))
    horizon = max(horizon, critical_path)
    return Windows(
        scale=scale,
        tasks=tasks,
        options=options,
        duration=duration,
        release=release,
        deadline=deadline,
        transfers=transfers,
        est=est,
        tail=tail,
        horizon=horizon,
        critical_path=critical_path,
        always_present=always_present,
    )
