"""Exact models (CP-SAT, MILP) and solver-free lower bounds.

Backends are registered by name and imported only when used, so a missing optional solver never
breaks the rest of the package.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from rtgen_opt.errors import SolverUnavailableError, SpecError
from rtgen_opt.exact.result import Result, SolveStatus

#: solver name -> "module:function"; each function takes (instance, objective, **options).
BACKENDS = {
    "cpsat": "rtgen_opt.exact.cpsat:solve",
    "milp-cbc": "rtgen_opt.exact.milp:solve_cbc",
    "milp-highs": "rtgen_opt.exact.milp:solve_highs",
}


def backend(name: str) -> Any:
    """The solve function of a backend, imported on first use."""
    if name not in BACKENDS:
        raise SpecError(
            None, "solver", f"unknown solver {name!r}; expected one of {', '.join(BACKENDS)}"
        )
    module, func = BACKENDS[name].split(":")
    try:
        return getattr(import_module(module), func)
    except ImportError as exc:
        raise SolverUnavailableError(f"solver {name!r} is not available: {exc}") from exc


__all__ = ["BACKENDS", "Result", "SolveStatus", "backend"]
