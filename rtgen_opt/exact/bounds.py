"""Lower bounds without a solver: critical paths, processor load, per-window load.

Every bound here holds for every valid schedule of the instance (see ``formulations/bounds.md``
for the derivations and which bound applies to which objective). They are cheap -- one pass
over the graph plus a sort per time window -- and :func:`rtgen_opt.solve` uses them to raise the
solver's bound where they are stronger. :data:`BOUNDS` holds one entry per criterion of the
objective registry (:mod:`rtgen_opt.objectives`); :func:`combinatorial_bounds` looks it up by
name.

All times are computed in the integer model time of :func:`rtgen_opt.exact.windows.windows`, so
"``x`` ends no earlier than ``y``" rounds up to the grid exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from rtgen_opt import grid
from rtgen_opt.exact.windows import Windows, windows
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective, ObjectiveLike, builder

#: At most this many window ends (releases, deadlines) on each side are tried per bound.
MAX_WINDOW_ENDS = 60
#: The energetic makespan test tries at most this many window ends on each side.
MAX_ENERGETIC_ENDS = 40


def mandatory_tasks(instance: Instance) -> tuple[str, ...]:
    """Tasks that run in every valid schedule (all of them in ``late`` mode).

    In ``drop`` mode: the tasks of jobs that cannot be dropped and of every job they depend on
    (a job depending on a dropped job must be dropped, so those ancestors must run).
    """
    droppable = instance.droppable
    nodes = instance.graph.nodes
    return tuple(t for t in instance.tasks if nodes[t]["job"] not in droppable)


def _eligibility_sets(instance: Instance, win: Windows) -> list[frozenset[str]]:
    """Processor sets worth a load bound: all processors, each kind, each eligibility set."""
    sets = {frozenset(instance.processors)}
    for kind in instance.platform.kinds:
        sets.add(frozenset(p.name for p in instance.platform.processors if p.kind == kind))
    sets.update(frozenset(win.options[t]) for t in win.tasks)
    return sorted(sets, key=lambda s: (len(s), sorted(s)))


def _sample(values: Sequence[int], limit: int = MAX_WINDOW_ENDS) -> list[int]:
    values = sorted(set(values))
    if len(values) <= limit:
        return values
    step = len(values) / limit
    return sorted({values[int(i * step)] for i in range(limit)} | {values[-1]})


def job_tails(instance: Instance, win: Windows) -> dict[tuple[str, str], int]:
    """Tail of each option within its own job (successors of the same job only)."""
    g = instance.graph
    tails: dict[tuple[str, str], int] = {}
    for t in reversed(win.tasks):
        job = g.nodes[t]["job"]
        for p in win.options[t]:
            rest = 0
            for v in g.successors(t):
                if g.nodes[v]["job"] == job:
                    rest = max(
                        rest,
                        min(
                            win.transfer(t, v, p, q) + win.duration[v, q] + tails[v, q]
                            for q in win.options[v]
                        ),
                    )
            tails[t, p] = rest
    return tails


def earliest_completions(instance: Instance, win: Windows) -> dict[str, int]:
    """Per job, the earliest its last task can end (heads, cheapest durations, in-job tails)."""
    tails = job_tails(instance, win)
    return {
        jid: max(
            min(win.est[t, p] + win.duration[t, p] + tails[t, p] for p in win.options[t])
            for t in job.tasks
        )
        for jid, job in instance.jobs.items()
    }


def makespan_bounds(instance: Instance, win: Windows) -> dict[str, float]:
    """Critical path and load bounds on the makespan (model time converted to ms)."""
    tasks = mandatory_tasks(instance)
    if not tasks:
        return {"critical_path": 0.0, "load": 0.0, "energetic": 0.0}
    opts = win.options
    # Only tails through successors that run whenever their predecessor runs are in win.tail.
    cp = max(
        min(win.est[t, p] + win.duration[t, p] + win.tail[t, p] for p in opts[t]) for t in tasks
    )
    load = 0
    for procs in _eligibility_sets(instance, win):
        inside = [t for t in tasks if set(opts[t]) <= procs]
        if not inside:
            continue
        heads = {t: min(win.est[t, p] for p in opts[t]) for t in inside}
        # Every task with head >= a runs entirely in [a, makespan] on the |procs| processors.
        for a in _sample(list(heads.values())):
            work = sum(win.min_duration(t) for t in inside if heads[t] >= a)
            load = max(load, a + math.ceil(Fraction(work, len(procs))))
    energetic = _energetic_makespan(instance, win, tasks, max(cp, load))
    return {
        "critical_path": win.to_ms(cp),
        "load": win.to_ms(load),
        "energetic": win.to_ms(energetic),
    }


def _energetic_makespan(instance: Instance, win: Windows, tasks: Sequence[str], low: int) -> int:
    """The least makespan ``M >= low`` that passes the energetic test (model time).

    With a makespan ``M`` every mandatory task ``t`` runs for at least ``d_t`` (its least
    duration) on its processors inside ``[r_t, M - q_t]`` (least head and tail). Its least
    overlap with a window ``[a, b]`` is ``max(0, min(d_t, b - a, r_t + d_t - a, b - M + q_t +
    d_t))`` (shifted fully left or fully right). For a processor set ``K``, the tasks with
    ``P_t ⊆ K`` must fit: ``Σ overlap <= |K| (b - a)`` for every window, else no schedule has a
    makespan ``<= M``. A failed test at ``M`` proves ``M + 1`` a bound; a binary search finds
    the least ``M`` that passes (any failed ``M`` it meets is a valid bound by itself).
    """
    opts = win.options
    groups = []
    for procs in _eligibility_sets(instance, win):
        inside = [t for t in tasks if set(opts[t]) <= procs]
        if not inside:
            continue
        r = np.array([min(win.est[t, p] for p in opts[t]) for t in inside], dtype=np.int64)
        q = np.array([min(win.tail[t, p] for p in opts[t]) for t in inside], dtype=np.int64)
        d = np.array([win.min_duration(t) for t in inside], dtype=np.int64)
        groups.append((len(procs), r, q, d))
    if not groups:
        return low

    def fails(m: int) -> bool:
        for cap, r, q, d in groups:
            dl = m - q
            if np.any(r + d > dl):
                return True
            starts = np.array(_sample(np.concatenate([r, dl - d]).tolist(), MAX_ENERGETIC_ENDS))
            ends = np.array(_sample(np.concatenate([dl, r + d]).tolist(), MAX_ENERGETIC_ENDS))
            b = ends[:, None]
            right = b - dl + d  # overlap when shifted fully right
            for a in starts:  # one window start at a time: memory |ends| x |tasks|
                overlap = np.minimum(np.minimum(d, b - a), np.minimum(r + d - a, right))
                energy = np.maximum(overlap, 0).sum(axis=1)
                length = ends - a
                if np.any((length > 0) & (energy > cap * length)):
                    return True
        return False

    lo, hi = low, max(low, win.horizon)  # the answer lies in [lo, hi + 1]
    if not fails(lo):
        return lo
    best = lo + 1  # lo fails: lo + 1 is a bound
    while best <= hi:
        mid = (best + hi) // 2
        if fails(mid):
            best = mid + 1
        else:
            hi = mid - 1
    return best


def _fractional_knapsack_loss(items: list[tuple[float, int]], capacity: int) -> float:
    """Least weight to remove from ``(weight, work)`` items so the rest fits ``capacity``
    (LP relaxation: remove the cheapest weight per unit of work first, fractionally).

    The definition, item by item; :func:`miss_bounds` computes the same over many windows at
    once with arrays.

    >>> _fractional_knapsack_loss([(1.0, 4), (3.0, 2)], 3)  # remove all of the first, 3 of 4
    0.75
    """
    excess = sum(w for _, w in items) - capacity
    loss = 0.0
    for weight, work in sorted(items, key=lambda i: (i[0] / i[1], i[1])):
        if excess <= 0:
            break
        take = min(work, excess)
        loss += weight * take / work
        excess -= take
    return loss


def _window_losses(
    weight: np.ndarray,
    work: np.ndarray,
    head: np.ndarray,
    deadline: np.ndarray,
    starts: Sequence[int],
    ends: Sequence[int],
    capacity: int,
) -> float:
    """The largest :func:`_fractional_knapsack_loss` over the windows ``[a, b]`` (``a`` in
    ``starts``, ``b`` in ``ends``) of the jobs with ``head >= a`` and ``deadline <= b``, whose
    least work on the set must fit ``capacity x (b - a)``.

    The jobs are sorted once by weight per unit of work (the knapsack's order); per window the
    cumulative work of the jobs inside, in that order, gives the jobs removed whole and the one
    removed in part. Windows whose jobs fit (most of them) are skipped by a prefix sum over
    deadlines.
    """
    order = np.lexsort((work, weight / work))
    weight, work, head, deadline = weight[order], work[order], head[order], deadline[order]
    best = 0.0
    by_deadline = np.argsort(deadline, kind="stable")
    for a in starts:
        after = head >= a
        # Total work of the jobs with head >= a and deadline <= b, for every b at once.
        sel = by_deadline[after[by_deadline]]
        totals = np.cumsum(work[sel])
        reach = np.searchsorted(deadline[sel], ends, side="right")
        for b, k in zip(ends, reach, strict=True):
            if b <= a or k == 0:
                continue
            excess = totals[k - 1] - capacity * (b - a)
            if excess <= 0:
                continue
            inside = after & (deadline <= b)
            cum = np.cumsum(np.where(inside, work, 0))
            m = int(np.searchsorted(cum, excess, side="left"))  # the item removed in part
            whole = float(np.sum(np.where(inside[:m], weight[:m], 0.0)))
            before = cum[m - 1] if m > 0 else 0
            loss = whole + weight[m] * (excess - before) / work[m]
            best = max(best, loss)
    return best


def sure_misses(instance: Instance, win: Windows | None = None) -> frozenset[str]:
    """The jobs that miss their deadline in every schedule: even alone on the idle platform
    (each task on its fastest processor, after its predecessors) they end too late."""
    win = win or windows(instance)
    completions = earliest_completions(instance, win)
    return frozenset(j for j in win.deadline if completions[j] > win.deadline[j])


def miss_bounds(instance: Instance, win: Windows) -> dict[str, float]:
    """Sure misses (jobs that cannot meet their deadline) and the per-window load bound."""
    jobs = instance.jobs
    sure = sure_misses(instance, win)
    sure_weight = sum(jobs[j].weight for j in sure)
    integral = all(float(jobs[j].weight).is_integer() for j in win.deadline)
    opts = win.options
    candidates = [j for j in sorted(win.deadline) if j not in sure]
    job_head = {
        j: min(min(win.est[t, p] for p in opts[t]) for t in jobs[j].tasks) for j in candidates
    }
    best = 0.0
    if candidates:
        starts = _sample([job_head[j] for j in candidates])
        ends = _sample([win.deadline[j] for j in candidates])
        for procs in _eligibility_sets(instance, win):
            work = {
                j: sum(win.min_duration(t) for t in jobs[j].tasks if set(opts[t]) <= procs)
                for j in candidates
            }
            inside = [j for j in candidates if work[j] > 0]
            if not inside:
                continue
            loss = _window_losses(
                np.array([jobs[j].weight for j in inside], dtype=float),
                np.array([work[j] for j in inside], dtype=np.int64),
                np.array([job_head[j] for j in inside], dtype=np.int64),
                np.array([win.deadline[j] for j in inside], dtype=np.int64),
                starts,
                ends,
                len(procs),
            )
            if integral:
                loss = grid.ceil(loss)
            best = max(best, loss)
    return {"sure_misses": float(sure_weight), "window_misses": float(sure_weight + best)}


def tardiness_bound(instance: Instance, win: Windows) -> float:
    """Sum of weight x (earliest completion - deadline)+ over jobs that must run."""
    jobs = instance.jobs
    completions = earliest_completions(instance, win)
    runs = {instance.graph.nodes[t]["job"] for t in mandatory_tasks(instance)}
    total = 0.0
    for j, d in win.deadline.items():
        if j in runs and completions[j] > d:
            total += jobs[j].weight * win.to_ms(completions[j] - d)
    return total


def ttft_bound(instance: Instance, win: Windows) -> float:
    """Sum over LLM requests of (earliest end of the last prefill task - arrival)."""
    total = 0.0
    for req in instance.requests.values():
        if not req.prefill_tasks:
            continue
        end = max(
            min(win.est[t, p] + win.duration[t, p] for p in win.options[t])
            for t in req.prefill_tasks
        )
        total += max(0.0, win.to_ms(end) - req.arrival)
    return total


def energy_bound(instance: Instance, win: Windows) -> float:
    """Each mandatory task on its cheapest processor; optional ones only if that saves energy."""
    procs = instance.platform.by_name
    g = instance.graph
    must = set(mandatory_tasks(instance))
    total = 0.0
    for t in instance.tasks:
        cheapest = min(
            (procs[p].active_w - procs[p].idle_w) * ms for p, ms in g.nodes[t]["durations"].items()
        )
        total += cheapest if t in must else min(0.0, cheapest)
    return total


def _makespan_bound(instance: Instance, win: Windows) -> dict[str, float]:
    out = makespan_bounds(instance, win)
    return {**out, "bound": max(out["critical_path"], out["load"], out["energetic"])}


def _miss_bound(instance: Instance, win: Windows) -> dict[str, float]:
    out = miss_bounds(instance, win)
    return {**out, "bound": out["window_misses"]}


def _tardiness_bound(instance: Instance, win: Windows) -> dict[str, float]:
    value = tardiness_bound(instance, win)
    return {"sure_tardiness": value, "bound": value}


def _ttft_bound(instance: Instance, win: Windows) -> dict[str, float]:
    value = ttft_bound(instance, win)
    return {"ttft": value, "bound": value}


def _energy_bound(instance: Instance, win: Windows) -> dict[str, float]:
    value = energy_bound(instance, win)
    return {"energy": value, "bound": value}


#: The solver-free bound of each criterion of :data:`rtgen_opt.objectives.CRITERIA`: a function
#: ``(instance, windows) -> {ingredient: value, ..., "bound": best}``.
BOUNDS: dict[str, Callable[[Instance, Windows], dict[str, float]]] = {
    "misses": _miss_bound,
    "tardiness": _tardiness_bound,
    "ttft": _ttft_bound,
    "makespan": _makespan_bound,
    "energy": _energy_bound,
}


def combinatorial_bounds(
    instance: Instance, objective: ObjectiveLike = "misses", *, win: Windows | None = None
) -> dict[str, Any]:
    """Solver-free lower bounds on the first component of ``objective``.

    Parameters
    ----------
    instance
        The instance.
    objective
        Objective name, lexicographic list or :class:`~rtgen_opt.objectives.Objective`; bounds
        are for its first component.
    win
        Precomputed :func:`~rtgen_opt.exact.windows.windows` of the instance.

    Returns
    -------
    dict
        ``objective`` (the component bounded), ``bound`` (the best valid bound, in the
        objective's units) and each ingredient by name (the criterion's ``bounds``):
        ``critical_path``, ``load`` and ``energetic`` (makespan), ``sure_misses`` and
        ``window_misses`` (misses), ``sure_tardiness`` (tardiness), ``ttft`` (ttft),
        ``energy`` (energy).

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> for t in "abc":
    ...     g.add_node(t, durations={"m0": 2.0, "m1": 2.0})
    >>> inst = Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"]))
    >>> b = combinatorial_bounds(inst, "makespan")
    >>> b["critical_path"], b["load"], b["bound"]  # 6 ms of work on 2 processors, in 2 ms steps
    (2.0, 4.0, 4.0)
    """
    criterion = Objective.parse(objective).first
    win = win or windows(instance)
    out: dict[str, Any] = {"objective": criterion.name}
    out.update(builder(BOUNDS, criterion.name, "exact.bounds.BOUNDS")(instance, win))
    out["bound"] = float(out["bound"])
    return out
