"""Affinity search: which kinds of processor each class of tasks may use.

Real runtimes pin models to accelerators, and under load the pinning is what decides the
misses: a 60 ms LLM decode block on the NPU blocks an 8 ms frame deadline there, so the frames
must have the GPU to themselves while the decode runs, and a greedy rule that puts each task
where it finishes earliest never learns that. This search learns it.

A *class* is a stream's tasks (an LLM stream's prefill and decode tasks are two classes, as a
runtime places them apart); an *affinity* maps each class to the processor kinds it may use.
Restricting a class only removes options, so a schedule of the restricted instance
(:meth:`~rtgen_opt.instance.Instance.with_processors`) is a schedule of the instance, and the
caller validates it against the instance.

The search is a hill climb from no restriction: a move removes one kind from one class, or
gives one back; each neighbour is scored by the list schedule
(:func:`~rtgen_opt.exact.list_schedule.list_schedule`) of the restricted instance, by the
objective and then by weighted tardiness (which tells apart neighbours with the same misses),
with the rule of :data:`SCORE_RULES` (``edf``, ``cp`` or ``edf-shed``) that leads at the current
affinity; the best neighbour is taken while it improves. It stops when no move improves, at a
target value (the bound: nothing can beat it), at the deadline, or on a stop request. An
instance larger than :data:`SAMPLE_TASKS` is climbed first on its first :data:`SAMPLE_TASKS`
tasks by release (whole LLM requests), where each score is cheap, then, while time is left, on
the whole instance from the affinity the sample gave (the load of a sample is not the whole's:
on game_npc_heavy_60s the overload runs from 9 s to 22 s). The affinity found is scheduled with
every list rule.

On game_npc_heavy_4s (2,344 tasks) the list schedule alone misses 398 weighted jobs; the
affinity it finds in about 13 s -- hands on the NPU only, LLM decode and prefill off it --
misses none (``bench/results/affinity.md``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.partition import windows_of
from rtgen_opt.exact.windows import time_scale, windows
from rtgen_opt.grid import leq
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective
from rtgen_opt.schedule import Schedule

#: Scored on the first this-many tasks (by release) of a larger instance.
SAMPLE_TASKS = 9000
#: After the sample, climb on the whole instance while time is left (game_npc_heavy_60s: the
#: sample's affinity misses 967 there, the whole-instance climb from it 719).
CLIMB_WHOLE = True
#: The list rules whose best scores an affinity: earliest deadline first leads where the load
#: is light enough to meet every deadline, the critical path or shedding (EDF serving late LLM
#: requests in the background) beyond. Shedding makes the score see what the deferral search
#: will make of a pinning: on game_npc_heavy_60s, frames and hands on the GPU and LLM decode on
#: the CPUs and the NPU miss 2,292 by EDF and 749 shedding. The neighbours of an affinity are
#: scored by the rule that leads at it.
SCORE_RULES = ("edf", "cp", "edf-shed")

Affinity = Mapping[str, frozenset[str]]


def task_class(attrs: Mapping[str, object]) -> str:
    """The class of a task from its node attributes: its stream, and for an LLM stream its
    phase (``npc/prefill``, ``npc/decode``)."""
    stream = str(attrs.get("stream") or "tasks")
    phase = attrs.get("phase")
    return f"{stream}/{phase}" if phase in ("prefill", "decode") else stream


def classes(instance: Instance) -> dict[str, list[frozenset[str]]]:
    """Per class, the distinct sets of processor kinds its tasks may run on."""
    proc = instance.platform.by_name
    out: dict[str, set[frozenset[str]]] = {}
    for t in instance.tasks:
        attrs = instance.graph.nodes[t]
        kinds = frozenset(proc[p].kind for p in attrs["durations"])
        out.setdefault(task_class(attrs), set()).add(kinds)
    return {c: sorted(sets, key=sorted) for c, sets in out.items()}


def restricted(instance: Instance, affinity: Affinity) -> Instance:
    """``instance`` with each task's processors cut to its class's kinds (a class not in
    ``affinity`` keeps all)."""
    proc = instance.platform.by_name
    allowed = {}
    for t in instance.tasks:
        attrs = instance.graph.nodes[t]
        kinds = affinity.get(task_class(attrs))
        if kinds is not None:
            allowed[t] = [p for p in attrs["durations"] if proc[p].kind in kinds]
    return instance.with_processors(allowed)


@dataclass(frozen=True)
class AffinityResult:
    """The best schedule found (of the whole instance), its affinity (every class) and the
    classes it narrowed (``pinned``), its values, and how many list schedules were scored."""

    schedule: Schedule
    affinity: dict[str, tuple[str, ...]]
    pinned: dict[str, tuple[str, ...]]
    values: tuple[float, ...]
    scored: int
    seconds: float


def _moves(
    current: dict[str, frozenset[str]], kinds: Mapping[str, list[frozenset[str]]]
) -> Iterator[dict[str, frozenset[str]]]:
    """Every affinity one kind away from ``current`` that leaves each task an option."""
    for c in sorted(current):
        every = frozenset().union(*kinds[c])
        for k in sorted(every):
            new = current[c] ^ {k}
            if all(new & own for own in kinds[c]):
                yield {**current, c: new}


def search(
    instance: Instance,
    objective: Objective,
    *,
    until: float | None = None,
    target: float | None = None,
    stop: threading.Event | None = None,
    on_score: Callable[[int, tuple[float, ...]], None] | None = None,
) -> AffinityResult | None:
    """The hill climb of the module docstring; ``None`` when there is nothing to restrict
    (no class can lose a kind without leaving a task no processor), when the time or a stop
    comes before the first score, or on a stop when only a sample was scored. ``until`` is a :func:`time.perf_counter` time, ``target`` a value of
    the objective's first component that ends the search when met; ``on_score(n, best)`` is
    called after each neighbour scored (``best``: the best score so far, on the sample)."""
    started = time.perf_counter()
    kinds = classes(instance)
    every = {c: frozenset().union(*sets) for c, sets in kinds.items()}
    current = dict(every)
    if next(_moves(current, kinds), None) is None:
        return None
    stages = [instance]
    if len(instance.tasks) > SAMPLE_TASKS:
        sample = instance.restrict(windows_of(instance, SAMPLE_TASKS)[0].jobs)
        stages = [sample, instance] if CLIMB_WHOLE else [sample]
    scored = 0
    kept: list[tuple[tuple[float, ...], Schedule]] = []  # the best scored, if of the whole
    known_scale = time_scale(instance)  # exact for every restriction of it too

    def score(
        scope: Instance, affinity: Affinity, rules: tuple[str, ...]
    ) -> tuple[tuple[float, ...], str]:
        """The affinity's score on ``scope`` by the best of ``rules``, and that rule."""
        nonlocal scored
        scored += 1
        narrow = restricted(scope, affinity)
        win = windows(narrow, known_scale=known_scale)
        s = list_schedule(narrow, objective, rules=rules, win=win)
        value = objective.ranking(scope, s)
        if scope is instance and (not kept or value < kept[0][0]):
            kept[:] = [(value, s)]
        return value, str(s.provenance["method"]).removeprefix("list-")

    def done() -> bool:
        late = until is not None and time.perf_counter() >= until
        return late or (stop is not None and stop.is_set())

    if done():
        return None
    for scope in stages:
        if done():
            break
        # Neighbours are scored by the rule that leads at the current affinity (one list
        # schedule each, not one per rule); the leading rule is found again after every move.
        best, rule = score(scope, current, SCORE_RULES)
        while not done() and not (target is not None and leq(best[0], target)):
            step = None
            for move in _moves(current, kinds):
                if done():
                    break
                value, _ = score(scope, move, (rule,))
                if value < best and (step is None or value < step[0]):
                    step = (value, move)
                if on_score is not None:
                    on_score(scored, min(best, value))
            if step is None:
                break
            current = step[1]
            best, rule = score(scope, current, SCORE_RULES)
    if stop is not None and stop.is_set():
        # Stopped: no more list schedules (at 35,000 tasks each takes seconds); the best
        # scored one when it is of the whole instance.
        if not kept:
            return None
        schedule = kept[0][1]
    else:
        schedule = list_schedule(restricted(instance, current), objective, until=until)
    affinity = {c: tuple(sorted(current[c])) for c in sorted(current)}
    schedule = Schedule.build(
        schedule.rows(), schedule.dropped, method=f"affinity+{schedule.provenance['method']}"
    )
    return AffinityResult(
        schedule,
        affinity,
        {c: affinity[c] for c in affinity if current[c] != every[c]},
        objective.values(instance, schedule),
        scored,
        time.perf_counter() - started,
    )
