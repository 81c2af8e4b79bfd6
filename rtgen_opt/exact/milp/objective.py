"""The objectives of the MILP: one linear expression per name of :mod:`rtgen_opt.objectives`.

Each expression is in *model units*; :class:`LinearObjective` converts a model value back to the
objective's own units (ms, mJ or weighted misses) as ``value x scale + offset``; :data:`BUILDERS`
holds one builder per criterion of the objective registry. Expressions carry
no constant term (PuLP's HiGHS interface and MPS files drop it); the constant is the offset.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulp

from rtgen_opt.errors import InternalError, SpecError
from rtgen_opt.exact.milp.variables import Variables
from rtgen_opt.exact.windows import Windows
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import builder


@dataclass(frozen=True)
class LinearObjective:
    """A linear objective in model units and its conversion to the objective's units."""

    name: str
    expression: pulp.LpAffineExpression
    scale: float
    offset: float

    def to_units(self, model_value: float) -> float:
        return model_value * self.scale + self.offset

    def to_model(self, value: float) -> float:
        return (value - self.offset) / self.scale


def _nonnegative_weights(name: str, instance: Instance) -> None:
    negative = sorted(j for j, job in instance.jobs.items() if job.weight < 0)
    if negative:
        # Minimising would then reward lateness, which the binaries cannot express.
        raise SpecError(None, "weight", f"negative job weights {negative[:3]} with {name!r}")


def _misses(instance: Instance, win: Windows, var: Variables) -> LinearObjective:
    _nonnegative_weights("misses", instance)
    jobs = instance.jobs
    expr = pulp.lpSum(jobs[j].weight * late for j, late in var.late.items())
    return LinearObjective("misses", expr, 1.0, 0.0)


def _tardiness(instance: Instance, win: Windows, var: Variables) -> LinearObjective:
    _nonnegative_weights("tardiness", instance)
    jobs = instance.jobs
    expr = pulp.lpSum(jobs[j].weight * tard for j, tard in var.tardiness.items())
    return LinearObjective("tardiness", expr, win.scale.unit_ms, 0.0)


def _ttft(instance: Instance, win: Windows, var: Variables) -> LinearObjective:
    expr = pulp.lpSum(var.first_token.values())
    arrivals = sum(instance.requests[r].arrival for r in var.first_token)
    return LinearObjective("ttft", expr, win.scale.unit_ms, -arrivals)


def _makespan(instance: Instance, win: Windows, var: Variables) -> LinearObjective:
    if var.makespan is None:
        raise InternalError("MILP: the makespan objective without its variable")
    return LinearObjective("makespan", pulp.lpSum([var.makespan]), win.scale.unit_ms, 0.0)


def _energy(instance: Instance, win: Windows, var: Variables) -> LinearObjective:
    procs = instance.platform.by_name
    expr = pulp.lpSum(
        (procs[p].active_w - procs[p].idle_w) * win.to_ms(win.duration[t, p]) * var.x[t, p]
        for t in win.tasks
        for p in win.options[t]
        if procs[p].active_w != procs[p].idle_w
    )
    return LinearObjective("energy", expr, 1.0, 0.0)


#: One builder per criterion of :data:`rtgen_opt.objectives.CRITERIA`.
BUILDERS: dict[str, Callable[[Instance, Windows, Variables], LinearObjective]] = {
    "misses": _misses,
    "tardiness": _tardiness,
    "ttft": _ttft,
    "makespan": _makespan,
    "energy": _energy,
}


def linear_objective(
    name: str, instance: Instance, win: Windows, var: Variables
) -> LinearObjective:
    """The linear objective ``name`` (see :mod:`rtgen_opt.objectives` for the definitions).

    Raises
    ------
    SpecError
        For ``misses`` or ``tardiness`` when a job has a negative weight.
    """
    return builder(BUILDERS, name, "exact.milp.objective.BUILDERS")(instance, win, var)
