"""``rtgen_opt.solve``: one entry point for every exact backend, and the checks around it.

:func:`solve` is backend-neutral. It parses the objective, builds a solution hint (the caller's
schedule, or the built-in :func:`~rtgen_opt.exact.list_schedule.list_schedule`), calls the
backend registered under ``solver`` in :data:`rtgen_opt.exact.BACKENDS`, and then -- whatever
the backend claims -- validates the schedule with the one validator, recomputes the objective
from it (:func:`rtgen_opt.objectives.objective_values`), raises the bound to the solver-free
combinatorial bound where that is stronger, and checks ``bound <= objective``.

Backend contract
----------------
A backend is ``fn(instance, objective, *, time_limit, workers, seed, hint, progress,
**options) -> Result`` where ``objective`` is the parsed :class:`~rtgen_opt.objectives.Objective`,
``hint`` a
valid :class:`Schedule` (always given), and ``progress`` ``None`` or a callable
``progress(elapsed_s, objective, bound)`` to be called on every new incumbent / bound, in the
objective's units (for a lexicographic objective: of the component being minimised). On
``KeyboardInterrupt`` (raised by ``progress`` or by Ctrl-C) a backend stops its search and
returns the best schedule found so far with ``stats["interrupted"] = True``. A backend's
``objective`` may be its own value; :func:`solve` replaces it with the recomputed one.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from importlib import resources
from typing import Any

from rtgen_opt.errors import ArgumentError, InternalError, InvalidScheduleError, SpecError
from rtgen_opt.exact import DEFAULT_SOLVER, backend
from rtgen_opt.exact.bounds import combinatorial_bounds
from rtgen_opt.exact.lexicographic import Progress
from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.result import Result, SolveStatus
from rtgen_opt.files import read_text
from rtgen_opt.grid import close, leq
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import DEFAULT_OBJECTIVE, Objective, ObjectiveLike
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import check, validate


def solve(
    instance: Instance,
    objective: ObjectiveLike = DEFAULT_OBJECTIVE,
    solver: str = DEFAULT_SOLVER,
    *,
    time_limit: float = 10.0,
    workers: int = 2,
    seed: int = 0,
    hint: Schedule | None = None,
    progress: Progress | None = None,
    **options: Any,
) -> Result:
    """Solve ``instance`` exactly (or to a bounded gap within ``time_limit``).

    Parameters
    ----------
    instance
        The instance.
    objective
        ``misses`` (default), ``tardiness``, ``ttft``, ``makespan``, ``energy`` or a
        lexicographic list such as ``"misses,tardiness"`` (see :mod:`rtgen_opt.objectives`).
    solver
        A name in :data:`rtgen_opt.exact.BACKENDS` (``cpsat``, ``milp-cbc``, ``milp-highs``).
    time_limit
        Wall-clock seconds for the whole solve (shared by the stages of a lexicographic one).
    workers
        Solver threads.
    seed
        Solver random seed.
    hint
        A schedule to start from (e.g. an online policy's); it must pass the validator.
        Default: the built-in list schedule.
    progress
        Called as ``progress(elapsed_s, objective, bound)`` as the search improves.
    **options
        Backend-specific options (e.g. raw CP-SAT parameters as ``parameters={...}``).

    Returns
    -------
    Result
        Status, objective (recomputed from the validated schedule), proven bound, gap,
        runtime, solver statistics and the schedule, whose provenance records method, status,
        objective and bound.

    Raises
    ------
    InvalidScheduleError
        If ``hint`` is not a valid schedule of ``instance`` (or, a bug, if a backend returned
        one).
    SolverUnavailableError
        If the backend cannot be loaded.

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> g.add_node("a", durations={"m0": 3.0, "m1": 5.0})
    >>> g.add_node("b", durations={"m0": 2.0, "m1": 4.0})
    >>> inst = Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"]))
    >>> r = solve(inst, "makespan", time_limit=5)
    >>> str(r.status), r.objective
    ('optimal', (4.0,))
    """
    started = time.perf_counter()
    parsed = Objective.parse(objective)
    fn = backend(solver)
    fixed = options.get("fixed") or {}
    if hint is None:
        hint = list_schedule(instance, parsed, fixed=_pins(instance, fixed) or None)
    else:
        check(instance, hint)
    _check_fixed(hint, fixed)
    result = _closed_by_bound(instance, parsed, solver, hint)
    if result is None:
        left = max(0.01, float(time_limit) - (time.perf_counter() - started))
        result = fn(
            instance,
            parsed,
            time_limit=left,
            workers=int(workers),
            seed=int(seed),
            hint=hint,
            progress=progress,
            **options,
        )
    return replace(
        finish(instance, parsed, solver, result, hint), runtime=time.perf_counter() - started
    )


def _pins(instance: Instance, fixed: dict[str, float]) -> dict[str, tuple[str, float]]:
    """``fixed`` (task -> start, ms) as list-schedule pins (task -> (processor, start)); a fixed
    task must have one eligible processor."""
    g = instance.graph
    pins = {}
    for t, start in fixed.items():
        procs = list(g.nodes[t]["durations"])
        if len(procs) != 1:
            raise ArgumentError(
                "fixed", f"task {t!r} has {len(procs)} eligible processors; a fixed task needs one"
            )
        pins[t] = (procs[0], start)
    return pins


def _check_fixed(hint: Schedule, fixed: dict[str, float]) -> None:
    """The hint must start every fixed task at its fixed time (or the result could be a
    schedule the frame does not allow)."""
    for t, start in fixed.items():
        pl = hint.placements.get(t)
        if pl is None or not close(pl.start, start):
            got = "does not run it" if pl is None else f"starts it at {pl.start:g} ms"
            raise ArgumentError("hint", f"fixed task {t!r} starts at {start:g} ms; the hint {got}")


def _closed_by_bound(
    instance: Instance, objective: Objective, solver: str, hint: Schedule
) -> Result | None:
    """The hint as an optimal result, without building a model, when it meets the solver-free
    bound of a single-component objective; otherwise ``None``."""
    if len(objective) != 1:
        return None
    value = objective.values(instance, hint)
    cheap = combinatorial_bounds(instance, objective)["bound"]
    if not leq(value[0], cheap):
        return None
    stats = {"stages": [{"objective": objective.first.name, "status": "OPTIMAL", "by": "bound"}]}
    return Result(SolveStatus.OPTIMAL, value, value, 0.0, hint, solver, objective.names, stats)


def finish(
    instance: Instance,
    objective: Objective,
    solver: str,
    result: Result,
    hint: Schedule | None = None,
    *,
    cheap: float | None = None,
) -> Result:
    """A backend's result made trustworthy: its schedule (or, when it found none, ``hint``)
    validated, every objective value recomputed from it, the bound raised to the solver-free
    bound (``cheap`` when the caller computed it already) and checked against the objective,
    the status closed when the bound meets it, and the provenance written.

    Raises
    ------
    InvalidScheduleError
        When the schedule breaks the validator (a bug in the backend).
    InternalError
        When the backend's objective disagrees with its schedule, its bound exceeds the
        objective, or it claims infeasibility.
    """
    stats = dict(result.stats)
    status = result.status
    schedule = result.schedule
    if schedule is None and status is not SolveStatus.INFEASIBLE and hint is not None:
        # The backend found nothing in time, but the hint is a valid schedule.
        schedule, status = hint, SolveStatus.FEASIBLE
        stats["schedule_from"] = "hint"
    if schedule is None:
        # Every instance has a schedule (the hint is one), so "infeasible" is a backend bug.
        raise InternalError(f"{solver}: claims the instance is infeasible, yet the hint is valid")

    violations = validate(instance, schedule)
    if violations:
        raise InvalidScheduleError(violations)
    values = objective.values(instance, schedule)
    if result.objective is not None:
        stats["solver_objective"] = tuple(result.objective)
        if stats.get("schedule_from") != "hint" and not all(
            close(a, b) for a, b in zip(values, result.objective, strict=True)
        ):
            raise InternalError(
                f"{solver}: objective {result.objective} disagrees with the schedule's {values}"
            )

    bound = _combine_bounds(instance, objective, result.bound, stats, cheap)
    _check_bound(solver, values, bound)
    if status is SolveStatus.FEASIBLE and all(
        close(v, b) for v, b in zip(values, bound, strict=True)
    ):
        status = SolveStatus.OPTIMAL  # the combinatorial bound closed the gap
        stats["closed_by"] = "combinatorial bound"
    if status is SolveStatus.OPTIMAL:
        bound = values
    schedule = schedule.with_provenance(
        method=schedule.provenance.get("method", solver)
        if stats.get("schedule_from") == "hint"
        else solver,
        solver=solver,
        status=str(status),
        objective_name=str(objective),
        objective=list(values),
        bound=list(bound),
    )
    return replace(
        result,
        status=status,
        objective=values,
        bound=bound,
        schedule=schedule,
        objective_name=objective.names,
        stats=stats,
    )


def _combine_bounds(
    instance: Instance,
    objective: Objective,
    solver_bound: tuple[float, ...] | None,
    stats: dict[str, Any],
    cheap: float | None = None,
) -> tuple[float, ...]:
    """The solver's bound, with its first component raised to the combinatorial bound."""
    bound = list(solver_bound) if solver_bound is not None else [0.0] * len(objective)
    bound = [-math.inf if b is None or math.isnan(b) else b for b in bound]
    if cheap is None:
        cheap = combinatorial_bounds(instance, objective)["bound"]
    if cheap > bound[0]:
        stats["bound_from"] = "combinatorial"
        bound[0] = cheap
    return tuple(float(b) for b in bound)


def _check_bound(solver: str, values: tuple[float, ...], bound: tuple[float, ...]) -> None:
    """Lexicographic ``bound <= objective``: each component while the previous ones are tight.

    A later component's bound is valid among schedules no worse in the earlier components, so
    it is only comparable while those are closed.
    """
    for v, b in zip(values, bound, strict=True):
        if not leq(b, v):
            raise InternalError(f"{solver}: bound {bound} exceeds objective {values}")
        if not close(v, b):
            return


def bounds(
    instance: Instance,
    objective: ObjectiveLike = DEFAULT_OBJECTIVE,
    *,
    solver: str | None = None,
    time_limit: float = 10.0,
    workers: int = 2,
    fluid: bool = False,
) -> dict[str, Any]:
    """Lower bounds on the (first component of the) objective: ``rtgen_opt.bounds``.

    The solver-free bounds of :func:`~rtgen_opt.exact.bounds.combinatorial_bounds`; with
    ``fluid`` (for ``misses``), the fluid window bound (:mod:`rtgen_opt.exact.fluid`: an LP per
    time window, seconds at 35,000 tasks) as ``"fluid"``; with ``solver`` (e.g. ``"cpsat"``),
    the bound that solver proves in ``time_limit`` seconds on ``workers`` threads, as
    ``"solver"`` (and ``"solver_status"``). ``bound`` is the best.

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> for t in "abc":
    ...     g.add_node(t, durations={"m0": 2.0, "m1": 2.0})
    >>> b = bounds(Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"])), "makespan")
    >>> b["critical_path"], b["load"], b["bound"]  # 6 ms of work on 2 processors, in 2 ms steps
    (2.0, 4.0, 4.0)
    """
    first = Objective.parse(objective).first
    if fluid and first.name != "misses":
        raise ArgumentError("fluid", f"the fluid window bound is on misses, not {first.name!r}")
    out = combinatorial_bounds(instance, [first.name])
    if fluid:
        from rtgen_opt.exact.fluid import fluid_bound  # an LP solver, only when asked

        out["fluid"] = fluid_bound(instance).bound
        out["bound"] = float(max(out["bound"], out["fluid"]))
    if solver is not None:
        result = solve(instance, [first.name], solver, time_limit=time_limit, workers=workers)
        out["solver"] = result.bound[0] if result.bound else None
        out["solver_status"] = str(result.status)
        if out["solver"] is not None:
            out["bound"] = float(max(out["bound"], out["solver"]))
    return out


SETTINGS_KEYS = ("solver", "time_limit", "workers", "seed", "parameters")


def load_settings(name: str) -> dict[str, Any]:
    """Named solver settings: a ``.toml`` path, or a name shipped in the package
    (``default``, ``quick``, ``bench``; mirrored in the repository's ``solvers/``).

    Returns
    -------
    dict
        Some of ``solver``, ``time_limit``, ``workers``, ``seed``, ``parameters`` (raw CP-SAT
        parameters), ready to pass to :func:`solve` as keyword arguments.

    Raises
    ------
    SpecError
        For an unknown name, an unreadable file or an unknown key.

    Examples
    --------
    >>> load_settings("default")["time_limit"]
    10.0
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    if name.endswith(".toml"):
        where = name
        text = read_text(name, "a solver settings TOML file")
    else:
        where = f"solvers/{name}.toml"
        res = resources.files("rtgen_opt").joinpath("data", "solvers", f"{name}.toml")
        if not res.is_file():
            known = sorted(
                p.name.removesuffix(".toml")
                for p in resources.files("rtgen_opt").joinpath("data", "solvers").iterdir()
                if p.name.endswith(".toml")
            )
            raise ArgumentError("settings", f"unknown settings {name!r}; known: {known}")
        text = res.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(where, None, f"invalid TOML: {exc}") from None
    for key in data:
        if key not in SETTINGS_KEYS:
            raise SpecError(where, key, f"unknown key; expected one of {', '.join(SETTINGS_KEYS)}")
    return data
