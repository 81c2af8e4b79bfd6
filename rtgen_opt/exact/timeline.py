"""Lane timeline: the LLM requests placed by a simulation of the lanes, the short jobs around them.

On a chip where an LLM's prefill is fastest on one accelerator and its decode on another
(:func:`~rtgen_opt.exact.lanes.roles`; on the Ryzen AI HX 370 prefill on the GPU, 123 ms a
request, decode on the NPU, 61 ms a block), the short periodic jobs (frames due 8 ms after
release) need one of the two free at every moment: while the GPU runs a 31 ms prefill chunk the
frames run on the NPU, while the NPU runs a decode block they run on the GPU. So the two
accelerators form one *lane* for the LLM: at any time it prefills on the one or decodes on the
other. The CPUs decode beside it, and run the jobs that are neither short nor LLM (speech
recognition, due 300 ms after release) where they can.

The timeline is a simulation of those resources over the LLM tasks and those other jobs, in
model time (:mod:`rtgen_opt.exact.windows`):

- Whichever resource is free first decides what it runs next. The CPUs and the lane's decode
  side take the ready decode block with the earliest deadline (the CPUs also the other jobs'
  tasks), among those they can finish on time.
- The lane prefills when a request waits and either no decode block is ready for it or one more
  block would leave the waiting requests too little time: every waiting request's prefill must
  end by its deadline when they run back to back from then on, with a *lead* (:data:`LEADS`)
  to spare. It then prefills every waiting request in a row (and those that arrive
  meanwhile), or one request, or one chunk: the *batch* (:data:`BATCHES`).
- Where the lane hands over from one processor to the other, its next task may start a little
  before the last ends (:data:`OVERLAP`): as early as every short job released around the
  hand-over still fits, in the order the list schedule will place them, on the next task's
  processor before it starts or on the last task's after it ends. A frame released 4 ms before
  a prefill chunk ends, for one, runs on the NPU before the decode block there starts.
- A decode block that cannot be on time on any resource makes its request *shed*: the rest of
  it is served in the background (the list schedule's ``defer``: after every other task, into
  what is left), which is one miss per block and frees what the blocks would take. Requests
  may also be shed *whole* before their prefill, which frees the prefill too.

The tasks the simulation placed are then pinned (the list schedule's ``fixed``) and the short
jobs list-scheduled around them by earliest deadline, where each goes to whichever accelerator
is free: the simulation leaves one free at every moment but the hand-overs, where it checked
that they fit. The pins respect releases, edges and transfers, and the caller validates the
schedule anyway.

:func:`search` picks the lead and batch with the fewest misses, then climbs over which requests
to shed whole (toggle one, keep it when the simulation misses fewer) until a sweep improves nothing,
then *kicks* while time is left (an iterated local search): it toggles :data:`KICK` requests
arriving near a random one, climbs over the requests near it, and keeps the result when it
misses no more. A simulation of game_npc_heavy_60s (191 requests) takes about 0.07 s, so the
search scores thousands of sheddings where a list schedule of the whole instance takes more
than a second (``bench/results/timeline.md``).
"""

from __future__ import annotations

import bisect
import random
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from rtgen_opt.errors import ArgumentError
from rtgen_opt.exact.affinity import task_class
from rtgen_opt.exact.lanes import Roles
from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.windows import Windows, windows
from rtgen_opt.instance import Instance, Job, Request
from rtgen_opt.objectives import Objective
from rtgen_opt.schedule import Schedule

#: Spare time (ms) the lane keeps before the waiting requests' prefills must start; the search
#: tries each with each batch (game_npc_heavy_60s without shedding whole, whole batches: 389,
#: 378, 373, 367 misses; by the chunk: 383, 374, 361, 354).
LEADS = (0.0, 30.0, 60.0, 120.0)
#: How much the lane prefills once it starts: every waiting request (and those arriving
#: meanwhile), one request, or one chunk. Prefilling less at a time hands the lane over more
#: often, and each hand-over may overlap (:data:`OVERLAP`).
BATCHES = ("all", "request", "chunk")
#: A kick toggles this many requests (whether each is shed whole)...
KICK = 3
#: ...among those arriving within this many ms of a random request's arrival, and the climb
#: after it sweeps those.
KICK_SPAN_MS = 3000.0
#: Whether the lane's next task may start before its last ends, where the short jobs allow it
#: (:meth:`_Simulation._overlap`), and the step (ms) of the overlaps tried. On
#: game_npc_heavy_60s (by the chunk, lead 120 ms) 217 hand-overs overlap 3.6 ms on average, and
#: the best start without shedding whole misses 354 instead of 364.
OVERLAP = True
OVERLAP_STEP_MS = 0.25
#: The lane's name among the simulation's resources (the CPUs go by their processor names).
LANE = ""


