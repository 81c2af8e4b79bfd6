"""Objectives, defined once: what every solver minimises and every report measures.

An *objective* is one criterion or a lexicographic list of criteria. Each criterion is
registered once in :data:`CRITERIA` with its evaluator (the value of a schedule), its unit,
whether it counts jobs (its gap is then a number of jobs, not a percentage), whether it is a sum
over jobs (so a partition of the jobs gives a valid decomposition bound) and which solver-free
bounds apply. A user's string is parsed once, at the edge, into an :class:`Objective`; every
layer below reads that typed value, and an unknown name is refused here with one clear error.

=========== =====================================================================================
criterion   value of a schedule (weighted jobs, ms or mJ)
=========== =====================================================================================
misses      sum of the weights of jobs that miss: a job with a deadline misses when its last task
            ends more than :data:`~rtgen_opt.grid.TOLERANCE` ms after it, or when it is dropped.
            Jobs without a deadline never miss. (The default objective.)
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

Adding a criterion: one :class:`Criterion` entry here, one builder per exact backend (the
tables ``BUILDERS`` of :mod:`rtgen_opt.exact.cpsat.objective` and
:mod:`rtgen_opt.exact.milp.objective`), its bound in ``BOUNDS`` of
:mod:`rtgen_opt.exact.bounds`, and its mathematics in ``formulations/``; a test checks that every
table covers every criterion.

>>> obj = Objective.parse("misses, tardiness")
>>> obj.names, str(obj), obj.first.counts_jobs
(('misses', 'tardiness'), 'misses,tardiness', True)
>>> Objective.parse(obj) is obj
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar, Union

from rtgen_opt import grid
from rtgen_opt.errors import ArgumentError, InternalError
from rtgen_opt.instance import Instance
from rtgen_opt.schedule import Schedule


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


def is_late(end: float | None, deadline: float | None) -> bool:
    """The miss test of a job: it has a deadline and did not end by it (``None``: did not run).

    >>> is_late(5.0000000001, 5.0), is_late(5.1, 5.0), is_late(None, 5.0), is_late(9.0, None)
    (False, True, True, False)
    """
    if deadline is None:
        return False
    return end is None or end > deadline + grid.TOLERANCE


def missed_jobs(instance: Instance, schedule: Schedule) -> set[str]:
    """Ids of the jobs that miss (dropped, or late beyond the tolerance)."""
    jobs = instance.jobs
    return {
        jid
        for jid, end in job_completions(instance, schedule).items()
        if is_late(end, jobs[jid].deadline)
    }


# --------------------------------------------------------------------------- evaluators
def _misses(instance: Instance, schedule: Schedule) -> float:
    jobs = instance.jobs
    return float(sum(jobs[j].weight for j in missed_jobs(instance, schedule)))


def _tardiness(instance: Instance, schedule: Schedule) -> float:
    jobs = instance.jobs
    total = 0.0
    for jid, end in job_completions(instance, schedule).items():
        job = jobs[jid]
        if end is not None and job.deadline is not None and end > job.deadline:
            total += job.weight * (end - job.deadline)
    return total


def _ttft(instance: Instance, schedule: Schedule) -> float:
    placements = schedule.placements
    total = 0.0
    for req in instance.requests.values():
        ends = [placements[t].end for t in req.prefill_tasks if t in placements]
        total += (max(ends) if ends else req.arrival) - req.arrival
    return total


def _makespan(instance: Instance, schedule: Schedule) -> float:
    return schedule.makespan


def _energy(instance: Instance, schedule: Schedule) -> float:
    procs = instance.platform.by_name
    return sum(
        (procs[pl.processor].active_w - procs[pl.processor].idle_w) * (pl.end - pl.start)
        for pl in schedule.placements.values()
    )


# --------------------------------------------------------------------------- the registry
@dataclass(frozen=True, slots=True)
class Criterion:
    """One registered criterion (see the module docstring).

    Attributes
    ----------
    name
        Its name on the command line and in files.
    unit
        Unit of its values.
    counts_jobs
        Its value is a (weighted) count of jobs: a gap is reported as a number of jobs.
    additive
        A sum over jobs, LLM requests or tasks, each term depending only on that job's (or
        request's) own tasks: the value of a schedule is the sum of the values of its
        restrictions to the groups of any partition of the jobs that keeps each request whole
        (the decomposition bound of ``formulations/bounds.md``).
    bounds
        The solver-free bounds that apply (keys of ``rtgen_opt.bounds``'s answer).
    evaluate
        ``evaluate(instance, schedule) -> value``, the definition itself.
    """

    name: str
    unit: str
    counts_jobs: bool
    additive: bool
    bounds: tuple[str, ...]
    evaluate: Callable[[Instance, Schedule], float]


CRITERIA: dict[str, Criterion] = {
    c.name: c
    for c in (
        Criterion("misses", "weighted jobs", True, True, ("sure_misses", "window_misses"), _misses),
        Criterion("tardiness", "ms", False, True, ("sure_tardiness",), _tardiness),
        Criterion("ttft", "ms", False, True, ("ttft",), _ttft),
        Criterion(
            "makespan", "ms", False, False, ("critical_path", "load", "energetic"), _makespan
        ),
        Criterion("energy", "mJ", False, True, ("energy",), _energy),
    )
}
#: Names of the criteria, in registry order.
OBJECTIVES = tuple(CRITERIA)
DEFAULT_OBJECTIVE = "misses"


@dataclass(frozen=True, slots=True)
class Objective:
    """A parsed objective: one criterion or a lexicographic tuple of them.

    Build it with :meth:`parse`; it iterates over its :class:`Criterion` components.
    """

    criteria: tuple[Criterion, ...]

    @classmethod
    def parse(cls, value: ObjectiveLike) -> Objective:
        """``"misses,tardiness"``, ``["misses", "tardiness"]`` or an :class:`Objective`.

        Raises
        ------
        ArgumentError
            For an unknown or repeated name, or an empty list.
        """
        if isinstance(value, Objective):
            return value
        names = [s.strip() for s in value.split(",")] if isinstance(value, str) else list(value)
        known = ", ".join(OBJECTIVES)
        if not names or any(not n for n in names):
            raise ArgumentError("objective", f"expected one or more of {known}")
        for n in names:
            if n not in CRITERIA:
                raise ArgumentError(
                    "objective", f"unknown objective {n!r}; expected one of {known}"
                )
        if len(set(names)) != len(names):
            raise ArgumentError("objective", f"objective {value!r} repeats a name")
        return cls(tuple(CRITERIA[n] for n in names))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.criteria)

    @property
    def first(self) -> Criterion:
        return self.criteria[0]

    def has(self, name: str) -> bool:
        """Whether criterion ``name`` is one of the components."""
        return any(c.name == name for c in self.criteria)

    def values(self, instance: Instance, schedule: Schedule) -> tuple[float, ...]:
        """The value of each component for ``schedule``."""
        return tuple(c.evaluate(instance, schedule) for c in self.criteria)

    def ranking(self, instance: Instance, schedule: Schedule) -> tuple[float, ...]:
        """:meth:`values`, then weighted tardiness: how the searches over list schedules
        (affinity, deferral) compare them, telling apart schedules with equal values."""
        return (*self.values(instance, schedule), objective_value(instance, schedule, "tardiness"))

    def __iter__(self) -> Iterator[Criterion]:
        return iter(self.criteria)

    def __len__(self) -> int:
        return len(self.criteria)

    def __getitem__(self, k: int) -> Criterion:
        return self.criteria[k]

    def __str__(self) -> str:
        return ",".join(self.names)


#: What the API accepts wherever an objective is asked for.
ObjectiveLike = Union[str, Sequence[str], Objective]  # noqa: UP007 - a runtime alias on 3.10

T = TypeVar("T")


def builder(table: Mapping[str, T], name: str, where: str) -> T:
    """The entry for criterion ``name`` in a per-backend table (builders, bounds).

    Every table covers every criterion (a test checks it), so a miss is a bug.
    """
    try:
        return table[name]
    except KeyError:
        raise InternalError(f"{where} has no entry for the objective {name!r}") from None


def objective_value(instance: Instance, schedule: Schedule, name: str) -> float:
    """The value of one criterion (see the module docstring) for a schedule."""
    return Objective.parse([name]).first.evaluate(instance, schedule)


def objective_values(
    instance: Instance, schedule: Schedule, objective: ObjectiveLike
) -> tuple[float, ...]:
    """Values of a (lexicographic) objective, one per component."""
    return Objective.parse(objective).values(instance, schedule)
