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

import math
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from rtgen_opt import grid, stopping
from rtgen_opt.errors import InternalError
from rtgen_opt.exact.bounds import combinatorial_bounds
from rtgen_opt.exact.lexicographic import Progress, Stage, minimise_lexicographic
from rtgen_opt.exact.milp.model import (
    DEFAULT_MAX_PAIRS,
    Engine,
    MilpModel,
    build_model,
    decode,
    hint_values,
    lp_relaxation,
    run_engine,
)
from rtgen_opt.exact.milp.variables import count_pairs
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
    max_pairs: int | None = DEFAULT_MAX_PAIRS,
    **options: Any,
) -> Result:
    """Solve ``instance`` with the MILP on ``engine`` (the backend function behind
    ``solve(..., solver="milp-cbc" | "milp-highs")``; see :mod:`rtgen_opt.exact.solve`).

    Options: ``lp_bound`` (default True) also solves the LP relaxation of the first component
    and reports it as ``stats["lp_bound"]``; ``highs_options`` (dict of raw HiGHS options) or
    ``cbc_options`` (raw CBC options such as ``"cuts off"``). ``parameters`` (the raw solver
    parameters of a named settings file) go to the engine the same way: HiGHS options by name,
    or CBC options as ``"name value"``. ``max_pairs`` caps the model's disjunctive pairs
    (:data:`~rtgen_opt.exact.milp.model.DEFAULT_MAX_PAIRS`; ``None``: no cap).

    The time limit bounds the whole call, the model's building included: when it runs out, or
    a stop is requested (:mod:`rtgen_opt.stopping`, Ctrl-C), while the model is built, the
    build stops and the result has no schedule of its own -- :func:`rtgen_opt.solve` returns
    the hint with the combinatorial bound, not proven, as for a search stopped early
    (``stats["build_stopped"]`` says why).

    Raises
    ------
    LimitError
        When the model would have more than ``max_pairs`` disjunctive pairs; nothing is built.
    """
    started = time.perf_counter()
    budget = stopping.Deadline(time_limit, started=started)
    if parameters:
        if engine == "highs":
            options["highs_options"] = {**parameters, **options.get("highs_options", {})}
        else:
            extra = [f"{k} {v}" for k, v in sorted(parameters.items())]
            options["cbc_options"] = [*extra, *options.get("cbc_options", ())]
    makespan_upper = hint.makespan if objective.first.name == "makespan" else None
    win = windows(instance, makespan_upper=makespan_upper)
    check = _BuildCheck(instance, objective, hint, budget, progress)
    try:
        model = build_model(
            instance, objective, win=win, max_pairs=max_pairs, check=check, solver=f"milp-{engine}"
        )
    except (_BuildStopped, KeyboardInterrupt) as exc:
        reason = str(exc) if isinstance(exc, _BuildStopped) else "interrupted"
        return _stopped(instance, objective, engine, started, reason, check)
    stats: dict[str, Any] = {**model.size(), "time_unit_ms": win.scale.unit_ms}
    stats["build_time"] = time.perf_counter() - started
    left = budget.left()
    if lp_bound and not stopping.requested():
        # A bound for the record, not the answer: skipped when handing a large model to the
        # engine would take more than a quarter of the time left.
        if not _too_late(model, left / 4):
            stats["lp_bound"] = lp_relaxation(model, engine, max(left, 0.01), deadline=budget.at)
        else:
            stats["lp_bound"] = None
            stats["lp_bound_skipped"] = "time limit"
    stages = _Stages(
        model,
        objective,
        engine,
        workers=workers,
        seed=seed,
        options=options,
        budget=budget,
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


#: Seconds per row to hand a built model to an engine (HiGHS in bulk, or CBC's MPS file):
#: about 2 us measured at 4.3 million rows (bench/results/milp_build.md), with a margin.
HANDOVER_S_PER_ROW = 4e-6


def handover_seconds(model: MilpModel) -> float:
    """About how long handing ``model`` to an engine takes."""
    return model.problem.numConstraints() * HANDOVER_S_PER_ROW


def _too_late(model: MilpModel, left: float) -> bool:
    """Whether a run on ``model`` with ``left`` seconds would only hand it over: for a model
    that takes 0.1 s or more to hand over, when ``left`` is no more than that (a small model
    always runs, with at least 0.01 s)."""
    handover = handover_seconds(model)
    return handover >= 0.1 and left <= handover


class _BuildStopped(Exception):
    """The time limit or a stop request ended the model's building (the reason is the text)."""


class _BuildCheck:
    """The build's ``check(done, total)``: stops it at the deadline or on a stop request, and
    reports progress (the hint and the combinatorial bound) while it runs."""

    def __init__(
        self,
        instance: Instance,
        objective: Objective,
        hint: Schedule,
        budget: stopping.Deadline,
        progress: Progress | None,
    ) -> None:
        self.instance = instance
        self.objective = objective
        self.hint = hint
        self.budget = budget
        self.progress = progress
        self.done = 0
        self.total = 0
        self._values: tuple[float, float] | None = None

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total
        if stopping.requested():
            raise _BuildStopped("interrupted")
        if self.budget.expired():
            raise _BuildStopped("time limit")
        if self.progress is not None:
            value, bound = self.values()
            self.progress(self.budget.elapsed(), value, bound)

    def values(self) -> tuple[float, float]:
        """The hint's first component and its solver-free bound."""
        if self._values is None:
            first = self.objective.first
            self._values = (
                first.evaluate(self.instance, self.hint),
                combinatorial_bounds(self.instance, [first.name])["bound"],
            )
        return self._values


def _stopped(
    instance: Instance,
    objective: Objective,
    engine: Engine,
    started: float,
    reason: str,
    check: _BuildCheck,
) -> Result:
    """The result of a build that stopped: no schedule (``solve`` returns the hint), no bound
    of its own (``solve`` raises it to the combinatorial bound), interrupted on a stop request."""
    stats: dict[str, Any] = {
        "build_stopped": reason,
        "rows_built": check.done,
        "rows_planned": check.total,
        "build_time": time.perf_counter() - started,
        "stages": [{"objective": objective.first.name, "status": "UNKNOWN", "by": "build"}],
    }
    if reason == "interrupted":
        stats["interrupted"] = True
    return Result(
        status=SolveStatus.FEASIBLE,
        objective=None,
        bound=tuple(-math.inf for _ in objective),
        runtime=time.perf_counter() - started,
        schedule=None,
        solver=f"milp-{engine}",
        objective_name=objective.names,
        stats=stats,
    )


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
        options: dict[str, Any],
        budget: stopping.Deadline,
    ) -> None:
        self.budget = budget
        self.model = model
        self.objective = objective
        self.engine = engine
        self.workers = workers
        self.seed = seed
        self.options = options

    def minimise(
        self,
        k: int,
        *,
        time_limit: float,
        hint: Schedule,
        progress: Progress | None,
        floor: float = -math.inf,
    ) -> Stage:
        # ``floor`` is not used: the engines' own bounds start from the LP relaxation.
        model = self.model
        left = self.budget.left()
        if _too_late(model, left) or stopping.requested():
            # Not even the hand-over to the engine fits in the time left: keep the hint.
            stats = {"engine_status": "skipped", "skipped": f"{left:.2f} s left"}
            return Stage("unknown", None, None, None, stats, stopping.requested())
        model.use_objective(k)
        term = model.terms[k]

        def on_progress(value: float, bound: float) -> None:
            if progress is not None:
                progress(self.budget.elapsed(), term.to_units(value), term.to_units(bound))

        outcome = run_engine(
            self.engine,
            model,
            time_limit=max(time_limit, 0.01),
            seed=self.seed,
            workers=self.workers,
            start=hint_values(model, hint),
            on_progress=on_progress,
            options=self.options,
            deadline=min(self.budget.at, time.perf_counter() + max(time_limit, 0.01)),
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
    "DEFAULT_MAX_PAIRS",
    "MilpModel",
    "count_pairs",
    "build_model",
    "decode",
    "hint_values",
    "solve_cbc",
    "solve_highs",
    "solve_milp",
    "write_model",
]
