"""The variables of the MILP (``formulations/milp.md`` section 2), created from the time windows.

Which variables exist is decided here, from the windows alone: an ordering binary only for a pair
of tasks that share an eligible processor, whose windows overlap there, that are not ordered by a
precedence path, and that could run in either order; a miss binary only for a job that can be
late; a drop binary only for a job that may be dropped (:attr:`Instance.droppable`).

Variable names use indices, not task ids (ids may hold characters LP/MPS files reject):
``x_<task>_<proc>``, ``S_<task>``, ``y_<task>_<task>``, ``drop_<job>``, ``late_<job>``,
``tard_<job>``, ``ttft_<request>``, ``Cmax``, with tasks in the instance's topological order,
processors in platform order, jobs and requests in the instance's order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulp

from rtgen_opt.exact.windows import Windows
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective

Pair = tuple[str, str]


@dataclass(frozen=True)
class PairPlan:
    """How the disjunctive constraints treat a pair ``(t, u)`` (``t`` before ``u`` in task order).

    ``free`` lists the shared processors on which both orders are possible (an ordering binary
    decides), ``t_first`` / ``u_first`` those where only that order fits the windows, ``apart``
    those where neither fits (the two may not share the processor).
    """

    free: tuple[str, ...] = ()
    t_first: tuple[str, ...] = ()
    u_first: tuple[str, ...] = ()
    apart: tuple[str, ...] = ()


@dataclass
class Variables:
    """Every decision variable of the model, keyed by the instance's ids.

    Attributes
    ----------
    x
        ``(task, processor) -> binary``: the task runs there (C1).
    start
        ``task -> continuous``: start in model time, bounded by the task's windows.
    order
        ``(t, u) -> binary``: 1 when ``t`` precedes ``u`` on a shared processor (C4).
    dropped
        ``job -> binary``: the job is dropped (jobs of :attr:`Instance.droppable` only).
    late
        ``job -> binary``: the job misses its deadline (created when the job can be late).
    tardiness, first_token
        ``job -> continuous`` / ``request -> continuous``, only for those objectives.
    makespan
        ``Cmax`` for the makespan objective.
    pairs
        The plan of every pair that needs a disjunctive constraint (see :class:`PairPlan`).
    """

    x: dict[tuple[str, str], pulp.LpVariable]
    start: dict[str, pulp.LpVariable]
    order: dict[Pair, pulp.LpVariable]
    dropped: dict[str, pulp.LpVariable]
    late: dict[str, pulp.LpVariable] = field(default_factory=dict)
    tardiness: dict[str, pulp.LpVariable] = field(default_factory=dict)
    first_token: dict[str, pulp.LpVariable] = field(default_factory=dict)
    makespan: pulp.LpVariable | None = None
    pairs: dict[Pair, PairPlan] = field(default_factory=dict)

    def duration(self, win: Windows, task: str) -> pulp.LpAffineExpression:
        """``sum_p d[t,p] x[t,p]``: the task's duration (0 when it is dropped)."""
        return pulp.lpSum(win.duration[task, p] * self.x[task, p] for p in win.options[task])

    def end(self, win: Windows, task: str) -> pulp.LpAffineExpression:
        return self.start[task] + self.duration(win, task)


def start_bounds(win: Windows, task: str) -> tuple[int, int]:
    """``(Smin, Smax)``: earliest start over the task's options, latest start over them."""
    opts = win.options[task]
    return min(win.est[task, p] for p in opts), max(win.lst(task, p) for p in opts)


def job_sinks(instance: Instance) -> dict[str, tuple[str, ...]]:
    """For each job, its tasks with no successor in the same job (the job ends with one)."""
    g = instance.graph
    out = {}
    for jid, job in instance.jobs.items():
        out[jid] = tuple(
            t for t in job.tasks if not any(g.nodes[v]["job"] == jid for v in g.successors(t))
        )
    return out


