"""Objectives, defined once, on a schedule: what every solver minimises and every report measures.

The exact models minimise exactly these quantities; after a solve, the reported objective is
recomputed here from the validated schedule, never taken from the solver.

=========== =====================================================================================
name        value of a schedule (ms, mJ or weighted counts)
=========== =====================================================================================
misses      sum of the weights of jobs that miss: a job with a deadline misses when its last task
            ends more than :data:`~rtgen_opt.validate.TOLERANCE_MS` after it, or when it is
            dropped. Jobs without a deadline never miss. (The default objective.)
tardiness   sum over jobs that ran of weight x max(0, completion - deadline). A dropped job adds
            nothing here (it is counted by ``misses``), so in ``drop`` mode use it after misses.
ttft        sum over LLM requests of (end of the last prefill task - arrival).
makespan    the latest end of any task.
energy      energy above idle, mJ: sum over tasks of (active_w - idle_w) of their processor x
            duration. The idle floor (sum of idle_w x window) is the same for every schedule over
            a fixed window; metrics add it back.
=========== =====================================================================================

A lexicographic objective is a comma-separated list, e.g. ``"misses,tardiness"``: minimise the
first, then the second among schedules optimal for the first.
"""

from __future__ import annotations

from collections.abc import Sequence

from rtgen_opt.errors import SpecError
from rtgen_opt.instance import Instance
from rtgen_opt.schedule import Schedule

OBJECTIVES = ("misses", "tardiness", "ttft", "makespan", "energy")
DEFAULT_OBJECTIVE = "misses"
MISS_TOLERANCE_MS = 1e-6


def parse_objective(objective: str | Sequence[str]) -> tuple[str, ...]:
    """``"misses,tardiness"`` or ``["misses", "tardiness"]`` -> ``("misses", "tardiness")``.

    Raises
    ------
    SpecError
        For an unknown or repeated name, or an empty list.
    """
    names = (
        [s.strip() for s in objective.split(",")] if isinstance(objective, str) else list(objective)
    )
    if not names or any(not n for n in names):
        raise SpecError(None, "objective", f"expected one or more of {', '.join(OBJECTIVES)}")
    for n in names:
        if n not in OBJECTIVES:
            raise SpecError(
                None,
                "objective",
                f"unknown objective {n!r}; expected one of {', '.join(OBJECTIVES)}",
            )
    if len(set(names)) != len(names):
        raise SpecError(None, "objective", f"objective {objective!r} repeats a name")
    return tuple(names)


def job_completions(instance: Instance, schedule: Schedule) -> dict[str, float | None]:
    """Completion time of every job (``None`` for a dropped job or one with no placed task)."""
    out: dict[str, float | None] = {}
    placements = schedule.placements
    for jid, job in instance.jobs.items():
        if jid in schedule.dropped:
            out[jid] = None
            continue
        ends = [placements[t].end for t in job.tasks if t in placements]
        out[jid] = max(ends) if ends else None
    return out


def missed_jobs(instance: Instance, schedule: Schedule) -> set[str]:
    """Ids of the jobs that miss (dropped, or late beyond the tolerance)."""
    missed = set()
    for jid, end in job_completions(instance, schedule).items():
        deadline = instance.jobs[jid].deadline
        if deadline is None:
            continue
        if end is None or end > deadline + MISS_TOLERANCE_MS:
            missed.add(jid)
    return missed


def objective_value(instance: Instance, schedule: Schedule, name: str) -> float:
    """The value of one objective (see the module docstring) for a schedule."""
    jobs = instance.jobs
    if name == "misses":
        return float(sum(jobs[j].weight for j in missed_jobs(instance, schedule)))
    if name == "tardiness":
        total = 0.0
        for jid, end in job_completions(instance, schedule).items():
            job = jobs[jid]
            if end is not None and job.deadline is not None and end > job.deadline:
                total += job.weight * (end - job.deadline)
        return total
    if name == "ttft":
        total = 0.0
        for req in instance.requests.values():
            ends = [
                schedule.placements[t].end for t in req.prefill_tasks if t in schedule.placements
            ]
            total += (max(ends) if ends else req.arrival) - req.arrival
        return total
    if name == "makespan":
        return schedule.makespan
    if name == "energy":
        procs = instance.platform.by_name
        return sum(
            (procs[pl.processor].active_w - procs[pl.processor].idle_w) * (pl.end - pl.start)
            for pl in schedule.placements.values()
        )
    raise SpecError(None, "objective", f"unknown objective {name!r}")


def objective_values(
    instance: Instance, schedule: Schedule, objective: str | Sequence[str]
) -> tuple[float, ...]:
    """Values of a (lexicographic) objective, one per component."""
    return tuple(objective_value(instance, schedule, n) for n in parse_objective(objective))
