"""Time windows of jobs: the groups of the decomposition bound and the windows of the window
search (``formulations/bounds.md``, section "Decomposition").

A *unit* is a job, or all the jobs of one LLM request together (a request is never split: its
TTFT and its decode milestones depend on one another); units are ordered by release (a
request's arrival). A *window* is a run of consecutive units. :func:`windows_of` cuts the units
into windows of about ``target`` tasks each, at release boundaries only -- units released at the
same instant stay together, so a window is exactly "the jobs released in ``[a, b)``".

>>> import networkx as nx
>>> from rtgen_opt.instance import Instance, Platform
>>> g = nx.DiGraph()
>>> for k in range(6):
...     g.add_node(f"t{k}", durations={"m": 1.0}, release=float(k // 2), job=f"j{k}")
>>> inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
>>> [w.jobs for w in windows_of(inst, 3)]
[('j0', 'j1', 'j2', 'j3'), ('j4', 'j5')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate

import networkx as nx

from rtgen_opt.instance import Instance


@dataclass(frozen=True)
class Unit:
    """Jobs that go into one window together (one job, or one LLM request's jobs); ``release``
    is the time it is sorted by (its release, or its deadline for the rolling construction)."""

    release: float
    jobs: tuple[str, ...]
    tasks: int


@dataclass(frozen=True)
class Window:
    """A run of consecutive units: the jobs released in ``[start, end)``."""

    units: tuple[Unit, ...]

    @cached_property
    def jobs(self) -> tuple[str, ...]:
        return tuple(j for u in self.units for j in u.jobs)

    @property
    def tasks(self) -> int:
        return sum(u.tasks for u in self.units)

    @property
    def start(self) -> float:
        return self.units[0].release

    @property
    def end(self) -> float:
        """The release of the last unit (the window holds the jobs released up to it)."""
        return self.units[-1].release

    def __add__(self, other: Window) -> Window:
        return Window(self.units + other.units)

    def halves(self) -> tuple[Window, Window] | None:
        """The window cut in two at the release boundary nearest its middle by tasks, or
        ``None`` when all its units are released at one instant."""
        cuts = [
            k
            for k in range(1, len(self.units))
            if self.units[k].release > self.units[k - 1].release
        ]
        if not cuts:
            return None
        prefix = list(accumulate(u.tasks for u in self.units))
        best = min(cuts, key=lambda k: (abs(2 * prefix[k - 1] - self.tasks), k))
        return Window(self.units[:best]), Window(self.units[best:])


def units_of(instance: Instance, *, by: str = "release") -> list[Unit]:
    """The units of ``instance`` in order, each after every unit it depends on.

    ``by="release"`` (the groups of the decomposition bound): a unit is a job or a whole LLM
    request, in release order. ``by="deadline"`` (the windows of the rolling construction):
    every job is a unit of its own, in deadline order (release for a job without one), so an
    LLM request's decode blocks are scheduled with the work that is due when they are.

    A unit's ``release`` is its sort key. A job's predecessors normally come no later than the
    job (a cascade's upstream frame, the previous decode block), so that order is dependency
    order; where a graph says otherwise the units are ordered by dependency first, and units
    that depend on each other are merged into one. Ties go by the first job's id.
    """
    jobs = instance.jobs
    request_of: dict[str, str] = {}
    if by == "release":
        for rid, req in instance.requests.items():
            for t in (*req.prefill_tasks, *req.decode_tasks):
                request_of[instance.graph.nodes[t]["job"]] = rid
    elif by != "deadline":
        raise ValueError(f"units by 'release' or 'deadline', not {by!r}")

    def when(j: str) -> float:
        d = jobs[j].deadline
        return jobs[j].release if by == "release" or d is None else d

    key_of = {jid: request_of.get(jid, jid) for jid in jobs}
    deps = nx.DiGraph()
    deps.add_nodes_from(dict.fromkeys(key_of.values()))
    for jid, succs in instance.job_successors.items():
        for k in succs:
            if key_of[jid] != key_of[k]:
                deps.add_edge(key_of[jid], key_of[k])
    members: dict[object, list[str]] = {}
    merged = nx.condensation(deps)  # units that depend on each other become one node
    for jid in jobs:  # in (release, id) order
        members.setdefault(merged.graph["mapping"][key_of[jid]], []).append(jid)
    units = {
        node: Unit(min(when(j) for j in js), tuple(js), sum(len(jobs[j].tasks) for j in js))
        for node, js in members.items()
    }
    order = nx.lexicographical_topological_sort(
        merged, key=lambda n: (units[n].release, units[n].jobs[0])
    )
    return [units[n] for n in order]


def windows_of(instance: Instance, target: int, *, by: str = "release") -> list[Window]:
    """Consecutive windows of about ``target`` tasks each (at least one unit each), of the
    units :func:`units_of` makes ``by`` release or deadline."""
    return cut(units_of(instance, by=by), target)


def cut(units: Sequence[Unit], target: int) -> list[Window]:
    """``units`` cut into windows of about ``target`` tasks, at release boundaries only."""
    target = max(1, int(target))
    out: list[Window] = []
    current: list[Unit] = []
    size = 0
    for k, u in enumerate(units):
        boundary = k == 0 or u.release > units[k - 1].release
        if current and boundary and size + u.tasks > target and size >= target / 2:
            out.append(Window(tuple(current)))
            current, size = [], 0
        current.append(u)
        size += u.tasks
    if current:
        out.append(Window(tuple(current)))
    return out