def plan_pairs(instance: Instance, win: Windows) -> dict[Pair, PairPlan]:
    """The pairs that need a disjunctive constraint, and which kind on each shared processor.

    A pair needs none when a precedence path orders it, or when on every shared processor the
    windows keep the two apart in time. Otherwise, per shared processor ``p``, the order ``t``
    then ``u`` fits iff ``max(est[t,p] + d[t,p], est[u,p]) + d[u,p] <= lct[u,p]``.
    """
    index = {t: i for i, t in enumerate(win.tasks)}
    # Descendants as bitsets over the topological index: cheap reachability for every pair.
    reach: dict[str, int] = {}
    g = instance.graph
    for t in reversed(win.tasks):
        bits = 0
        for v in g.successors(t):
            bits |= reach[v] | (1 << index[v])
        reach[t] = bits

    by_proc: dict[str, list[str]] = {p: [] for p in instance.processors}
    for t in win.tasks:
        for p in win.options[t]:
            by_proc[p].append(t)

    def fits(a: str, b: str, p: str) -> bool:
        d_a, d_b = win.duration[a, p], win.duration[b, p]
        return max(win.est[a, p] + d_a, win.est[b, p]) + d_b <= win.lct(b, p)

    found: dict[Pair, dict[str, list[str]]] = {}
    for p, members in by_proc.items():
        # Sweep by earliest start: a pair overlaps on p only if the later-starting task starts
        # before the earlier one's latest completion.
        members = sorted(members, key=lambda t: (win.est[t, p], index[t]))
        for i, a in enumerate(members):
            lct_a = win.lct(a, p)
            for b in members[i + 1 :]:
                if win.est[b, p] >= lct_a:
                    break
                t, u = (a, b) if index[a] < index[b] else (b, a)
                if reach[t] >> index[u] & 1:
                    continue
                if win.lct(b, p) <= win.est[a, p]:
                    continue
                tu, ut = fits(t, u, p), fits(u, t, p)
                kind = "free" if tu and ut else "t_first" if tu else "u_first" if ut else "apart"
                found.setdefault((t, u), {}).setdefault(kind, []).append(p)
    return {
        pair: PairPlan(**{k: tuple(sorted(v)) for k, v in kinds.items()})
        for pair, kinds in sorted(found.items(), key=lambda kv: (index[kv[0][0]], index[kv[0][1]]))
    }


def create_variables(
    problem: pulp.LpProblem, instance: Instance, win: Windows, objective: Objective
) -> Variables:
    """All variables the model needs for ``objective``, added to ``problem`` (see the module
    docstring)."""

    def binary(name: str) -> pulp.LpVariable:
        return problem.add_variable(name, 0, 1, pulp.LpBinary)

    index = {t: i for i, t in enumerate(win.tasks)}
    proc_index = {p: k for k, p in enumerate(instance.processors)}
    job_index = {j: k for k, j in enumerate(instance.jobs)}

    x = {(t, p): binary(f"x_{index[t]}_{proc_index[p]}") for t in win.tasks for p in win.options[t]}
    start = {}
    for t in win.tasks:
        lo, hi = start_bounds(win, t)
        start[t] = problem.add_variable(f"S_{index[t]}", lo, hi)
    pairs = plan_pairs(instance, win)
    order = {
        (t, u): binary(f"y_{index[t]}_{index[u]}") for (t, u), plan in pairs.items() if plan.free
    }
    dropped = {j: binary(f"drop_{job_index[j]}") for j in instance.jobs if j in instance.droppable}
    out = Variables(x=x, start=start, order=order, dropped=dropped, pairs=pairs)

    sinks = job_sinks(instance)
    if objective.has("misses"):
        for j, job in instance.jobs.items():
            if job.deadline is None:
                continue
            deadline = win.deadline[j]
            latest = max(win.lct(t, p) for t in sinks[j] for p in win.options[t])
            earliest = max(
                min(win.est[t, p] + win.duration[t, p] for p in win.options[t]) for t in sinks[j]
            )
            if latest <= deadline and j not in dropped:
                continue  # can never miss
            # A job that cannot make its deadline misses in every schedule: fix the binary.
            low = 1 if earliest > deadline else 0
            out.late[j] = problem.add_variable(f"late_{job_index[j]}", low, 1, pulp.LpInteger)
    if objective.has("tardiness"):
        for j, job in instance.jobs.items():
            if job.deadline is None:
                continue
            latest = max(win.lct(t, p) for t in sinks[j] for p in win.options[t])
            if latest > win.deadline[j]:
                out.tardiness[j] = problem.add_variable(f"tard_{job_index[j]}", 0)
    if objective.has("ttft"):
        for k, (rid, req) in enumerate(instance.requests.items()):
            if req.prefill_tasks:
                # Continuous in model time; the arrival need not be on the model grid.
                out.first_token[rid] = problem.add_variable(
                    f"ttft_{k}", req.arrival / win.scale.unit_ms
                )
    if objective.has("makespan"):
        out.makespan = problem.add_variable("Cmax", 0)
    return out
