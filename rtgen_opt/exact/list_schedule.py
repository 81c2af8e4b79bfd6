"""A fast built-in list scheduler: the default solution hint of the exact backends.

It is not an online policy (those live in :mod:`rtgen_opt.online` and are replayed by the
simulator); it sees the whole instance at once. Tasks are taken in priority order as soon as
their predecessors are placed and each goes where it *finishes earliest*, honouring releases,
transfers and gaps left on each processor (insertion). Several priority rules are tried and the
schedule best for the objective (lexicographically) is returned:

``edf``
    earliest job deadline first (jobs without a deadline last), then earliest head;
``cp``
    longest remaining critical path first (HEFT's upward rank with the cheapest durations);
``fifo``
    earliest release first;
``energy``
    earliest deadline first, but each task goes to the processor where it costs the least
    energy above idle (earliest finish among equals).

In ``drop`` mode, a missed job whose cascade (the job and its dependents) misses anyway is
dropped afterwards: that never adds a miss and frees nothing it needs.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence

from rtgen_opt.errors import ArgumentError
from rtgen_opt.exact.windows import Windows, windows
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective, ObjectiveLike, missed_jobs
from rtgen_opt.schedule import Schedule

RULES = ("edf", "cp", "fifo", "energy")


def _priorities(instance: Instance, win: Windows) -> dict[str, Callable[[str], tuple]]:
    nodes = instance.graph.nodes
    index = {t: i for i, t in enumerate(win.tasks)}
    jobs = instance.jobs

    def deadline(t: str) -> float:
        d = jobs[nodes[t]["job"]].deadline
        return math.inf if d is None else d

    def head(t: str) -> int:
        return min(win.est[t, p] for p in win.options[t])

    def rank(t: str) -> int:
        return min(win.duration[t, p] + win.tail[t, p] for p in win.options[t])

    return {
        "edf": lambda t: (deadline(t), head(t), index[t]),
        "cp": lambda t: (-rank(t) - head(t), index[t]),
        "fifo": lambda t: (win.release[t], deadline(t), index[t]),
        "energy": lambda t: (deadline(t), head(t), index[t]),
    }


def _place(
    instance: Instance, win: Windows, key: Callable[[str], tuple], cheapest: bool = False
) -> dict:
    """Greedy insertion list scheduling in model time: task -> (processor, start, end).

    Each task goes where it finishes first; with ``cheapest``, where it costs the least
    energy, then where it finishes first.
    """
    g = instance.graph
    procs = instance.platform.by_name
    watts = {p: procs[p].active_w - procs[p].idle_w for p in procs}
    waiting = {t: g.in_degree(t) for t in win.tasks}
    ready = sorted((key(t), t) for t in win.tasks if waiting[t] == 0)
    busy: dict[str, list[tuple[int, int]]] = {p: [] for p in instance.processors}
    placed: dict[str, tuple[str, int, int]] = {}
    while ready:
        _, t = ready.pop(0)
        best = None
        for p in win.options[t]:
            at = win.release[t]
            for u in g.predecessors(t):
                pu, _, eu = placed[u]
                at = max(at, eu + win.transfer(u, t, pu, p))
            d = win.duration[t, p]
            start = _earliest_gap(busy[p], at, d)
            rank = (watts[p] * d if cheapest else 0, start + d, p)
            if best is None or rank < best[0]:
                best = (rank, p, start, d)
        _, p, start, d = best
        bisect.insort(busy[p], (start, start + d))
        placed[t] = (p, start, start + d)
        for v in g.successors(t):
            waiting[v] -= 1
            if waiting[v] == 0:
                bisect.insort(ready, (key(v), v))
    return placed


def _earliest_gap(intervals: list[tuple[int, int]], at: int, d: int) -> int:
    """Earliest start >= ``at`` of a ``d``-long slot between the sorted busy ``intervals``."""
    start = at
    for s, e in intervals:
        if e <= start:
            continue
        if s >= start + d and (d > 0 or s > start):
            return start
        start = max(start, e)
    return start


def _drop_hopeless(instance: Instance, schedule: Schedule, method: str) -> Schedule:
    """Drop missed jobs whose whole cascade misses anyway (``drop`` mode only)."""
    if instance.miss_mode != "drop":
        return schedule
    missed = missed_jobs(instance, schedule)
    jobs = instance.jobs
    dropped: set[str] = set()
    for jid in sorted(missed):
        closure = instance.drop_closure([jid])
        if closure <= missed and jid in instance.droppable:
            dropped |= closure
    if not dropped:
        return schedule
    gone = {t for j in dropped for t in jobs[j].tasks}
    rows = [r for r in schedule.rows() if r[0] not in gone]
    return Schedule.build(rows, dropped, method=method)


def list_schedule(
    instance: Instance,
    objective: ObjectiveLike = "misses",
    *,
    rules: Sequence[str] = RULES,
    win: Windows | None = None,
) -> Schedule:
    """The best of the list schedules ``rules`` for ``objective``.

    Parameters
    ----------
    instance
        The instance.
    objective
        Objective (name or lexicographic list) used to pick among the rules.
    rules
        Priority rules to try (see the module docstring).
    win
        Precomputed :func:`~rtgen_opt.exact.windows.windows` of the instance.

    Returns
    -------
    Schedule
        A valid schedule; ``provenance["method"]`` names the rule that won (``list-edf``...).

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> g.add_node("a", durations={"m0": 3.0, "m1": 5.0})
    >>> g.add_node("b", durations={"m0": 2.0, "m1": 2.0})
    >>> s = list_schedule(Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"])))
    >>> sorted((t, pl.processor, pl.end) for t, pl in s.placements.items())
    [('a', 'm0', 3.0), ('b', 'm1', 2.0)]
    """
    parsed = Objective.parse(objective)
    win = win or windows(instance)
    keys = _priorities(instance, win)
    best: tuple[tuple[float, ...], str, Schedule] | None = None
    for rule in rules:
        placed = _place(instance, win, keys[rule], cheapest=rule == "energy")
        method = f"list-{rule}"
        schedule = Schedule.build(
            [(t, p, win.to_ms(s), win.to_ms(e)) for t, (p, s, e) in placed.items()],
            method=method,
        )
        schedule = _drop_hopeless(instance, schedule, method)
        values = parsed.values(instance, schedule)
        if best is None or (values, rule) < best[:2]:
            best = (values, rule, schedule)
    if best is None:
        raise ArgumentError("rules", "expected at least one rule of " + ", ".join(RULES))
    return best[2]
