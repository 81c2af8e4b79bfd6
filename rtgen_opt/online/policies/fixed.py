"""Pinned policies: every model runs on its fastest backend."""

from __future__ import annotations

from rtgen_opt.online.policies.base import PinnedPolicy
from rtgen_opt.online.simulator import Simulation


class FCFSFixed(PinnedPolicy):
    """First come, first served, each task pinned to its fastest processor (smallest nominal
    duration; every processor tied for fastest may take it). An idle processor takes the pinned
    ready task released first; ties by topological order (which follows task ids)."""

    name = "fcfs-fixed"

    def priority(self, sim: Simulation, i: int) -> tuple[float, ...]:
        return (sim.release[i],)


class EDFFixed(PinnedPolicy):
    """Earliest deadline first, each task pinned to its fastest processor. An idle processor
    takes the pinned ready task whose job has the earliest deadline (no deadline: last); ties
    by release, then topological order."""

    name = "edf-fixed"

    def priority(self, sim: Simulation, i: int) -> tuple[float, ...]:
        return (sim.deadline[i], sim.release[i])
