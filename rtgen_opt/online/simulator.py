"""The discrete-event simulator that replays an online policy on an instance (the entry points,
:func:`~rtgen_opt.online.replay.simulate` and :func:`~rtgen_opt.online.replay.replay`, are in
:mod:`rtgen_opt.online.replay`).

Semantics
---------
Time is simulated in integer *ticks* of the instance's resolution (``instance.resolution`` ms),
on which every duration, release and deadline already lies and to which transfers are rounded up,
so simultaneous events are exactly simultaneous and a replay has no float drift.

Events are task releases and task completions. All events of one instant are handled together,
completions first (in the order the tasks were started), then releases (by release, then
topological index); then, in ``drop`` mode, late jobs are dropped; then, if a processor is idle
and a task is ready, the policy decides once. Completions sit in a heap of ``(time, sequence,
task)`` (sequence = dispatch order) and releases in one list sorted by ``(release, task)``,
merged on the fly: the same order as a single ``(time, kind, sequence)`` heap with completions
before releases, without pushing every release. The same inputs therefore always give the same
schedule.

A task is *ready* (visible to the policy) once it is released and all its predecessors have
finished. Its input data may still be in flight: its earliest start on processor ``p`` is
``max(release, max over predecessors u of end(u) + transfer(u, task, proc(u), p))``, which
depends on ``p``.

The policy may start a ready task only on an *idle* processor (one that runs nothing). The task is
dispatched at the decision instant ``now`` and **starts at** ``max(now, earliest start on p)``:
when its data is still in flight the processor is held, idle, until the data arrives (as a
runtime that has already launched the kernel waiting on the copy). So every precedence with its
transfer delay holds by construction. A policy may also leave a task waiting, for instance for a
processor that is busy now (pinned policies); it decides again at the next event.

In ``drop`` mode, at each event time ``t`` every droppable job whose deadline is *before* ``t``
(``deadline < t``, XRBench's ``DropLateFrames`` test) and none of whose tasks has been dispatched
is dropped, together with every job that depends on it (:meth:`Instance.drop_closure`), all
unstarted tasks of those jobs leave the ready set. A job with a dispatched task runs to
completion, late. When the closure holds a job that may not be dropped (an LLM job) or that has
already started, the late job is kept (it runs, late) because dropping it would force dropping a
job that cannot be dropped. In ``late`` mode nothing is dropped.

Noise (:func:`rtgen_opt.online.replay.perturb`): task ``t``'s durations on every processor are multiplied by one factor
``exp(sigma * z_t - sigma**2 / 2)``, ``z_t`` standard normal from ``numpy.random.default_rng(seed)``
drawn in the instance's topological task order: lognormal with **mean one** (the median is
``exp(-sigma**2/2)``). The policy plans with the nominal durations (a running task is expected to
end at start + nominal duration) and learns the actual end only at the completion event; the
schedule is validated against the perturbed ("actual") instance.
"""

from __future__ import annotations

import heapq
import math
from typing import Any, Protocol

from rtgen_opt.errors import PolicyError
from rtgen_opt.grid import ticks
from rtgen_opt.instance import Instance
from rtgen_opt.schedule import Schedule

# Task states.
WAITING, READY, RUNNING, DONE, DROPPED = range(5)
INF = math.inf


class Decider(Protocol):
    """What the event loop calls on a policy (:class:`rtgen_opt.online.Policy` is one)."""

    name: str
    wants_arrivals: bool

    def reset(self, sim: Simulation) -> None: ...

    def arrive(self, sim: Simulation, now: int, jobs: list[int]) -> None: ...

    def decide(self, sim: Simulation, now: int, ready: list[int]) -> list[tuple[int, int]]: ...


