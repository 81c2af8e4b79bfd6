"""Deferral search: which LLM requests to serve in the background when not all can be on time.

Under overload a list schedule by deadline (EDF) falls into the domino effect: every request is
served in turn, each a little late, and each late decode block pushes the next request late too.
A runtime that sees the overload gives up on a few requests -- serves them in whatever time is
left -- and keeps the others on time. This search finds which.

To *defer* a request is to give the rest of it the lowest priority in the list schedule
(:func:`~rtgen_opt.exact.list_schedule.list_schedule`'s ``defer``): its tasks are placed after
every other task, into the gaps that are left. The rest of it is its decode from its first missed
milestone on, or the whole request when its first token is late. Deferring only changes the
order in which the list schedule places tasks, so every schedule it builds is valid; the caller
validates it anyway.

The search sweeps the requests that miss a milestone, in arrival order. A candidate is judged on
the jobs released within :data:`BACK_MS` before its arrival and :data:`AHEAD_MS` after, the
earlier jobs still running at that time fixed where the current schedule has them: list
schedules with and without the deferral are compared there (misses, then weighted tardiness).
Judged locally, one deferral shows what it frees where it matters, where on the whole instance
its effect is lost in every other request's lateness. When a deferral is taken, the schedule of
the whole instance is built again, so the next candidate is judged after it, and that schedule is
kept when it beats the best so far. Sweeps repeat while one takes a deferral that pays, until
the deadline or a stop.

On game_npc_heavy_15s with its affinity, EDF's list schedule misses 342 weighted jobs and the
search brings it to 132, deferring 13 of 48 requests in about 10 s (``bench/results/deferral.md``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.partition import units_of
from rtgen_opt.exact.windows import time_scale, windows
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective, missed_jobs
from rtgen_opt.schedule import Schedule

#: The list rules searched, in turn while time is left (the front door keeps the best): EDF
#: shedding late requests (``edf-shed``) starts lowest and ends lowest on the heavy instances;
#: plain EDF is what falls into the domino effect and gains most; the critical path rule
#: sometimes ends lower where it starts lower.
RULES = ("edf-shed", "edf", "cp")
#: A candidate is judged on the jobs released from this long before its arrival...
BACK_MS = 2000.0
#: ...to this long after it.
AHEAD_MS = 4000.0


@dataclass(frozen=True)
class DeferralResult:
    """The best schedule found, the requests deferred in it (request -> tasks deferred), its
    values, how many list schedules were built, and the seconds it took."""

    schedule: Schedule
    deferred: dict[str, tuple[str, ...]]
    values: tuple[float, ...]
    scored: int
    seconds: float


def candidates(instance: Instance, schedule: Schedule) -> list[tuple[float, str, tuple[str, ...]]]:
    """``(arrival, request, tasks to defer)`` for each LLM request that misses a milestone in
    ``schedule``, in arrival order: its decode from the first missed milestone, or all of it
    when its first token is late."""
    missed = missed_jobs(instance, schedule)
    nodes = instance.graph.nodes
    out = []
    for rid, req in instance.requests.items():
        if req.prefill_tasks and nodes[req.prefill_tasks[-1]]["job"] in missed:
            out.append((req.arrival, rid, (*req.prefill_tasks, *req.decode_tasks)))
            continue
        late = [k for k, t in enumerate(req.decode_tasks) if nodes[t]["job"] in missed]
        if late:
            out.append((req.arrival, rid, req.decode_tasks[late[0] :]))
    return sorted(out)


class _Judge:
    """Compares list schedules with and without a deferral on the jobs around a time."""

    def __init__(self, instance: Instance, objective: Objective, rule: str) -> None:
        self.instance = instance
        self.objective = objective
        self.rule = rule
        self.units = units_of(instance)
        self.scale = time_scale(instance)  # exact for every restriction too
        self.built = 0

    def schedule(self, instance: Instance, defer: Sequence[str], **kw) -> Schedule:
        self.built += 1
        return list_schedule(instance, self.objective, rules=(self.rule,), defer=defer, **kw)

    def around(self, current: Schedule, at: float) -> tuple[Instance, dict[str, tuple[str, float]]]:
        """The jobs released in ``[at - BACK_MS, at + AHEAD_MS)`` (LLM requests by arrival),
        with the earlier ones still running at ``at - BACK_MS`` in ``current``, fixed there."""
        start, end = at - BACK_MS, at + AHEAD_MS
        placements = current.placements
        jobs = self.instance.jobs
        keep: list[str] = []
        fixed: dict[str, tuple[str, float]] = {}
        for unit in self.units:
            if start <= unit.release < end:
                keep.extend(unit.jobs)
            elif unit.release < start:
                tasks = [t for j in unit.jobs for t in jobs[j].tasks]
                placed = all(t in placements for t in tasks)
                if placed and any(placements[t].end > start for t in tasks):
                    keep.extend(unit.jobs)
                    fixed.update({t: (placements[t].processor, placements[t].start) for t in tasks})
        return self.instance.restrict(keep), fixed

    def better(self, current: Schedule, at: float, deferred: set[str], more: Sequence[str]) -> bool:
        """Whether deferring ``more`` as well does better around ``at``."""
        sub, fixed = self.around(current, at)
        win = windows(sub, known_scale=self.scale)
        inside = [t for t in deferred if t in sub.graph]
        before = self.objective.ranking(sub, self.schedule(sub, inside, win=win, fixed=fixed))
        after = self.objective.ranking(
            sub, self.schedule(sub, [*inside, *more], win=win, fixed=fixed)
        )
        return after < before


def search(
    instance: Instance,
    objective: Objective,
    *,
    rule: str = "edf",
    until: float | None = None,
    stop: threading.Event | None = None,
    on_score: Callable[[int, tuple[float, ...]], None] | None = None,
) -> DeferralResult | None:
    """The sweeps of the module docstring with the list rule ``rule``; ``None`` when the
    instance has no LLM request or the time or a stop comes before the first schedule.
    ``until`` is a :func:`time.perf_counter` time; ``on_score(n, best)`` is called after each
    candidate judged (``n`` list schedules built so far, ``best`` the best values)."""
    started = time.perf_counter()

    def done() -> bool:
        late = until is not None and time.perf_counter() >= until
        return late or (stop is not None and stop.is_set())

    if not instance.requests or done():
        return None
    judge = _Judge(instance, objective, rule)
    win = windows(instance, known_scale=judge.scale)
    current = judge.schedule(instance, (), win=win)
    best = (objective.ranking(instance, current), current, {})
    deferred: dict[str, tuple[str, ...]] = {}
    while not done():
        taken, paid = 0, False
        for at, rid, tasks in candidates(instance, current):
            if done():
                break
            if deferred.get(rid) == tasks or not judge.better(current, at, _tasks(deferred), tasks):
                if on_score is not None:
                    on_score(judge.built, best[0])
                continue
            deferred[rid] = tasks
            taken += 1
            current = judge.schedule(instance, _tasks(deferred), win=win)
            value = objective.ranking(instance, current)
            if value < best[0]:
                best = (value, current, dict(deferred))
                paid = True
            if on_score is not None:
                on_score(judge.built, best[0])
        if not (taken and paid):
            break  # nothing taken, or nothing the sweep took paid: the best so far stands
    _, schedule, kept = best
    schedule = Schedule.build(schedule.rows(), schedule.dropped, method=f"deferral+list-{rule}")
    return DeferralResult(
        schedule,
        kept,
        objective.values(instance, schedule),
        judge.built,
        time.perf_counter() - started,
    )


def _tasks(deferred: Mapping[str, Sequence[str]]) -> set[str]:
    return {t for tasks in deferred.values() for t in tasks}
