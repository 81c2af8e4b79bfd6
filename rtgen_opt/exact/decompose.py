"""Decomposition: certified gaps on instances too large for one model.

Two halves, each exact where it can be (``formulations/bounds.md``, section "Decomposition"):

- **the bound**: the jobs are partitioned into groups by release (:mod:`rtgen_opt.exact.partition`,
  LLM requests whole). For a criterion that is a sum over jobs (``Criterion.additive``), the sum
  over groups of the proven bound of each group solved *alone* bounds the whole instance (the
  restriction of any schedule to a group is a schedule of the group: edges into the group from
  outside are dropped, which only relaxes); for makespan, the largest group bound does. Groups
  are independent solves, run in parallel processes or on a Dask cluster; a group that is not
  proven in its time is split in two, and keeps the better of its own bound and its halves' sum.
  Only groups where the incumbent's share exceeds the group's bound can tighten the gap, so only
  those are solved.
- **the incumbent**: the window search (:mod:`rtgen_opt.exact.window_search`) -- a rolling
  construction, then improving passes over time slices -- from the best schedule it is given.

:func:`solve_decomposed` runs both within one time limit and returns a :class:`Result` whose
``stats`` say how many groups there were and how many were proven.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rtgen_opt.errors import ArgumentError
from rtgen_opt.exact.bounds import combinatorial_bounds
from rtgen_opt.exact.partition import Window, windows_of
from rtgen_opt.exact.result import Result, SolveStatus
from rtgen_opt.exact.solve import solve as solve_exact
from rtgen_opt.exact.window_search import WindowSearch
from rtgen_opt.grid import close, leq
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective
from rtgen_opt.parallel import Executor
from rtgen_opt.schedule import Schedule

#: Tasks per group of the bound (a group of this size is usually proven in a second or two).
GROUP_TASKS = 300
#: Seconds a group's solve may take at first (halves get the same again).
GROUP_LIMIT = 4.0
#: A group's solve is not started with less than this many seconds left before the deadline.
MIN_GROUP_S = 0.1
#: Groups are not split below this many tasks.
MIN_GROUP_TASKS = 30
#: Share of the time limit in which the groups' solver-free bounds are computed.
GROUP_BOUND_SHARE = 0.1
#: Share of the time limit the rolling construction may use at most; the improving passes get
#: the rest, and each time they stall a round of group bounds runs where the gap is.
CONSTRUCT_SHARE = 0.5

#: ``progress(elapsed_s, objective, bound, note)`` of the first component.
Progress = Callable[..., None]


# --------------------------------------------------------------------------- the bound
@dataclass
class Group:
    """A group of jobs and what is proven of it alone: its own bound (first component) and,
    once split, its two halves. Its bound is the better of its own and its halves' combined."""

    window: Window
    own: float
    status: str = "bound"  # "bound" (solver-free only), "optimal", "feasible", ...
    halves: tuple[Group, Group] | None = None
    wall_s: float = 0.0

    def bound(self, additive: bool) -> float:
        if self.halves is None:
            return self.own
        return max(self.own, combine(additive, [h.bound(additive) for h in self.halves]))

    @property
    def proven(self) -> bool:
        if self.halves is not None and all(h.proven for h in self.halves):
            return True
        return self.status == "optimal"

    def leaves(self) -> list[Group]:
        if self.halves is None or self.proven:
            return [self]
        return [leaf for h in self.halves for leaf in h.leaves()]


