"""Identical processors pooled into one resource (formulations/cpsat.md, section 2, "Pools").

Processors ``p`` and ``q`` are *identical* when swapping them maps every schedule onto a
schedule with the same value of every objective: same kind and power figures, the same
duration (or ineligibility) for every task, no transfer between them, and the same transfer to
and from every other processor. The model then gives a task one option for the whole pool
(its *representative*, the pool's first processor) and replaces the pool's no-overlap
constraints by one cumulative of capacity ``|pool|`` (C4); :meth:`Pools.assign` turns the
pooled intervals back into processors by an interval colouring.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from rtgen_opt.exact.windows import Windows
from rtgen_opt.instance import Instance

#: Model rows ``(task, processor, start, end)`` in model time.
Row = tuple[str, str, int, int]


@dataclass(frozen=True)
class Pools:
    """Processor -> representative, and representative -> its processors (in platform order).

    A processor that is identical to no other is its own pool of size 1.
    """

    rep: dict[str, str]
    members: dict[str, tuple[str, ...]]

    @classmethod
    def none(cls, instance: Instance) -> Pools:
        """Every processor alone (pooling off)."""
        return cls({p: p for p in instance.processors}, {p: (p,) for p in instance.processors})

    @property
    def pooled(self) -> bool:
        """Whether some pool has two processors or more."""
        return any(len(ms) > 1 for ms in self.members.values())

    def size(self, rep: str) -> int:
        return len(self.members.get(rep, ()))

    def capacity(self, procs: Iterable[str]) -> int:
        """How many processors of the instance a set of (representative) processors stands for."""
        return len({m for p in procs for m in self.members[self.rep[p]]})

    def reduce(self, win: Windows) -> Windows:
        """``win`` with each task's options reduced to the representatives (the other options'
        data stay in the dictionaries, unused)."""
        if not self.pooled:
            return win
        options = {t: tuple(p for p in opts if self.rep[p] == p) for t, opts in win.options.items()}
        return replace(win, options=options)

    def assign(self, rows: Iterable[Row]) -> list[Row]:
        """Rows on representatives -> rows on the pool's processors.

        Greedy interval colouring in order of start: a task goes to the first processor of its
        pool that is free by its start. The cumulative (C4) keeps at most ``|pool|`` pooled
        tasks running at any time, so one is always free (pooled durations are positive).
        """
        out: list[Row] = []
        per_pool: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            if self.size(row[1]) > 1:
                per_pool[row[1]].append(row)
            else:
                out.append(row)
        for rep in sorted(per_pool):
            members = self.members[rep]
            free = [-(2**62)] * len(members)
            for t, _, s, e in sorted(per_pool[rep], key=lambda r: (r[2], r[3], r[0])):
                i = next((i for i, f in enumerate(free) if f <= s), None)
                if i is None:  # pragma: no cover - the cumulative rules it out
                    raise AssertionError(f"more than {len(members)} tasks at once on {rep}")
                free[i] = e
                out.append((t, members[i], s, e))
        return out


def identical_processors(instance: Instance, win: Windows) -> Pools:
    """The pools of identical processors of ``instance`` (see the module docstring).

    A processor joins a pool only where every task it can run has a positive duration (the
    colouring of :meth:`Pools.assign` needs it), and, conservatively, only when it has no
    transfer to another processor of the same candidate pool.
    """
    procs = instance.processors
    by_name = instance.platform.by_name
    candidates: dict[tuple, list[str]] = defaultdict(list)
    for p in procs:
        column = tuple(win.duration.get((t, p)) for t in win.tasks)
        if any(d == 0 for d in column):
            candidates[("alone", p)].append(p)
            continue
        proc = by_name[p]
        candidates[(proc.kind, proc.active_w, proc.idle_w, column)].append(p)
    outgoing: dict[str, list[tuple[str, str, str, int]]] = defaultdict(list)
    incoming: dict[str, list[tuple[str, str, str, int]]] = defaultdict(list)
    for (u, v, p, q), d in win.transfers.items():
        outgoing[p].append((u, v, q, d))
        incoming[q].append((u, v, p, d))
    rep: dict[str, str] = {}
    members: dict[str, tuple[str, ...]] = {}
    for group in candidates.values():
        inside = set(group)
        pools: dict[tuple, list[str]] = defaultdict(list)
        for p in group:
            if any(r in inside for *_, r, _ in outgoing[p]):
                pools[("alone", p)].append(p)
                continue
            out = frozenset((u, v, r, d) for u, v, r, d in outgoing[p])
            into = frozenset((u, v, r, d) for u, v, r, d in incoming[p])
            pools[(out, into)].append(p)
        for pool in pools.values():
            for p in pool:
                rep[p] = pool[0]
            members[pool[0]] = tuple(pool)
    for p in procs:  # representatives that are alone, and every processor a key of rep
        rep.setdefault(p, p)
        members.setdefault(rep[p], (p,))
    return Pools(rep, members)
