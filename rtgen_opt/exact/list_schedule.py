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
    energy above idle (earliest finish among equals);
``edf-shed``
    earliest deadline first, and an LLM request one of whose milestones is placed late is
    served in the background from then on: the rest of it goes after every other task (as
    ``defer`` does), into what is left. Under overload plain EDF falls into the domino effect
    -- each request a little late pushes the next one late too -- and shedding stops it
    (game_npc_heavy_60s, one pinning: 2,292 misses by EDF, 749 shedding, in one pass).

In ``drop`` mode, a missed job whose cascade (the job and its dependents) misses anyway is
dropped afterwards: that never adds a miss and frees nothing it needs.
"""

from __future__ import annotations

import bisect
import heapq
import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence

from rtgen_opt.errors import ArgumentError
from rtgen_opt.exact.windows import Windows, windows
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective, ObjectiveLike, missed_jobs
from rtgen_opt.schedule import Schedule

RULES = ("edf", "cp", "fifo", "energy", "edf-shed")


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

    def edf(t: str) -> tuple:
        return (deadline(t), head(t), index[t])

    # energy and edf-shed take tasks in EDF's order; they differ in where and what they place
    return {
        "edf": edf,
        "cp": lambda t: (-rank(t) - head(t), index[t]),
        "fifo": lambda t: (win.release[t], deadline(t), index[t]),
        "energy": edf,
        "edf-shed": edf,
    }


def _shedding(instance: Instance, win: Windows) -> dict[str, tuple[int, tuple[str, ...]]]:
    """For ``edf-shed``: the last task of each LLM milestone -> the milestone's deadline
    (model time) and the tasks of its request after it (those of ``instance``: a part of an
    instance may hold part of a request)."""
    nodes, jobs = instance.graph.nodes, instance.jobs
    out = {}
    for req in instance.requests.values():
        chain = tuple(t for t in (*req.prefill_tasks, *req.decode_tasks) if t in nodes)
        for k, t in enumerate(chain):
            job = nodes[t]["job"]
            if jobs[job].tasks[-1] == t and job in win.deadline:
                out[t] = (win.deadline[job], chain[k + 1 :])
    return out


class _Busy:
    """The busy intervals of one processor, sorted and disjoint (model time), in blocks.

    The intervals are kept in blocks of at most ``2 * block`` consecutive intervals. Each block
    has a *room*: the longest idle gap it offers to a slot that starts after the previous
    block ends (the gap before its first interval, or one between two of its intervals). A max
    segment tree over the rooms finds the next block with room for a slot in ``O(log n)``, so
    :meth:`earliest` bisects to the block where the search starts, scans that block, and jumps
    straight to the first later block with room: ``O(log n + block)`` per placement, and a list
    schedule of ``n`` tasks ``O(n log n)`` (before, blocks without room were skipped one by one,
    ``O(n / block)`` per placement). The answer is the full scan's, exactly.
    """

    __slots__ = ("block", "blocks", "firsts", "gaps", "lasts", "size", "tree")

    def __init__(self, block: int = 32) -> None:
        self.block = block
        self.blocks: list[list[tuple[int, int]]] = []  # sorted, disjoint intervals
        self.firsts: list[int] = []  # start of each block's first interval
        self.lasts: list[int] = []  # end of each block's last interval
        self.gaps: list[int] = []  # longest gap between consecutive intervals of a block
        self.size = 1  # leaves of the segment tree (a power of two >= number of blocks)
        self.tree: list[float] = [-1, -1]  # max room over each node's blocks; -1 = none

    def earliest(self, at: int, d: int) -> int:
        """Earliest start ``>= at`` of a ``d``-long slot between the busy intervals."""
        start = at
        b = bisect.bisect_right(self.lasts, at)  # blocks ending by `at` are behind us
        blocks, firsts, lasts, gaps = self.blocks, self.firsts, self.lasts, self.gaps
        while b < len(blocks):
            if _fits(firsts[b], start, d):
                return start  # the slot ends before this block starts
            if gaps[b] < d and start <= firsts[b]:
                start = lasts[b]  # no gap of this block is long enough: skip it whole
            else:
                block = blocks[b]
                # The first interval ending after `start` (ends are sorted too).
                for k in range(bisect.bisect_right(block, start, key=_end), len(block)):
                    s, e = block[k]
                    if _fits(s, start, d):
                        return start
                    start = max(start, e)
            # Here start == lasts[b]: the next block worth a look is the first with room >= d
            # (every block between has none: the slot goes past all of them).
            nxt = self._first_room(b + 1, d)
            if nxt is None:
                return max(start, lasts[-1])
            start = max(start, lasts[nxt - 1])
            b = nxt
        return start

    def _room(self, b: int) -> int:
        before = self.firsts[b] - self.lasts[b - 1] if b > 0 else self.firsts[b]
        return max(self.gaps[b], before)

    def _set(self, b: int) -> None:
        """Refresh block ``b``'s leaf and its ancestors."""
        if not 0 <= b < len(self.blocks):
            return
        tree = self.tree
        i = b + self.size
        tree[i] = self._room(b)
        i >>= 1
        while i:
            tree[i] = max(tree[2 * i], tree[2 * i + 1])
            i >>= 1

    def _rebuild(self) -> None:
        n = len(self.blocks)
        size = 1
        while size < n:
            size *= 2
        tree: list[float] = [-1] * (2 * size)
        for b in range(n):
            tree[size + b] = self._room(b)
        for i in range(size - 1, 0, -1):
            tree[i] = max(tree[2 * i], tree[2 * i + 1])
        self.size, self.tree = size, tree

    def _first_room(self, lo: int, d: int) -> int | None:
        """The first block ``>= lo`` with room ``>= d`` (``None`` if there is none)."""
        if lo >= len(self.blocks):
            return None
        tree, i = self.tree, lo + self.size
        while tree[i] < d:
            while i & 1:  # a right child: its right neighbours are under an ancestor's sibling
                i >>= 1
            if i == 0:
                return None
            i += 1
        while i < self.size:  # descend to the leftmost leaf with room
            i = 2 * i if tree[2 * i] >= d else 2 * i + 1
        return i - self.size

    def _refresh_tree(self, b: int) -> None:
        """Refresh the rooms of blocks ``b..`` (their indices moved) and their ancestors;
        the whole tree when it must grow (doubling: amortised O(1) per block)."""
        n = len(self.blocks)
        if n > self.size:
            self._rebuild()
            return
        tree, size = self.tree, self.size
        for k in range(b, n):
            tree[size + k] = self._room(k)
        lo, hi = (size + b) >> 1, (size + n - 1) >> 1
        while lo:
            for i in range(lo, hi + 1):
                tree[i] = max(tree[2 * i], tree[2 * i + 1])
            lo, hi = lo >> 1, hi >> 1

    def add(self, start: int, end: int) -> None:
        firsts = self.firsts
        b = max(0, bisect.bisect_right(firsts, start) - 1)
        if not self.blocks:
            self.blocks.append([])
            firsts.append(start)
            self.lasts.append(end)
            self.gaps.append(0)
        block = self.blocks[b]
        # After equal starts: a zero-length interval at s is placed before an interval at s,
        # never after one, so the ends stay sorted.
        k = bisect.bisect_right(block, (start, end))
        block.insert(k, (start, end))
        if len(block) > 2 * self.block:
            half = len(block) // 2
            self.blocks[b : b + 1] = [block[:half], block[half:]]
            firsts[b : b + 1] = [0, 0]
            self.lasts[b : b + 1] = [0, 0]
            self.gaps[b : b + 1] = [0, 0]
            self._refresh(b)
            self._refresh(b + 1)
            # Blocks b + 1.. moved one place: O(blocks - b), and list scheduling fills the
            # timeline from the front, so splits are mostly of the last block.
            self._refresh_tree(b)
            return
        # The new interval splits the gap around it in two (or extends the block).
        gaps = self.gaps
        before = block[k - 1] if k > 0 else None
        after = block[k + 1] if k + 1 < len(block) else None
        if before is not None and after is not None and after[0] - before[1] >= gaps[b]:
            self._refresh(b)  # it may have split the longest gap
        else:
            if before is not None:
                gaps[b] = max(gaps[b], start - before[1])
            if after is not None:
                gaps[b] = max(gaps[b], after[0] - end)
            firsts[b], self.lasts[b] = block[0][0], block[-1][1]
        if len(self.blocks) > self.size:  # the first block
            self._rebuild()
        self._set(b)
        self._set(b + 1)  # its room depends on this block's end

    def _refresh(self, b: int) -> None:
        block = self.blocks[b]
        self.firsts[b] = block[0][0]
        self.lasts[b] = block[-1][1]
        self.gaps[b] = max((block[k][0] - block[k - 1][1] for k in range(1, len(block))), default=0)


