"""``rtgen_opt.solve``: the one front door to the exact answer, whatever the instance's size.

It sits above :mod:`rtgen_opt.exact` and :mod:`rtgen_opt.online`, so it can do what neither
does alone:

1. **Start from the best schedule there is.** Every built-in online policy is replayed, the
   list schedule is built, and the caller's hints are checked; the best of them (by the
   objective, lexicographically) is the start. The exact result is never worse than any of
   them, and it never depends on which policies a caller happened to run beside it. Where the
   decomposition runs on an instance with lane plans (:func:`rtgen_opt.exact.lanes.roles`: an
   LLM's prefill and decode fastest on two accelerators that the short streams need) and the
   objective is ``misses``, the lane timeline (:mod:`rtgen_opt.exact.timeline`: the LLM placed
   by a simulation in which the two accelerators take turns at it) adds its schedule within
   :data:`TIMELINE_SHARE` of the limit (game_npc_heavy_4s: 0 misses, proven at once without a
   model; game_npc_heavy_60s: about 300), and nothing else is searched for a start. Elsewhere
   where the decomposition runs, the affinity search (:mod:`rtgen_opt.exact.affinity`: which
   processor kinds each stream may use) adds its schedule within :data:`AFFINITY_SHARE` of the
   limit (:data:`AFFINITY_SHARE_LANES` where there are lane plans); under load it is usually
   the best start, and when it meets the solver-free bound the answer is proven without a
   model. Then, within
   :data:`DEFERRAL_SHARE` (:data:`DEFERRAL_SHARE_LANES`), the deferral search
   (:mod:`rtgen_opt.exact.deferral`) picks which LLM requests to serve in the background,
   first on the lane plans (:mod:`rtgen_opt.exact.lanes`: pinnings that trade two
   accelerators' roles as LLM requests come; game_npc_heavy_60s: 421 for misses), then on the
   affinity's pinning (719 -> 483 there).
   Where no start meets the solver-free bound, the fluid window bound
   (:mod:`rtgen_opt.exact.fluid`, an LP per time window) raises it (game_npc_heavy_60s: 0 -> 89).
2. **Pick the method by size** (``method="auto"``): the monolithic model
   (:func:`rtgen_opt.exact.solve.solve`, any backend) up to :data:`MONOLITHIC_TASKS` tasks,
   where it proves optima; beyond, the decomposition (:func:`rtgen_opt.exact.decompose.
   solve_decomposed`: window search for the incumbent, groups solved alone for the bound).
   ``method="monolithic"`` or ``"decompose"`` overrides.
3. **Keep one time limit** for all of it (one :class:`~rtgen_opt.stopping.Deadline`; each
   phase gets only what is left): the starting schedules stop being built after
   :data:`START_SHARE` of the limit (the list schedule's first rule always runs), the
   solver-free bound is computed once, and when the best start already meets it the start is
   returned proven without building any model. ``stats["phases"]`` says how long each phase
   took (``starts``, ``bound``, ``search``, ``finish``), ``stats["starts_skipped"]`` which
   policies the deadline left out, ``stats["model_built"]`` whether a model was built.

The result's ``stats`` and its schedule's provenance say which method ran (``method``), and for
the decomposition how many groups there were and how many were proven.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from rtgen_opt import stopping
from rtgen_opt.errors import ArgumentError, RtgenError
from rtgen_opt.exact import DEFAULT_SOLVER, affinity, check_solver, deferral, lanes, timeline
from rtgen_opt.exact.bounds import combinatorial_bounds
from rtgen_opt.exact.decompose import solve_decomposed
from rtgen_opt.exact.fluid import fluid_bound
from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.result import Result, SolveStatus
from rtgen_opt.exact.solve import finish
from rtgen_opt.exact.solve import solve as solve_monolithic
from rtgen_opt.exact.windows import Windows, windows
from rtgen_opt.grid import leq
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import DEFAULT_OBJECTIVE, Objective, ObjectiveLike
from rtgen_opt.online import builtin_policies, replay
from rtgen_opt.schedule import Schedule
from rtgen_opt.stopping import Deadline
from rtgen_opt.validate import check

#: The monolithic model up to this many tasks (it proves the shipped medium scenarios, about
#: 1,000 tasks, in seconds; at 2,344 tasks of game_npc_heavy_4s it improved the list schedule
#: by 4% in 300 s, where the decomposition halves the misses in 60 s).
MONOLITHIC_TASKS = 1500
METHODS = ("auto", "monolithic", "decompose")
#: Share of the time limit after which no further starting schedule is built.
START_SHARE = 0.25
#: Share of the time limit by which the lane timeline's search (:mod:`rtgen_opt.exact.timeline`)
#: ends, where there are lane plans and the objective counts misses; it then replaces the
#: affinity and deferral searches (game_npc_heavy_60s: 313 misses after its first climb, in
#: about 90 s, where those two ended at 421 after 360 s), and the window search gets the rest.
TIMELINE_SHARE = 0.6
#: Share of the time limit the affinity search may use (it runs beyond the others' start share:
#: on the heavy instances it is worth more than the window search's time).
AFFINITY_SHARE = 0.6
#: ...and where there are lane plans (:func:`rtgen_opt.exact.lanes.roles`), which the deferral
#: search runs on first and which beat the affinity's pinning under load (game_npc_heavy_60s:
#: 428 and 421 on the two plans, 483 on the affinity's pinning; each search takes 90-110 s).
AFFINITY_SHARE_LANES = 0.25
#: Share of the time limit by which the deferral search (after the affinity search) ends...
DEFERRAL_SHARE = 0.85
#: ...and where there are lane plans: the window search, which pulls the deferred requests'
#: late decode blocks back where it can (:data:`rtgen_opt.exact.window_search.PULL`), gets
#: the time the deferral search on the affinity's pinning would (it does not beat the plans).
DEFERRAL_SHARE_LANES = 0.6
#: Share of the time limit the fluid window bound may use, after the starts, where the
#: decomposition runs and no start meets the solver-free bound (on a 2-core machine it takes
#: 23 s on game_npc_heavy_15s, 41 s on game_npc_heavy_60s).
FLUID_SHARE = 0.15
#: Share of the time limit (at most 1 s) kept for checking the search's schedule.
FINISH_SHARE = 0.05
#: No search (no model is built) when less than this many seconds are left for it.
MIN_SEARCH_S = 0.1

#: ``progress(elapsed_s, objective, bound[, note])`` in the first component's units.
Progress = Callable[..., None]


def candidates(
    instance: Instance,
    objective: Objective,
    hints: Sequence[Schedule] = (),
    *,
    until: float | None = None,
    win: Windows | None = None,
    skipped: list[str] | None = None,
    timeline_until: float | None = None,
    seed: int = 0,
    affinity_until: float | None = None,
    deferral_until: float | None = None,
    roles: lanes.Roles | None = None,
    target: float | None = None,
    stop: threading.Event | None = None,
    stats: dict[str, Any] | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> list[tuple[tuple[float, ...], str, Schedule]]:
    """``(values, name, schedule)`` of every starting schedule, best first: the caller's
    ``hints`` (validated), the list schedule and every built-in policy's replay (noise 0);
    with ``timeline_until`` and ``roles`` the lane timeline's (:mod:`rtgen_opt.exact.timeline`,
    searched until that time or until it meets ``target``, its kicks seeded by ``seed``;
    ``stats["timeline"]``); with ``affinity_until``, unless a start meets ``target``, the
    affinity search's schedule (:mod:`rtgen_opt.exact.affinity`,
    searched until that time or until it meets ``target``; what it found goes in
    ``stats["affinity"]``; ``progress(best value so far, note)`` follows it), then with
    ``deferral_until`` the deferral search's (:mod:`rtgen_opt.exact.deferral`: which LLM
    requests to serve in the background; on the lane plans of ``roles``, if any, and on the
    affinity's pinning; ``stats["deferral"]``) unless a start already meets ``target``.

    After the :func:`time.perf_counter` time ``until`` nothing more is built (the hints and
    the list schedule's first rule always are, so there is at least one); the names of the
    policies left out are appended to ``skipped``.
    """
    out = []
    for k, hint in enumerate(hints):
        check(instance, hint)
        out.append((objective.values(instance, hint), f"hint{k}", hint))
    listed = list_schedule(instance, objective, win=win, until=until)
    out.append((objective.values(instance, listed), str(listed.provenance["method"]), listed))
    for name in builtin_policies():
        if (until is not None and time.perf_counter() >= until) or _stopped(stop):
            if skipped is not None:
                skipped.append(name)
            continue
        try:
            schedule = replay(instance, name)
        except RtgenError:  # pragma: no cover - a built-in policy that cannot run here
            continue
        out.append((objective.values(instance, schedule), name, schedule))
    if timeline_until is not None and roles is not None and not _stopped(stop):
        start = min(c[0][0] for c in out)  # the best start so far, for the progress line
        built = timeline.search(
            instance,
            objective,
            roles,
            win=win,
            until=timeline_until,
            stop=stop,
            target=target,
            seed=seed,
            on_score=(
                None
                if progress is None
                else lambda n, misses: progress(
                    min(misses, start), f"lane timeline: {n} simulations"
                )
            ),
        )
        check(instance, built.schedule)
        out.append((built.values, "lane-timeline", built.schedule))
        if stats is not None:
            stats["timeline"] = {
                "value": built.values,
                "shed": len(built.shed),
                "lead_ms": built.lead,
                "batch": built.batch,
                "simulated": built.simulated,
                "seconds": round(built.seconds, 3),
            }
    found = None
    if affinity_until is not None and not _meets(out, target) and not _stopped(stop):
        best = min(c[0][0] for c in out)

        def scored(n: int, _: tuple[float, ...]) -> None:
            if progress is not None:
                progress(best, f"affinity search: {n} pinnings scored")

        found = affinity.search(
            instance, objective, until=affinity_until, target=target, stop=stop, on_score=scored
        )
        if found is not None:
            check(instance, found.schedule)
            out.append((found.values, "affinity", found.schedule))
            if stats is not None:
                stats["affinity"] = {
                    "classes": found.affinity,
                    "pinned": found.pinned,
                    "value": found.values,
                    "scored": found.scored,
                    "seconds": round(found.seconds, 3),
                }
    out.sort(key=lambda c: (c[0], c[1]))
    closed = _meets(out, target)
    if deferral_until is not None and not closed:
        pinned = instance if found is None else affinity.restricted(instance, found.affinity)
        kept = _deferred(
            instance, pinned, roles, objective, deferral_until, stop, progress, out[0][0][0]
        )
        if kept is not None:
            out.append((kept[0], "deferral", kept[1]))
            out.sort(key=lambda c: (c[0], c[1]))
            if stats is not None:
                stats["deferral"] = kept[2]
    return out


def _meets(out: list[tuple[tuple[float, ...], str, Schedule]], target: float | None) -> bool:
    """Whether a start of ``out`` meets ``target`` (nothing can beat it)."""
    return target is not None and leq(min(c[0][0] for c in out), target)


def _stopped(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


def _deferred(
    instance: Instance,
    pinned: Instance,
    roles: lanes.Roles | None,
    objective: Objective,
    until: float,
    stop: threading.Event | None,
    progress: Callable[[float, str], None] | None,
    incumbent: float,
) -> tuple[tuple[float, ...], Schedule, dict[str, Any]] | None:
    """The best deferral search (:mod:`rtgen_opt.exact.deferral`) while time is left: with the
    first rule of :data:`deferral.RULES` on each lane plan of ``roles``
    (:mod:`rtgen_opt.exact.lanes`), then with each rule on ``pinned`` (the instance as the
    affinity search restricted it). Its values, its schedule (validated on ``instance``) and
    its stats. Progress shows the better of ``incumbent`` (the best start's value) and the
    search's."""
    lengths = lanes.lengths(instance, roles) if roles is not None else ()
    first = deferral.RULES[0]
    runs = [(f"lanes {length:.0f} ms", length, first) for length in lengths]
    runs += [("affinity", None, rule) for rule in deferral.RULES]
    best = None
    for name, length, rule in runs:
        if time.perf_counter() >= until or _stopped(stop):
            break
        # a plan is built only when its turn comes (each is a copy of the instance)
        plan = pinned if length is None else lanes.planned(instance, length, roles)

        def scored(n: int, value: tuple[float, ...], rule: str = rule, name: str = name) -> None:
            if progress is not None:
                note = f"deferral search ({rule}, {name}): {n} list schedules"
                progress(min(incumbent, value[0]), note)

        found = deferral.search(plan, objective, rule=rule, until=until, stop=stop, on_score=scored)
        if found is None:
            break
        check(instance, found.schedule)
        values = objective.values(instance, found.schedule)
        if best is None or values < best[0]:
            best = (
                values,
                found.schedule,
                {
                    "rule": rule,
                    "pinning": name,
                    "requests": len(found.deferred),
                    "value": values,
                    "scored": found.scored,
                    "seconds": round(found.seconds, 3),
                },
            )
    return best


def choose_method(instance: Instance, objective: Objective, solver: str, method: str) -> str:
    """``monolithic`` or ``decompose`` for ``method`` (see the module docstring)."""
    if method not in METHODS:
        raise ArgumentError("method", f"expected one of {', '.join(METHODS)}, got {method!r}")
    decomposable = objective.first.additive or objective.first.name == "makespan"
    if method == "auto":
        big = len(instance.tasks) > MONOLITHIC_TASKS
        return "decompose" if big and decomposable and solver == "cpsat" else "monolithic"
    if method == "decompose":
        if solver != "cpsat":
            raise ArgumentError("method", f"the decomposition runs on cpsat, not {solver!r}")
        if not decomposable:
            raise ArgumentError(
                "method", f"no decomposition bound for the objective {objective.first.name!r}"
            )
    return method


def solve(
    instance: Instance,
    objective: ObjectiveLike = DEFAULT_OBJECTIVE,
    solver: str = DEFAULT_SOLVER,
    *,
    method: str = "auto",
    time_limit: float = 10.0,
    workers: int = 2,
    seed: int = 0,
    hint: Schedule | Sequence[Schedule] | None = None,
    progress: Progress | None = None,
    scheduler: Any = None,
    stop: threading.Event | None = None,
    **options: Any,
) -> Result:
    """The optimum of ``instance`` (or the best schedule with a certified gap) in ``time_limit``.

    Parameters
    ----------
    instance
        The instance.
    objective
        ``misses`` (default), ``tardiness``, ``ttft``, ``makespan``, ``energy`` or a
        lexicographic list such as ``"misses,tardiness"`` (see :mod:`rtgen_opt.objectives`).
    solver
        An exact backend of :data:`rtgen_opt.exact.BACKENDS` (``cpsat``, ``milp-cbc``,
        ``milp-highs``); the decomposition runs on ``cpsat``.
    method
        ``auto`` (by size, see the module docstring), ``monolithic`` or ``decompose``.
    time_limit
        Wall-clock seconds for the whole call: replays, list schedule, model building, search.
    workers
        Solver threads (and, for the decomposition's group bounds, local processes).
    seed
        Solver random seed.
    hint
        Schedules to start from besides the built-in ones (each must pass the validator).
    progress
        Called as ``progress(elapsed_s, objective, bound)`` (the decomposition adds a note).
    scheduler
        A Dask scheduler address or ``distributed.Client``: the decomposition's group bounds
        run on that cluster.
    stop
        Set it to stop the search and return the best schedule so far (default: the process's
        stop request, :mod:`rtgen_opt.stopping`, which the CLI sets on SIGINT and SIGTERM).
    **options
        Backend options of the monolithic model (e.g. raw CP-SAT ``parameters={...}``).

    Returns
    -------
    Result
        As :func:`rtgen_opt.exact.solve.solve`; ``stats["method"]`` is the method that ran and
        ``stats["start"]`` the starting schedule's name.

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> g.add_node("a", durations={"m0": 3.0, "m1": 5.0}, deadline=3.0)
    >>> g.add_node("b", durations={"m0": 2.0, "m1": 4.0}, deadline=4.0)
    >>> r = solve(Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"])))
    >>> str(r.status), r.objective, r.stats["method"]
    ('optimal', (0.0,), 'monolithic')
    """
    started = time.perf_counter()
    if not (isinstance(time_limit, (int, float)) and time_limit > 0 and time_limit < float("inf")):
        raise ArgumentError("time_limit", f"expected seconds > 0, got {time_limit!r}")
    if not (isinstance(workers, int) and workers >= 1):
        raise ArgumentError("workers", f"expected an integer >= 1, got {workers!r}")
    deadline = Deadline(time_limit, started=started)
    parsed = Objective.parse(objective)
    check_solver(solver)
    chosen = choose_method(instance, parsed, solver, method)
    stop = stop or stopping.event()
    hints = [] if hint is None else [hint] if isinstance(hint, Schedule) else list(hint)
    skipped: list[str] = []
    found: dict[str, Any] = {}
    with deadline.phase("bound"):
        win = windows(instance)
        cheap = combinatorial_bounds(instance, parsed, win=win)["bound"]
    roles = lanes.roles(instance) if chosen == "decompose" else None
    timed = roles is not None and parsed.first.name == "misses" and TIMELINE_SHARE > 0
    if timed:  # the lane timeline's search instead of the affinity and deferral searches
        affinity_share = deferral_share = 0.0
    elif roles is not None:
        affinity_share, deferral_share = AFFINITY_SHARE_LANES, DEFERRAL_SHARE_LANES
    else:
        affinity_share, deferral_share = AFFINITY_SHARE, DEFERRAL_SHARE
    with deadline.phase("starts"):
        ranked = candidates(
            instance,
            parsed,
            hints,
            until=deadline.by(START_SHARE),
            win=win,
            skipped=skipped,
            timeline_until=deadline.by(TIMELINE_SHARE) if timed else None,
            seed=seed,
            affinity_until=(
                deadline.by(affinity_share) if chosen == "decompose" and affinity_share else None
            ),
            deferral_until=(
                deadline.by(deferral_share) if chosen == "decompose" and deferral_share else None
            ),
            roles=roles,
            target=cheap if len(parsed) == 1 else None,
            stop=stop,
            stats=found,
            progress=(
                None
                if progress is None
                else lambda v, note: progress(time.perf_counter() - started, v, cheap, note)
            ),
        )
    start_values, start_name, start = ranked[0]
    closed = len(parsed) == 1 and leq(start_values[0], cheap)
    fluid_due = chosen == "decompose" and parsed.first.name == "misses" and FLUID_SHARE > 0
    if fluid_due and not closed and not stop.is_set():
        # The fluid window bound (an LP per window: what the heterogeneous processors can do
        # there; game_npc_heavy_60s: 67 where the bound above is 0), where no start meets it.
        with deadline.phase("bound"):
            until = min(time.perf_counter() + FLUID_SHARE * time_limit, deadline.by(1.0))
            fluid = fluid_bound(instance, win, until=until)
        cheap = max(cheap, fluid.bound)
        closed = len(parsed) == 1 and leq(start_values[0], cheap)
        found["fluid"] = {
            "bound": fluid.bound,
            "windows": len(fluid.windows),
            "solved": fluid.solved,
            "seconds": round(fluid.seconds, 3),
        }
    out_of_time = deadline.left(reserve=_finish_reserve(time_limit)) < MIN_SEARCH_S
    built = not (closed or stop.is_set() or out_of_time)
    if not built:
        # The best start meets the solver-free bound (it is optimal: no model is built), or a
        # stop came while the starts were built, or they used up the time: the best start,
        # with its bound.
        status = SolveStatus.OPTIMAL if closed else SolveStatus.FEASIBLE
        stats: dict[str, Any]
        if closed:  # labelled the backend's answer, as when the bound closes one of its stages
            stats = {"closed_by": "combinatorial bound"}
        elif stop.is_set():
            stats = {"schedule_from": "hint", "interrupted": True}
        else:
            stats = {"schedule_from": "hint", "search_skipped": "deadline"}
        empty = Result(status, start_values, None, 0.0, start, solver, parsed.names, stats)
        with deadline.phase("finish"):
            result = finish(instance, parsed, solver, empty, start, cheap=cheap)
    else:
        with deadline.phase("search"):
            left = max(0.01, deadline.left(reserve=_finish_reserve(time_limit)))
            if chosen == "monolithic":
                result = solve_monolithic(
                    instance,
                    parsed,
                    solver,
                    time_limit=left,
                    workers=workers,
                    seed=seed,
                    hint=start,
                    progress=progress,
                    **options,
                )
            else:
                result = solve_decomposed(
                    instance,
                    parsed,
                    start,
                    time_limit=left,
                    workers=workers,
                    seed=seed,
                    scheduler=scheduler,
                    progress=progress,
                    stop=stop,
                    cheap=cheap,
                )
        if chosen != "monolithic":
            with deadline.phase("finish"):
                result = finish(instance, parsed, "cpsat", result, cheap=cheap)
    stats = {
        **result.stats,
        "method": chosen,
        "start": start_name,
        "start_value": start_values,
        "starts_skipped": skipped,
        **found,
        "model_built": built,
        "phases": dict(deadline.phases),
    }
    schedule = result.schedule.with_provenance(solve_method=chosen) if result.schedule else None
    return replace(result, stats=stats, schedule=schedule, runtime=time.perf_counter() - started)


def _finish_reserve(time_limit: float) -> float:
    """Seconds kept back from the search for validating and re-evaluating its schedule."""
    return min(FINISH_SHARE * time_limit, 1.0)
