"""The objectives of the MILP: one linear expression per name of :mod:`rtgen_opt.objectives`.

Each expression is in *model units*; :class:`Objective` converts a model value back to the
objective's own units (ms, mJ or weighted misses) as ``value x scale + offset``. Expressions carry
no constant term (PuLP's HiGHS interface and MPS files drop it); the constant is the offset.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulp

from rtgen_opt.errors import SpecError
from rtgen_opt.exact.milp.variables import Variables
from rtgen_opt.exact.windows import Windows
from rtgen_opt.instance import Instance


@dataclass(frozen=True)
class Objective:
    """A linear objective in model units and its conversion to the objective's units."""

    name: str
    expression: pulp.LpAffineExpression
    scale: float
    offset: float

    def to_units(self, model_value: float) -> float:
        return model_value * self.scale + self.offset

    def to_model(self, value: float) -> float:
        return (value - self.offset) / self.scale


def objective(name: str, instance: Instance, win: Windows, var: Variables) -> Objective:
    """The linear objective ``name`` (see :mod:`rtgen_opt.objectives` for the definitions).

    Raises
    ------
    SpecError
        For ``misses`` or ``tardiness`` when a job has a negative weight (minimising would then
        reward lateness the binaries cannot express).
    """
    unit = win.scale.unit_ms
    jobs = instance.jobs
    if name in ("misses", "tardiness"):
        negative = sorted(j for j, job in jobs.items() if job.weight < 0)
        if negative:
            raise SpecError(None, "weight", f"negative job weights {negative[:3]} with {name!r}")
    if name == "misses":
        expr = pulp.lpSum(jobs[j].weight * late for j, late in var.late.items())
        return Objective(name, expr, 1.0, 0.0)
    if name == "tardiness":
        expr = pulp.lpSum(jobs[j].weight * tard for j, tard in var.tardiness.items())
        return Objective(name, expr, unit, 0.0)
    if name == "ttft":
        expr = pulp.lpSum(var.first_token.values())
        arrivals = sum(instance.requests[r].arrival for r in var.first_token)
        return Objective(name, expr, unit, -arrivals)
    if name == "makespan":
        assert var.makespan is not None, "the makespan variable exists for this objective"
        return Objective(name, pulp.lpSum([var.makespan]), unit, 0.0)
    if name == "energy":
        procs = instance.platform.by_name
        expr = pulp.lpSum(
            (procs[p].active_w - procs[p].idle_w) * win.to_ms(win.duration[t, p]) * var.x[t, p]
            for t in win.tasks
            for p in win.options[t]
            if procs[p].active_w != procs[p].idle_w
        )
        return Objective(name, expr, 1.0, 0.0)
    raise SpecError(None, "objective", f"unknown objective {name!r}")
