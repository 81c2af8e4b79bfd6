"""Round robin over the processors."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from rtgen_opt.online.policies.base import READY, Policy
from rtgen_opt.online.simulator import Simulation


class RoundRobin(Policy):
    """Each task, in the order tasks become ready, goes to the next processor of a rotating
    cycle (sorted by name) that can run it. Each processor runs its own queue first come, first
    served."""

    name = "round-robin"

    def reset(self, sim: Simulation) -> None:
        self.cursor = 0
        self.queues: list[deque[int]] = [deque() for _ in range(sim.n_procs)]

    def decide(self, sim: Simulation, now: int, ready: Sequence[int]) -> list[tuple[int, int]]:
        P, queues, dur = sim.n_procs, self.queues, sim.dur
        for i in ready:
            row = dur[i]
            p = self.cursor
            while row[p] is None:  # every task has an eligible processor, so this ends
                p = (p + 1) % P
            queues[p].append(i)
            self.cursor = (p + 1) % P
        status, out = sim.status, []
        for p, q in enumerate(queues):
            if sim.running[p] != -1:
                continue
            while q and status[q[0]] != READY:
                q.popleft()
            if q:
                out.append((q.popleft(), p))
        return out
