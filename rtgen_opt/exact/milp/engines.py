"""Running a built PuLP problem on CBC or HiGHS: limits, warm starts, bounds, progress.

Everything solver-specific of the MILP backend is here. PuLP exposes neither solver's best bound,
so each engine reads it where the solver keeps it:

- HiGHS runs in-process through PuLP's ``HiGHS`` interface (highspy); after the run the
  ``highspy.Highs`` object is ``problem.solverModel`` and its info holds ``mip_dual_bound``.
  A warm start is passed with ``setSolution`` before the run; progress and Ctrl-C go through
  HiGHS callbacks (improving solution, MIP interrupt).
- CBC runs as a subprocess (``PULP_CBC_CMD``); its log is written to a temporary file and the
  last ``best possible`` value (or the final ``Lower bound:``) is the bound. A warm start is a
  MIP start file (PuLP's ``warmStart``). CBC has no callback: progress is reported once, at the
  end, and Ctrl-C stops the solve without a schedule (the hint is returned by ``solve``).
"""

from __future__ import annotations

import math
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulp

from rtgen_opt import stopping
from rtgen_opt.exact.result import SolveStatus

#: ``on_progress(objective, bound)`` in model units, on every improving solution.
OnProgress = Callable[[float, float], None]


@dataclass
class Outcome:
    """What one solver run produced (model units)."""

    status: SolveStatus
    objective: float | None = None
    bound: float | None = None
    interrupted: bool = False
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        return self.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


def _apply_start(start: Mapping[pulp.LpVariable, float] | None) -> bool:
    """Set PuLP initial values; ``False`` (and nothing set) if one lies outside its bounds."""
    if not start:
        return False
    for v, value in start.items():
        lo = -math.inf if v.lowBound is None else v.lowBound
        hi = math.inf if v.upBound is None else v.upBound
        if not lo - 1e-9 <= value <= hi + 1e-9:
            return False
    for v, value in start.items():
        v.setInitialValue(value, check=False)
    return True


# --------------------------------------------------------------------------- HiGHS
class _Highs(pulp.HiGHS):
    """PuLP's HiGHS interface with a warm start, progress and interrupt callbacks."""

    def __init__(
        self,
        *,
        start: Mapping[pulp.LpVariable, float] | None,
        on_progress: OnProgress | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.start = start
        self.on_progress = on_progress
        self.interrupted = False
        self.start_used = False

    def callSolver(self, lp: pulp.LpProblem) -> None:  # noqa: N802 - PuLP's name
        import highspy

        h = lp.solverModel
        if self.start and self.mip:
            values = [0.0] * h.getNumCol()
            for v in lp.variables():
                values[v.index] = self.start.get(v, v.lowBound or 0.0)
            sol = highspy.HighsSolution()
            sol.col_value = values
            self.start_used = h.setSolution(sol) == highspy.HighsStatus.kOk

        def interrupt(event: Any) -> None:
            # Ctrl-C arrives as KeyboardInterrupt in whatever Python code runs next: here; or,
            # under rtgen_opt.stopping (the CLI), as a stop request.
            try:
                if stopping.requested():
                    self.interrupted = True
                if self.interrupted:
                    event.interrupt()
            except KeyboardInterrupt:
                self.interrupted = True
                event.interrupt()

        def improving(event: Any) -> None:
            try:
                if self.on_progress is not None:
                    out = event.data_out
                    self.on_progress(out.objective_function_value, out.mip_dual_bound)
            except KeyboardInterrupt:
                self.interrupted = True
                event.interrupt()

        if self.mip:
            h.cbMipInterrupt.subscribe(interrupt)
            h.cbMipImprovingSolution.subscribe(improving)
        h.run()


def run_highs(
    problem: pulp.LpProblem,
    *,
    time_limit: float,
    seed: int,
    start: Mapping[pulp.LpVariable, float] | None = None,
    on_progress: OnProgress | None = None,
    mip: bool = True,
    options: Mapping[str, Any] | None = None,
) -> Outcome:
    """Solve with HiGHS (in-process). ``options`` are raw HiGHS options."""
    import highspy

    solver = _Highs(
        start=start,
        on_progress=on_progress,
        mip=mip,
        msg=False,
        timeLimit=max(time_limit, 0.01),
        gapRel=0.0,  # HiGHS stops at 0.01 % by default; an exact answer needs 0
        random_seed=seed,
        **dict(options or {}),
    )
    problem.solve(solver)
    h = problem.solverModel
    model_status = h.getModelStatus()
    info = h.getInfo()
    feasible = info.primal_solution_status == 2  # kSolutionStatusFeasible
    stats = {
        "model_status": h.modelStatusToString(model_status),
        "nodes": int(info.mip_node_count) if mip else 0,
        "warm_start": solver.start_used,
    }
    if model_status == highspy.HighsModelStatus.kOptimal:
        status = SolveStatus.OPTIMAL
    elif model_status in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    ):
        status = SolveStatus.INFEASIBLE
    else:
        status = SolveStatus.FEASIBLE if feasible else SolveStatus.UNKNOWN
    objective = info.objective_function_value if status.value in ("optimal", "feasible") else None
    if not mip:
        bound = objective if status is SolveStatus.OPTIMAL else None
    elif status is SolveStatus.OPTIMAL:
        bound = objective
    else:
        bound = info.mip_dual_bound if math.isfinite(info.mip_dual_bound) else None
    return Outcome(status, objective, bound, solver.interrupted, stats)


