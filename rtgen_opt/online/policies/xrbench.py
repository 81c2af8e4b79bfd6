"""XRBench's runtime: latency-greedy assignment per model queue (Kwon et al., MLSys 2023)."""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from rtgen_opt.online.policies.base import READY, RankedPolicy
from rtgen_opt.online.simulator import Simulation


class XRBenchGreedy(RankedPolicy):
    """XRBench's ``DispatchJobs`` with ``LatencyGreedy``: streams are visited in sorted name order
    and each stream's oldest ready task goes to the idle processor where it runs fastest (ties
    by processor name); visits repeat until nothing more can start. Its drop rule is
    ``DropLateFrames``, which is the simulator's ``drop`` mode: an unstarted job is dropped once
    its deadline has passed, with its dependents.

    Notes
    -----
    After ``HET_runtime.hpp`` (``DispatchJobs``: the request queues are a ``std::map`` keyed by
    model name; ``LatencyGreedy`` takes the idle accelerator with the least latency, the first on
    a tie). XRBench schedules whole inferences; here a stream's queue holds its ready tasks,
    oldest release first, so a model split into layer groups keeps its order.
    """

    name = "xrbench-greedy"

    def priority(self, sim: Simulation, i: int) -> tuple[float, ...]:
        return (sim.release[i],)

    def reset(self, sim: Simulation) -> None:
        super().reset(sim)
        names = sorted(set(sim.stream))
        sindex = {s: k for k, s in enumerate(names)}
        self.stream_of = [sindex[s] for s in sim.stream]
        self.heaps: list[list[int]] = [[] for _ in names]

    def decide(self, sim: Simulation, now: int, ready: Sequence[int]) -> list[tuple[int, int]]:
        heaps, rank, order, stream_of = self.heaps, self.rank, self.order, self.stream_of
        heappush, heappop = heapq.heappush, heapq.heappop
        for i in ready:
            heappush(heaps[stream_of[i]], rank[i])
        status, eligible = sim.status, sim.eligible
        idle = [r == -1 for r in sim.running]
        out: list[tuple[int, int]] = []
        changed = True
        while changed:
            changed = False
            for h in heaps:
                while h and status[order[h[0]]] != READY:
                    heappop(h)
                if not h:
                    continue
                i = order[h[0]]
                best_p, best_d = -1, 0
                for p, d in eligible[i]:
                    if idle[p] and (best_p < 0 or d < best_d):
                        best_p, best_d = p, d
                if best_p >= 0:
                    heappop(h)
                    idle[best_p] = False
                    out.append((i, best_p))
                    changed = True
        return out
