"""Running a report: every instance of a suite x every online policy and every exact solver,
in parallel (local processes or a Dask cluster), cached on disk, turned into one table and
written to an output folder.

How a sweep runs
----------------
1. **policies** -- each policy is replayed on each instance (noise 0).
2. **exact** -- each exact solver solves each instance through the solve front door
   (:func:`rtgen_opt.solve`), which starts from the best of every built-in policy and the list
   schedule: the exact answer is never worse than a policy's, even when stopped by the time
   limit, and never depends on which policies the report runs.
3. **report** -- tables, pictures and files (:mod:`rtgen_opt.report.tables`, ``html``).

A *unit* is one (instance, method) (:mod:`rtgen_opt.report.units`). Units are independent within
a phase and run on an executor (:mod:`rtgen_opt.report.executor`): in-process when
``workers <= 1``, a :class:`~concurrent.futures.ProcessPoolExecutor` by default, or a
``dask.distributed`` cluster when ``scheduler`` is given. A unit returns only what is expensive
to recompute -- the schedule and, for a solver, its status and proven bound. Every number of the
report (objective, DVR, TTFT, ...) is then recomputed in the calling process from the validated
schedule with :func:`rtgen_opt.metrics.evaluate` (:mod:`rtgen_opt.report.records`).

Threads
-------
Each exact solve uses ``solver_threads`` threads (default 1) and at most
``cores // solver_threads`` units run at once, so threads never exceed the cores. The default
spends the cores on independent solves rather than on threads inside one solve: a suite has
many small instances, independent solves scale perfectly, and a single-threaded CP-SAT search
with a fixed seed is deterministic, so the report does not depend on ``workers`` or on where it
ran (local or Dask). ``solver_threads`` is part of the cache key; ``workers`` is not.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from rtgen_opt.errors import ArgumentError
from rtgen_opt.exact import check_solver
from rtgen_opt.objectives import DEFAULT_OBJECTIVE, Objective, ObjectiveLike
from rtgen_opt.online import builtin_policies, make_policy
from rtgen_opt.parallel import Executor, available_cores
from rtgen_opt.report.executor import Cache, run_units
from rtgen_opt.report.html import write_report
from rtgen_opt.report.records import Outcome, Sweep, best_bound, outcome_of
from rtgen_opt.report.suite import resolve_suite
from rtgen_opt.report.tables import results_table
from rtgen_opt.report.units import (
    DEFAULT_SEED,
    DEFAULT_SOLVERS,
    DEFAULT_TIME_LIMIT,
    Settings,
    make_unit,
)


def sweep(
    suite: Any = None,
    *,
    out: str | os.PathLike[str] | None = None,
    objective: ObjectiveLike = DEFAULT_OBJECTIVE,
    policies: Sequence[str] | None = None,
    solvers: Sequence[str] = DEFAULT_SOLVERS,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: int | None = None,
    solver_threads: int = 1,
    seed: int = DEFAULT_SEED,
    scheduler: Any = None,
    quiet: bool = False,
    force: bool = False,
    load: float | dict[str, float] | None = None,
) -> Sweep:
    """Run the policies and solvers of a sweep (phases 1 and 2); see :func:`run`."""
    objective_t = Objective.parse(objective)
    policies_t = tuple(builtin_policies() if policies is None else policies)
    solvers_t = tuple(solvers)
    _check_methods(policies_t, solvers_t)
    if not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise ArgumentError("time_limit", f"expected seconds > 0, got {time_limit!r}")
    if solver_threads < 1:
        raise ArgumentError("solver_threads", f"expected >= 1, got {solver_threads}")
    cores = available_cores()
    if workers is None:
        workers = max(1, cores // solver_threads)
    if workers < 1:
        raise ArgumentError("workers", f"expected >= 1, got {workers}")
    if scheduler is None:
        # Local: keep processes x solver threads <= cores (see the module docstring).
        workers = max(1, min(workers, cores // solver_threads))
    settings = Settings(objective_t, float(time_limit), int(solver_threads), int(seed))
    entries = resolve_suite(suite, load=load)
    cache = Cache(None if out is None else Path(out) / "cache", force=force)
    stats: dict[str, int] = {"computed": 0, "cached": 0}
    by_name = {e.name: e for e in entries}
    dicts = {e.name: e.instance.to_dict() for e in entries}
    outcomes: dict[tuple[str, str], Outcome] = {}

    with Executor(workers, scheduler) as executor:
        units = [
            make_unit(e.name, dicts[e.name], p, "policy", settings)
            for e in entries
            for p in policies_t
        ]
        raw = run_units(units, cache, executor=executor, desc="policies", quiet=quiet, stats=stats)
        for (name, method), result in raw.items():
            outcomes[(name, method)] = outcome_of(by_name[name], result, objective_t)

        units = [
            make_unit(e.name, dicts[e.name], s, "exact", settings)
            for e in entries
            for s in solvers_t
        ]
        raw = run_units(units, cache, executor=executor, desc="exact", quiet=quiet, stats=stats)
        for (name, method), result in raw.items():
            outcomes[(name, method)] = outcome_of(by_name[name], result, objective_t)

    bounds = {
        e.name: best_bound(e, [outcomes[(e.name, s)] for s in solvers_t], objective_t)
        for e in entries
    }
    table = results_table(entries, policies_t, solvers_t, outcomes, bounds, objective_t)
    return Sweep(entries, settings, policies_t, solvers_t, outcomes, bounds, table, stats)


def _check_methods(policies: tuple[str, ...], solvers: tuple[str, ...]) -> None:
    for s in solvers:
        check_solver(s)
    for field_name, names in (("policies", policies), ("solvers", solvers)):
        if len(set(names)) != len(names):
            raise ArgumentError(field_name, f"{', '.join(names)} repeats a name")
    if not policies and not solvers:
        raise ArgumentError("policies", "nothing to run: no policy and no solver")
    for p in policies:
        make_policy(p)  # an error naming the known policies, before any work starts


def run(
    suite: Any = None,
    *,
    out: str | os.PathLike[str] | None = None,
    objective: ObjectiveLike = DEFAULT_OBJECTIVE,
    policies: Sequence[str] | None = None,
    solvers: Sequence[str] = DEFAULT_SOLVERS,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: int | None = None,
    scheduler: Any = None,
    solver_threads: int = 1,
    seed: int = DEFAULT_SEED,
    quiet: bool = False,
    force: bool = False,
    load: float | dict[str, float] | None = None,
) -> pd.DataFrame:
    """Run a gap report: every policy and exact solver on every instance of ``suite``.

    Parameters
    ----------
    suite
        ``None`` for the embedded suite (the small scenarios of ``instances/scenarios``), a
        folder, an instance file (``.yaml`` scenario or ``.json`` instance), an
        :class:`~rtgen_opt.instance.Instance`, or a list of those.
    out
        Output folder: results.csv, report.md, report.html, schedules, figures, traces and the
        cache (see :mod:`rtgen_opt.report.html`). ``None`` writes nothing and caches nothing.
    objective
        The objective the gap is measured on (and the solvers minimise), e.g. ``"misses"`` or
        ``"misses,tardiness"``.
    policies
        Online policy names (default: the built-in ones,
        :func:`rtgen_opt.online.builtin_policies`); ``()`` for none.
    solvers
        Exact backends (``cpsat``, ``milp-cbc``, ``milp-highs``); ``()`` for none, in which case
        gaps are measured against the solver-free combinatorial bound.
    time_limit
        Seconds per exact solve.
    workers
        Units run at once: local processes (default: cores // solver_threads; ``1`` runs
        in-process); ignored with ``scheduler``.
    scheduler
        A Dask scheduler address (``"tcp://host:port"``) or a ``distributed.Client``: run the
        units on that cluster instead of local processes.
    solver_threads
        Threads of each exact solve (default 1: deterministic; see the module docstring).
    seed
        Seed of the solvers and of randomised policies.
    quiet
        No progress bars (they are shown on stderr only when it is a terminal anyway).
    force
        Recompute every run instead of reading the cache (the cache is rewritten).
    load
        Compile every scenario of the suite at this load (``1.5``, or per stream
        ``{"npc": 2}``; see :func:`rtgen_opt.compile`).

    Returns
    -------
    pandas.DataFrame
        One row per instance x method, the columns of results.csv (see
        :mod:`rtgen_opt.report.tables` for the gap definition). ``df.attrs`` holds
        ``computed`` and ``cached`` unit counts.

    Raises
    ------
    SpecError
        For a bad suite, objective, policy or solver name, or an unreachable scheduler.

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Instance, Platform
    >>> g = nx.DiGraph()
    >>> g.add_node("a", durations={"m0": 2.0}, deadline=1.0)
    >>> inst = Instance.from_networkx(g, Platform.homogeneous(["m0"]), name="one")
    >>> df = run(inst, policies=(), solvers=("cpsat",), time_limit=5, workers=1, quiet=True)
    >>> df[["instance", "method", "value", "bound", "gap", "optimal"]].to_dict("records")
    [{'instance': 'one', 'method': 'cpsat', 'value': 1.0, 'bound': 1.0, 'gap': 0.0, 'optimal': True}]
    """
    result = sweep(
        suite,
        out=out,
        objective=objective,
        policies=policies,
        solvers=solvers,
        time_limit=time_limit,
        workers=workers,
        solver_threads=solver_threads,
        seed=seed,
        scheduler=scheduler,
        quiet=quiet,
        force=force,
        load=load,
    )
    if out is not None:
        write_report(result, Path(out), quiet=quiet)
    table = result.table.copy()
    table.attrs.update(result.stats)
    return table
