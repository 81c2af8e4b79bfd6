"""The MILP model: variables, then constraints, then objectives; the warm start; one run on CBC or
HiGHS; and the solver's answer turned into a schedule.

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

import time
from dataclasses import dataclass
from typing import Any, Literal

import pulp

from rtgen_opt.errors import LimitError
from rtgen_opt.exact.left_shift import left_shift_ticks
from rtgen_opt.exact.milp.constraints import Check, add_constraints
from rtgen_opt.exact.milp.engines import Outcome, run_cbc, run_highs
from rtgen_opt.exact.milp.objective import LinearObjective, linear_objective
from rtgen_opt.exact.milp.variables import Variables, create_variables, pair_table
from rtgen_opt.exact.result import SolveStatus
from rtgen_opt.exact.windows import Windows, windows
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective, ObjectiveLike, job_completions, missed_jobs
from rtgen_opt.schedule import Schedule

Engine = Literal["cbc", "highs"]

#: Slack (relative) when an earlier lexicographic component is fixed at its value.
LEX_SLACK = 1e-7

#: The most disjunctive pairs a model is built with by default (``max_pairs``). Nearly every
#: row of the MILP is one of a pair's (C4)-(C6) rows, about eight per pair, and PuLP keeps each
#: row as Python objects (about 1.1 kB): 200,000 pairs are about 1.6 million rows, 2 GB and 15 s
#: of building; a medium scenario (1,000 tasks) has 540,000 (bench/results/milp_build.md).
#: CP-SAT needs no such model.
DEFAULT_MAX_PAIRS = 200_000


@dataclass
class MilpModel:
    """A built model: the PuLP problem, its variables, and one objective per component."""

    instance: Instance
    win: Windows
    var: Variables
    problem: pulp.LpProblem
    terms: tuple[LinearObjective, ...]

    def use_objective(self, k: int) -> None:
        self.problem.setObjective(self.terms[k].expression)

    def fix_objective(self, k: int, model_value: float) -> None:
        """Constrain component ``k`` to at most ``model_value`` (lexicographic stages)."""
        slack = LEX_SLACK * max(1.0, abs(model_value))
        self.problem += (
            self.terms[k].expression <= model_value + slack,
            f"LEX_{k}_{self.terms[k].name}",
        )

    def size(self) -> dict[str, int]:
        return {
            "variables": self.problem.numVariables(),
            "constraints": self.problem.numConstraints(),
            "order_binaries": len(self.var.order),
            "disjunctive_pairs": self.var.table.n_pairs if self.var.table is not None else 0,
        }


def build_model(
    instance: Instance,
    objective: ObjectiveLike,
    *,
    win: Windows | None = None,
    max_pairs: int | None = DEFAULT_MAX_PAIRS,
    check: Check | None = None,
    solver: str = "milp",
) -> MilpModel:
    """The MILP of ``instance`` for a (lexicographic) objective; the first component is active.

    The disjunctive pairs are counted first (:func:`~rtgen_opt.exact.milp.variables.
    count_pairs`, array operations, well under a second at 1,000 tasks); above ``max_pairs``
    nothing is built.

    Parameters
    ----------
    instance
        The instance.
    objective
        Objective name, lexicographic list or :class:`~rtgen_opt.objectives.Objective`.
    win
        Precomputed windows (e.g. with a makespan upper bound); default ``windows(instance)``.
    max_pairs
        The most disjunctive pairs to build (``None``: no cap); default
        :data:`DEFAULT_MAX_PAIRS`.
    check
        Called as ``check(rows_done, rows_total)`` while the disjunctive rows are built; an
        exception it raises (a time limit, a stop request) stops the build.
    solver
        The name the refusal gives (``milp-highs``).

    Raises
    ------
    LimitError
        When the model would have more than ``max_pairs`` disjunctive pairs.

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
    parsed = Objective.parse(objective)
    win = win or windows(instance)
    table = pair_table(instance, win)
    if max_pairs is not None and table.n_pairs > max_pairs:
        raise LimitError(
            f"{solver}: the MILP of {instance.name} ({len(instance.tasks)} tasks)",
            table.n_pairs,
            max_pairs,
            f"disjunctive pairs (about {table.n_rows / 1e6:.1f} million rows)",
            f"use --solver cpsat (default) or --max-pairs {table.n_pairs}",
        )
    problem = pulp.LpProblem(_lp_name(instance.name), pulp.LpMinimize)
    var = create_variables(problem, instance, win, parsed, table)
    add_constraints(problem, instance, win, var, check)
    objs = tuple(linear_objective(c.name, instance, win, var) for c in parsed)
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
    """The schedule of the current solution: its decisions (processors, drops, the order of
    the starts), left-shifted on the grid (:mod:`rtgen_opt.exact.left_shift`)."""
    inst, win, var = model.instance, model.win, model.var
    dropped = {j for j, d in var.dropped.items() if (d.varValue or 0.0) > 0.5}
    assign: dict[str, str] = {}
    for t in win.tasks:
        if inst.graph.nodes[t]["job"] in dropped:
            continue
        assign[t] = max(win.options[t], key=lambda p: (var.x[t, p].varValue or 0.0, p))
    start = {t: round(var.start[t].varValue or 0.0) for t in assign}
    placed = left_shift_ticks(inst, win, assign, start)
    return Schedule.build(
        [(t, p, win.to_ms(s), win.to_ms(e)) for t, (p, s, e) in placed.items()], dropped
    )


# --------------------------------------------------------------------------- solving
def run_engine(
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
    deadline: float | None = None,
) -> Outcome:
    """One run of ``engine`` on the model's active objective, stopped by ``time_limit`` and by
    ``deadline`` (a ``time.perf_counter()`` instant), whichever comes first: the time spent
    handing a large model to the engine counts."""
    if engine == "highs":
        return run_highs(
            model.problem,
            time_limit=time_limit,
            seed=seed,
            start=start,
            on_progress=on_progress,
            mip=mip,
            options=options.get("highs_options"),
            deadline=deadline,
        )
    if deadline is not None:
        time_limit = min(time_limit, deadline - time.perf_counter())
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


def lp_relaxation(
    model: MilpModel, engine: Engine, time_limit: float, *, deadline: float | None = None
) -> float | None:
    """The LP-relaxation bound of the active objective, in the objective's units."""
    outcome = run_engine(
        engine,
        model,
        time_limit=time_limit,
        seed=0,
        workers=1,
        start=None,
        on_progress=None,
        mip=False,
        options={},
        deadline=deadline,
    )
    if outcome.status is not SolveStatus.OPTIMAL or outcome.objective is None:
        return None
    return model.terms[_active(model)].to_units(outcome.objective)


def _active(model: MilpModel) -> int:
    expr = model.problem.objective
    for k, obj in enumerate(model.terms):
        if obj.expression is expr:
            return k
    return 0


__all__ = [
    "DEFAULT_MAX_PAIRS",
    "MilpModel",
    "build_model",
    "decode",
    "hint_values",
    "lp_relaxation",
    "run_engine",
]