def _end(interval: tuple[int, int]) -> int:
    return interval[1]


def _fits(next_start: int, start: int, d: int) -> bool:
    """Whether a ``d``-long slot at ``start`` ends before an interval starting at
    ``next_start`` (a zero-length slot must start strictly before it)."""
    return next_start >= start + d and (d > 0 or next_start > start)


def _place(
    instance: Instance,
    win: Windows,
    key: Callable[[str], tuple],
    cheapest: bool = False,
    fixed: Mapping[str, tuple[str, int]] | None = None,
    later: Collection[str] = (),
    shed: Mapping[str, tuple[int, tuple[str, ...]]] | None = None,
) -> dict[str, tuple[str, int, int]]:
    """Greedy insertion list scheduling in model time: task -> (processor, start, end).

    Each task goes where it finishes first; with ``cheapest``, where it costs the least
    energy, then where it finishes first. ``fixed`` tasks (task -> processor and start) are
    placed first, where they are; every other task fits around them. The tasks of ``later``
    come after every other (by ``key`` among themselves); with ``shed`` (:func:`_shedding`),
    so do the tasks after a milestone placed past its deadline. A ready queue (heap) and
    per-processor interval blocks with a segment tree over their gaps (:class:`_Busy`) keep it
    ``O(n log n)``.
    """
    g = instance.graph
    procs = instance.platform.by_name
    watts = {p: procs[p].active_w - procs[p].idle_w for p in procs}
    busy = {p: _Busy() for p in instance.processors}
    placed: dict[str, tuple[str, int, int]] = {}
    for t, (p, start) in (fixed or {}).items():
        end = start + win.duration[t, p]
        busy[p].add(start, end)
        placed[t] = (p, start, end)
    back = set(later)  # placed after every other task

    def rank_of(t: str) -> tuple:
        return (t in back, *key(t))

    waiting = {t: sum(u not in placed for u in g.predecessors(t)) for t in win.tasks}
    ready = [(rank_of(t), t) for t in win.tasks if waiting[t] == 0 and t not in placed]
    heapq.heapify(ready)
    while ready:
        rank, t = heapq.heappop(ready)
        if rank[0] != (t in back):  # sent back after it was queued
            heapq.heappush(ready, (rank_of(t), t))
            continue
        best = None
        for p in win.options[t]:
            at = win.release[t]
            for u in g.predecessors(t):
                pu, _, eu = placed[u]
                at = max(at, eu + win.transfer(u, t, pu, p))
            d = win.duration[t, p]
            start = busy[p].earliest(at, d)
            rank = (watts[p] * d if cheapest else 0, start + d, p)
            if best is None or rank < best[0]:
                best = (rank, p, start, d)
        _, p, start, d = best
        busy[p].add(start, start + d)
        placed[t] = (p, start, start + d)
        if shed and t in shed and start + d > shed[t][0]:
            back.update(shed[t][1])
        for v in g.successors(t):
            if v in placed:
                continue
            waiting[v] -= 1
            if waiting[v] == 0:
                heapq.heappush(ready, (rank_of(v), v))
    return placed


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
    fixed: Mapping[str, tuple[str, float]] | None = None,
    until: float | None = None,
    defer: Collection[str] = (),
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
    fixed
        Tasks placed beforehand (task -> processor, start in ms); the rest fit around them.
    until
        A :func:`time.perf_counter` time after which no further rule is tried (the first
        always is, so there is a schedule).
    defer
        Tasks placed after all others (by the rule among themselves), into what is left:
        under overload, serving some LLM requests in the background keeps the rest on time
        (:mod:`rtgen_opt.exact.deferral`).

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
    pinned = {t: (p, win.scale.from_ms(s)) for t, (p, s) in (fixed or {}).items()}
    best: tuple[tuple[float, ...], str, Schedule] | None = None
    for rule in rules:
        if rule not in keys:
            raise ArgumentError("rules", f"expected rules of {', '.join(RULES)}, got {rule!r}")
        placed = _place(
            instance,
            win,
            keys[rule],
            cheapest=rule == "energy",
            fixed=pinned,
            later=defer,
            shed=_shedding(instance, win) if rule == "edf-shed" else None,
        )
        method = f"list-{rule}"
        schedule = Schedule.build(
            [(t, p, win.to_ms(s), win.to_ms(e)) for t, (p, s, e) in placed.items()],
            method=method,
        )
        schedule = _drop_hopeless(instance, schedule, method)
        values = parsed.values(instance, schedule)
        if best is None or (values, rule) < best[:2]:
            best = (values, rule, schedule)
        if until is not None and time.perf_counter() >= until:
            break
    if best is None:
        raise ArgumentError("rules", "expected at least one rule of " + ", ".join(RULES))
    return best[2]
