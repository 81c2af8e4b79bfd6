"""The MILP backend (PuLP, on CBC or HiGHS): ``solve_cbc`` and ``solve_highs`` are the functions
registered as ``milp-cbc`` and ``milp-highs`` in :data:`rtgen_opt.exact.BACKENDS`.

The layout mirrors the CP-SAT backend: the model in :mod:`.model` (variables in
:mod:`.variables`, constraints in :mod:`.constraints`, objectives in :mod:`.objective`), one run
on an engine in :mod:`.engines`, and here the adapter to the shared lexicographic driver
(:mod:`rtgen_opt.exact.lexicographic`). Call it through :func:`rtgen_opt.solve`, which supplies
the hint and validates the answer. The model (:func:`build_model`) can be written to LP/MPS files
(:func:`write_model`) for any other solver. The mathematics is in ``formulations/milp.md``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from rtgen_opt import grid
from rtgen_opt.errors import InternalError
from rtgen_opt.exact.lexicographic import Progress, Stage, minimise_lexicographic
from rtgen_opt.exact.milp.model import (
    Engine,
    MilpModel,
    build_model,
    decode,
    hint_values,
    lp_relaxation,
    run_engine,
)
from rtgen_opt.exact.result import Result, SolveStatus
from rtgen_opt.exact.windows import windows
from rtgen_opt.files import write_atomic
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective
from rtgen_opt.schedule import Schedule


def solve_cbc(instance: Instance, objective: Objective, **kwargs: Any) -> Result:
    """The ``milp-cbc`` backend (see :func:`solve_milp`)."""
    return solve_milp(instance, objective, engine="cbc", **kwargs)


def solve_highs(instance: Instance, objective: Objective, **kwargs: Any) -> Result:
    """The ``milp-highs`` backend (see :func:`solve_milp`)."""
    return solve_milp(instance, objective, engine="highs", **kwargs)


def solve_milp(
    instance: Instance,
    objective: Objective,
    *,
    engine: Engine,
    time_limit: float,
    workers: int,
    seed: int,
    hint: Schedule,
    progress: Progress | None,
    lp_bound: bool = True,
    parameters: dict[str, Any] | None = None,
    **options: Any,
) -> Result:
    """Solve ``instance`` with the MILP on ``engine`` (the backend function behind
    ``solve(..., solver="milp-cbc" | "milp-highs")``; see :mod:`rtgen_opt.exact.solve`).

    Options: ``lp_bound`` (default True) also solves the LP relaxation of the first component
    and reports it as ``stats["lp_bound"]``; ``highs_options`` (dict of raw HiGHS options) or
    ``cbc_options`` (raw CBC options such as ``"cuts off"``). ``parameters`` (the raw solver
    parameters of a named settings file) go to the engine the same way: HiGHS options by name,
    or CBC options as ``"name value"``.
    """
    started = time.perf_counter()
    if parameters:
        if engine == "highs":
            options["highs_options"] = {**parameters, **options.get("highs_options", {})}
        else:
            extra = [f"{k} {v}" for k, v in sorted(parameters.items())]
            options["cbc_options"] = [*extra, *options.get("cbc_options", ())]
    makespan_upper = hint.makespan if objective.first.name == "makespan" else None
    win = windows(instance, makespan_upper=makespan_upper)
    model = build_model(instance, objective, win=win)
    stats: dict[str, Any] = {**model.size(), "time_unit_ms": win.scale.unit_ms}
    stats["build_time"] = time.perf_counter() - started
    left = time_limit - (time.perf_counter() - started)
    if lp_bound and left > 0:
        stats["lp_bound"] = lp_relaxation(model, engine, max(left, 0.01))
    stages = _Stages(
        model, objective, engine, workers=workers, seed=seed, started=started, options=options
    )
    result = minimise_lexicographic(
        instance,
        objective,
        stages,
        solver=f"milp-{engine}",
        time_limit=time_limit,
        hint=hint,
        progress=progress,
        started=started,
    )
    result.stats.update(stats)
    return result


class _Stages:
    """The MILP as a :class:`~rtgen_opt.exact.lexicographic.StageModel`."""

    def __init__(
        self,
        model: MilpModel,
        objective: Objective,
        engine: Engine,
        *,
        workers: int,
        seed: int,
        started: float,
        options: dict[str, Any],
    ) -> None:
        self.model = model
        self.objective = objective
        self.engine = engine
        self.workers = workers
        self.seed = seed
        self.started = started
        self.options = options

    def minimise(
        self, k: int, *, time_limit: float, hint: Schedule, progress: Progress | None
    ) -> Stage:
        model = self.model
        model.use_objective(k)
        term = model.terms[k]

        def on_progress(value: float, bound: float) -> None:
            if progress is not None:
                elapsed = time.perf_counter() - self.started
                progress(elapsed, term.to_units(value), term.to_units(bound))

        outcome = run_engine(
            self.engine,
            model,
            time_limit=max(time_limit, 0.01),
            seed=self.seed,
            workers=self.workers,
            start=hint_values(model, hint),
            on_progress=on_progress,
            options=self.options,
        )
        stats = {"engine_status": str(outcome.status), **outcome.stats}
        if outcome.status is SolveStatus.INFEASIBLE:
            return Stage("infeasible", None, None, None, stats, outcome.interrupted)
        bound = term.to_units(outcome.bound) if outcome.bound is not None else None
        if not outcome.has_solution:
            return Stage("unknown", None, None, bound, stats, outcome.interrupted)
        schedule = decode(model)
        achieved = self.objective[k].evaluate(model.instance, schedule)
        optimal = outcome.status is SolveStatus.OPTIMAL
        if optimal:
            solver_value = term.to_units(outcome.objective)
            # The left shift never worsens a regular objective: the decoded schedule is optimal.
            if not grid.leq(achieved, solver_value):
                raise InternalError(
                    f"milp-{self.engine}: decoded {term.name} {achieved} > solver's {solver_value}"
                )
            bound = achieved
        status = "optimal" if optimal else "feasible"
        return Stage(status, schedule, achieved, bound, stats, outcome.interrupted)

    def fix(self, k: int, value: float, *, proven: bool) -> None:
        # At most the value either way: a proven value is also a bound, so "<=" is "==" there.
        self.model.fix_objective(k, self.model.terms[k].to_model(value))


def write_model(model: MilpModel, path: str | os.PathLike[str], fmt: str | None = None) -> None:
    """Write the model's problem (active objective) as an LP or MPS file, atomically.

    ``fmt`` is ``"lp"`` or ``"mps"``; default: from the file suffix (``.mps`` -> MPS).
    """
    path = Path(path)
    fmt = fmt or ("mps" if path.suffix.lower() == ".mps" else "lp")
    with tempfile.TemporaryDirectory(prefix="rtgen-milp-") as tmp:
        out = Path(tmp) / f"model.{fmt}"
        if fmt == "mps":
            model.problem.writeMPS(str(out))
        else:
            model.problem.writeLP(str(out))
        write_atomic(path, out.read_text())


__all__ = [
    "MilpModel",
    "build_model",
    "decode",
    "hint_values",
    "solve_cbc",
    "solve_highs",
    "solve_milp",
    "write_model",
]