@dataclass(frozen=True)
class Timeline:
    """What the simulation placed (task -> processor, start, end in model time), the LLM
    tasks it left to the background, the requests shed (whole or from a block on), and the
    weighted misses among the jobs it placed or shed."""

    placed: dict[str, tuple[str, int, int]]
    deferred: frozenset[str]
    shed: frozenset[str]
    misses: float


@dataclass(frozen=True)
class _Lanes:
    """What every simulation of one instance shares: the requests by arrival, the CPUs, and
    the other jobs (by release) that run on them."""

    instance: Instance
    win: Windows
    roles: Roles
    requests: tuple[Request, ...]
    cpus: tuple[str, ...]
    others: tuple[Job, ...]
    # the short jobs by release: (release, deadline, duration on the prefill processor, on the
    # decode processor), their releases, and the longest span among them
    short: tuple[tuple[int, int, int, int], ...]
    short_release: tuple[int, ...]
    short_span: int

    @classmethod
    def of(cls, instance: Instance, win: Windows, roles: Roles) -> _Lanes:
        graph = instance.graph
        requests = sorted(instance.requests.values(), key=lambda r: (r.arrival, r.id))
        decoders = {p for r in requests for t in r.decode_tasks for p in win.options[t]}
        cpus = sorted(decoders - {roles.prefill, roles.decode})
        llm = {t for r in requests for t in (*r.prefill_tasks, *r.decode_tasks)}
        # the other jobs run on the CPUs: neither LLM nor short, every task on a CPU, and
        # no task waiting on one outside the job
        others = [
            j
            for j in instance.jobs.values()
            if j.deadline is not None
            and j.tasks[0] not in llm
            and task_class(graph.nodes[j.tasks[0]]) not in roles.short
            and all(set(cpus) & set(win.options[t]) for t in j.tasks)
            and all(u in j.tasks for t in j.tasks for u in graph.predecessors(t))
        ]
        others.sort(key=lambda j: (win.release[j.tasks[0]], j.id))
        short = sorted(
            (
                win.release[j.tasks[0]],
                win.deadline[j.id],
                sum(win.duration[t, roles.prefill] for t in j.tasks),
                sum(win.duration[t, roles.decode] for t in j.tasks),
            )
            for j in instance.jobs.values()
            if j.deadline is not None
            and task_class(graph.nodes[j.tasks[0]]) in roles.short
            and all({roles.prefill, roles.decode} <= set(win.options[t]) for t in j.tasks)
        )
        span = max((d - r for r, d, _, _ in short), default=0)
        return cls(
            instance,
            win,
            roles,
            tuple(requests),
            tuple(cpus),
            tuple(others),
            tuple(short),
            tuple(r for r, _, _, _ in short),
            span,
        )


