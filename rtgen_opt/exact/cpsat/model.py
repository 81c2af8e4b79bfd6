"""The CP-SAT model: variables, then constraints, then objectives; solver parameters; solutions.

Read top-down: :class:`CpsatModel` builds :class:`~.variables.Variables`, adds
:class:`~.constraints.Constraints` in their numbered order, and prepares one
:class:`~.objective.Term` per objective component (:class:`~.objective.Terms`). :meth:`CpsatModel.solve_stage` minimises one
component (after fixing the earlier ones) and returns the solution as a :class:`Schedule`.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ortools.sat.python import cp_model

from rtgen_opt import grid, stopping
from rtgen_opt.errors import ArgumentError
from rtgen_opt.exact.bounds import makespan_bounds
from rtgen_opt.exact.cpsat.constraints import Constraints
from rtgen_opt.exact.cpsat.objective import Term, Terms
from rtgen_opt.exact.cpsat.pools import Pools, identical_processors
from rtgen_opt.exact.cpsat.variables import HintValues, Variables
from rtgen_opt.exact.lexicographic import Progress
from rtgen_opt.exact.windows import Windows, windows
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective
from rtgen_opt.schedule import Schedule

#: ``stop_when(elapsed_s, objective, bound)`` of :meth:`CpsatModel.solve_stage`.
Watch = Callable[[float, int, int], bool]
#: Seconds between two checks of ``stop_when``.
WATCH_PERIOD = 0.25

#: Subsolvers of a feasibility probe (:meth:`CpsatModel.probe`) on 2 workers: without LP and
#: with the default LP (measured on Kacem 5, makespan <= 10: infeasible in 27 s; the default
#: pair [default_lp + LNS] took 43 s, [default_lp, max_lp] and others > 40 s).
PROBE_SUBSOLVERS = ("no_lp", "default_lp")


def probe_search(workers: int, *, job_shop: bool) -> dict[str, Any]:
    """The CP-SAT parameters of a probe's search on ``workers`` (>= 2) workers.

    ``job_shop``: CP-SAT's shared tree workers (they split one search tree), without LP and
    with the strongest no-overlap propagation. Otherwise the portfolio of ``PROBE_SUBSOLVERS``.
    Which a probe uses, and in what order, is :func:`probe_phases`.
    """
    if job_shop:
        return {
            "filter_subsolvers": ["shared_tree"],
            "shared_tree_num_workers": workers,
            "num_full_subsolvers": workers,
            "linearization_level": 0,
            "use_strong_propagation_in_disjunctive": True,
            "exploit_all_precedences": True,
        }
    return {
        "subsolvers": list(PROBE_SUBSOLVERS),
        "num_full_subsolvers": min(workers, len(PROBE_SUBSOLVERS)),
    }


#: Share of a makespan probe's time that, on a shop that is not a classic job shop, the
#: portfolio (with the LP) has before the shared tree takes the rest (:func:`probe_phases`).
PROBE_PORTFOLIO_SHARE = 0.25


def probe_phases(workers: int, *, job_shop: bool, makespan: bool) -> list[tuple[float, dict]]:
    """The searches of one probe in order, each with its share of the probe's time.

    A makespan probe of a classic job shop (``job_shop``: every task has one eligible
    processor, none pooled) is searched by the shared tree (``probe_search(job_shop=True)``):
    at 60 s on Taillard ta05 a probe-proven bound of 1221 against the portfolio's 1115, ta14
    proven in 31 s where the portfolio ends at 1355 / 1341 (one seed,
    ``bench/results/probe_search.md``; three seeds of ta01-ta20: ``taillard.md``).

    Any other makespan probe first gets the portfolio of ``PROBE_SUBSOLVERS`` for
    ``PROBE_PORTFOLIO_SHARE`` of its time, then the shared tree: some probes need the LP
    (Brandimarte mk07 at ``M <= 138``: 0.7 s with it, undecided after 60 s on the shared
    tree, ``bench/results/probe.md``), others the tree's search (Fattahi MFJS10 at
    ``M <= 1195``: infeasible in 24 s on the tree, undecided in 120 s on the portfolio).
    Every other probe (a count of late jobs) is searched by the portfolio alone.
    """
    if job_shop and makespan:
        return [(1.0, probe_search(workers, job_shop=True))]
    portfolio = probe_search(workers, job_shop=False)
    if not makespan or PROBE_PORTFOLIO_SHARE >= 1:
        return [(1.0, portfolio)]
    tree = probe_search(workers, job_shop=True)
    return [(PROBE_PORTFOLIO_SHARE, portfolio), (1.0 - PROBE_PORTFOLIO_SHARE, tree)]


#: Probes add the per-set processor loads (C10 with ``per_set``) that the optimisation model
#: leaves out: they decide probes near the load bound, but slow the optimiser's proofs.
PROBE_LOAD_PER_SET = True
#: Identical processors become one pool with a cumulative (C4) instead of one no-overlap each
#: (:mod:`.pools`); Kasahara STG graphs with and without: ``bench/results/stg*.md``.
POOL = True


def cut_short(wall: float, limit: float, stats: Mapping[str, Any]) -> bool:
    """Whether an undecided CP-SAT run ended by Ctrl-C (CP-SAT caught SIGINT): well before its
    limit, after its search began. A run that never branched stopped in presolve, which CP-SAT
    does by itself on a large model short of its limit (game_npc_heavy_4s: 19 s of a 23 s
    probe in presolve's probing) -- not an interrupt; the caller goes on. (A Ctrl-C during
    presolve is then missed in a library call; the CLI's own handler sees every one.)"""
    searched = stats.get("branches", 1) > 0 or stats.get("conflicts", 1) > 0
    return searched and wall < 0.9 * limit - 0.05


def solver_parameters(
    solver: cp_model.CpSolver,
    *,
    time_limit: float,
    workers: int,
    seed: int,
    raw: Mapping[str, Any] | None = None,
) -> None:
    """Every CP-SAT parameter rtgen_opt sets, in one place.

    ``raw`` holds any other ``SatParameters`` field by name (from a ``solvers/*.toml``
    ``[parameters]`` table or ``solve(..., parameters={...})``) and wins over the defaults.
    """
    params = solver.parameters
    params.max_time_in_seconds = max(0.0, float(time_limit))
    params.num_workers = max(1, int(workers))
    params.random_seed = int(seed)
    params.log_search_progress = False
    # Ctrl-C stops the search and returns the best solution so far: CP-SAT's own handler,
    # unless rtgen_opt.stopping handles the signals (the CLI): then it stops the solver.
    params.catch_sigint_signal = not stopping.catching()
    for key, value in (raw or {}).items():
        if not hasattr(params, key):
            raise ArgumentError(f"parameters.{key}", "not a CP-SAT parameter")
        if isinstance(value, (list, tuple)):  # repeated fields, e.g. subsolvers
            field = getattr(params, key)
            field.clear()
            field.extend(value)
        else:
            setattr(params, key, _field_value(params, key, value))


def _field_value(params: Any, key: str, value: Any) -> Any:
    """``value`` for the ``SatParameters`` field ``key``: enum fields take their value's name
    (``"SPLIT_STRATEGY_DISCREPANCY"``) or number, as a TOML file can only give those."""
    kind = type(getattr(params, key))
    members = getattr(kind, "__members__", None)
    if members is None or isinstance(value, kind):
        return value
    if isinstance(value, str) and value in members:
        return members[value]
    if isinstance(value, int) and not isinstance(value, bool):
        for member in members.values():
            if int(member) == value:
                return member
    raise ArgumentError(f"parameters.{key}", f"expected one of {', '.join(members)}")


@dataclass(frozen=True)
class StageResult:
    """The outcome of minimising one component."""

    status: str  # "optimal", "feasible", "infeasible", "unknown"
    value: int | None  # integer objective of the solution
    bound: int | None  # integer proven bound
    schedule: Schedule | None
    stats: dict[str, Any]
    interrupted: bool


class _Callback(cp_model.CpSolverSolutionCallback):
    """Reports incumbents to ``progress``; a KeyboardInterrupt in it stops the search."""

    def __init__(self, term: Term, progress: Progress | None, started: float) -> None:
        super().__init__()
        self.term = term
        self.progress = progress
        self.started = started
        self.interrupted = False
        self.error: BaseException | None = None
        self.last_value = math.inf
        self.last_int: int | None = None  # integer objective of the incumbent
        self.bound_int = -(2**62)  # integer best bound so far

    def report(self, value: float, bound: float) -> None:
        if self.progress is None or self.interrupted or self.error is not None:
            return
        try:
            self.progress(time.perf_counter() - self.started, value, bound)
        except KeyboardInterrupt:
            self.interrupted = True
            self.StopSearch()
        except Exception as exc:  # re-raised after the solve; never lost in the C++ layer
            self.error = exc
            self.StopSearch()

    def on_solution_callback(self) -> None:
        self.last_int = round(self.ObjectiveValue())
        self.bound_int = max(self.bound_int, grid.ceil(self.BestObjectiveBound()))
        self.last_value = self.term.value(self.last_int)
        self.report(self.last_value, self.term.value(self.bound_int))

    def on_bound(self, bound: float) -> None:
        self.bound_int = max(self.bound_int, grid.ceil(bound))
        if math.isfinite(self.last_value):
            self.report(self.last_value, self.term.value(self.bound_int))


class CpsatModel:
    """The CP-SAT model of an instance for a (lexicographic) objective."""

    def __init__(
        self,
        instance: Instance,
        objective: Objective,
        hint: Schedule,
        *,
        cumulative: bool = False,
        fixed: Mapping[str, float] | None = None,
        latest_end: float | None = None,
        pool: bool = POOL,
    ) -> None:
        """The model; ``fixed`` (task -> start, ms) and ``latest_end`` (ms) frame a window of a
        larger schedule (C13); ``pool`` models identical processors as pools (:mod:`.pools`)."""
        self.instance = instance
        self.objective = objective
        self.framed = bool(fixed) or latest_end is not None
        upper = hint.makespan if objective.first.name == "makespan" else None
        win = windows(instance, makespan_upper=upper)
        if upper is None:
            # Make sure the hint fits (a policy's schedule need not be semi-active).
            win = _with_room(win, hint)
        lb = 0
        if objective.has("makespan"):
            lb_ms = max(makespan_bounds(instance, win).values())
            lb = round(lb_ms / win.scale.unit_ms)
        self.pools = identical_processors(instance, win) if pool else Pools.none(instance)
        # Options on representatives only: every loop over win.options sees one per pool.
        win = self.pools.reduce(win)
        self.win: Windows = win
        #: A classic job shop: one eligible processor per task, none of them a pool.
        self.job_shop = all(
            len(win.options[t]) == 1 and self.pools.size(win.options[t][0]) <= 1 for t in win.tasks
        )
        self.model = cp_model.CpModel()
        self.vars = Variables(
            self.model, instance, win, objective, makespan_lb=lb, pools=self.pools
        )
        constraints = Constraints(self.model, self.vars, cumulative=cumulative)
        constraints.add_all(objective)
        if fixed or latest_end is not None:
            to = win.scale.from_ms
            constraints.frozen_context(
                {t: to(s) for t, s in (fixed or {}).items()},
                None if latest_end is None else grid.floor(latest_end / win.scale.unit_ms),
            )
        self.builder = Terms(self.model, self.vars)
        self.terms = [self.builder.term(c.name) for c in objective]
        self._hint_schedule = hint

    # ----------------------------------------------------------------- hints
    def _hint_values(self, schedule: Schedule) -> HintValues:
        to = self.win.scale.from_ms
        pl = schedule.placements
        return HintValues(
            start={t: to(p.start) for t, p in pl.items()},
            end={t: to(p.end) for t, p in pl.items()},
            processor={t: self.pools.rep[p.processor] for t, p in pl.items()},
            dropped=frozenset(schedule.dropped),
        )

    def set_hint(self, schedule: Schedule) -> None:
        self.model.ClearHints()
        h = self._hint_values(schedule)
        self.vars.hint(h)
        self.builder.hint(h)

    # ----------------------------------------------------------------- solving
    def solve_stage(
        self,
        k: int,
        *,
        time_limit: float,
        workers: int,
        seed: int,
        progress: Progress | None,
        parameters: Mapping[str, Any] | None = None,
        stop_when: Watch | None = None,
    ) -> StageResult:
        """Minimise component ``k`` (earlier ones must already be fixed by :meth:`fix`).

        ``stop_when(elapsed_s, objective, bound)`` (integers of the model), if given, is
        checked by a watchdog thread every ``WATCH_PERIOD`` s once there is an incumbent; the
        search stops when it returns true (``stats["stopped_early"]``).
        """
        term = self.terms[k]
        self.model.Minimize(term.expr)
        solver = cp_model.CpSolver()
        solver_parameters(solver, time_limit=time_limit, workers=workers, seed=seed, raw=parameters)
        started = time.perf_counter()
        callback = _Callback(term, progress, started)
        if progress is not None or stop_when is not None:
            solver.best_bound_callback = callback.on_bound
        done = threading.Event()
        stopped = threading.Event()

        def watch() -> None:
            while not done.wait(WATCH_PERIOD):
                z = callback.last_int
                if z is not None and stop_when(
                    time.perf_counter() - started, z, callback.bound_int
                ):
                    stopped.set()
                    solver.stop_search()
                    return

        watchdog = threading.Thread(target=watch, daemon=True) if stop_when else None
        if watchdog is not None:
            watchdog.start()
        try:
            with stopping.stoppable(solver.stop_search):
                code = solver.Solve(self.model, callback)
        except KeyboardInterrupt:  # pragma: no cover - CP-SAT normally catches SIGINT itself
            callback.interrupted = True
            code = cp_model.UNKNOWN
        finally:
            done.set()
            if watchdog is not None:
                watchdog.join()
        if callback.error is not None:
            raise callback.error
        wall = time.perf_counter() - started
        status = {
            cp_model.OPTIMAL: "optimal",
            cp_model.FEASIBLE: "feasible",
            cp_model.INFEASIBLE: "infeasible",
        }.get(code, "unknown")
        stats = {
            "status": solver.StatusName(code),
            "wall_s": round(wall, 4),
            "branches": solver.NumBranches(),
            "conflicts": solver.NumConflicts(),
            "booleans": solver.NumBooleans(),
        }
        if stopped.is_set():
            stats["stopped_early"] = True
        # Stopped well before the limit without a proof, not by the watchdog: Ctrl-C (CP-SAT
        # caught SIGINT).
        interrupted = (
            callback.interrupted
            or stopping.requested()
            or (
                status == "feasible" and cut_short(wall, time_limit, stats) and not stopped.is_set()
            )
        )
        if status not in ("optimal", "feasible"):
            return StageResult(status, None, None, None, stats, interrupted)
        value = round(solver.ObjectiveValue())
        bound = grid.ceil(solver.BestObjectiveBound())
        stats["objective_int"] = value
        stats["bound_int"] = bound
        return StageResult(status, value, bound, self._extract(solver), stats, interrupted)

    def probe(
        self,
        k: int,
        at_most: int,
        *,
        time_limit: float,
        workers: int,
        seed: int,
        parameters: Mapping[str, Any] | None = None,
        symmetry: bool = True,
    ) -> StageResult:
        """Decide whether component ``k`` can be ``<= at_most``: a feasibility model.

        A copy of the model with ``z_k <= at_most`` and no objective, so that presolve shrinks
        every domain to the tighter bound before the search starts (the optimiser only learns
        it as the incumbent improves). ``"infeasible"`` proves ``at_most + 1`` a lower bound;
        ``"feasible"`` comes with a schedule. Full-search subsolvers only (no LNS, which is
        useless without an objective): ``PROBE_SUBSOLVERS`` unless ``parameters`` name some.
        The probe also gets the symmetry breaking (C12, unless ``symmetry`` is false) and, with
        a makespan variable, the per-set loads (``PROBE_LOAD_PER_SET``).
        """
        model = self.model.Clone()
        model.ClearObjective()
        model.Add(self.terms[k].expr <= at_most)
        extra = Constraints(model, self.vars)  # same variables: a clone keeps their indices
        if PROBE_LOAD_PER_SET and self.vars.makespan is not None:
            extra.redundant_processor_load(per_set=True)  # (C10) per processor set too
        if symmetry:
            extra.interchangeable_job_order()  # (C12)
        raw = dict(parameters or {})
        phases: list[tuple[float, dict]] = [(1.0, {})]
        if not {"subsolvers", "filter_subsolvers"} & raw.keys() and workers >= 2:
            makespan = self.terms[k].name == "makespan"
            phases = probe_phases(workers, job_shop=self.job_shop, makespan=makespan)
        started = time.perf_counter()
        decided = (cp_model.INFEASIBLE, cp_model.OPTIMAL, cp_model.FEASIBLE)
        done: list[dict[str, Any]] = []
        for n, (part, search) in enumerate(phases):
            left = time_limit - (time.perf_counter() - started)
            limit = left if n == len(phases) - 1 else min(left, part * time_limit)
            solver = cp_model.CpSolver()
            solver_parameters(
                solver, time_limit=limit, workers=workers, seed=seed, raw={**search, **raw}
            )
            at = time.perf_counter()
            with stopping.stoppable(solver.stop_search):
                code = solver.Solve(model)
            wall = time.perf_counter() - at
            done.append(
                {
                    "status": solver.StatusName(code),
                    "wall_s": round(wall, 4),
                    "branches": solver.NumBranches(),
                    "conflicts": solver.NumConflicts(),
                }
            )
            # Decided, or undecided well before its limit (Ctrl-C): no further phase.
            if code in decided or stopping.requested() or cut_short(wall, limit, done[-1]):
                break
        stats = {
            "probe_at_most": at_most,
            "status": solver.StatusName(code),
            "wall_s": round(time.perf_counter() - started, 4),
            "branches": sum(d["branches"] for d in done),
            "conflicts": sum(d["conflicts"] for d in done),
        }
        if len(phases) > 1:
            stats["phases"] = done
        if code == cp_model.INFEASIBLE:
            return StageResult("infeasible", None, at_most + 1, None, stats, False)
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return StageResult("unknown", None, None, None, stats, False)
        value = round(solver.Value(self.terms[k].expr))
        return StageResult("feasible", value, None, self._extract(solver), stats, False)

    def fix(self, k: int, value: int, *, proven: bool) -> None:
        """Constrain component ``k`` to ``<= value`` (``== value`` when proven optimal)."""
        expr = self.terms[k].expr
        if proven:
            self.model.Add(expr == value)
        else:
            self.model.Add(expr <= value)

    def _extract(self, solver: cp_model.CpSolver) -> Schedule:
        v, win = self.vars, self.win
        rows = []
        for t in win.tasks:
            for p in win.options[t]:
                if solver.BooleanValue(v.present[t, p]):
                    s = solver.Value(v.opt_start[t, p])
                    rows.append((t, p, s, s + win.duration[t, p]))
        rows = self.pools.assign(rows)  # a pool's tasks onto its processors
        dropped = [j for j in self.instance.jobs if not solver.BooleanValue(v.run[j])]
        return Schedule.build(
            [(t, p, win.to_ms(s), win.to_ms(e)) for t, p, s, e in rows], dropped, method="cpsat"
        )


def _with_room(win: Windows, hint: Schedule) -> Windows:
    """``win`` with its horizon raised, if needed, so that ``hint`` fits in every window."""
    from dataclasses import replace

    need = win.scale.from_ms(hint.makespan) if hint.placements else 0
    extra = 0
    for t, pl in hint.placements.items():
        end = win.scale.from_ms(pl.end)
        extra = max(extra, end - win.lct(t, pl.processor))
    if extra <= 0 and need <= win.horizon:
        return win
    return replace(win, horizon=win.horizon + max(extra, need - win.horizon, 0))
