"""Exact models (CP-SAT, MILP) and solver-free lower bounds.

Backends are registered by name in :data:`BACKENDS` and imported only when used, so a missing
optional solver never breaks the rest of the package.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from rtgen_opt.errors import ArgumentError, SolverUnavailableError
from rtgen_opt.exact.result import Result, SolveStatus

#: solver name -> "module:function"; each function takes (instance, objective, **options), the
#: objective an :class:`~rtgen_opt.objectives.Objective` (see :mod:`rtgen_opt.exact.solve`).
BACKENDS = {
    "cpsat": "rtgen_opt.exact.cpsat:solve",
    "milp-cbc": "rtgen_opt.exact.milp:solve_cbc",
    "milp-highs": "rtgen_opt.exact.milp:solve_highs",
}
DEFAULT_SOLVER = "cpsat"


def solver_names() -> tuple[str, ...]:
    """The registered exact backends, in registry order."""
    return tuple(BACKENDS)


def check_solver(name: str) -> str:
    """``name`` if it is a registered backend; otherwise one clear error naming them."""
    if name not in BACKENDS:
        known = ", ".join(BACKENDS)
        raise ArgumentError("solver", f"unknown solver {name!r}; expected one of {known}")
    return name


def backend(name: str) -> Any:
    """The solve function of a backend, imported on first use."""
    module, func = BACKENDS[check_solver(name)].split(":")
    try:
        return getattr(import_module(module), func)
    except ImportError as exc:
        raise SolverUnavailableError(f"solver {name!r} is not available: {exc}") from exc


__all__ = [
    "BACKENDS",
    "DEFAULT_SOLVER",
    "Result",
    "SolveStatus",
    "backend",
    "check_solver",
    "solver_names",
]