# --------------------------------------------------------------------------- CBC
_BEST_POSSIBLE = re.compile(r"best possible (-?[0-9.eE+-]+)")
_LOWER_BOUND = re.compile(r"^Lower bound:\s+(-?[0-9.eE+-]+)", re.MULTILINE)


def parse_cbc_bound(log: str) -> float | None:
    """The best bound in a CBC log: the last ``best possible``, else ``Lower bound:``.

    Examples
    --------
    >>> parse_cbc_bound("Cbc0010I After 0 nodes, 1 on tree, 5 best solution, best possible 3.5 (0.1 seconds)")
    3.5
    >>> parse_cbc_bound("Result - Stopped on time limit\\n\\nLower bound:                    2.000\\n")
    2.0
    """
    found = _BEST_POSSIBLE.findall(log)
    if found:
        return float(found[-1])
    m = _LOWER_BOUND.search(log)
    return float(m.group(1)) if m else None


def run_cbc(
    problem: pulp.LpProblem,
    *,
    time_limit: float,
    seed: int,
    threads: int,
    start: Mapping[pulp.LpVariable, float] | None = None,
    on_progress: OnProgress | None = None,
    mip: bool = True,
    options: tuple[str, ...] = (),
) -> Outcome:
    """Solve with CBC (a subprocess). ``options`` are raw CBC command-line options."""
    warm = mip and _apply_start(start)
    extra = list(options)
    if seed:
        extra.append(f"randomCbcSeed {seed}")
    interrupted = False
    with tempfile.TemporaryDirectory(prefix="rtgen-cbc-") as tmp:
        log_path = Path(tmp) / "cbc.log"
        with warnings.catch_warnings():
            # PuLP 3.3 deprecates its bundled CBC for 4.0; the pin keeps it (see the report).
            warnings.simplefilter("ignore", DeprecationWarning)
            solver = pulp.PULP_CBC_CMD(
                mip=mip,
                msg=False,
                timeLimit=max(time_limit, 0.01),
                gapRel=0.0,
                threads=threads if threads > 1 else None,
                warmStart=warm,
                logPath=str(log_path),
                options=extra,
            )
        t0 = time.perf_counter()
        try:
            problem.solve(solver)
        except KeyboardInterrupt:
            interrupted = True
        except pulp.PulpSolverError as exc:
            log = log_path.read_text() if log_path.exists() else ""
            raise RuntimeError(f"CBC failed: {exc}; log tail: {log[-500:]}") from exc
        log = log_path.read_text() if log_path.exists() else ""
    stats: dict[str, Any] = {"warm_start": warm, "wall": time.perf_counter() - t0}
    if interrupted:
        return Outcome(SolveStatus.UNKNOWN, interrupted=True, stats=stats)
    stats["cbc_status"] = pulp.LpStatus[problem.status]
    if problem.sol_status == pulp.LpSolutionOptimal:
        status = SolveStatus.OPTIMAL
    elif problem.sol_status == pulp.LpSolutionIntegerFeasible:
        status = SolveStatus.FEASIBLE
    elif (
        problem.sol_status == pulp.LpSolutionInfeasible or problem.status == pulp.LpStatusInfeasible
    ):
        status = SolveStatus.INFEASIBLE
    else:
        status = SolveStatus.UNKNOWN
    objective = None
    if status.value in ("optimal", "feasible"):
        objective = float(pulp.value(problem.objective) or 0.0)
    if status is SolveStatus.OPTIMAL:
        bound = objective
    elif mip:
        bound = parse_cbc_bound(log)
    else:
        bound = None
    if on_progress is not None and objective is not None:
        on_progress(objective, bound if bound is not None else -math.inf)
    return Outcome(status, objective, bound, False, stats)
