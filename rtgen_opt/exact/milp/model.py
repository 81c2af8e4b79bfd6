"""The MILP backend: build the model (variables, constraints, objective), solve it on CBC or
HiGHS stage by stage, and turn the solver's answer into a schedule.

The mathematics is in ``formulations/milp.md``; the names here are the names there. Time is
integer *model time* from :func:`rtgen_opt.exact.windows.windows` (a multiple of the instance
grid), start times are continuous variables in it. For fixed binaries the remaining system is a
set of difference constraints with integer data, so its vertices are integral: the optimum lies on
the grid.

Decoding
--------
A MILP solution is read for its *decisions* only -- processor per task, dropped jobs, and the
order of the starts -- and the schedule is rebuilt from them by a left shift in integer model
time: tasks in order of (rounded start, topological index), each as early as its release, its
processor and its predecessors (with transfers) allow. Every objective is regular, so the shifted
schedule is no worse than the solver's, and it is exactly on the grid whatever the solver's
tolerances did to the continuous starts.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulp

from rtgen_opt.exact.milp.constraints import add_constraints
from rtgen_opt.exact.milp.engines import Outcome, run_cbc, run_highs
from rtgen_opt.exact.milp.objective import Objective, objective
from rtgen_opt.exact.milp.variables import Variables, create_variables
from rtgen_opt.exact.result import Result, SolveStatus
from rtgen_opt.exact.windows import Windows, windows
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import job_completions, missed_jobs, objective_values, parse_objective
from rtgen_opt.schedule import Schedule

Engine = Literal["cbc", "highs"]

#: Slack (relative) when an earlier lexicographic component is fixed at its value.
LEX_SLACK = 1e-7


@dataclass
class MilpModel:
    """A built model: the PuLP problem, its variables, and one objective per component."""

    instance: Instance
    win: Windows
    var: Variables
    problem: pulp.LpProblem
    objectives: tuple[Objective, ...]

    def use_objective(self, k: int) -> None:
        self.problem.setObjective(self.objectives[k].expression)

    def fix_objective(self, k: int, model_value: float) -> None:
        """Constrain component ``k`` to at most ``model_value`` (lexicographic stages)."""
        slack = LEX_SLACK * max(1.0, abs(model_value))
        self.problem += (
            self.objectives[k].expression <= model_value + slack,
            f"LEX_{k}_{self.objectives[k].name}",
        )

    def size(self) -> dict[str, int]:
        return {
            "variables": self.problem.numVariables(),
            "constraints": self.problem.numConstraints(),
            "order_binaries": len(self.var.order),
            "disjunctive_pairs": len(self.var.pairs),
        }


def build_model(
    instance: Instance,
    objective_names: str | Sequence[str],
    *,
    win: Windows | None = None,
) -> MilpModel:
    """The MILP of ``instance`` for a (lexicographic) objective; the first component is active.

    Parameters
    ----------
    instance
        The instance.
    objective_names
        Objective name or lexicographic list (see :mod:`rtgen_opt.objectives`).
    win
        Precomputed windows (e.g. with a makespan upper bound); default ``windows(instance)``.

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> g.add_node("a", durations={"m0": 3.0, "m1": 5.0})
    >>> g.add_node("b", durations={"m0": 2.0, "m1": 4.0})
    >>> m = build_model(Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"])), "makespan")
    >>> sorted(m.var.order), m.size()["order_binaries"]
    ([('a', 'b')], 1)
    """
    names = parse_objective(objective_names)
    win = win or windows(instance)
    problem = pulp.LpProblem(_lp_name(instance.name), pulp.LpMinimize)
    var = create_variables(problem, instance, win, names)
    add_constraints(problem, instance, win, var)
    objs = tuple(objective(n, instance, win, var) for n in names)
    model = MilpModel(instance, win, var, problem, objs)
    model.use_objective(0)
    return model


def _lp_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name) or "rtgen"


# --------------------------------------------------------------------------- hint -> values
def hint_values(model: MilpModel, hint: Schedule) -> dict[pulp.LpVariable, float]:
    """Values of every variable for a valid schedule (the warm start)."""
    inst, win, var = model.instance, model.win, model.var
    scale = win.scale
    start: dict[str, int] = {}
    proc: dict[str, str] = {}
    for t in win.tasks:
        pl = hint.placements.get(t)
        if pl is not None:
            start[t], proc[t] = scale.from_ms(pl.start), pl.processor
    out: dict[pulp.LpVariable, float] = {}
    for (t, p), x in var.x.items():
        out[x] = 1.0 if proc.get(t) == p else 0.0
    for t, s in var.start.items():
        out[s] = float(start.get(t, s.lowBound or 0.0))
    index = {t: i for i, t in enumerate(win.tasks)}
    for (t, u), y in var.order.items():
        out[y] = 1.0 if (start.get(t, 0), index[t]) <= (start.get(u, 0), index[u]) else 0.0
    for j, d in var.dropped.items():
        out[d] = 1.0 if j in hint.dropped else 0.0
    missed = missed_jobs(inst, hint)
    for j, late in var.late.items():
        out[late] = 1.0 if j in missed else 0.0
    ends = job_completions(inst, hint)
    for j, tard in var.tardiness.items():
        end = ends[j]
        out[tard] = 0.0 if end is None else max(0.0, (end - inst.jobs[j].deadline) / scale.unit_ms)
    for r, first in var.first_token.items():
        req = inst.requests[r]
        prefill = [hint.placements[t].end for t in req.prefill_tasks if t in hint.placements]
        out[first] = (max(prefill) if prefill else req.arrival) / scale.unit_ms
    if var.makespan is not None:
        out[var.makespan] = hint.makespan / scale.unit_ms
    return out


# --------------------------------------------------------------------------- decoding
def decode(model: MilpModel) -> Schedule:
    """The schedule of the current solution: its decisions, left-shifted on the grid."""
    inst, win, var = model.instance, model.win, model.var
    g = inst.graph
    dropped = {j for j, d in var.dropped.items() if (d.varValue or 0.0) > 0.5}
    assign: dict[str, str] = {}
    for t in win.tasks:
        if inst.graph.nodes[t]["job"] in dropped:
            continue
        assign[t] = max(win.options[t], key=lambda p: (var.x[t, p].varValue or 0.0, p))
    index = {t: i for i, t in enumerate(win.tasks)}
    # By start, then end (a zero-length task at the start of another goes first), then
    # topological index (zero-length chains at one instant keep their precedence order).
    key = {}
    for t in assign:
        s = round(var.start[t].varValue or 0.0)
        key[t] = (s, s + win.duration[t, assign[t]], index[t])
    waiting = {t: sum(1 for u in g.predecessors(t) if u in assign) for t in assign}
    ready = [(key[t], t) for t in assign if waiting[t] == 0]
    heapq.heapify(ready)
    free = dict.fromkeys(inst.processors, 0)
    placed: dict[str, tuple[str, int, int]] = {}
    while ready:
        _, t = heapq.heappop(ready)
        p = assign[t]
        at = max(win.release[t], free[p])
        for u in g.predecessors(t):
            if u in placed:
                pu, _, eu = placed[u]
                at = max(at, eu + win.transfer(u, t, pu, p))
        end = at + win.duration[t, p]
        placed[t] = (p, at, end)
        free[p] = end
        for v in g.successors(t):
            if v in waiting:
                waiting[v] -= 1
                if waiting[v] == 0:
                    heapq.heappush(ready, (key[v], v))
    assert len(placed) == len(assign), "every kept task's predecessors are kept"
    return Schedule.build(
        [(t, p, win.to_ms(s), win.to_ms(e)) for t, (p, s, e) in placed.items()], dropped
    )


# --------------------------------------------------------------------------- solving
def _run(
    engine: Engine,
    model: MilpModel,
    *,
    time_limit: float,
    seed: int,
    workers: int,
    start: dict[pulp.LpVariable, float] | None,
    on_progress: Any,
    mip: bool = True,
    options: dict[str, Any],
) -> Outcome:
    if engine == "highs":
        return run_highs(
            model.problem,
            time_limit=time_limit,
            seed=seed,
            start=start,
            on_progress=on_progress,
            mip=mip,
            options=options.get("highs_options"),
        )
    return run_cbc(
        model.problem,
        time_limit=time_limit,
        seed=seed,
        threads=workers,
        start=start,
        on_progress=on_progress,
        mip=mip,
        options=tuple(options.get("cbc_options", ())),
    )


def lp_relaxation(model: MilpModel, engine: Engine, time_limit: float) -> float | None:
    """The LP-relaxation bound of the active objective, in the objective's units."""
    outcome = _run(
        engine,
        model,
        time_limit=time_limit,
        seed=0,
        workers=1,
        start=None,
        on_progress=None,
        mip=False,
        options={},
    )
    if outcome.status is not SolveStatus.OPTIMAL or outcome.objective is None:
        return None
    return model.objectives[_active(model)].to_units(outcome.objective)


def _active(model: MilpModel) -> int:
    expr = model.problem.objective
    for k, obj in enumerate(model.objectives):
        if obj.expression is expr:
            return k
    return 0


def solve_milp(
    instance: Instance,
    objectives: tuple[str, ...],
    *,
    engine: Engine,
    time_limit: float,
    workers: int,
    seed: int,
    hint: Schedule | None,
    progress: Any,
    lp_bound: bool = True,
    parameters: dict[str, Any] | None = None,
    **options: Any,
) -> Result:
    """Solve ``instance`` with the MILP on ``engine`` (the backend function behind
    ``solve(..., solver="milp-cbc" | "milp-highs")``; see :mod:`rtgen_opt.exact.solve`).

    Lexicographic objectives are solved in stages: minimise a component, constrain it to the
    value found, go on with the next one, each stage with an equal share of the time left.

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
    solver_name = f"milp-{engine}"
    makespan_upper = hint.makespan if hint is not None and objectives[0] == "makespan" else None
    win = windows(instance, makespan_upper=makespan_upper)
    model = build_model(instance, objectives, win=win)
    stats: dict[str, Any] = {**model.size(), "time_unit_ms": win.scale.unit_ms}
    stats["build_time"] = time.perf_counter() - started

    def left() -> float:
        return time_limit - (time.perf_counter() - started)

    if lp_bound and left() > 0:
        stats["lp_bound"] = lp_relaxation(model, engine, max(left(), 0.01))

    start = hint_values(model, hint) if hint is not None else None
    n = len(objectives)
    values: list[float] = []
    bounds: list[float] = []
    statuses: list[str] = []
    proven: list[bool] = []
    schedule: Schedule | None = None
    interrupted = False
    closed = True  # every earlier component proven optimal
    for k in range(n):
        model.use_objective(k)
        obj = model.objectives[k]

        def on_progress(value: float, bound: float, obj: Objective = obj) -> None:
            if progress is not None:
                progress(time.perf_counter() - started, obj.to_units(value), obj.to_units(bound))

        outcome = _run(
            engine,
            model,
            time_limit=max(left() / (n - k), 0.01),
            seed=seed,
            workers=workers,
            start=start,
            on_progress=on_progress,
            options=options,
        )
        stats[f"stage_{k}"] = {"status": str(outcome.status), **outcome.stats}
        statuses.append(str(outcome.status))
        interrupted = interrupted or outcome.interrupted
        if outcome.status is SolveStatus.INFEASIBLE:
            return Result(
                SolveStatus.INFEASIBLE,
                None,
                None,
                time.perf_counter() - started,
                None,
                solver_name,
                objectives,
                stats,
            )
        if not outcome.has_solution:
            break
        schedule = decode(model)
        achieved = objective_values(instance, schedule, (objectives[k],))[0]
        optimal = outcome.status is SolveStatus.OPTIMAL
        proven.append(optimal)
        if optimal:
            solver_value = obj.to_units(outcome.objective)
            # The left shift never worsens a regular objective: the decoded schedule is optimal.
            assert achieved <= solver_value + 1e-6 * max(1.0, abs(solver_value)), (
                f"{solver_name}: decoded {objectives[k]} {achieved} > solver's {solver_value}"
            )
            values.append(solver_value)
        else:
            values.append(achieved)
        bound = obj.to_units(outcome.bound) if outcome.bound is not None else -math.inf
        bounds.append(values[-1] if optimal else (bound if closed else -math.inf))
        closed = closed and optimal
        if interrupted or k == n - 1:
            break
        model.fix_objective(k, obj.to_model(achieved))
        start = hint_values(model, schedule)

    runtime = time.perf_counter() - started
    stats["stages"] = statuses
    if interrupted:
        stats["interrupted"] = True
    if schedule is None:
        status = SolveStatus.UNKNOWN
        return Result(status, None, _pad(bounds, n), runtime, None, solver_name, objectives, stats)
    # A proven stage reports the solver's value (solve() checks it against the schedule); an
    # unproven one, and any stage not reached, the final schedule's own value.
    final = objective_values(instance, schedule, objectives)
    objective_out = tuple(
        values[k] if k < len(values) and proven[k] else final[k] for k in range(n)
    )
    all_optimal = len(values) == n and closed
    status = SolveStatus.OPTIMAL if all_optimal else SolveStatus.FEASIBLE
    schedule = schedule.with_provenance(method=solver_name)
    return Result(
        status, objective_out, _pad(bounds, n), runtime, schedule, solver_name, objectives, stats
    )


def _pad(bounds: list[float], n: int) -> tuple[float, ...]:
    return tuple(bounds) + (-math.inf,) * (n - len(bounds))


__all__ = ["MilpModel", "build_model", "decode", "hint_values", "lp_relaxation", "solve_milp"]
