"""HEFT as published (Topcuoglu, Hariri and Wu, 2002), each job planned on its arrival (DeepSoCS)."""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Sequence
from typing import Literal

from rtgen_opt.online.policies.base import Policy
from rtgen_opt.online.simulator import DONE, DROPPED, READY, RUNNING, Simulation

MeanComm = Literal["paper", "saga"]


class HEFT(Policy):
    """Heterogeneous earliest finish time, insertion-based, each job planned when it arrives.

    When a job arrives, its tasks are planned in decreasing *upward rank* (the task's mean
    duration over its eligible processors plus the largest, over its successors in the job, of
    the mean transfer to the successor and the successor's rank). Each task goes to the processor
    where it would finish earliest, at the earliest start there that fits in a *gap* between the
    intervals already reserved on it (insertion) after its data arrives; ties go to the processor
    first in sorted name order, and equal ranks to the task first in topological order. Each
    processor then runs the tasks planned on it strictly in plan order: the next one starts as
    soon as it is ready, its data has arrived and the one before it is done, which with nominal
    durations is exactly its planned start.

    Parameters
    ----------
    mean_comm
        How the mean transfer of an edge in the upward rank is taken: ``"paper"`` (the default,
        as in the article) averages over pairs of *different* processors eligible for its two
        ends; ``"saga"`` averages as saga's ``HeftScheduler`` does, over unordered processor
        pairs with each processor's link to itself (cost 0) included, which for ``P`` fully
        eligible processors and one uniform link is ``(P - 1) / (P + 1)`` of the paper's value.

    Attributes
    ----------
    upward_rank : list of float
        Per task (ticks), after :meth:`reset`.
    assigned, planned_start, planned_finish : list of int
        Per task once planned: processor, start and finish (ticks). Under duration noise they are
        the latest re-timing of the plan (see Notes).

    Notes
    -----
    One job released at 0 (a single DAG): the plan is HEFT's schedule of the DAG and the replay
    is that schedule, task for task. With several jobs (the DeepSoCS setting, Sung et al. 2020),
    a job is planned on its arrival against the processors' current reservations: its tasks are
    inserted into the gaps between the intervals planned for earlier jobs, which keep their
    times, so without noise the replay is still the union of the plans. A job one of whose tasks
    depends on a job that has not arrived yet (a cascade) is planned when that job arrives.

    Under duration noise a task may end earlier or later than planned. The order on each
    processor is kept, so the schedule stays valid (each task starts when its inputs and its
    processor are free), and when the next job arrives the outstanding reservations are first
    re-timed as the replay would run them from now with nominal durations (an overrunning task
    is expected to end now), so the new job is planned against where the work really stands.

    References
    ----------
    H. Topcuoglu, S. Hariri, M.-Y. Wu, "Performance-effective and low-complexity task scheduling
    for heterogeneous computing", IEEE TPDS 13(3), 2002.
    """

    name = "heft"

    def __init__(self, mean_comm: MeanComm = "paper") -> None:
        if mean_comm not in ("paper", "saga"):
            raise ValueError(f"mean_comm must be 'paper' or 'saga', got {mean_comm!r}")
        self.mean_comm = mean_comm

    # ------------------------------------------------------------------ ranks
    def reset(self, sim: Simulation) -> None:
        n, P = sim.n_tasks, sim.n_procs
        job, eligible = sim.job, sim.eligible
        mean = [sum(d for _, d in el) / len(el) for el in eligible]
        comm: dict[tuple[int, tuple, tuple], float] = {}
        succ_comm: list[dict[int, float]] = [{} for _ in range(n)]
        job_preds: list[set[int]] = [set() for _ in sim.job_ids]
        for v in range(n):
            for u, tbl in sim.preds[v]:
                if job[u] != job[v]:
                    job_preds[job[v]].add(job[u])
                else:
                    succ_comm[u][v] = self._mean_comm(tbl, eligible[u], eligible[v], P, comm)
        rank = [0.0] * n
        for i in range(n - 1, -1, -1):  # reverse topological order
            rank[i] = mean[i] + max((c + rank[v] for v, c in succ_comm[i].items()), default=0.0)
        self.upward_rank = rank
        self.job_preds = [tuple(sorted(s)) for s in job_preds]
        self.assigned = [-1] * n
        self.planned_start = [0] * n
        self.planned_finish = [0] * n
        self.job_planned = [False] * len(sim.job_ids)
        self.waiting_jobs: list[int] = []  # arrived, waiting for a job they depend on
        # Per processor: the outstanding planned tasks in plan order, their planned starts and
        # finishes (parallel lists), and the position of the first one not yet dispatched.
        self.timeline: list[list[int]] = [[] for _ in range(P)]
        self.starts: list[list[int]] = [[] for _ in range(P)]
        self.ends: list[list[int]] = [[] for _ in range(P)]
        self.next: list[int] = [0] * P

    def _mean_comm(
        self,
        tbl: list[int] | None,
        el_u: tuple[tuple[int, int], ...],
        el_v: tuple[tuple[int, int], ...],
        P: int,
        cache: dict,
    ) -> float:
        if tbl is None:
            return 0.0
        key = (id(tbl), el_u, el_v)
        if key not in cache:
            pu_s, pv_s = [p for p, _ in el_u], [p for p, _ in el_v]
            total = sum(tbl[pu * P + pv] for pu in pu_s for pv in pv_s if pu != pv)
            same = len(set(pu_s) & set(pv_s))
            if self.mean_comm == "paper":
                pairs = len(pu_s) * len(pv_s) - same
            else:  # saga: unordered pairs, self-links included
                pairs = len(pu_s) * len(pv_s) + same
            cache[key] = total / pairs if pairs else 0.0
        return cache[key]

    # ------------------------------------------------------------------ planning
    def arrive(self, sim: Simulation, now: int, jobs: Sequence[int]) -> None:
        if self._prune(sim, now):
            self._retime(sim, now)
        pending = self.waiting_jobs + list(jobs)
        planned, job_preds = self.job_planned, self.job_preds
        # A job that depends on a job still to arrive waits for it (and so do its dependents).
        arrived = set(pending)
        blocked = {
            j for j in pending if any(not planned[k] and k not in arrived for k in job_preds[j])
        }
        grew = bool(blocked)
        while grew:
            grew = False
            for j in pending:
                if j not in blocked and any(k in blocked for k in job_preds[j]):
                    blocked.add(j)
                    grew = True
        self.waiting_jobs = [j for j in pending if j in blocked]
        batch = sorted((j for j in pending if j not in blocked), key=lambda j: sim.job_tasks[j][0])
        for j in batch:
            planned[j] = True
        self._plan(sim, now, batch)

    def _plan(self, sim: Simulation, now: int, batch: Sequence[int]) -> None:
        """Plan the tasks of ``batch`` (jobs in planning order): job by job, each in decreasing
        upward rank, a task only once its predecessors in the batch are planned (which a job's
        rank order always allows; jobs depending on each other interleave)."""
        P = sim.n_procs
        rank, status, release, job = self.upward_rank, sim.status, sim.release, sim.job
        assigned, pstart, pfinish = self.assigned, self.planned_start, self.planned_finish
        position = {j: r for r, j in enumerate(batch)}
        waits: dict[int, int] = {}
        for j in batch:
            for i in sim.job_tasks[j]:
                if status[i] != DROPPED:
                    waits[i] = sum(1 for u, _ in sim.preds[i] if job[u] in position)
        heap = [(position[job[i]], -rank[i], i) for i, w in waits.items() if w == 0]
        heapq.heapify(heap)
        while heap:
            i = heapq.heappop(heap)[2]
            for v in sim.succs[i]:
                if v in waits:
                    waits[v] -= 1
                    if waits[v] == 0:
                        heapq.heappush(heap, (position[job[v]], -rank[v], v))
            ready = max(now, release[i])
            inputs = []
            for u, tbl in sim.preds[i]:
                if status[u] == DONE:
                    inputs.append((sim.end[u], sim.proc[u], tbl))
                else:
                    inputs.append((pfinish[u], assigned[u], tbl))
            best = None
            for p, d in sim.eligible[i]:
                est = ready
                for f, q, tbl in inputs:
                    if tbl is not None:
                        f += tbl[q * P + p]
                    if f > est:
                        est = f
                k, s = self._gap(p, est, d)
                if best is None or s + d < best[0]:
                    best = (s + d, p, k, s)
            f, p, k, s = best  # type: ignore[misc]
            assigned[i], pstart[i], pfinish[i] = p, s, f
            self.timeline[p].insert(k, i)
            self.starts[p].insert(k, s)
            self.ends[p].insert(k, f)

    def _gap(self, p: int, est: int, d: int) -> tuple[int, int]:
        """Where on processor ``p`` a task of duration ``d`` that may start at ``est`` fits first:
        (position in the timeline, start)."""
        starts, ends = self.starts[p], self.ends[p]
        # Intervals ending by est leave no room before est; nothing goes before a dispatched task.
        k = bisect.bisect_right(ends, est)
        if k < self.next[p]:
            k = self.next[p]
        s = est if k == 0 or ends[k - 1] < est else ends[k - 1]
        n = len(starts)
        while k < n and s + d > starts[k]:
            e = ends[k]
            s = est if e < est else e
            k += 1
        return k, s

    # ------------------------------------------------------------------ noise
    def _prune(self, sim: Simulation, now: int) -> bool:
        """Drop finished and dropped tasks from the timelines; whether the replay has left the
        plan (a task started, ended or is still running off its planned times, or a job was
        dropped and freed its reservations)."""
        status, start, end = sim.status, sim.start, sim.end
        pstart, pfinish = self.planned_start, self.planned_finish
        off = False
        for p, tl in enumerate(self.timeline):
            keep = []
            for i in tl[: self.next[p]]:  # dispatched (running or done) or dropped
                st = status[i]
                if (
                    st == DROPPED
                    or start[i] != pstart[i]
                    or (end[i] != pfinish[i] if st == DONE else pfinish[i] <= now)
                ):
                    off = True
                if st == RUNNING:
                    keep.append(i)
            n_running = len(keep)
            for i in tl[self.next[p] :]:
                if status[i] == DROPPED:
                    off = True
                else:
                    keep.append(i)
            if len(keep) != len(tl):
                self.timeline[p] = keep
                self.starts[p] = [pstart[i] for i in keep]
                self.ends[p] = [pfinish[i] for i in keep]
            self.next[p] = n_running
        return off

    def _retime(self, sim: Simulation, now: int) -> None:
        """Re-time the outstanding reservations as the replay would run them from ``now`` with
        nominal durations, keeping each processor's order (an overrunning task ends now)."""
        P = sim.n_procs
        status, release, dur = sim.status, sim.release, sim.dur
        assigned, pstart, pfinish = self.assigned, self.planned_start, self.planned_finish
        retimed: set[int] = set()

        def start_on(i: int, p: int, free: int) -> int | None:
            s = max(free, release[i])
            for u, tbl in sim.preds[i]:
                if status[u] == DONE:
                    fu, q = sim.end[u], sim.proc[u]
                elif u in retimed:
                    fu, q = pfinish[u], assigned[u]
                else:
                    return None  # u is not re-timed yet
                if tbl is not None:
                    fu += tbl[q * P + p]
                s = max(s, fu)
            return s

        # Each processor's timeline is walked in order; a task waits until its predecessors on
        # other processors are re-timed (the plan order never contradicts a precedence).
        pos, free = [0] * P, [now] * P
        left = sum(len(tl) for tl in self.timeline)
        while left:
            before = left
            for p, tl in enumerate(self.timeline):
                while pos[p] < len(tl):
                    i = tl[pos[p]]
                    if status[i] == RUNNING:
                        s, f = sim.start[i], max(sim.end[i], now)
                    else:
                        s = start_on(i, p, free[p])
                        if s is None:
                            break
                        f = s + dur[i][p]  # type: ignore[operator]
                    pstart[i], pfinish[i] = s, f
                    retimed.add(i)
                    free[p] = f
                    pos[p] += 1
                    left -= 1
            if left == before:
                raise RuntimeError("heft: the plan order contradicts a precedence")
        for p, tl in enumerate(self.timeline):
            self.starts[p] = [pstart[i] for i in tl]
            self.ends[p] = [pfinish[i] for i in tl]

    # ------------------------------------------------------------------ running the plan
    def decide(self, sim: Simulation, now: int, ready: Sequence[int]) -> list[tuple[int, int]]:
        status, running, out = sim.status, sim.running, []
        for p, tl in enumerate(self.timeline):
            if running[p] != -1:
                continue
            k = self.next[p]
            while k < len(tl) and status[tl[k]] == DROPPED:
                k += 1
            self.next[p] = k
            if k < len(tl) and status[tl[k]] == READY:
                out.append((tl[k], p))
                self.next[p] = k + 1
        return out
