"""The one validator: checks any schedule against its instance, independent of who made it.

It knows nothing of solvers or policies. It returns *every* violation it finds, each naming the
tasks involved, so a broken schedule can be diagnosed in one pass.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from rtgen_opt.errors import InvalidScheduleError
from rtgen_opt.grid import TOLERANCE
from rtgen_opt.instance import Instance
from rtgen_opt.schedule import Schedule

VIOLATION_KINDS = (
    "unknown_task",  # the schedule places a task the instance does not have
    "missing_task",  # a task of a job that was not dropped is not placed
    "wrong_processor",  # placed on a processor that cannot run it
    "wrong_duration",  # end - start differs from the task's duration on that processor
    "early_start",  # starts before its release
    "overlap",  # two tasks overlap on one processor
    "precedence",  # starts before a predecessor's end plus the transfer delay
    "drop",  # inconsistent drops: see validate()
)


@dataclass(frozen=True, slots=True, order=True)
class Violation:
    kind: str
    tasks: tuple[str, ...]
    message: str

    def __str__(self) -> str:
        return f"{self.kind} [{', '.join(self.tasks)}]: {self.message}"


def _tol(*values: float) -> float:
    # TOLERANCE ms, plus the float spacing of large times (ms since the start of a long run).
    return TOLERANCE + 1e-9 * max((abs(v) for v in values), default=0.0)


def validate(instance: Instance, schedule: Schedule) -> list[Violation]:
    """Every way ``schedule`` breaks ``instance``; an empty list means it is valid.

    Checks: each placed task exists, runs on an eligible processor for exactly its duration
    there, starts no earlier than its release; no two tasks overlap on a processor; every edge
    ``u -> v`` with both ends placed has ``start(v) >= end(u) + transfer``; every task of a job
    that is not dropped is placed. Drops are consistent: only in ``drop`` mode, only droppable
    jobs, a dropped job has no placed task, and every job depending on a dropped job is dropped.

    Parameters
    ----------
    instance
        The instance the schedule claims to solve (for a noisy replay, the perturbed instance).
    schedule
        The schedule to check.

    Returns
    -------
    list of Violation
        Sorted by kind, then tasks.

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> g.add_node("a", durations={"m0": 2.0})
    >>> inst = Instance.from_networkx(g, Platform.homogeneous(["m0"]))
    >>> validate(inst, Schedule.build([("a", "m0", 0.0, 2.0)]))
    []
    >>> [v.kind for v in validate(inst, Schedule.build([("a", "m0", 0.0, 3.0)]))]
    ['wrong_duration']
    """
    out: list[Violation] = []
    nodes = instance.graph.nodes
    placements = schedule.placements
    jobs = instance.jobs

    per_proc: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for task, pl in placements.items():
        if task not in nodes:
            out.append(Violation("unknown_task", (task,), "not a task of the instance"))
            continue
        attrs = nodes[task]
        if not (math.isfinite(pl.start) and math.isfinite(pl.end)):
            out.append(
                Violation("wrong_duration", (task,), f"non-finite times {pl.start}..{pl.end}")
            )
            continue
        durations = attrs["durations"]
        if pl.processor not in durations:
            out.append(
                Violation(
                    "wrong_processor",
                    (task,),
                    f"on {pl.processor!r}, eligible: {', '.join(durations)}",
                )
            )
        else:
            expected = durations[pl.processor]
            if abs((pl.end - pl.start) - expected) > _tol(pl.start, pl.end):
                out.append(
                    Violation(
                        "wrong_duration",
                        (task,),
                        f"runs {pl.end - pl.start:.6g} ms on {pl.processor}, expected {expected:.6g}",
                    )
                )
        if pl.start < attrs["release"] - _tol(attrs["release"]):
            out.append(
                Violation(
                    "early_start",
                    (task,),
                    f"starts at {pl.start:.6g} before release {attrs['release']:.6g}",
                )
            )
        per_proc[pl.processor].append((pl.start, pl.end, task))

    for proc in sorted(per_proc):
        intervals = sorted(per_proc[proc])
        busy_until, busy_task = -math.inf, None
        for start, end, task in intervals:
            if start < busy_until - _tol(start, busy_until):
                out.append(
                    Violation(
                        "overlap",
                        (busy_task, task),
                        f"on {proc}: {task} starts at {start:.6g} before {busy_task} ends at {busy_until:.6g}",
                    )
                )
            if end > busy_until:
                busy_until, busy_task = end, task

    for u, v in instance.graph.edges:
        pu, pv = placements.get(u), placements.get(v)
        if pu is None or pv is None:
            continue
        if pu.processor not in nodes[u]["durations"] or pv.processor not in nodes[v]["durations"]:
            continue  # already reported; the transfer between unknown processors is undefined
        ready = pu.end + instance.transfer_ms(u, v, pu.processor, pv.processor)
        if pv.start < ready - _tol(ready):
            out.append(
                Violation(
                    "precedence",
                    (u, v),
                    f"{v} starts at {pv.start:.6g}, {u} ends at {pu.end:.6g} on {pu.processor}"
                    f" and needs until {ready:.6g} to reach {pv.processor}",
                )
            )

    out.extend(_drop_violations(instance, schedule))

    for job in jobs.values():
        if job.id in schedule.dropped:
            continue
        for t in job.tasks:
            if t not in placements:
                out.append(
                    Violation(
                        "missing_task", (t,), f"job {job.id} is not dropped but {t} is not placed"
                    )
                )
    return sorted(out)


def _drop_violations(instance: Instance, schedule: Schedule) -> list[Violation]:
    out: list[Violation] = []
    jobs = instance.jobs
    for jid in sorted(schedule.dropped):
        job = jobs.get(jid)
        if job is None:
            out.append(Violation("drop", (), f"dropped job {jid!r} is not a job of the instance"))
            continue
        if instance.miss_mode != "drop":
            out.append(
                Violation(
                    "drop", job.tasks, f"job {jid} dropped in miss mode {instance.miss_mode!r}"
                )
            )
        elif not job.droppable:
            out.append(Violation("drop", job.tasks, f"job {jid} may not be dropped"))
        placed = tuple(t for t in job.tasks if t in schedule.placements)
        if placed:
            out.append(Violation("drop", placed, f"job {jid} is dropped but has placed tasks"))
        for dep in instance.job_successors[jid]:
            if dep not in schedule.dropped:
                out.append(
                    Violation(
                        "drop",
                        jobs[dep].tasks,
                        f"job {dep} depends on dropped job {jid} but is not dropped",
                    )
                )
    return out


def check(instance: Instance, schedule: Schedule) -> Schedule:
    """Return ``schedule`` unchanged if valid; raise :class:`InvalidScheduleError` otherwise."""
    violations = validate(instance, schedule)
    if violations:
        raise InvalidScheduleError(violations)
    return schedule