class Simulation:
    """The state of one replay, and the read-only view a policy decides from.

    Tasks are integers ``0..n_tasks-1`` in the instance's topological order (``task_ids[i]`` is
    the id), processors integers ``0..n_procs-1`` in **sorted name order** (``proc_names[p]``),
    so breaking ties by the smaller index is breaking them by sorted order. All times are ticks
    (integers; multiply by ``resolution`` for ms); a missing deadline is ``math.inf``.

    Policies read the attributes below and never assign to them; they act only by returning
    decisions from :meth:`Policy.decide`.

    Attributes
    ----------
    task_ids, proc_names, proc_kinds
        Names.
    release, deadline
        Per task (the deadline of its job).
    job, stream, phase
        Per task: job index, stream name, phase (``frame``, ``prefill``, ``decode``, ``task``).
    job_ids, job_tasks, job_release, job_deadline
        Per job (index ``j``): id, task indices (topological), release, deadline.
    dur
        Per task, a list over processors of the *nominal* duration (``None``: not eligible).
    eligible
        Per task, ``((p, nominal duration), ...)`` over eligible processors, by ``p``.
    preds, succs
        Per task: ``((u, table), ...)`` with the transfer table (``table[pu * n_procs + pv]``
        ticks, ``None`` when all transfers are 0) and the successor indices.
    status
        Per task: ``WAITING``, ``READY``, ``RUNNING``, ``DONE`` or ``DROPPED``.
    proc, start, end
        Per task once dispatched: processor, start; ``end`` is start + nominal duration while it
        runs (what a runtime expects) and the actual end once it is done.
    running, free_at
        Per processor: the task it runs (-1 when idle) and when it is expected to be free.
    n_idle, n_ready
        Idle processors and ready tasks right now.
    """

    def __init__(self, plan: Instance, actual: Instance | None = None) -> None:
        actual = plan if actual is None else actual
        self.instance = plan
        self.actual = actual
        res = plan.resolution
        self.resolution = res
        graph = plan.graph
        nodes = graph.nodes

        self.task_ids: tuple[str, ...] = plan.tasks
        index = {t: i for i, t in enumerate(self.task_ids)}
        self.index = index
        n = len(self.task_ids)
        self.n_tasks = n
        self.proc_names: tuple[str, ...] = tuple(sorted(plan.processors))
        pindex = {p: k for k, p in enumerate(self.proc_names)}
        self.proc_index = pindex
        by_name = plan.platform.by_name
        self.proc_kinds: tuple[str, ...] = tuple(by_name[p].kind for p in self.proc_names)
        P = len(self.proc_names)
        self.n_procs = P

        # Plain lists indexed by task: the event loop never touches networkx.
        attrs = [nodes[t] for t in self.task_ids]
        self.release: list[int] = [ticks(a["release"], res) for a in attrs]
        self.deadline: list[float] = [
            INF if a["deadline"] is None else ticks(a["deadline"], res) for a in attrs
        ]
        self.stream: list[str] = [a["stream"] for a in attrs]
        self.phase: list[str] = [a["phase"] for a in attrs]
        self.dur: list[list[int | None]] = []
        self.eligible: list[tuple[tuple[int, int], ...]] = []
        for a in attrs:
            row: list[int | None] = [None] * P
            for pname, ms in a["durations"].items():
                row[pindex[pname]] = ticks(ms, res)
            self.dur.append(row)
            self.eligible.append(tuple([(p, d) for p, d in enumerate(row) if d is not None]))
        if actual is plan:
            self._actual: list[list[int | None]] = self.dur
        else:
            anodes = actual.graph.nodes
            self._actual = []
            for t in self.task_ids:
                arow: list[int | None] = [None] * P
                for pname, ms in anodes[t]["durations"].items():
                    arow[pindex[pname]] = ticks(ms, res)
                self._actual.append(arow)

        # Transfer tables, shared between edges with the same bytes and no explicit delay.
        cache: dict[float, list[int] | None] = {}
        preds: list[list[tuple[int, list[int] | None]]] = [[] for _ in range(n)]
        succs: list[list[int]] = [[] for _ in range(n)]
        for u, v, a in graph.edges(data=True):
            nbytes = a.get("bytes", 0.0)
            if a.get("delay") is None and nbytes in cache:
                tbl = cache[nbytes]
            else:
                tbl = [
                    plan.transfer_ticks(u, v, pu, pv)
                    for pu in self.proc_names
                    for pv in self.proc_names
                ]
                if not any(tbl):
                    tbl = None
                if a.get("delay") is None:
                    cache[nbytes] = tbl
            iu, iv = index[u], index[v]
            preds[iv].append((iu, tbl))
            succs[iu].append(iv)
        # Predecessors only ever feed a max; successors are sorted so that tasks become ready
        # in the same order whatever the graph's insertion order.
        self.preds = tuple(map(tuple, preds))
        self.succs = tuple(tuple(sorted(x)) if len(x) > 1 else tuple(x) for x in succs)

        jobs = plan.jobs
        self.job_ids: tuple[str, ...] = tuple(jobs)
        jindex = {j: k for k, j in enumerate(self.job_ids)}
        self.job: list[int] = [jindex[a["job"]] for a in attrs]
        self.job_tasks = tuple(tuple(index[t] for t in jb.tasks) for jb in jobs.values())
        self.job_release = [ticks(jb.release, res) for jb in jobs.values()]
        self.job_deadline = [
            INF if jb.deadline is None else ticks(jb.deadline, res) for jb in jobs.values()
        ]
        self.job_droppable = [j in plan.droppable for j in jobs]
        succ_jobs = plan.job_successors
        self._job_succ = tuple(tuple(jindex[d] for d in succ_jobs[j]) for j in self.job_ids)

        # Dynamic state.
        self.status = [WAITING] * n
        self.proc = [-1] * n
        self.start = [0] * n
        self.end = [0] * n
        self.running = [-1] * P
        self.free_at = [0] * P
        self.n_idle = P
        self.n_ready = 0
        self.now = 0
        self.job_started = [False] * len(self.job_ids)
        self.dropped_jobs: list[int] = []
        self._job_dropped = [False] * len(self.job_ids)
        self._est: list[list[float] | None] = [None] * n
        self._remaining = [len(p) for p in self.preds]
        self._released = [False] * n
        self._heap: list[tuple[int, int, int]] = []
        self._seq = 0
        self.events = 0
        self.decisions = 0

    # ----------------------------------------------------------------- the view
    def est(self, i: int) -> list[float]:
        """Earliest start of ready task ``i`` on each processor (``inf`` where not eligible).

        Valid once all predecessors are done (the task is ready); cached from then on.
        """
        out = self._est[i]
        if out is not None:
            return out
        base = self.release[i]
        end, proc = self.end, self.proc
        preds = self.preds[i]
        for u, _ in preds:
            if end[u] > base:
                base = end[u]
        P = self.n_procs
        row = self.dur[i]
        out = [base if row[p] is not None else INF for p in range(P)]
        for u, tbl in preds:
            if tbl is not None:
                e, off = end[u], proc[u] * P
                for p in range(P):
                    x = e + tbl[off + p]
                    if x > out[p]:
                        out[p] = x
        self._est[i] = out
        return out

    def est_on(self, i: int, p: int) -> int:
        """Earliest start of ready task ``i`` on processor ``p`` (data arrival and release)."""
        cached = self._est[i]
        if cached is not None:
            return cached[p]
        t = self.release[i]
        end, proc, P = self.end, self.proc, self.n_procs
        for u, tbl in self.preds[i]:
            x = end[u] if tbl is None else end[u] + tbl[proc[u] * P + p]
            if x > t:
                t = x
        return t

    def available(self, p: int) -> int:
        """When processor ``p`` is expected to be free (``now`` if idle)."""
        f = self.free_at[p]
        return f if f > self.now else self.now

    def ms(self, ticks: float) -> float:
        """Ticks to milliseconds."""
        return ticks * self.resolution

    # ----------------------------------------------------------------- the loop
    def run(self, policy: Decider) -> None:
        """Replay ``policy`` from time 0 until every task has finished or was dropped."""
        policy.reset(self)
        n = self.n_tasks
        release = self.release
        status, succs, remaining, released = (
            self.status,
            self.succs,
            self._remaining,
            self._released,
        )
        running, free_at, end = self.running, self.free_at, self.end
        heap = self._heap
        heappop = heapq.heappop
        rel_order = sorted(range(n), key=lambda i: (release[i], i))
        ri = 0
        n_jobs = len(self.job_ids)
        hook_arrive = policy.wants_arrivals
        ji = 0
        job_release = self.job_release
        drop_heap = [
            (self.job_deadline[j], j)
            for j in range(n_jobs)
            if self.job_droppable[j] and self.job_deadline[j] < INF
        ]
        heapq.heapify(drop_heap)
        decide = policy.decide
        new_ready: list[int] = []
        while True:
            t_c = heap[0][0] if heap else INF
            t_r = release[rel_order[ri]] if ri < n else INF
            t = t_c if t_c < t_r else t_r
            if t == INF:
                break
            self.now = t
            self.events += 1
            while heap and heap[0][0] == t:
                _, _, i = heappop(heap)
                status[i] = DONE
                p = self.proc[i]
                end[i] = t
                free_at[p] = t
                running[p] = -1
                self.n_idle += 1
                for v in succs[i]:
                    remaining[v] -= 1
                    if remaining[v] == 0 and released[v] and status[v] == WAITING:
                        status[v] = READY
                        new_ready.append(v)
                        self.n_ready += 1
            while ri < n and release[rel_order[ri]] <= t:
                i = rel_order[ri]
                ri += 1
                released[i] = True
                if remaining[i] == 0 and status[i] == WAITING:
                    status[i] = READY
                    new_ready.append(i)
                    self.n_ready += 1
            if hook_arrive and ji < n_jobs and job_release[ji] <= t:
                arrived = []
                while ji < n_jobs and job_release[ji] <= t:
                    arrived.append(ji)
                    ji += 1
                policy.arrive(self, t, arrived)
            if drop_heap and drop_heap[0][0] < t:
                self._drop_late(t, drop_heap)
            if self.n_idle and self.n_ready:
                decisions = decide(self, t, new_ready)
                new_ready = []
                for i, p in decisions:
                    self._dispatch(i, p, t)
        left = [self.task_ids[i] for i in range(n) if status[i] not in (DONE, DROPPED)]
        if left:
            raise PolicyError(
                f"policy {policy.name!r} left {len(left)} task(s) unscheduled, e.g. {left[:3]}"
            )

    def _dispatch(self, i: int, p: int, now: int) -> None:
        if self.status[i] != READY:
            raise PolicyError(f"cannot start {self.task_ids[i]}: it is not ready")
        if self.running[p] != -1:
            raise PolicyError(
                f"cannot start {self.task_ids[i]} on {self.proc_names[p]}: it is busy"
            )
        d = self.dur[i][p]
        if d is None:
            raise PolicyError(
                f"cannot start {self.task_ids[i]} on {self.proc_names[p]}: not eligible"
            )
        s = self.est_on(i, p)
        if s < now:
            s = now
        self.status[i] = RUNNING
        self.proc[i] = p
        self.start[i] = s
        self.end[i] = s + d
        self.running[p] = i
        self.free_at[p] = s + d
        self.n_idle -= 1
        self.n_ready -= 1
        self.job_started[self.job[i]] = True
        self.decisions += 1
        heapq.heappush(self._heap, (s + self._actual[i][p], self._seq, i))
        self._seq += 1

    def _drop_late(self, t: int, drop_heap: list[tuple[float, int]]) -> None:
        """Drop (with their dependents) the unstarted droppable jobs whose deadline is before t."""
        started, droppable = self.job_started, self.job_droppable
        while drop_heap and drop_heap[0][0] < t:
            _, j = heapq.heappop(drop_heap)
            if started[j] or self._job_dropped[j]:
                continue
            closure = self._closure(j)
            if any(started[k] or not droppable[k] for k in closure):
                continue  # dropping it would force dropping a job that cannot be dropped
            for k in closure:
                if self._job_dropped[k]:
                    continue
                self._job_dropped[k] = True
                self.dropped_jobs.append(k)
                for i in self.job_tasks[k]:
                    if self.status[i] == READY:
                        self.n_ready -= 1
                    self.status[i] = DROPPED

    def _closure(self, j: int) -> list[int]:
        seen, stack = {j}, [j]
        while stack:
            for k in self._job_succ[stack.pop()]:
                if k not in seen:
                    seen.add(k)
                    stack.append(k)
        return sorted(seen)

    # ----------------------------------------------------------------- output
    def schedule(self, **provenance: Any) -> Schedule:
        """The replayed schedule (ms), dropped jobs, and provenance."""
        res = self.resolution
        rows = [
            (
                self.task_ids[i],
                self.proc_names[self.proc[i]],
                self.start[i] * res,
                self.end[i] * res,
            )
            for i in range(self.n_tasks)
            if self.status[i] == DONE
        ]
        dropped = [self.job_ids[j] for j in self.dropped_jobs]
        return Schedule.build(rows, dropped, **provenance)
