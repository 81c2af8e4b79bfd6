"""``rtgen_opt.solve``: one entry point for every exact backend, and the checks around it.

:func:`solve` is backend-neutral. It parses the objective, builds a solution hint (the caller's
schedule, or the built-in :func:`~rtgen_opt.exact.list_schedule.list_schedule`), calls the
backend registered under ``solver`` in :data:`rtgen_opt.exact.BACKENDS`, and then -- whatever
the backend claims -- validates the schedule with the one validator, recomputes the objective
from it (:func:`rtgen_opt.objectives.objective_values`), raises the bound to the solver-free
combinatorial bound where that is stronger, and checks ``bound <= objective``.

Backend contract
----------------
A backend is ``fn(instance, objectives, *, time_limit, workers, seed, hint, progress,
**options) -> Result`` where ``objectives`` is the parsed tuple of objective names, ``hint`` a
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
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from rtgen_opt.errors import InvalidScheduleError
from rtgen_opt.exact import backend
from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.result import Result, SolveStatus
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import objective_values, parse_objective
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import check, validate

Progress = Callable[[float, float, float], None]

#: Relative and absolute slack when comparing a bound with a recomputed objective (floats).
BOUND_TOLERANCE = 1e-6


def _leq(a: float, b: float) -> bool:
    return a <= b + BOUND_TOLERANCE * max(1.0, abs(b))


def _close(a: float, b: float) -> bool:
    return _leq(a, b) and _leq(b, a)


def solve(
    instance: Instance,
    objective: str | Sequence[str] = "misses",
    solver: str = "cpsat",
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
    objectives = parse_objective(objective)
    if hint is None:
        hint = list_schedule(instance, objectives)
    else:
        check(instance, hint)
    fn = backend(solver)
    result: Result = fn(
        instance,
        objectives,
        time_limit=float(time_limit),
        workers=int(workers),
        seed=int(seed),
        hint=hint,
        progress=progress,
        **options,
    )
    stats = dict(result.stats)
    status = result.status
    schedule = result.schedule
    if schedule is None and status is not SolveStatus.INFEASIBLE:
        # The backend found nothing in time, but the hint is a valid schedule.
        schedule, status = hint, SolveStatus.FEASIBLE
        stats["schedule_from"] = "hint"
    if schedule is None:
        # Every instance has a schedule (the hint is one), so "infeasible" is a backend bug.
        raise AssertionError(f"{solver}: claims the instance is infeasible, yet the hint is valid")

    violations = validate(instance, schedule)
    if violations:
        raise InvalidScheduleError(violations)
    values = objective_values(instance, schedule, objectives)
    if result.objective is not None:
        stats["solver_objective"] = tuple(result.objective)
        if stats.get("schedule_from") != "hint" and not all(
            _close(a, b) for a, b in zip(values, result.objective, strict=True)
        ):
            raise AssertionError(
                f"{solver}: objective {result.objective} disagrees with the schedule's {values}"
            )

    bound = _combine_bounds(instance, objectives, result.bound, stats)
    _check_bound(solver, values, bound)
    if status is SolveStatus.FEASIBLE and all(
        _close(v, b) for v, b in zip(values, bound, strict=True)
    ):
        status = SolveStatus.OPTIMAL  # the combinatorial bound closed the gap
        stats["closed_by"] = "combinatorial bound"
    if status is SolveStatus.OPTIMAL:
        bound = values
    runtime = time.perf_counter() - started
    schedule = schedule.with_provenance(
        method=schedule.provenance.get("method", solver)
        if stats.get("schedule_from") == "hint"
        else solver,
        solver=solver,
        status=str(status),
        objective_name=",".join(objectives),
        objective=list(values),
        bound=list(bound),
    )
    return replace(
        result,
        status=status,
        objective=values,
        bound=bound,
        runtime=runtime,
        schedule=schedule,
        objective_name=objectives,
        stats=stats,
    )


def _combine_bounds(
    instance: Instance,
    objectives: tuple[str, ...],
    solver_bound: tuple[float, ...] | None,
    stats: dict[str, Any],
) -> tuple[float, ...]:
    """The solver's bound, with its first component raised to the combinatorial bound."""
    from rtgen_opt.exact.bounds import bounds  # late: bounds imports this module's neighbours

    bound = list(solver_bound) if solver_bound is not None else [0.0] * len(objectives)
    bound = [-math.inf if b is None or math.isnan(b) else b for b in bound]
    cheap = bounds(instance, objectives[0])["bound"]
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
        if not _leq(b, v):
            raise AssertionError(f"{solver}: bound {bound} exceeds objective {values}")
        if not _close(v, b):
            return


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
    from importlib import resources
    from pathlib import Path

    from rtgen_opt.errors import SpecError

    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    if name.endswith(".toml"):
        where = name
        try:
            text = Path(name).read_text()
        except OSError as exc:
            raise SpecError(name, None, f"cannot read: {exc.strerror}") from None
    else:
        where = f"solvers/{name}.toml"
        res = resources.files("rtgen_opt").joinpath("data", "solvers", f"{name}.toml")
        if not res.is_file():
            known = sorted(
                p.name.removesuffix(".toml")
                for p in resources.files("rtgen_opt").joinpath("data", "solvers").iterdir()
                if p.name.endswith(".toml")
            )
            raise SpecError(None, "settings", f"unknown settings {name!r}; known: {known}")
        text = res.read_text()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(where, None, f"invalid TOML: {exc}") from None
    for key in data:
        if key not in SETTINGS_KEYS:
            raise SpecError(where, key, f"unknown key; expected one of {', '.join(SETTINGS_KEYS)}")
    return data