def solve_group(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Solve one group alone (a worker function: JSON in, JSON out; runs in any process).

    ``spec["until"]``, when given, is a wall-clock time (:func:`time.time`, comparable across
    processes, unlike :func:`time.perf_counter`) by which the solve must end: a group started
    late by a busy pool gets only what is left, and none when nothing is.
    """
    limit = spec["time_limit"]
    if spec.get("until") is not None:
        limit = min(limit, spec["until"] - time.time())
        if limit < MIN_GROUP_S:
            return {"bound": -math.inf, "status": "skipped", "wall_s": 0.0}
    instance = Instance.from_dict(spec["instance"])
    result = solve_exact(
        instance,
        spec["objective"],
        "cpsat",
        time_limit=limit,
        workers=1,
        seed=spec["seed"],
        floor_probe=False,  # see cpsat.FLOOR_SHARE
    )
    bound = result.bound[0] if result.bound else -math.inf
    return {"bound": bound, "status": str(result.status), "wall_s": result.runtime}


def combine(additive: bool, bounds: Sequence[float]) -> float:
    """The bound of the whole from group bounds: their sum for a sum over jobs, their maximum
    otherwise (makespan)."""
    if not bounds:
        return 0.0
    return float(sum(bounds) if additive else max(bounds))


def share(
    instance: Instance, objective: Objective, schedule: Schedule, jobs: Sequence[str]
) -> float:
    """The first component of ``schedule`` restricted to ``jobs`` (their part of the sum, or for
    makespan the latest end of their tasks)."""
    part = instance.restrict(jobs)
    pl = schedule.placements
    rows = [(t, pl[t].processor, pl[t].start, pl[t].end) for t in part.tasks if t in pl]
    restricted = Schedule.build(rows, [j for j in jobs if j in schedule.dropped])
    return objective.first.evaluate(part, restricted)


class GroupBounds:
    """The decomposition bound of an instance, group by group (see the module docstring)."""

    def __init__(
        self,
        instance: Instance,
        objective: Objective,
        *,
        target: int = GROUP_TASKS,
        seed: int = 0,
        until: float | None = None,
    ) -> None:
        if not objective.first.additive and objective.first.name != "makespan":
            raise ArgumentError(
                "method", f"no decomposition bound for the objective {objective.first.name!r}"
            )
        self.instance = instance
        self.objective = objective
        self.seed = seed
        self.additive = objective.first.additive
        self.groups = [Group(w, self._cheap(w, until)) for w in windows_of(instance, target)]

    def _cheap(self, window: Window, until: float | None = None) -> float:
        """The group's solver-free bound; ``-inf`` (no bound yet: its solve gives one) after
        the :func:`time.perf_counter` time ``until``."""
        if until is not None and time.perf_counter() >= until:
            return -math.inf
        part = self.instance.restrict(window.jobs)
        return combinatorial_bounds(part, self.objective)["bound"]

    @property
    def bound(self) -> float:
        return combine(self.additive, [g.bound(self.additive) for g in self.groups])

    @property
    def proven(self) -> int:
        """Groups proven optimal alone (a group is proven when both its halves are)."""
        return sum(g.proven for g in self.groups)

    def open_leaves(self, incumbent: Schedule) -> list[Group]:
        """The unproven groups (or halves) where the incumbent's share exceeds their bound,
        most open first: they are where the gap is."""
        out = []
        for k, g in enumerate(self.groups):
            for leaf in g.leaves():
                if leaf.proven:
                    continue
                s = share(self.instance, self.objective, incumbent, leaf.window.jobs)
                if not leq(s, leaf.bound(self.additive)):
                    out.append((s - leaf.bound(self.additive), k, leaf))
        return [leaf for *_, leaf in sorted(out, key=lambda x: (-x[0], x[1]))]

    def refine(
        self,
        leaves: Sequence[Group],
        executor: Executor,
        *,
        time_limit: float,
        deadline: float,
        stop: threading.Event,
    ) -> int:
        """Solve each leaf alone, or, when it was solved already without a proof, its two halves;
        returns how many bounds rose."""
        todo: list[tuple[Group, Window]] = []
        for leaf in leaves:
            if leaf.status == "bound":
                todo.append((leaf, leaf.window))
            elif leaf.halves is None and leaf.window.tasks >= 2 * MIN_GROUP_TASKS:
                halves = leaf.window.halves()
                if halves is not None:
                    leaf.halves = tuple(Group(w, self._cheap(w)) for w in halves)  # type: ignore[assignment]
                    todo.extend((h, h.window) for h in leaf.halves)
        if not todo:
            return 0
        before = [g.bound(self.additive) for g in self.groups]
        specs = [
            {
                "instance": self.instance.restrict(w.jobs).to_dict(),
                "objective": list(self.objective.names[:1]),
                "time_limit": time_limit,
                "until": time.time() + (deadline - time.perf_counter()),
                "seed": self.seed,
            }
            for _, w in todo
        ]
        try:
            for i, out in executor.map_unordered(solve_group, specs):
                group = todo[i][0]
                if out["status"] == "skipped":  # reached after the deadline: still to solve
                    continue
                group.own = max(group.own, out["bound"])
                group.status = out["status"]
                group.wall_s += out["wall_s"]
                if stop.is_set() or time.perf_counter() > deadline:
                    break
        except KeyboardInterrupt:
            stop.set()
        after = [g.bound(self.additive) for g in self.groups]
        return sum(b > a for a, b in zip(before, after, strict=True))


# --------------------------------------------------------------------------- the method
def solve_decomposed(
    instance: Instance,
    objective: Objective,
    hint: Schedule,
    *,
    time_limit: float,
    workers: int = 2,
    seed: int = 0,
    scheduler: Any = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    window_limit: float | None = None,
    cheap: float | None = None,
) -> Result:
    """Window search for the incumbent and the decomposition bound, within ``time_limit``.

    ``hint`` is the best schedule known (e.g. of the online policies and the list schedule);
    the result is never worse. The window search uses ``workers`` CP-SAT threads; the group
    bounds run on ``workers`` local processes, or on the Dask cluster of ``scheduler``.
    ``cheap`` is the instance's solver-free bound when the caller has it. Every phase keeps
    the deadline: the groups' solver-free bounds are computed in the first
    :data:`GROUP_BOUND_SHARE` of the time (the rest wait for their solve), and a rolling
    construction still unfinished at the deadline is given up (the incumbent stays).
    """
    started = time.perf_counter()
    deadline = started + time_limit
    stop = stop or threading.Event()
    search = WindowSearch(instance, objective, hint, workers=workers, seed=seed, stop=stop)
    groups = GroupBounds(
        instance, objective, seed=seed, until=started + GROUP_BOUND_SHARE * time_limit
    )
    if cheap is None:
        cheap = combinatorial_bounds(instance, objective)["bound"]

    def bound() -> float:
        return max(cheap, groups.bound)

    def report(note: str) -> None:
        if progress is not None:
            progress(time.perf_counter() - started, search.values[0], bound(), note)

    def closed() -> bool:
        return leq(search.values[0], bound())

    report(f"start: {len(groups.groups)} groups")

    def tighten(limit: float) -> bool:
        """One round of group bounds where the gap is; whether a bound rose."""
        leaves = groups.open_leaves(search.incumbent)
        if not leaves or stop.is_set():
            return False
        left = deadline - time.perf_counter()
        raised = groups.refine(
            leaves, executor, time_limit=min(limit, left), deadline=deadline, stop=stop
        )
        report(f"{groups.proven}/{len(groups.groups)} groups proven")
        return raised > 0

    interrupted = False
    with Executor(workers, scheduler) as executor:
        try:
            if not closed():
                search.construct(
                    min(deadline, started + CONSTRUCT_SHARE * time_limit), give_up=deadline
                )
                report("rolling construction done")
            if not closed() and not stop.is_set():
                # Improving passes; when they stall, the bound is tightened where the gap is.
                search.run(
                    deadline,
                    window_limit=window_limit,
                    done=lambda v: leq(v[0], bound()),
                    on_improve=lambda s, v: report("window search"),
                    stall=lambda: tighten(GROUP_LIMIT),
                )
            while not closed() and not stop.is_set() and time.perf_counter() < deadline - 0.5:
                if not tighten(GROUP_LIMIT):
                    break
        except KeyboardInterrupt:
            interrupted = True
    interrupted = interrupted or stop.is_set() or search.stats.interrupted
    values = search.values
    first_bound = min(bound(), values[0])
    proven = close(values[0], first_bound)
    n = len(objective)
    bounds = (first_bound,) + ((-math.inf,) * (n - 1))
    if proven and n == 1:
        bounds = (values[0],)
    stats: dict[str, Any] = {
        "method": "decompose",
        "groups": len(groups.groups),
        "groups_proven": groups.proven,
        "group_tasks": [g.window.tasks for g in groups.groups],
        # None: a group whose solver-free bound the deadline left out and that was not solved
        "group_bounds": [
            b if math.isfinite(b) else None
            for b in (g.bound(groups.additive) for g in groups.groups)
        ],
        "search": search.stats.as_dict(),
        "combinatorial_bound": cheap,
    }
    if interrupted:
        stats["interrupted"] = True
    status = SolveStatus.OPTIMAL if proven and n == 1 else SolveStatus.FEASIBLE
    return Result(
        status=status,
        objective=values,
        bound=bounds,
        runtime=time.perf_counter() - started,
        schedule=search.incumbent.with_provenance(method="decompose"),
        solver="cpsat",
        objective_name=objective.names,
        stats=stats,
    )
