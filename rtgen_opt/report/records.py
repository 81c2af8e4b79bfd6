"""The records of a report: each unit's validated outcome, the best schedule and bound of an
instance, and everything a finished sweep knows (what the table and HTML writers read).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rtgen_opt.exact.bounds import combinatorial_bounds
from rtgen_opt.metrics import Metrics, evaluate
from rtgen_opt.objectives import Objective
from rtgen_opt.report.suite import SuiteEntry
from rtgen_opt.report.units import Settings
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import check


def lex_key(values: Sequence[float] | None) -> tuple[float, ...]:
    """Sort key of a (lexicographic) objective value; no value sorts last."""
    return (math.inf,) if values is None else tuple(values)


@dataclass(frozen=True)
class Outcome:
    """One unit's validated schedule and what it says (the report's raw material)."""

    instance: str
    method: str
    kind: str
    status: str
    schedule: Schedule | None
    values: tuple[float, ...] | None
    solver_bound: tuple[float, ...] | None
    wall_s: float
    metrics: Metrics | None = None
    error: str | None = None


def outcome_of(entry: SuiteEntry, result: Mapping[str, Any], objective: Objective) -> Outcome:
    """Validate the unit's schedule again here and recompute every number from it."""
    sched_dict = result.get("schedule")
    if sched_dict is None:
        return Outcome(
            entry.name,
            result["method"],
            result["kind"],
            result["status"],
            None,
            None,
            _tuple(result.get("bound")),
            float(result.get("wall_s", math.nan)),
            error=result.get("error"),
        )
    schedule = check(entry.instance, Schedule.from_dict(sched_dict))
    return Outcome(
        entry.name,
        result["method"],
        result["kind"],
        result["status"],
        schedule,
        objective.values(entry.instance, schedule),
        _tuple(result.get("bound")),
        float(result.get("wall_s", math.nan)),
        metrics=evaluate(entry.instance, schedule),
    )


def _tuple(values: Sequence[float] | None) -> tuple[float, ...] | None:
    return None if values is None else tuple(float(v) for v in values)


def best_bound(
    entry: SuiteEntry, exact: Iterable[Outcome], objective: Objective
) -> tuple[float, ...]:
    """The best proven lower bound of an instance: the lexicographically largest solver bound,
    or the solver-free combinatorial bound of the first component when no solver gave one."""
    candidates = [o.solver_bound for o in exact if o.solver_bound is not None]
    first = combinatorial_bounds(entry.instance, objective)["bound"]
    cheap = (float(first),) + (0.0,) * (len(objective) - 1)
    return max([*candidates, cheap])


@dataclass(frozen=True)
class Sweep:
    """Everything a finished sweep knows; the report writers read it."""

    entries: list[SuiteEntry]
    settings: Settings
    policies: tuple[str, ...]
    solvers: tuple[str, ...]
    outcomes: dict[tuple[str, str], Outcome]
    bounds: dict[str, tuple[float, ...]]  # instance -> best proven bound
    table: pd.DataFrame
    stats: dict[str, int]
