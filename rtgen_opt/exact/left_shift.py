"""The left shift: a schedule rebuilt from its decisions alone, every task as early as it can go.

A schedule's *decisions* are the processor of each task, the dropped jobs and the order of the
starts. :func:`left_shift_ticks` keeps them and starts each task, in that order, at the earliest
time its release, its processor and its predecessors (with transfers) allow: the *semi-active*
schedule of those decisions. No task starts later than in any valid schedule with the same
decisions, so every objective rtgen_opt knows (all regular: never worse when a task ends earlier)
is no worse after the shift.

Two users: the MILP reads a solution for its decisions and rebuilds it exactly on the grid, and
the window search compacts each window so that the windows after it find the processors free as
early as possible. A task that must not move is given its start as release (the window search's
fixed tasks): nothing before it on its processor ends later than before, so it stays.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping

from rtgen_opt.errors import InternalError
from rtgen_opt.exact.windows import Windows, windows
from rtgen_opt.instance import Instance
from rtgen_opt.schedule import Schedule


def left_shift_ticks(
    instance: Instance,
    win: Windows,
    assign: Mapping[str, str],
    start: Mapping[str, int],
) -> dict[str, tuple[str, int, int]]:
    """Task -> (processor, start, end) in model time: the tasks of ``assign`` (task ->
    processor; the others do not run) in the order of ``start``, each as early as possible.

    Ties of ``start`` go by end (a zero-length task at the start of another goes first), then
    topological index (zero-length chains at one instant keep their precedence order).

    Raises
    ------
    InternalError
        When a task that runs has a predecessor that does not (not a valid set of decisions).
    """
    g = instance.graph
    index = {t: i for i, t in enumerate(win.tasks)}
    key = {t: (start[t], start[t] + win.duration[t, p], index[t]) for t, p in assign.items()}
    waiting = {t: sum(1 for u in g.predecessors(t) if u in assign) for t in assign}
    ready = [(key[t], t) for t in assign if waiting[t] == 0]
    heapq.heapify(ready)
    free = dict.fromkeys(instance.processors, 0)
    placed: dict[str, tuple[str, int, int]] = {}
    while ready:
        _, t = heapq.heappop(ready)
        p = assign[t]
        at = max(win.release[t], free[p])
        for u in g.predecessors(t):
            if u in placed:
                pu, _, eu = placed[u]
                at = max(at, eu + win.transfer(u, t, pu, p))
        end = at + win.duration[t, p]
        placed[t] = (p, at, end)
        free[p] = end
        for v in g.successors(t):
            if v in waiting:
                waiting[v] -= 1
                if waiting[v] == 0:
                    heapq.heappush(ready, (key[v], v))
    if len(placed) != len(assign):
        raise InternalError("left shift: a task that runs has a predecessor that does not")
    return placed


def left_shift(instance: Instance, schedule: Schedule, *, win: Windows | None = None) -> Schedule:
    """``schedule`` left-shifted (see the module docstring); same processors, drops, order and
    provenance.

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> g.add_node("a", durations={"m": 2.0})
    >>> g.add_node("b", durations={"m": 1.0})
    >>> inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    >>> late = Schedule.build([("a", "m", 3.0, 5.0), ("b", "m", 6.0, 7.0)])
    >>> [(t, pl.start) for t, pl in left_shift(inst, late).placements.items()]
    [('a', 0.0), ('b', 2.0)]
    """
    win = win or windows(instance)
    to = win.scale.from_ms
    pl = schedule.placements
    placed = left_shift_ticks(
        instance,
        win,
        {t: p.processor for t, p in pl.items()},
        {t: to(p.start) for t, p in pl.items()},
    )
    return Schedule.build(
        [(t, p, win.to_ms(s), win.to_ms(e)) for t, (p, s, e) in placed.items()],
        schedule.dropped,
    ).with_provenance(**schedule.provenance)
