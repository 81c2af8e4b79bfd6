"""Online policies replayed in a discrete-event simulator, on exactly the instance the exact
solvers see (DESIGN section 4).

>>> from rtgen_opt.online import replay, policy_names
>>> policy_names()[:3]
['edf-eft', 'edf-fixed', 'fcfs-fixed']

See :mod:`rtgen_opt.online.simulator` for the semantics (events, readiness, transfers, drops,
noise) and :mod:`rtgen_opt.online.policies` for the policies.
"""

from rtgen_opt.online.policies import PinnedPolicy, Policy, PriorityEFTPolicy, RankedPolicy
from rtgen_opt.online.registry import POLICIES, make_policy, policy_names, register
from rtgen_opt.online.simulator import (
    DONE,
    DROPPED,
    READY,
    RUNNING,
    WAITING,
    PolicyError,
    Replay,
    Simulation,
    perturb,
    replay,
    simulate,
)

__all__ = [
    "DONE",
    "DROPPED",
    "POLICIES",
    "READY",
    "RUNNING",
    "WAITING",
    "PinnedPolicy",
    "Policy",
    "PolicyError",
    "PriorityEFTPolicy",
    "RankedPolicy",
    "Replay",
    "Simulation",
    "make_policy",
    "perturb",
    "policy_names",
    "register",
    "replay",
    "simulate",
]