class _Simulation:
    """One run of the module docstring's simulation; :meth:`run` returns the timeline."""

    def __init__(self, lanes: _Lanes, whole: Collection[str], lead: int, batch: str) -> None:
        self.instance, self.win, self.roles = lanes.instance, lanes.win, lanes.roles
        self.requests, self.others = lanes.requests, lanes.others
        self.lead, self.batch = lead, batch
        self.graph = self.instance.graph
        self.whole = frozenset(whole)
        self.free = {LANE: 0, **{c: 0 for c in lanes.cpus}}
        self.placed: dict[str, tuple[str, int, int]] = {}
        self.shed: set[str] = set()
        self.next = {r.id: 0 for r in self.requests}  # a request's next decode block
        self.step = {j.id: 0 for j in self.others}  # an other job's next task
        self.waiting: list[Request] = []  # arrived, not prefilled
        self.decoding: list[Request] = []  # prefilled, blocks left
        self.open: list[Job] = []  # other jobs released, tasks left
        self.arrived = self.released = 0
        self.lanes = lanes
        # the lane's last task: its side (the prefill or the decode processor) and end, and
        # when each side's last task ended
        self.side: str | None = None
        self.lane_end = 0
        self.side_end = {self.roles.prefill: 0, self.roles.decode: 0}

    def run(self) -> Timeline:
        while True:
            res = min(self.free, key=lambda k: (self.free[k], k))
            t = self.free[res]
            self._arrive(t)
            self.decoding = [
                r
                for r in self.decoding
                if r.id not in self.shed and self.next[r.id] < len(r.decode_tasks)
            ]
            self.open = [j for j in self.open if self.step[j.id] < len(j.tasks)]
            ended = self.arrived == len(self.requests) and self.released == len(self.others)
            if ended and not (self.decoding or self.waiting or self.open):
                break
            if res == LANE and self._prefill_due(t):
                self.free[LANE] = self._prefill(t)
                continue
            self.free[res] = self._dispatch(res, t)
        return self._timeline()

    def _arrive(self, t: int) -> None:
        """Take in the requests arrived and the other jobs released by ``t``."""
        while self.released < len(self.others):
            j = self.others[self.released]
            if self.win.release[j.tasks[0]] > t:
                break
            self.open.append(j)
            self.released += 1
        while self.arrived < len(self.requests):
            r = self.requests[self.arrived]
            if self.win.release[r.prefill_tasks[0]] > t:
                return
            if r.id not in self.whole:
                self.waiting.append(r)
            self.arrived += 1

    def _start(self, task: str, proc: str, at: int) -> int | None:
        """The earliest start of ``task`` on ``proc`` from ``at`` on, given what is placed;
        ``None`` while a predecessor is not."""
        for u in self.graph.predecessors(task):
            if u not in self.placed:
                return None
            pu, _, eu = self.placed[u]
            at = max(at, eu + self.win.transfer(u, task, pu, proc))
        return max(at, self.win.release[task])

    def _deadline(self, task: str) -> int:
        return self.win.deadline[self.graph.nodes[task]["job"]]

    def _left(self, r: Request) -> tuple[str, ...]:
        """The prefill tasks of ``r`` not placed yet."""
        return tuple(t for t in r.prefill_tasks if t not in self.placed)

    def _latest_prefill(self) -> int:
        """The latest time the waiting requests' prefills can start, back to back in order."""
        latest, work = None, 0
        for r in self.waiting:
            work += sum(self.win.duration[t, self.roles.prefill] for t in self._left(r))
            by = self._deadline(r.prefill_tasks[-1]) - work - self.lead
            latest = by if latest is None else min(latest, by)
        return latest

    def _prefill_due(self, t: int) -> bool:
        if not self.waiting:
            return False
        ready = []
        for r in self.decoding:
            task = r.decode_tasks[self.next[r.id]]
            at = self._start(task, self.roles.decode, 0)
            if at is not None and at <= t:
                ready.append(self.win.duration[task, self.roles.decode])
        return not ready or t + min(ready) > self._latest_prefill()

    def _prefill(self, t: int) -> int:
        """Prefill from ``t``: every waiting request in a row (and those arriving meanwhile),
        or one request, or one chunk (the simulation's batch, :data:`BATCHES`); the time the
        lane is free again."""
        proc = self.roles.prefill
        t = max(self._handed_over(proc, t), self.side_end[proc])
        while self.waiting:
            r = self.waiting[0]
            for task in self._left(r)[: 1 if self.batch == "chunk" else None]:
                start = self._start(task, proc, t)
                t = start + self.win.duration[task, proc]
                self.placed[task] = (proc, start, t)
            if not self._left(r):
                self.waiting.pop(0)
                self.decoding.append(r)
            self._arrive(t)
            if self.batch != "all":
                break
        self._lane_ran(proc, t)
        return t

    def _lane_ran(self, proc: str, end: int) -> None:
        self.side, self.lane_end, self.side_end[proc] = proc, end, end

    def _handed_over(self, proc: str, t: int) -> int:
        """From when the lane's next task, on ``proc``, may start when it decides at ``t``: a
        little before its last task ends when that ran on the other processor and ends at
        ``t`` (:meth:`_overlap`), else ``t``."""
        if not OVERLAP or self.side in (None, proc) or t != self.lane_end:
            return t
        return t - self._overlap(t, self.side, proc)

    def _overlap(self, end: int, before: str, after: str) -> int:
        """The longest overlap (model time, a multiple of :data:`OVERLAP_STEP_MS` up to the
        longest short job's span) of the lane's task on ``before``, ending at ``end``, with the
        next on ``after``, such that every short job released around it still fits: on
        ``after`` before the next task starts, or on ``before`` after ``end``, taken in the
        order the list schedule places them (earliest deadline first)."""
        lanes, scale = self.lanes, self.win.scale
        # every short job due after the earliest start tried, released by ``end``
        lo = bisect.bisect_left(lanes.short_release, end - 2 * lanes.short_span)
        hi = bisect.bisect_right(lanes.short_release, end)
        jobs = sorted(lanes.short[lo:hi], key=lambda j: (j[1], j[0]))  # as EDF places them
        step = max(1, scale.from_ms(OVERLAP_STEP_MS))
        swap = before != self.roles.prefill
        for delta in range(step * (lanes.short_span // step), 0, -step):
            start = end - delta
            free_after, free_before = self.side_end[after], end
            for release, deadline, on_prefill, on_decode in jobs:
                d_before, d_after = (on_decode, on_prefill) if swap else (on_prefill, on_decode)
                if max(free_after, release) + d_after <= min(start, deadline):
                    free_after = max(free_after, release) + d_after
                elif max(free_before, release) + d_before <= deadline:
                    free_before = max(free_before, release) + d_before
                else:
                    break
            else:
                return delta
        return 0

    def _dispatch(self, res: str, t: int) -> int:
        """Run the next task on ``res`` (the lane's decode side or a CPU) from ``t``; the time
        ``res`` decides again."""
        proc = self.roles.decode if res == LANE else res
        ready, later = [], []
        # (deadline, ready at, the counter to advance, its key, task)
        for r in self.decoding:
            task = r.decode_tasks[self.next[r.id]]
            at = self._start(task, proc, 0)
            if at is not None:
                entry = (self._deadline(task), at, "next", r.id, task)
                (ready if at <= t else later).append(entry)
        for j in self.open if res != LANE else ():
            task = j.tasks[self.step[j.id]]
            at = self._start(task, proc, 0)
            if at is not None:
                entry = (self.win.deadline[j.id], at, "step", j.id, task)
                (ready if at <= t else later).append(entry)
        earliest = t
        if res == LANE:
            earliest = max(self._handed_over(proc, t), self.side_end[proc])
        for deadline, at, counter, key, task in sorted(ready):
            start = max(at, earliest)
            end = start + self.win.duration[task, proc]
            if counter == "next" and end > deadline:
                if not self._on_time_anywhere(task, deadline):
                    self.shed.add(key)  # served in the background from this block on
                continue
            self.placed[task] = (proc, start, end)
            getattr(self, counter)[key] += 1
            if res == LANE:
                self._lane_ran(proc, end)
            return end
        return self._next_event(res, t, [entry[1] for entry in later])

    def _on_time_anywhere(self, task: str, deadline: int) -> bool:
        for res, free in self.free.items():
            proc = self.roles.decode if res == LANE else res
            if proc in self.win.options[task]:
                start = self._start(task, proc, free)
                if start is not None and start + self.win.duration[task, proc] <= deadline:
                    return True
        return False

    def _next_event(self, res: str, t: int, later: list[int]) -> int:
        """When ``res``, with nothing to run at ``t``, looks again: the next task ready
        (``later``: when each is), the next arrival, the waiting prefills' latest start,
        another resource's next decision."""
        times = list(later)
        if self.arrived < len(self.requests):
            times.append(self.win.release[self.requests[self.arrived].prefill_tasks[0]])
        if res == LANE and self.waiting:
            times.append(self._latest_prefill())
        if res != LANE and self.released < len(self.others):
            times.append(self.win.release[self.others[self.released].tasks[0]])
        times += self.free.values()
        return min((x for x in times if x > t), default=t + 1)

    def _timeline(self) -> Timeline:
        nodes = self.graph.nodes
        jobs = self.instance.jobs
        deferred = frozenset(
            t
            for r in self.requests
            for t in (*r.prefill_tasks, *r.decode_tasks)
            if t not in self.placed
        )
        missed = {nodes[t]["job"] for t in deferred}
        missed |= {
            nodes[t]["job"] for t, (_, _, end) in self.placed.items() if end > self._deadline(t)
        }
        return Timeline(
            dict(self.placed),
            deferred,
            frozenset(self.shed | self.whole),
            float(sum(jobs[j].weight for j in missed)),
        )


def simulate(
    instance: Instance,
    roles: Roles,
    *,
    win: Windows | None = None,
    whole: Collection[str] = (),
    lead: float = 0.0,
    batch: str = "all",
) -> Timeline:
    """The timeline of the module docstring, with the requests ``whole`` shed before their
    prefill, ``lead`` ms to spare before the waiting prefills must start, and the lane
    prefilling ``batch`` (:data:`BATCHES`) at a time."""
    if batch not in BATCHES:
        raise ArgumentError("batch", f"expected one of {', '.join(BATCHES)}, got {batch!r}")
    win = win or windows(instance)
    lanes = _Lanes.of(instance, win, roles)
    return _Simulation(lanes, whole, win.scale.from_ms(lead), batch).run()


def schedule(
    instance: Instance, objective: Objective, timeline: Timeline, win: Windows | None = None
) -> Schedule:
    """The schedule of ``timeline``: its tasks pinned, the deferred ones last, the rest
    list-scheduled by earliest deadline around them."""
    win = win or windows(instance)
    pins = {t: (p, win.to_ms(s)) for t, (p, s, _) in timeline.placed.items()}
    built = list_schedule(
        instance, objective, rules=("edf",), win=win, fixed=pins, defer=timeline.deferred
    )
    return built.with_provenance(method="lane-timeline")


@dataclass(frozen=True)
class TimelineResult:
    """The schedule of the best timeline found, its values, the requests it sheds, its lead
    (ms) and batch, how many simulations ran, and the seconds it took."""

    schedule: Schedule
    values: tuple[float, ...]
    shed: frozenset[str]
    lead: float
    batch: str
    simulated: int
    seconds: float


class _Climb:
    """The search's state: the best timeline, the requests it sheds whole, and its lead and
    batch."""

    def __init__(self, lanes: _Lanes, done, on_score) -> None:
        self.lanes, self.done, self.on_score = lanes, done, on_score
        self.runs = 0
        self.lead, self.batch = LEADS[0], BATCHES[0]
        tried = [
            (self.run(frozenset(), lead, batch), lead, batch) for batch in BATCHES for lead in LEADS
        ]
        self.best, self.lead, self.batch = min(
            tried, key=lambda c: (c[0].misses, BATCHES.index(c[2]), c[1])
        )
        self.whole: frozenset[str] = frozenset()

    def run(
        self, whole: frozenset[str], lead: float | None = None, batch: str | None = None
    ) -> Timeline:
        """The timeline shedding ``whole``, with the search's lead and batch by default."""
        self.runs += 1
        lead = self.lead if lead is None else lead
        scaled = self.lanes.win.scale.from_ms(lead)
        return _Simulation(self.lanes, whole, scaled, batch or self.batch).run()

    def climb(self, whole: frozenset[str], found: Timeline, requests: list[Request]):
        """First-improvement sweeps over ``requests`` from ``whole`` (whose timeline is
        ``found``) while one improves: the requests shed whole and the timeline at the end."""
        improved = True
        while improved and not self.done():
            improved = False
            for r in requests:
                if self.done():
                    break
                trial = whole ^ {r.id}
                tried = self.run(trial)
                if tried.misses < found.misses:
                    whole, found, improved = trial, tried, True
                if self.on_score is not None:
                    self.on_score(self.runs, min(found.misses, self.best.misses))
        return whole, found

    def keep(self, whole: frozenset[str], found: Timeline) -> None:
        """Keep ``whole`` when its timeline misses no more than the best (equal ones too, so
        the kicks walk plateaus)."""
        if found.misses <= self.best.misses:
            self.whole, self.best = whole, found


def search(
    instance: Instance,
    objective: Objective,
    roles: Roles,
    *,
    win: Windows | None = None,
    until: float | None = None,
    stop: threading.Event | None = None,
    target: float | None = None,
    seed: int = 0,
    on_score: Callable[[int, float], None] | None = None,
) -> TimelineResult:
    """The search of the module docstring until the :func:`time.perf_counter` time ``until``,
    a stop, or a timeline that misses no more than ``target``. The leads are always tried, so
    there is a result. ``seed`` seeds the kicks; ``on_score(n, best misses)`` follows it."""
    started = time.perf_counter()
    win = win or windows(instance)

    def done() -> bool:
        late = until is not None and time.perf_counter() >= until
        met = target is not None and state.best.misses <= target
        return late or met or (stop is not None and stop.is_set())

    state = _Climb(_Lanes.of(instance, win, roles), done, on_score)
    order = sorted(instance.requests.values(), key=lambda r: (r.arrival, r.id))
    state.keep(*state.climb(frozenset(), state.best, order))
    rng = random.Random(seed)
    while order and not done():
        centre = rng.choice(order).arrival
        near = [r for r in order if abs(r.arrival - centre) <= KICK_SPAN_MS]
        kicked = state.whole ^ {r.id for r in rng.sample(near, min(KICK, len(near)))}
        state.keep(*state.climb(kicked, state.run(kicked), near))
    built = schedule(instance, objective, state.best, win)
    return TimelineResult(
        built,
        objective.values(instance, built),
        state.best.shed,
        state.lead,
        state.batch,
        state.runs,
        time.perf_counter() - started,
    )
