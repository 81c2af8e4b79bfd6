"""rtgen_opt: optimal schedules for real-time generative-AI workloads on heterogeneous SoCs,
replayed online policies on the same instances, and the gap between them.

The public API is re-exported here and imported lazily, so ``import rtgen_opt`` stays fast and
an optional solver that fails to load never breaks the rest.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load": "rtgen_opt.spec",
    "load_instance": "rtgen_opt.inputs",
    "compile": "rtgen_opt.compile",
    "solve": "rtgen_opt.optimise",
    "bounds": "rtgen_opt.exact.solve",
    "replay": "rtgen_opt.online",
    "validate": "rtgen_opt.validate",
    "check": "rtgen_opt.validate",
    "evaluate": "rtgen_opt.metrics",
    "objective_values": "rtgen_opt.objectives",
    "Instance": "rtgen_opt.instance",
    "Platform": "rtgen_opt.instance",
    "Processor": "rtgen_opt.instance",
    "Schedule": "rtgen_opt.schedule",
    "Result": "rtgen_opt.exact.result",
    "SolveStatus": "rtgen_opt.exact.result",
    "RtgenError": "rtgen_opt.errors",
    "SpecError": "rtgen_opt.errors",
    "ArgumentError": "rtgen_opt.errors",
    "PolicyError": "rtgen_opt.errors",
    "Objective": "rtgen_opt.objectives",
    "SolverUnavailableError": "rtgen_opt.errors",
    "InvalidScheduleError": "rtgen_opt.errors",
}

__all__ = sorted(_EXPORTS)

# `compile` and `validate` are both a submodule and a function of that name. Importing the
# submodule once, here, binds the package attribute to it; rebinding the name to the function
# afterwards sticks, since Python sets the attribute only when it first loads a submodule.
from rtgen_opt.compile import compile  # noqa: E402, F401
from rtgen_opt.validate import validate  # noqa: E402, F401


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rtgen_opt' has no attribute {name!r}")
