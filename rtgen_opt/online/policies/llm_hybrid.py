"""Ryzen AI's hybrid LLM mode beside real-time frames."""

from __future__ import annotations

from rtgen_opt.online.policies.base import PriorityEFTPolicy
from rtgen_opt.online.simulator import Simulation

#: Processor kind each LLM phase is pinned to (OnnxRuntime-GenAI "hybrid": prefill on the NPU,
#: decode on the integrated GPU).
HYBRID_KINDS = {"prefill": "npu", "decode": "gpu"}


class LLMHybrid(PriorityEFTPolicy):
    """Frames first: non-LLM tasks always precede prefill and decode tasks, each class earliest
    deadline first. Prefill runs on the NPU and decode on the GPU (waiting for them when busy);
    frames, and any LLM task the platform cannot run on its kind, go to the processor with the
    earliest finish time, as ``edf-eft``."""

    name = "llm-hybrid"

    def priority(self, sim: Simulation, i: int) -> tuple[float, ...]:
        llm = sim.phase[i] in HYBRID_KINDS
        return (int(llm), sim.deadline[i], sim.release[i])

    def candidates(self, sim: Simulation, i: int) -> tuple[tuple[int, int], ...]:
        kind = HYBRID_KINDS.get(sim.phase[i])
        if kind is not None:
            pinned = tuple((p, d) for p, d in sim.eligible[i] if sim.proc_kinds[p] == kind)
            if pinned:
                return pinned
        return sim.eligible[i]
