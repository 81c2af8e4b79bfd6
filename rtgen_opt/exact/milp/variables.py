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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pulp

from rtgen_opt.exact.windows import Windows, windows
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
    table
        Every (pair, processor) entry that needs a disjunctive constraint (:class:`PairTable`);
        :attr:`pairs` is the same as one :class:`PairPlan` per pair.
    """

    x: dict[tuple[str, str], pulp.LpVariable]
    start: dict[str, pulp.LpVariable]
    order: dict[Pair, pulp.LpVariable]
    dropped: dict[str, pulp.LpVariable]
    late: dict[str, pulp.LpVariable] = field(default_factory=dict)
    tardiness: dict[str, pulp.LpVariable] = field(default_factory=dict)
    first_token: dict[str, pulp.LpVariable] = field(default_factory=dict)
    makespan: pulp.LpVariable | None = None
    table: PairTable | None = None
    tasks: tuple[str, ...] = ()
    _pairs: dict[Pair, PairPlan] | None = field(default=None, repr=False)

    @property
    def pairs(self) -> dict[Pair, PairPlan]:
        """The plan of every pair with a disjunctive constraint, in ``(t, u)`` task order."""
        if self._pairs is None:
            self._pairs = {} if self.table is None else plans(self.table, self.tasks)
        return self._pairs

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


#: Kinds of a (pair, processor) entry of :class:`PairTable`, in :class:`PairPlan`'s field order.
KINDS = ("free", "t_first", "u_first", "apart")

#: Up to this many tasks, reachability is a packed bit matrix (n^2 / 8 bytes: 200 MB at 40,000).
_MATRIX_TASKS = 40_000


@dataclass(frozen=True)
class PairTable:
    """Every (pair, shared processor) entry that needs a disjunctive constraint, as arrays.

    Row ``r`` is the pair ``(tasks[t[r]], tasks[u[r]])`` (topological indices, ``t < u``) on
    processor ``processors[p[r]]``, of kind ``KINDS[kind[r]]``; rows are sorted by
    ``(t, u, kind, processor name)``, the order of the pairs' plans. The constraints are built from these arrays in bulk.
    """

    t: np.ndarray
    u: np.ndarray
    p: np.ndarray
    kind: np.ndarray
    processors: tuple[str, ...]

    @property
    def n_pairs(self) -> int:
        """The number of distinct pairs (what the ``max_pairs`` cap counts)."""
        if len(self.t) == 0:
            return 0
        key = self.t.astype(np.int64) << 32 | self.u
        return int(np.count_nonzero(key[1:] != key[:-1]) + 1)

    @property
    def n_rows(self) -> int:
        """Rows of (C4)-(C6): two per free entry, one per other entry."""
        return int(len(self.kind) + np.count_nonzero(self.kind == 0))


def _reachability(instance: Instance, win: Windows) -> Callable[[np.ndarray, np.ndarray], Any]:
    """``reaches(t, u)`` over index arrays: whether a precedence path leads from ``t`` to ``u``."""
    index = {t: i for i, t in enumerate(win.tasks)}
    g = instance.graph
    n = len(win.tasks)
    if n <= _MATRIX_TASKS:
        width = (n + 7) // 8
        bits = np.zeros((n, width), dtype=np.uint8)
        for t in reversed(win.tasks):
            i = index[t]
            for v in g.successors(t):
                k = index[v]
                bits[i] |= bits[k]
                bits[i, k >> 3] |= np.uint8(1 << (k & 7))

        def reaches(t: np.ndarray, u: np.ndarray) -> np.ndarray:
            return (bits[t, u >> 3] >> (u & 7).astype(np.uint8)) & 1 == 1

        return reaches
    reach: dict[int, int] = {}  # Python integers as bitsets: slower, but no n^2 matrix
    for t in reversed(win.tasks):
        acc = 0
        for v in g.successors(t):
            acc |= reach[index[v]] | (1 << index[v])
        reach[index[t]] = acc

    def reaches_slow(t: np.ndarray, u: np.ndarray) -> np.ndarray:
        return np.fromiter(
            (reach[a] >> b & 1 for a, b in zip(t.tolist(), u.tolist(), strict=True)),
            dtype=bool,
            count=len(t),
        )

    return reaches_slow


def pair_table(instance: Instance, win: Windows) -> PairTable:
    """The (pair, processor) entries that need a disjunctive constraint (see :func:`plan_pairs`),
    computed with array operations: cheap enough to count before anything is built."""
    n_index = {t: i for i, t in enumerate(win.tasks)}
    procs = tuple(instance.processors)
    reaches = _reachability(instance, win)
    parts: list[tuple[np.ndarray, ...]] = []
    for k, p in enumerate(procs):
        members = [t for t in win.tasks if p in win.options[t]]
        if len(members) < 2:
            continue
        idx = np.array([n_index[t] for t in members], dtype=np.int64)
        est = np.array([win.est[t, p] for t in members], dtype=np.int64)
        dur = np.array([win.duration[t, p] for t in members], dtype=np.int64)
        lct = np.array([win.lct(t, p) for t in members], dtype=np.int64)
        # Sweep by earliest start: b (after a) overlaps a on p only if it starts before a's lct.
        order = np.lexsort((idx, est))
        idx, est, dur, lct = idx[order], est[order], dur[order], lct[order]
        stop = np.searchsorted(est, lct, side="left")
        count = np.maximum(stop - np.arange(len(est)) - 1, 0)
        total = int(count.sum())
        if total == 0:
            continue
        a = np.repeat(np.arange(len(est)), count)
        first = np.cumsum(count) - count
        b = a + 1 + (np.arange(total) - np.repeat(first, count))
        keep = lct[b] > est[a]
        a, b = a[keep], b[keep]
        swap = idx[a] > idx[b]
        ta, ub = np.where(swap, b, a), np.where(swap, a, b)  # positions of t and u
        ordered = reaches(idx[ta], idx[ub])
        ta, ub = ta[~ordered], ub[~ordered]
        # t then u fits iff max(est_t + d_t, est_u) + d_u <= lct_u; u then t likewise.
        tu = np.maximum(est[ta] + dur[ta], est[ub]) + dur[ub] <= lct[ub]
        ut = np.maximum(est[ub] + dur[ub], est[ta]) + dur[ta] <= lct[ta]
        kind = np.where(tu & ut, 0, np.where(tu, 1, np.where(ut, 2, 3))).astype(np.int8)
        parts.append((idx[ta], idx[ub], np.full(len(ta), k, dtype=np.int32), kind))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return PairTable(empty, empty, empty.astype(np.int32), empty.astype(np.int8), procs)
    t, u, p_, kind = (np.concatenate(col) for col in zip(*parts, strict=True))
    name_rank = np.argsort(np.argsort(np.array(procs, dtype=object)))  # processor name order
    order = np.lexsort((name_rank[p_], kind, u, t))
    return PairTable(t[order], u[order], p_[order], kind[order], procs)


def count_pairs(instance: Instance, win: Windows | None = None) -> int:
    """How many disjunctive pairs the MILP of ``instance`` has, before building anything.

    It is ``len(build_model(instance, ...).var.pairs)``: the pairs of tasks that share an
    eligible processor whose windows overlap there, not ordered by a precedence path. The
    model's size (rows, memory, build time) grows with it; :func:`rtgen_opt.exact.milp.
    solve_milp` refuses a model above its ``max_pairs`` cap.
    """
    return pair_table(instance, win or windows(instance)).n_pairs


def plan_pairs(instance: Instance, win: Windows) -> dict[Pair, PairPlan]:
    """The pairs that need a disjunctive constraint, and which kind on each shared processor.

    A pair needs none when a precedence path orders it, or when on every shared processor the
    windows keep the two apart in time. Otherwise, per shared processor ``p``, the order ``t``
    then ``u`` fits iff ``max(est[t,p] + d[t,p], est[u,p]) + d[u,p] <= lct[u,p]``.
    """
    return plans(pair_table(instance, win), win.tasks)


def plans(table: PairTable, tasks: tuple[str, ...]) -> dict[Pair, PairPlan]:
    """The :class:`PairPlan` of every pair of ``table``, in ``(t, u)`` order."""
    out: dict[Pair, PairPlan] = {}
    procs = table.processors
    current: tuple[int, int] | None = None
    kinds: dict[str, list[str]] = {}
    for t, u, p, kind in zip(
        table.t.tolist(), table.u.tolist(), table.p.tolist(), table.kind.tolist(), strict=True
    ):
        if (t, u) != current:
            if current is not None:
                out[tasks[current[0]], tasks[current[1]]] = PairPlan(
                    **{k: tuple(v) for k, v in kinds.items()}
                )
            current, kinds = (t, u), {}
        kinds.setdefault(KINDS[kind], []).append(procs[p])
    if current is not None:
        out[tasks[current[0]], tasks[current[1]]] = PairPlan(
            **{k: tuple(v) for k, v in kinds.items()}
        )
    return out


def create_variables(
    problem: pulp.LpProblem,
    instance: Instance,
    win: Windows,
    objective: Objective,
    table: PairTable | None = None,
) -> Variables:
    """All variables the model needs for ``objective``, added to ``problem`` (see the module
    docstring); ``table`` is the :func:`pair_table` when the caller has it already."""

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
    if table is None:
        table = pair_table(instance, win)
    free = table.kind == 0
    tasks = win.tasks
    order = {
        (tasks[i], tasks[k]): binary(f"y_{i}_{k}")
        for i, k in dict.fromkeys(zip(table.t[free].tolist(), table.u[free].tolist(), strict=True))
    }
    dropped = {j: binary(f"drop_{job_index[j]}") for j in instance.jobs if j in instance.droppable}
    out = Variables(
        x=x, start=start, order=order, dropped=dropped, table=table, tasks=tuple(win.tasks)
    )

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
