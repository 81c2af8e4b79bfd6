"""The one lexicographic driver: minimise an objective's components in stages, over any backend.

A backend adapts its model to :class:`StageModel` -- "minimise component ``k`` from this hint"
and "fix component ``k``" -- and :func:`minimise_lexicographic` does the rest, the same way for
CP-SAT and the MILP (and for any backend added later):

1. for each component ``k`` in order: if the best schedule so far already meets the solver-free
   bound of component ``k`` (:func:`~rtgen_opt.exact.bounds.combinatorial_bounds`), it is
   optimal there without a search;
2. otherwise the backend minimises ``k`` for an equal share of the time left, hinted with the
   best schedule so far; its schedule replaces the best one only if it is no worse on ``k`` (a
   warm start can only help);
3. component ``k`` is then fixed -- to its value when proven optimal, to at most its incumbent
   otherwise (``stats["lexicographic"]`` says so) -- and the next component is minimised among
   the schedules that keep it.

The bound of a later component is proven among the schedules that keep the earlier ones fixed
(or at most their incumbent); the lexicographic optimum is one of them, so it is a valid bound of
the optimum's component. Components not reached (time out, Ctrl-C) report the best schedule's
values with no bound (``-inf``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from rtgen_opt import grid
from rtgen_opt.errors import InternalError
from rtgen_opt.exact.bounds import combinatorial_bounds
from rtgen_opt.exact.result import Result, SolveStatus
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective
from rtgen_opt.schedule import Schedule

#: ``progress(elapsed_s, objective, bound)``, in the units of the component being minimised.
Progress = Callable[[float, float, float], None]


@dataclass(frozen=True)
class Stage:
    """What a backend found when it minimised one component (values in the objective's units).

    ``status`` is ``"optimal"`` (``value`` proven), ``"feasible"``, ``"infeasible"`` or
    ``"unknown"`` (no schedule in time); ``interrupted`` is set when Ctrl-C stopped it.
    """

    status: str
    schedule: Schedule | None
    value: float | None
    bound: float | None
    stats: dict[str, Any] = field(default_factory=dict)
    interrupted: bool = False


class StageModel(Protocol):
    """A backend's model of one instance for a lexicographic objective."""

    def minimise(
        self,
        k: int,
        *,
        time_limit: float,
        hint: Schedule,
        progress: Progress | None,
        floor: float = -math.inf,
    ) -> Stage:
        """Minimise component ``k`` (the earlier ones already fixed) within ``time_limit``;
        ``floor`` is a proven lower bound of it (its solver-free bound), which a backend may
        use or ignore."""
        ...

    def fix(self, k: int, value: float, *, proven: bool) -> None:
        """Keep component ``k`` at ``value`` (proven optimal) or at most ``value`` (not)."""
        ...


def minimise_lexicographic(
    instance: Instance,
    objective: Objective,
    model: StageModel,
    *,
    solver: str,
    time_limit: float,
    hint: Schedule,
    progress: Progress | None = None,
    started: float | None = None,
) -> Result:
    """Minimise ``objective`` component by component on ``model`` (see the module docstring).

    ``hint`` is a valid schedule; ``started`` is the ``time.perf_counter()`` the time limit
    counts from (default: now). Returns a :class:`Result` whose schedule is never worse than
    ``hint``; :func:`rtgen_opt.solve` validates and re-evaluates it.
    """
    started = time.perf_counter() if started is None else started
    n = len(objective)
    stats: dict[str, Any] = {"stages": []}
    values: list[float] = []
    bounds: list[float] = []
    best = hint
    proven_all = True
    interrupted = False
    for k, criterion in enumerate(objective):
        current = criterion.evaluate(instance, best)
        cheap = combinatorial_bounds(instance, [criterion.name])["bound"]
        if grid.leq(current, cheap):
            # The schedule in hand meets a solver-free bound: optimal without a search.
            stats["stages"].append(
                {"objective": criterion.name, "status": "OPTIMAL", "by": "bound"}
            )
            values.append(current)
            bounds.append(current)
            if k + 1 < n:
                model.fix(k, current, proven=True)
            continue
        remaining = max(0.0, time_limit - (time.perf_counter() - started))
        stage = model.minimise(
            k, time_limit=remaining / (n - k), hint=best, progress=progress, floor=cheap
        )
        stats["stages"].append({"objective": criterion.name, "status": stage.status, **stage.stats})
        interrupted = interrupted or stage.interrupted
        if stage.status == "infeasible":
            raise InternalError(
                f"{solver}: claims {criterion.name} infeasible, yet the hint is valid"
            )
        bound = -math.inf if stage.bound is None else min(stage.bound, current)
        if (
            stage.schedule is not None
            and stage.value is not None
            and grid.leq(stage.value, current)
        ):
            best, current = stage.schedule, stage.value
        elif stage.schedule is None:
            stats.setdefault("lexicographic", f"stopped at {criterion.name}: no solution in time")
        # Proven when the stage proved its value and that value is the one kept.
        proven = (
            stage.status == "optimal"
            and stage.value is not None
            and grid.close(current, stage.value)
        )
        values.append(current)
        bounds.append(current if proven else bound)
        proven_all = proven_all and proven
        if k + 1 == n:
            break
        if interrupted or stage.schedule is None:
            if interrupted:
                stats["lexicographic"] = f"interrupted while minimising {criterion.name}"
            break
        model.fix(k, current, proven=proven)
        if not proven:
            stats["lexicographic"] = (
                f"{criterion.name} not proven optimal: later stages keep it <= its incumbent"
            )
    # Components not reached: the best schedule's values, with no bound.
    for criterion in objective.criteria[len(values) :]:
        values.append(criterion.evaluate(instance, best))
        bounds.append(-math.inf)
        proven_all = False
    if interrupted:
        stats["interrupted"] = True
    return Result(
        status=SolveStatus.OPTIMAL if proven_all else SolveStatus.FEASIBLE,
        objective=tuple(values),
        bound=tuple(bounds),
        runtime=time.perf_counter() - started,
        schedule=best.with_provenance(method=solver),
        solver=solver,
        objective_name=objective.names,
        stats=stats,
    )
