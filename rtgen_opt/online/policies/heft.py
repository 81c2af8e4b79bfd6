"""HEFT over each job's DAG when the job arrives (the DeepSoCS setting)."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

from rtgen_opt.online.policies.base import Policy
from rtgen_opt.online.simulator import DONE, READY, RUNNING, Simulation


class HEFT(Policy):
    """When a job arrives, its tasks are planned by HEFT: in decreasing upward rank (mean
    durations and mean transfers over the job's DAG), each task to the processor where it would
    finish earliest given the processors' current availability and the planned finishes of its
    predecessors (append, no insertion). Each processor then runs the ready tasks planned on it,
    earliest planned start first.

    Notes
    -----
    Topcuoglu, Hariri and Wu (IEEE TPDS 2002); applied per arriving job against the current
    state as in DeepSoCS (Sung et al., 2020). A processor's availability is the latest of now,
    its running task's expected end, and the planned finish of the unfinished tasks already
    planned on it. A predecessor in a job that has not arrived yet counts as finishing at its
    release plus its smallest duration. Running the earliest-planned *ready* task (rather than
    strictly the plan's order) keeps processors busy when the plan was optimistic.
    """

    name = "heft"

    def reset(self, sim: Simulation) -> None:
        n, P = sim.n_tasks, sim.n_procs
        mean = [sum(d for _, d in el) / len(el) for el in sim.eligible]
        job, eligible = sim.job, sim.eligible
        comm: dict[tuple[int, int], float] = {}
        rank = [0.0] * n
        for i in range(n - 1, -1, -1):  # reverse topological order
            best = 0.0
            for v in sim.succs[i]:
                if job[v] != job[i]:
                    continue
                c = self._mean_comm(sim, i, v, comm)
                best = max(best, c + rank[v])
            rank[i] = mean[i] + best
        self.upward_rank = rank
        self.mindur = [min(d for _, d in el) for el in eligible]
        self.assigned = [-1] * n
        self.pstart = [0.0] * n
        self.pfinish = [0.0] * n
        self.outstanding: list[list[int]] = [[] for _ in range(P)]
        self.queues: list[list[tuple[float, int]]] = [[] for _ in range(P)]

    @staticmethod
    def _mean_comm(sim: Simulation, u: int, v: int, cache: dict) -> float:
        tbl = next(t for w, t in sim.preds[v] if w == u)
        if tbl is None:
            return 0.0
        key = (id(tbl), sim.eligible[u], sim.eligible[v])
        if key not in cache:
            P = sim.n_procs
            pairs = [
                tbl[pu * P + pv]
                for pu, _ in sim.eligible[u]
                for pv, _ in sim.eligible[v]
                if pu != pv
            ]
            cache[key] = sum(pairs) / len(pairs) if pairs else 0.0
        return cache[key]

    def arrive(self, sim: Simulation, now: int, jobs: Sequence[int]) -> None:
        P = sim.n_procs
        status = sim.status
        avail = []
        for p in range(P):
            out = [i for i in self.outstanding[p] if status[i] < DONE]
            self.outstanding[p] = out
            a = sim.available(p)
            for i in out:
                if status[i] != RUNNING and self.pfinish[i] > a:
                    a = self.pfinish[i]
            avail.append(a)
        rank, assigned, pstart, pfinish = self.upward_rank, self.assigned, self.pstart, self.pfinish
        # Jobs arriving together are planned in topological order of their first task, so a
        # cascade's upstream job is planned before its dependents.
        for j in sorted(jobs, key=lambda j: sim.job_tasks[j][0]):
            for i in sorted(sim.job_tasks[j], key=lambda i: (-rank[i], i)):
                ready = max(now, sim.release[i])
                best_f, best_p, best_s = math.inf, -1, 0.0
                for p, d in sim.eligible[i]:
                    s = max(ready, avail[p])
                    for u, tbl in sim.preds[i]:
                        if status[u] >= RUNNING:
                            fu, pu = sim.end[u], sim.proc[u]
                        elif assigned[u] >= 0:
                            fu, pu = pfinish[u], assigned[u]
                        else:
                            fu, pu = sim.release[u] + self.mindur[u], -1
                        if tbl is not None and pu >= 0:
                            fu += tbl[pu * P + p]
                        if fu > s:
                            s = fu
                    if s + d < best_f:
                        best_f, best_p, best_s = s + d, p, s
                assigned[i], pstart[i], pfinish[i] = best_p, best_s, best_f
                avail[best_p] = best_f
                self.outstanding[best_p].append(i)

    def decide(self, sim: Simulation, now: int, ready: Sequence[int]) -> list[tuple[int, int]]:
        queues, assigned, pstart = self.queues, self.assigned, self.pstart
        for i in ready:
            heapq.heappush(queues[assigned[i]], (pstart[i], i))
        status, out = sim.status, []
        for p, q in enumerate(queues):
            if sim.running[p] != -1:
                continue
            while q and status[q[0][1]] != READY:
                heapq.heappop(q)
            if q:
                out.append((heapq.heappop(q)[1], p))
        return out
