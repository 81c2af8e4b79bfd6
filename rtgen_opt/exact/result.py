"""The answer every exact backend returns."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from rtgen_opt.grid import close, relative_gap
from rtgen_opt.schedule import Schedule


class SolveStatus(str, Enum):
    OPTIMAL = "optimal"  # the objective equals the bound (proven)
    FEASIBLE = "feasible"  # a schedule was found; the bound may be lower
    INFEASIBLE = "infeasible"  # proven: no schedule exists
    UNKNOWN = "unknown"  # stopped before finding any schedule

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Result:
    """What a solve returns.

    ``objective`` and ``bound`` are in the objective's units (ms, mJ or weighted misses); for a
    lexicographic objective they are tuples, one value per component, and ``gap`` refers to the
    last component the solver worked on. ``objective`` is recomputed from the validated
    ``schedule`` (never read off the solver); ``bound`` is a proven lower bound.
    """

    status: SolveStatus
    objective: tuple[float, ...] | None
    bound: tuple[float, ...] | None
    runtime: float
    schedule: Schedule | None
    solver: str
    objective_name: tuple[str, ...]
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Relative gap ``(objective - bound) / |objective|`` of the first component
        that is not closed; 0 when optimal, ``None`` without a schedule or bound."""
        if self.status is SolveStatus.OPTIMAL:
            return 0.0
        if self.objective is None or self.bound is None:
            return None
        for obj, lb in zip(self.objective, self.bound, strict=False):
            if not close(obj, lb):
                return relative_gap(obj, lb) if math.isfinite(lb) else None
        return 0.0
