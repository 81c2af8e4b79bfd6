"""What a policy is: one small class with one decision method, over a read-only simulator view.

A policy subclasses :class:`Policy`, sets ``name`` and implements :meth:`Policy.decide`. Two
reusable shapes cover most of the built-in ones: :class:`PinnedPolicy` (every task waits for its
fastest processors, in priority order) and :class:`PriorityEFTPolicy` (tasks in priority order,
each to the processor where it would finish earliest). Priorities are static keys, turned once
into integer ranks so the per-event work is a few heap operations on ints.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from typing import Any, ClassVar

from rtgen_opt.online.simulator import READY, Simulation


class Policy:
    """Base class of every online policy.

    The simulator calls :meth:`reset` once before a replay, :meth:`arrive` when jobs arrive (only
    if the subclass overrides it), and :meth:`decide` at each event at which a processor is idle
    and a task is ready. A policy reads the :class:`~rtgen_opt.online.simulator.Simulation` (task
    and processor indices, times in ticks) and never modifies it.

    Examples
    --------
    A policy that starts ready tasks, in index order, on the first idle processor that can run
    them:

    >>> class FirstIdle(Policy):
    ...     name = "first-idle"
    ...     def reset(self, sim):
    ...         self.queue = []
    ...     def decide(self, sim, now, ready):
    ...         self.queue += ready
    ...         idle = [p for p in range(sim.n_procs) if sim.running[p] == -1]
    ...         out = []
    ...         for i in sorted(self.queue):
    ...             if sim.status[i] != 1:  # READY
    ...                 continue
    ...             p = next((p for p in idle if sim.dur[i][p] is not None), None)
    ...             if p is not None:
    ...                 idle.remove(p)
    ...                 out.append((i, p))
    ...         taken = {i for i, _ in out}
    ...         self.queue = [i for i in self.queue if i not in taken and sim.status[i] == 1]
    ...         return out
    """

    #: The name the policy is registered and reported under.
    name: ClassVar[str] = ""
    #: Whether the class overrides :meth:`arrive` (set for every subclass; the event loop calls
    #: it only then).
    wants_arrivals: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.wants_arrivals = cls.arrive is not Policy.arrive

    def reset(self, sim: Simulation) -> None:
        """Prepare for a replay of ``sim`` (called once, before the first event)."""

    def arrive(self, sim: Simulation, now: int, jobs: Sequence[int]) -> None:
        """Jobs (indices, in order of release then id) that arrived at ``now``."""

    def decide(self, sim: Simulation, now: int, ready: Sequence[int]) -> list[tuple[int, int]]:
        """Which ready tasks start now, and where.

        Parameters
        ----------
        sim
            The simulator's read-only view.
        now
            The current time (ticks).
        ready
            Tasks that became ready since the previous call (a task stays ready until it is
            started or its job is dropped; a policy keeps its own queue and skips tasks whose
            ``sim.status`` is no longer ``READY``).

        Returns
        -------
        list of (task, processor)
            Each task ready, each processor idle and eligible for it, no processor twice.
        """
        raise NotImplementedError


class RankedPolicy(Policy):
    """A policy ordering tasks by a static key: :meth:`priority` is turned into integer ranks."""

    def priority(self, sim: Simulation, i: int) -> Any:
        """Sort key of task ``i`` (smaller first); ties are broken by the task index."""
        raise NotImplementedError

    def reset(self, sim: Simulation) -> None:
        prio = self.priority
        order = sorted(range(sim.n_tasks), key=lambda i: (prio(sim, i), i))
        rank = [0] * sim.n_tasks
        for r, i in enumerate(order):
            rank[i] = r
        self.order = order
        self.rank = rank


class PinnedPolicy(RankedPolicy):
    """Each task is pinned to the processors where its nominal duration is smallest (all of them
    on a tie, e.g. identical CPU cores); each idle processor takes the highest-priority ready task
    pinned to it."""

    def reset(self, sim: Simulation) -> None:
        super().reset(sim)
        groups: dict[tuple[int, ...], int] = {}
        group_of = []
        seen: dict[tuple[tuple[int, int], ...], int] = {}  # many tasks share a duration row
        for el in sim.eligible:
            g = seen.get(el)
            if g is None:
                fastest = min(d for _, d in el)
                procs = tuple(p for p, d in el if d == fastest)
                g = seen[el] = groups.setdefault(procs, len(groups))
            group_of.append(g)
        self.group_of = group_of
        self.heaps: list[list[int]] = [[] for _ in groups]
        self.proc_groups = [
            [g for procs, g in groups.items() if p in procs] for p in range(sim.n_procs)
        ]

    def decide(self, sim: Simulation, now: int, ready: Sequence[int]) -> list[tuple[int, int]]:
        heaps, rank, group_of, order = self.heaps, self.rank, self.group_of, self.order
        heappush, heappop = heapq.heappush, heapq.heappop
        for i in ready:
            heappush(heaps[group_of[i]], rank[i])
        status, running = sim.status, sim.running
        out = []
        for p, groups in enumerate(self.proc_groups):
            if running[p] != -1:
                continue
            best = None
            for g in groups:
                h = heaps[g]
                while h and status[order[h[0]]] != READY:
                    heappop(h)
                if h and (best is None or h[0] < best[0]):
                    best = h
            if best is not None:
                out.append((order[heappop(best)], p))
        return out


class PriorityEFTPolicy(RankedPolicy):
    """Ready tasks in priority order, each to the candidate processor where it would finish
    earliest (expected availability, data arrival, nominal duration; ties by processor name).
    A task whose best processor is busy waits for it, and that processor counts as taken for the
    tasks after it."""

    #: How many ready tasks one decision looks at, at most (bounds the work per event when many
    #: waiting tasks prefer busy processors).
    lookahead: ClassVar[int] = 64

    def candidates(self, sim: Simulation, i: int) -> tuple[tuple[int, int], ...]:
        """``((processor, nominal duration), ...)`` task ``i`` may be placed on."""
        return sim.eligible[i]

    def reset(self, sim: Simulation) -> None:
        super().reset(sim)
        self.cand = [self.candidates(sim, i) for i in range(sim.n_tasks)]
        self.heap: list[int] = []

    def decide(self, sim: Simulation, now: int, ready: Sequence[int]) -> list[tuple[int, int]]:
        heap, rank, order, cand = self.heap, self.rank, self.order, self.cand
        heappush, heappop = heapq.heappush, heapq.heappop
        for i in ready:
            heappush(heap, rank[i])
        status, running = sim.status, sim.running
        avail = [f if f > now else now for f in sim.free_at]
        idle = [r == -1 for r in running]
        n_free = sim.n_idle
        out, waiting = [], []
        budget = self.lookahead
        est_of = sim.est
        while heap and n_free and budget:
            r = heappop(heap)
            i = order[r]
            if status[i] != READY:
                continue
            budget -= 1
            est = est_of(i)
            best_f, best_p = math.inf, -1
            for p, d in cand[i]:
                s = avail[p]
                e = est[p]
                f = (e if e > s else s) + d
                if f < best_f:
                    best_f, best_p = f, p
            avail[best_p] = best_f
            if idle[best_p]:
                idle[best_p] = False
                n_free -= 1
                out.append((i, best_p))
            else:
                waiting.append(r)
        for r in waiting:
            heappush(heap, r)
        return out
