"""The CP-SAT backend (OR-Tools): ``solve(instance, objectives, ...) -> Result``.

The model lives in :mod:`.model` (variables in :mod:`.variables`, constraints in
:mod:`.constraints`, objectives in :mod:`.objective`); its mathematics is
``formulations/cpsat.md``. A lexicographic objective is solved in stages by the shared driver
(:mod:`rtgen_opt.exact.lexicographic`), for which :class:`_Stages` adapts the model; each stage
is one optimisation run, or for makespan an optimisation with feasibility probes
(:func:`_minimise`). Call it through :func:`rtgen_opt.solve`, which validates and re-evaluates
what it returns.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

from rtgen_opt import stopping
from rtgen_opt.exact.cpsat.model import (
    POOL,
    CpsatModel,
    StageResult,
    cut_short,
    solver_parameters,
)
from rtgen_opt.exact.lexicographic import Progress, Stage, minimise_lexicographic
from rtgen_opt.exact.result import Result
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective
from rtgen_opt.schedule import Schedule

__all__ = ["CpsatModel", "solve", "solver_parameters"]

#: Components minimised with feasibility probes (formulations/cpsat.md, section 5).
PROBED = frozenset({"makespan"})
#: Components first probed at their solver-free bound ("bottom-up"): a weighted count of late
#: jobs, whose optimum on a loaded instance is often the bound itself (no frame late), and a
#: model in which every deadline is hard is solved faster than the optimiser gets there
#: (game_npc_heavy_1s, 3 seeds: proven 0 in 4.4 s, 7.2 s without; bench/results/floor_probe.md).
FLOOR_PROBED = frozenset({"misses"})
#: Share of a stage's time the probe at the bound may take. The decomposition turns the probe
#: off (``solve(..., floor_probe=False)``): in its windows the probe mostly ends undecided and
#: costs the window its time (game_npc_heavy_4s at 60 s, 3 seeds: probing every window 70
#: [40-93] weighted misses, 44 [32-75] without; probing only its unframed solves 47 [39-118],
#: 44 [24-47] without; bench/results/floor_probe.md).
FLOOR_SHARE = 0.4
#: Share of a stage's time the first optimisation run has at least before probing starts.
PROBE_AFTER = 0.15
#: Share of the then remaining time a probe may take (the rest continues the optimisation).
PROBE_SHARE = 0.75
#: Probe only while (incumbent - bound) <= PROBE_GAP x incumbent: a probe at a far bound
#: rarely decides in time, and the optimiser improves the incumbent better.
PROBE_GAP = 0.10
#: Probe also when the gap is wide but the incumbent has stood for PROBE_STALL x the stage's
#: time (and for at least as long as it took to find): where the optimiser's bound is weak
#: the incumbent may be the optimum, and only a probe can tell (Fattahi MFJS10: incumbent
#: 1196 after 3-30 s, bound 945 at the critical path; the probe M <= 1195 is infeasible).
#: Not on a classic job shop (``CpsatModel.job_shop``). ``None``: only the gap starts probes.
PROBE_STALL: float | None = 0.25


def solve(
    instance: Instance,
    objective: Objective,
    *,
    time_limit: float,
    workers: int,
    seed: int,
    hint: Schedule,
    progress: Progress | None = None,
    parameters: Mapping[str, Any] | None = None,
    cumulative: bool = False,
    probe: bool = True,
    floor_probe: bool = True,
    fixed: Mapping[str, float] | None = None,
    latest_end: float | None = None,
    pool: bool = POOL,
) -> Result:
    """Minimise ``objective`` (lexicographically) with CP-SAT; see the module docstring.

    ``parameters`` are raw CP-SAT ``SatParameters`` fields (e.g. ``{"linearization_level": 2}``);
    ``cumulative`` adds the redundant task cumulative constraints (C9); ``probe`` enables the
    feasibility probes of :func:`_minimise` for the components in :data:`PROBED`, and with
    ``floor_probe`` the probe at the bound for those in :data:`FLOOR_PROBED`; ``fixed``
    and ``latest_end`` frame a window of a larger schedule (C13, see :class:`CpsatModel`);
    ``pool`` models identical processors as one cumulative each (:mod:`.pools`).
    """
    started = time.perf_counter()
    model = CpsatModel(
        instance,
        objective,
        hint,
        cumulative=cumulative,
        fixed=fixed,
        latest_end=latest_end,
        pool=pool,
    )
    stages = _Stages(
        model,
        workers=workers,
        seed=seed,
        parameters=parameters,
        probe=probe,
        floor_probe=probe and floor_probe,
    )
    result = minimise_lexicographic(
        instance,
        objective,
        stages,
        solver="cpsat",
        time_limit=time_limit,
        hint=hint,
        progress=progress,
        started=started,
    )
    result.stats.update(
        horizon_ms=model.win.to_ms(model.win.horizon),
        unit_ms=model.win.scale.unit_ms,
        pools=[list(ms) for ms in model.pools.members.values() if len(ms) > 1],
    )
    return result


class _Stages:
    """The CP-SAT model as a :class:`~rtgen_opt.exact.lexicographic.StageModel`."""

    def __init__(
        self,
        model: CpsatModel,
        *,
        workers: int,
        seed: int,
        parameters: Mapping[str, Any] | None,
        probe: bool,
        floor_probe: bool,
    ) -> None:
        self.model = model
        self.run = dict(workers=workers, seed=seed, parameters=parameters)
        self.probe = probe
        self.floor_probe = floor_probe

    def minimise(
        self,
        k: int,
        *,
        time_limit: float,
        hint: Schedule,
        progress: Progress | None,
        floor: float = -math.inf,
    ) -> Stage:
        model = self.model
        term = model.terms[k]
        model.set_hint(hint)
        at_floor = None
        if self.floor_probe and term.name in FLOOR_PROBED and math.isfinite(floor):
            # In model integers, rounded up with a slack relative to its size: a floor one too
            # high would let the probe call a schedule one above the optimum optimal.
            x = (floor - term.offset) / float(term.factor)
            at_floor = math.ceil(x - 1e-6 * max(1.0, abs(x)))
        found = _minimise(
            model,
            k,
            time_limit=time_limit,
            progress=progress,
            probe=self.probe and term.name in PROBED,
            floor=at_floor,
            **self.run,
        )
        has = found.schedule is not None
        return Stage(
            status=found.status,
            schedule=found.schedule,
            value=term.value(found.value) if has else None,
            bound=term.value(found.bound) if found.bound is not None else None,
            stats=dict(found.stats),
            interrupted=found.interrupted,
        )

    def fix(self, k: int, value: float, *, proven: bool) -> None:
        term = self.model.terms[k]
        self.model.fix(k, round((value - term.offset) / float(term.factor)), proven=proven)


def _minimise(
    model: CpsatModel,
    k: int,
    *,
    time_limit: float,
    workers: int,
    seed: int,
    progress: Progress | None,
    parameters: Mapping[str, Any] | None,
    probe: bool,
    floor: int | None = None,
) -> StageResult:
    """Minimise component ``k``: optimise, then probe between bound and incumbent, then optimise.

    With ``floor`` (a proven lower bound of ``z_k``, model integers) a probe ``z_k <= floor``
    runs first, for at most ``FLOOR_SHARE`` of the time: feasible is the optimum (the bound is
    met); infeasible proves ``floor + 1``, and the search goes on above it; undecided leaves
    the rest of the time to the search (:func:`_at_floor`).

    Without ``probe`` one optimisation run. With it ("destructive lower bounding", from the
    top): the optimiser runs until, after ``PROBE_AFTER`` of the time, the gap is small or the
    incumbent has stalled (``PROBE_STALL``), or to the end if neither happens; while the gap
    is small (``PROBE_GAP``), or after a stall, feasibility probes
    (:meth:`CpsatModel.probe`) ask for a schedule with ``z_k <= t`` at targets chosen by
    :func:`next_probe` -- galloping down from the incumbent (``z - 1``, ``z - 2``, ``z - 4``,
    ...) until a probe is infeasible, then bisecting between bound and incumbent; infeasible
    at ``t`` proves ``t + 1`` a bound, feasible improves the incumbent (to at most ``t``). An
    undecided probe stops probing, and the optimiser continues from the best schedule with the
    proven bound for the time left. Every probe's outcome is in ``stats["probes"]``.
    """
    started = time.perf_counter()
    run = dict(workers=workers, seed=seed, progress=progress, parameters=parameters)
    if floor is not None:
        early = _at_floor(model, k, floor, time_limit=time_limit, **run)
        if early.status == "optimal" or early.interrupted:
            return early
        time_limit = max(0.0, time_limit - early.stats["floor_probe"]["wall_s"])
        rest = _minimise(model, k, time_limit=time_limit, probe=probe, **run)
        known = [b for b in (early.bound, rest.bound) if b is not None]
        bound = max(known) if known else None
        if rest.value is not None and bound is not None and rest.value <= bound:
            status = "optimal"
        else:
            status = rest.status
        stats = {**rest.stats, **early.stats}
        return StageResult(status, rest.value, bound, rest.schedule, stats, rest.interrupted)
    if not probe:
        return model.solve_stage(k, time_limit=time_limit, **run)

    def small_gap(value: int, bound: int) -> bool:
        return value - bound <= PROBE_GAP * max(1, abs(value))

    # Not on a classic job shop, whose probes the gap rule starts well enough: there a probe
    # after a stall cost Taillard ta04 its proof time (52 s against 23 s, one seed).
    stall = None if model.job_shop else PROBE_STALL
    # The incumbent's value and when the optimiser found it (as the watchdog saw it).
    seen: dict[str, Any] = {"value": None, "at": 0.0, "stalled": False}

    def stalled(elapsed: float, value: int) -> bool:
        if value != seen["value"]:
            seen["value"], seen["at"] = value, elapsed
        age = elapsed - seen["at"]
        return stall is not None and age >= max(stall * time_limit, seen["at"])

    def ready(elapsed: float, value: int, bound: int) -> bool:
        late = stalled(elapsed, value)  # always: it tracks the incumbent
        if elapsed < PROBE_AFTER * time_limit:
            return False
        if small_gap(value, bound):
            return True
        seen["stalled"] = late
        return late

    # The optimiser runs until the gap is small after PROBE_AFTER of the time (a watchdog
    # stops it then), else to the end: where probing would not start it is not interrupted.
    first = model.solve_stage(k, time_limit=time_limit, stop_when=ready, **run)
    if first.status != "feasible" or first.interrupted:
        return first
    term = model.terms[k]
    value, bound, schedule = first.value, first.bound, first.schedule
    probes: list[dict[str, Any]] = []
    stats = {**first.stats, "probes": probes}
    interrupted = False
    step = 1  # galloping step; 0 once a probe was infeasible (bisection)

    def left() -> float:
        return time_limit - (time.perf_counter() - started)

    while value > bound and (small_gap(value, bound) or seen["stalled"]) and left() > 0.5:
        limit = left() * PROBE_SHARE
        target = next_probe(value, bound, step)
        found = model.probe(
            k, target, time_limit=limit, workers=workers, seed=seed, parameters=parameters
        )
        probes.append({**found.stats, "outcome": found.status})
        if found.status == "infeasible":
            bound, step = target + 1, 0
        elif found.status == "feasible":
            value, schedule = found.value, found.schedule
            step = 2 * step
        else:
            # Undecided well before its limit: Ctrl-C (CP-SAT caught SIGINT).
            interrupted = stopping.requested() or cut_short(
                found.stats["wall_s"], limit, found.stats
            )
            break
        if progress is not None:
            try:
                progress(time.perf_counter() - started, term.value(value), term.value(bound))
            except KeyboardInterrupt:
                interrupted = True
                break
    if value > bound and not interrupted and left() > 0.5:
        # Continue optimising from the best schedule, with the bound proven so far.
        model.set_hint(schedule)
        model.model.Add(term.expr >= bound)
        last = model.solve_stage(k, time_limit=left(), **run)
        stats["continued"] = last.stats
        interrupted = last.interrupted
        if last.value is not None and last.value < value:
            value, schedule = last.value, last.schedule
        if last.bound is not None:
            bound = max(bound, last.bound)
    bound = min(bound, value)
    status = "optimal" if value <= bound else "feasible"
    stats.update(objective_int=value, bound_int=bound, status=status.upper())
    return StageResult(status, value, bound, schedule, stats, interrupted)


def _at_floor(
    model: CpsatModel,
    k: int,
    floor: int,
    *,
    time_limit: float,
    workers: int,
    seed: int,
    progress: Progress | None,
    parameters: Mapping[str, Any] | None,
) -> StageResult:
    """The probe ``z_k <= floor`` of :func:`_minimise`, for ``FLOOR_SHARE`` of ``time_limit``.

    Feasible: ``"optimal"`` with its schedule (``floor`` is a lower bound). Infeasible:
    ``"unknown"`` with bound ``floor + 1``, which the model then keeps (``z_k >= floor + 1``).
    Undecided: ``"unknown"`` without a bound. The symmetry breaking (C12) is left out in a
    window of a larger schedule, where the fixed tasks can tell interchangeable jobs apart.
    """
    limit = FLOOR_SHARE * time_limit
    found = model.probe(
        k,
        floor,
        time_limit=limit,
        workers=workers,
        seed=seed,
        parameters=parameters,
        symmetry=not model.framed,
    )
    stats: dict[str, Any] = {"floor_probe": {**found.stats, "outcome": found.status}}
    interrupted = stopping.requested()
    if found.status == "feasible":
        term = model.terms[k]
        if progress is not None:
            value = term.value(found.value)
            try:
                progress(found.stats["wall_s"], value, value)
            except KeyboardInterrupt:
                interrupted = True
        stats.update(objective_int=found.value, bound_int=found.value, status="OPTIMAL")
        return StageResult("optimal", found.value, found.value, found.schedule, stats, interrupted)
    if found.status == "infeasible":
        # A bound of this stage's model (the earlier components as fixed), kept in it.
        model.model.Add(model.terms[k].expr >= floor + 1)
        return StageResult("unknown", None, floor + 1, None, stats, interrupted)
    # Undecided well before its limit, with no limit of the caller's that could explain it:
    # Ctrl-C (CP-SAT caught SIGINT).
    limited = any(key.startswith("max_") for key in (parameters or {}))
    early = cut_short(found.stats["wall_s"], limit, found.stats) and not limited
    return StageResult("unknown", None, None, None, stats, interrupted or early)


def next_probe(value: int, bound: int, step: int) -> int:
    """The target ``t`` of the next probe ``z <= t``, for ``bound < value``.

    Galloping (``step > 0``): ``value - step``, never below ``bound``; bisection (``step``
    0, after an infeasible probe): the middle of ``[bound, value - 1]``. Either way a probe
    decides at least one value, and the number of probes to close a gap ``g`` is ``O(log g)``.

    >>> [next_probe(100, 0, s) for s in (1, 2, 4, 128)], next_probe(100, 90, 0)
    ([99, 98, 96, 0], 94)
    """
    if step > 0:
        return max(bound, value - step)
    return (bound + value - 1) // 2
