"""Running a built PuLP problem on CBC or HiGHS: limits, warm starts, bounds, progress.

Everything solver-specific of the MILP backend is here. PuLP exposes neither solver's best bound,
so each engine reads it where the solver keeps it:

- HiGHS runs in-process through PuLP's ``HiGHS`` interface (highspy); after the run the
  ``highspy.Highs`` object is ``problem.solverModel`` and its info holds ``mip_dual_bound``.
  The model is handed over in bulk -- every column, then every row, as arrays (PuLP itself
  adds them one call at a time) -- and only the variables' values are read back. A warm start
  is passed with ``setSolution`` before the run; progress and Ctrl-C go through HiGHS callbacks
  (improving solution, MIP interrupt). The time limit is what is left until the deadline when
  the run starts, so the hand-over counts.
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

import numpy as np
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
#: Rows turned into arrays at a time when the model is handed to HiGHS.
_ROWS_AT_ONCE = 1 << 16


class _Highs(pulp.HiGHS):
    """PuLP's HiGHS interface with a warm start, progress and interrupt callbacks."""

    def __init__(
        self,
        *,
        start: Mapping[pulp.LpVariable, float] | None,
        on_progress: OnProgress | None,
        deadline: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.start = start
        self.on_progress = on_progress
        self.deadline = deadline
        self.interrupted = False
        self.start_used = False
        self.columns: list[pulp.LpVariable] = []

    def _columns(self, lp: pulp.LpProblem) -> list[pulp.LpVariable]:
        """``lp.variables()`` without its scan of every row: a row registers its variables when
        it is added (``addConstraint``, or the disjunctive family in bulk), so only the
        objective's may be missing."""
        if lp.objective:
            lp._add_variables(lp.objective.keys())
        lp._variables.sort(key=lambda v: v.name)
        return lp._variables

    def buildSolverModel(self, lp: pulp.LpProblem) -> None:  # noqa: N802 - PuLP's name
        """PuLP's model as HiGHS columns and rows, passed in bulk (one call for each)."""
        import highspy

        h = lp.solverModel
        inf = highspy.kHighsInf
        columns = self.columns = self._columns(lp)
        n = len(columns)
        lower = np.empty(n)
        upper = np.empty(n)
        integer = []
        for i, v in enumerate(columns):
            v.index = i
            lower[i] = -inf if v.lowBound is None else v.lowBound
            upper[i] = inf if v.upBound is None else v.upBound
            if v.cat == pulp.LpInteger:
                integer.append(i)
        h.addVars(n, lower, upper)
        sign = -1.0 if lp.sense == pulp.LpMaximize else 1.0
        objective = lp.objective or {}
        if objective:
            cols = np.fromiter((v.index for v in objective), dtype=np.int32, count=len(objective))
            cost = np.fromiter(objective.values(), dtype=float, count=len(objective)) * sign
            h.changeColsCost(len(cols), cols, cost)
        if integer and self.mip:
            h.changeColsIntegrality(
                len(integer),
                np.array(integer, dtype=np.int32),
                np.full(len(integer), highspy.HighsVarType.kInteger.value, dtype=np.uint8),
            )
        rows = list(lp._constraints.values())
        m = len(rows)
        if not m:
            return
        length = np.fromiter((len(row.expr) for row in rows), dtype=np.int64, count=m)
        rhs = np.fromiter((-row.constant for row in rows), dtype=float, count=m)
        sense = np.fromiter((row.sense for row in rows), dtype=np.int8, count=m)
        nnz = int(length.sum())
        # Filled a chunk of rows at a time: Python lists of every index and value would double
        # the hand-over's memory.
        values = np.empty(nnz)
        indices = np.empty(nnz, dtype=np.int32)
        at = 0
        for lo in range(0, m, _ROWS_AT_ONCE):
            index: list[int] = []
            value: list[float] = []
            for row in rows[lo : lo + _ROWS_AT_ONCE]:
                terms = row.expr
                index.extend([v.index for v in terms])
                value.extend(terms.values())
            indices[at : at + len(index)] = index
            values[at : at + len(value)] = value
            at += len(index)
        keep = values != 0  # as PuLP: no explicit zeros
        if not keep.all():
            row_of = np.repeat(np.arange(m), length)
            length = np.bincount(row_of[keep], minlength=m)
            values, indices = values[keep], indices[keep]
        starts = np.zeros(m, dtype=np.int32)
        np.cumsum(length[:-1], out=starts[1:])
        lo = np.where(sense == pulp.LpConstraintLE, -inf, rhs)
        hi = np.where(sense == pulp.LpConstraintGE, inf, rhs)
        h.addRows(m, lo, hi, len(values), starts, indices, values)

    def actualSolve(self, lp: pulp.LpProblem) -> int:  # noqa: N802 - PuLP's name
        """Configure, hand over, run; read back the variables' values (not every row's slack
        and dual, as PuLP would) and PuLP's status."""
        import highspy

        self.createAndConfigureSolver(lp)
        self.buildSolverModel(lp)
        self.callSolver(lp)
        h = lp.solverModel
        col_value = list(h.getSolution().col_value)
        for v in self.columns:
            v.varValue = col_value[v.index]
        model_status = h.getModelStatus()
        if model_status == highspy.HighsModelStatus.kOptimal:
            status, sol = pulp.LpStatusOptimal, pulp.LpSolutionOptimal
        elif model_status in (
            highspy.HighsModelStatus.kInfeasible,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            status, sol = pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible
        elif h.getInfo().primal_solution_status == 2:  # feasible, stopped early
            status, sol = pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible
        else:
            status, sol = pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound
        lp.assignStatus(status, sol)
        return status

    def callSolver(self, lp: pulp.LpProblem) -> None:  # noqa: N802 - PuLP's name
        import highspy

        h = lp.solverModel
        if self.deadline is not None:
            left = min(float(self.timeLimit), self.deadline - time.perf_counter())
            h.setOptionValue("time_limit", max(left, 0.01))
        if self.start and self.mip:
            values = [0.0] * h.getNumCol()
            for v in self.columns:
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
    deadline: float | None = None,
) -> Outcome:
    """Solve with HiGHS (in-process). ``options`` are raw HiGHS options; the run stops at
    ``time_limit`` seconds or at ``deadline`` (``time.perf_counter()``), whichever is first."""
    import highspy

    solver = _Highs(
        start=start,
        on_progress=on_progress,
        deadline=deadline,
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
