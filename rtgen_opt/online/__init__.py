"""Online policies replayed in a discrete-event simulator, on exactly the instance the exact
solvers see (DESIGN section 4).

>>> from rtgen_opt.online import replay, policy_names
>>> policy_names()[:3]
['edf-eft', 'edf-fixed', 'fcfs-fixed']

See :mod:`rtgen_opt.online.simulator` for the semantics (events, readiness, transfers, drops),
:mod:`rtgen_opt.online.replay` for the entry points and noise, :mod:`rtgen_opt.online.policies`
for the policies and :mod:`rtgen_opt.online.registry` for their names.
"""

from rtgen_opt.errors import PolicyError
from rtgen_opt.online.policies import PinnedPolicy, Policy, PriorityEFTPolicy, RankedPolicy
from rtgen_opt.online.registry import (
    BUILTIN,
    POLICIES,
    builtin_policies,
    make_policy,
    policy_names,
    register,
)
from rtgen_opt.online.replay import Replay, perturb, replay, simulate
from rtgen_opt.online.simulator import DONE, DROPPED, READY, RUNNING, WAITING, Simulation

__all__ = [
    "BUILTIN",
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
    "builtin_policies",
    "make_policy",
    "perturb",
    "policy_names",
    "register",
    "replay",
    "simulate",
]
