"""Priority list scheduling with earliest-finish-time placement."""

from __future__ import annotations

from rtgen_opt.online.policies.base import PriorityEFTPolicy
from rtgen_opt.online.simulator import Simulation


class EDFEFT(PriorityEFTPolicy):
    """Earliest deadline first; each task goes to the processor where it would finish earliest,
    counting the processor's expected availability, the transfer of its inputs and its nominal
    duration there. If that processor is busy the task waits for it; ties by release, then
    topological order (tasks) and sorted name (processors)."""

    name = "edf-eft"

    def priority(self, sim: Simulation, i: int) -> tuple[float, ...]:
        return (sim.deadline[i], sim.release[i])


class LLFEFT(PriorityEFTPolicy):
    """Least laxity first, with earliest-finish-time placement as ``edf-eft``. Laxity is the
    job's deadline minus now minus the work left on the job's critical path from the task (each
    task at its smallest nominal duration); since ``now`` is common to all tasks it orders them
    as ``deadline - work left``."""

    name = "llf-eft"

    def priority(self, sim: Simulation, i: int) -> tuple[float, ...]:
        return (sim.deadline[i] - self.work_left[i], sim.release[i])

    def reset(self, sim: Simulation) -> None:
        job, succs = sim.job, sim.succs
        left = [0] * sim.n_tasks
        for i in range(sim.n_tasks - 1, -1, -1):  # reverse topological order
            tail = max((left[v] for v in succs[i] if job[v] == job[i]), default=0)
            left[i] = min(d for _, d in sim.eligible[i]) + tail
        self.work_left = left
        super().reset(sim)
