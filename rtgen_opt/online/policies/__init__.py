"""The built-in online policies, one small class each (registered, in this order, by
:mod:`rtgen_opt.online.registry`).

========================= =======================================================================
name                      decision rule (see each class's docstring)
========================= =======================================================================
``fcfs-fixed``            first come first served, each model pinned to its fastest backend
``round-robin``           tasks dealt to processors in rotation, FCFS per processor
``edf-fixed``             earliest deadline first, pinned
``edf-eft``               earliest deadline first, earliest-finish-time processor
``llf-eft``               least laxity first, earliest-finish-time processor
``heft``                  insertion-based HEFT over each job's DAG on its arrival (DeepSoCS)
``xrbench-greedy``        XRBench's latency-greedy dispatch per model queue, its drop rule
``llm-hybrid``            frames first; prefill on the NPU, decode on the GPU
========================= =======================================================================
"""

from rtgen_opt.online.policies.base import PinnedPolicy, Policy, PriorityEFTPolicy, RankedPolicy
from rtgen_opt.online.policies.eft import EDFEFT, LLFEFT
from rtgen_opt.online.policies.fixed import EDFFixed, FCFSFixed
from rtgen_opt.online.policies.heft import HEFT
from rtgen_opt.online.policies.llm_hybrid import LLMHybrid
from rtgen_opt.online.policies.round_robin import RoundRobin
from rtgen_opt.online.policies.xrbench import XRBenchGreedy

__all__ = [
    "EDFEFT",
    "EDFFixed",
    "FCFSFixed",
    "HEFT",
    "LLFEFT",
    "LLMHybrid",
    "PinnedPolicy",
    "Policy",
    "PriorityEFTPolicy",
    "RankedPolicy",
    "RoundRobin",
    "XRBenchGreedy",
]
