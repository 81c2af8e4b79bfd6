"""Window search: schedules for large instances, one time window at a time with CP-SAT.

The incumbent side of the decomposition method (``formulations/bounds.md``, section "Window
search"), in two moves that share one *frame*: a sub-instance holding the window's free jobs
and, as *fixed* tasks (their processor and start; CP-SAT (C13)), the tasks of other jobs that
overlap the window's stretch of time and the direct predecessors and successors of the free
tasks, so that the free tasks keep off their time and wait for their data.

**Rolling construction** (:meth:`WindowSearch.construct`, rolling horizon). The jobs are cut
into windows by deadline (:mod:`rtgen_opt.exact.partition`: an LLM request's decode blocks go
with the work due when they are, not all with its arrival) and the windows are scheduled in
order: each one exactly, with the windows before it fixed and those after it
not yet placed. The window's hint is the list schedule of its jobs around the fixed tasks, so a
step is never worse than list scheduling. What the time limit leaves unscheduled is list
scheduled around the rest, so the construction always ends with a whole schedule. When its
lead over the start falls (:data:`CONSTRUCT_LEAD_KEEP`), it is completed by list scheduling at
that point, and it stops once the lead is gone, or when it has never led and trails the start
after a few windows (:data:`CONSTRUCT_BEHIND_WINDOWS`).

**Improving passes** (:meth:`WindowSearch.run`, large-neighbourhood search). Each step frees the
jobs of one *time slice* ``[a, b)`` of the incumbent -- the jobs with a task that starts in it,
and the dropped jobs released in it -- and re-optimises them with everything else as it is. The
free tasks may move back by one slice length (to ``a - (b - a)``, not before their release) and
must end by ``cap``: the latest end of a free task (or deadline of a dropped free job, or ``b``)
plus the frame's length again. A free job may be dropped only if no running job outside the
slice depends on it; a job depending on a dropped job outside the slice stays dropped. Slicing
by where tasks *run* frees the work that competes for the processors at one time (a decode block
of an LLM request that arrived long before is free in the slice it runs in). Passes alternate
two interleaved cuts (offsets 0 and half a slice); slices grow when two passes in a row improve
nothing. A slice also *pulls in* a few late jobs due in it that run long after (:data:`PULL`,
:meth:`WindowSearch._pulled`): a decode block a deferral search sent to the back is free only in
the slice where it runs, where nothing is due, so no slice could bring it back on time. In the
frame a pulled job may be dropped, which means it stays where it was.

Each step solves the whole objective restricted to its jobs (every other job's share is a
constant) from a hint that is the current placement, so it never makes the schedule worse; it is
kept only when the whole schedule's objective improves. A window or slice whose share already
meets its solver-free bound is not solved.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from rtgen_opt.errors import InternalError, InvalidScheduleError
from rtgen_opt.exact.bounds import combinatorial_bounds
from rtgen_opt.exact.left_shift import left_shift
from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.partition import windows_of
from rtgen_opt.exact.result import SolveStatus
from rtgen_opt.exact.solve import solve as solve_exact
from rtgen_opt.grid import leq
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective, missed_jobs
from rtgen_opt.schedule import Placement, Schedule
from rtgen_opt.validate import validate

#: Tasks per window or slice to start with (one solves to optimality in about a second).
WINDOW_TASKS = 150
#: Seconds one window's CP-SAT solve may take at WINDOW_TASKS (in proportion beyond). A slice
#: that pulls late jobs in (:data:`PULL`) needs room made for them: from game_npc_heavy_60s's
#: deferral start (421), 300 s of passes on 300-task slices end at 407 with 4 s and at 418 with
#: 2 s (one run each).
WINDOW_LIMIT = 4.0
#: Windows the rolling construction solves beyond the one it commits (look-ahead).
LOOKAHEAD = 0
#: Slices grow by this factor after two passes that improve nothing, up to MAX_WINDOW_TASKS.
GROWTH = 2
MAX_WINDOW_TASKS = 1200

#: The rolling construction's *lead* is the start's share of the objective (first component,
#: when additive) on the jobs committed so far less the construction's own. Once the lead
#: falls to this fraction of its best, the construction is completed by list scheduling the
#: rest around what it has committed (kept if better); once it is gone, the construction
#: stops. On a loaded stretch the construction can lead by far and then collapse
#: (game_npc_heavy_15s: 391 against the list schedule's 914 after 36 of 60 windows, 2,127
#: against 1,994 at the end). ``None``: the construction always runs to its end.
CONSTRUCT_LEAD_KEEP: float | None = 0.5
#: The construction also stops when it has never led the start and is behind it after this
#: many windows: a start that windows solved one at a time cannot match (the affinity
#: search's, :mod:`rtgen_opt.exact.affinity`) leaves the time to the improving passes.
#: ``None``: no such stop.
CONSTRUCT_BEHIND_WINDOWS: int | None = 4

#: Late jobs a slice pulls in (:meth:`WindowSearch.improve`): at most this many, the first
#: due, among the missed jobs due in the slice that run elsewhere. 0: none.
PULL = 8

#: Raw CP-SAT parameters of every window's solve.
WINDOW_PARAMETERS: dict[str, Any] = {}

#: ``on_improve(schedule, values)`` after every kept step.
OnImprove = Callable[[Schedule, tuple[float, ...]], None]


@dataclass
class SearchStats:
    """What a window search did."""

    construct_windows: int = 0
    construct_listed: int = 0
    construct_abandoned: bool = False
    #: The first objective component of the constructed schedule (kept or not).
    construct_value: float | None = None
    #: The value of the list-scheduled completion at the lead's fall, and whether the
    #: construction stopped once its lead was gone.
    construct_completed: float | None = None
    construct_stopped: bool = False
    passes: int = 0
    solved: int = 0
    skipped: int = 0
    improved: int = 0
    #: Late jobs pulled into slices, and how many of them the kept steps brought on time.
    pulled: int = 0
    pulled_on_time: int = 0
    solve_s: float = 0.0
    interrupted: bool = False
    slice_tasks: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "construct_windows": self.construct_windows,
            "construct_listed": self.construct_listed,
            "construct_abandoned": self.construct_abandoned,
            "construct_value": self.construct_value,
            "construct_completed": self.construct_completed,
            "construct_stopped": self.construct_stopped,
            "passes": self.passes,
            "windows_solved": self.solved,
            "windows_skipped": self.skipped,
            "windows_improved": self.improved,
            "pulled": self.pulled,
            "pulled_on_time": self.pulled_on_time,
            "window_solve_s": round(self.solve_s, 3),
            "slice_tasks": self.slice_tasks,
        }


@dataclass(frozen=True)
class Frame:
    """A window's sub-instance, its hint and the arguments of its CP-SAT solve."""

    instance: Instance
    hint: Schedule
    fixed: dict[str, float]
    latest_end: float | None


class WindowSearch:
    """The state of one search: the instance, the objective and the incumbent.

    Parameters
    ----------
    instance, objective
        What is searched.
    incumbent
        A valid schedule to start from (e.g. the best policy's).
    workers, seed
        CP-SAT threads and seed of each window's solve.
    stop
        Set it to stop the search (between windows; CP-SAT stops on Ctrl-C by itself).
    """

    def __init__(
        self,
        instance: Instance,
        objective: Objective,
        incumbent: Schedule,
        *,
        workers: int = 2,
        seed: int = 0,
        stop: threading.Event | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> None:
        self.instance = instance
        self.objective = objective
        self.incumbent = incumbent
        self.parameters = dict(WINDOW_PARAMETERS if parameters is None else parameters)
        self.values = objective.values(instance, incumbent)
        self.workers = workers
        self.seed = seed
        self.stop = stop or threading.Event()
        self.stats = SearchStats()
        # (deadline, job) of the missed jobs that run, and the incumbent they are of
        self._late: tuple[Schedule | None, list[tuple[float, str]]] = (None, [])
        g = instance.graph
        jobs = instance.jobs
        self._order = instance.tasks
        self._index = {t: i for i, t in enumerate(self._order)}
        self._job_ids = tuple(jobs)
        self._job_index = {j: k for k, j in enumerate(self._job_ids)}
        self._job_of = np.array(
            [self._job_index[g.nodes[t]["job"]] for t in self._order], dtype=np.int64
        )
        self._release = np.array([g.nodes[t]["release"] for t in self._order])
        self._job_release = np.array([jobs[j].release for j in self._job_ids])
        self._preds = [[self._index[u] for u in g.predecessors(t)] for t in self._order]
        self._succs = [[self._index[v] for v in g.successors(t)] for t in self._order]

    # ----------------------------------------------------------------- times
    def _times(self, placements: Mapping[str, Placement]) -> tuple[np.ndarray, np.ndarray]:
        """Start and end of every task (``inf`` where it does not run)."""
        n = len(self._order)
        start, end = np.full(n, np.inf), np.full(n, np.inf)
        for t, pl in placements.items():
            i = self._index[t]
            start[i], end[i] = pl.start, pl.end
        return start, end

    def _over(self, deadline: float) -> bool:
        return self.stop.is_set() or time.perf_counter() >= deadline - 0.05

    def _limit(self, tasks: int, deadline: float, window_limit: float | None) -> float:
        """The time of a window of ``tasks`` free tasks: in proportion to its size, at
        ``window_limit`` (``None``: :data:`WINDOW_LIMIT`) seconds per WINDOW_TASKS."""
        per = WINDOW_LIMIT if window_limit is None else window_limit
        return min(per * tasks / WINDOW_TASKS, deadline - time.perf_counter())

    # ----------------------------------------------------------------- the frame
    def _frame(
        self,
        free: list[str],
        placements: Mapping[str, Placement],
        dropped: frozenset[str] | set[str],
        times: tuple[np.ndarray, np.ndarray],
        *,
        earliest: float,
        cap: float | None,
        hint: Mapping[str, Placement] | None,
        keep_running: set[str],
        pulled: frozenset[str] = frozenset(),
    ) -> Frame:
        """The sub-instance of the free jobs and the fixed tasks around them.

        Free tasks start no earlier than ``earliest`` (nor their release) and end by ``cap``
        (``None``: no cap); the fixed tasks are the placed tasks of other jobs that overlap
        ``[earliest, cap]`` and the placed direct neighbours of the free tasks. The hint places
        the free tasks as ``hint`` does (``None``: list schedule them around the fixed tasks).
        The ``pulled`` jobs (among ``free``) may be dropped in the frame and are dropped in the
        hint: placed, they run in the frame; dropped, they stay where they were
        (:meth:`_merge`). Their successors outside are left out (they start after ``cap``).
        """
        inst = self.instance
        g = inst.graph
        jobs = inst.jobs
        start, end = times
        free_tasks = [self._index[t] for j in free for t in jobs[j].tasks]
        free_idx = set(free_tasks)
        upper = np.inf if cap is None else cap
        overlap = np.flatnonzero((start < upper) & (end > earliest))
        fixed_idx = {int(i) for i in overlap if int(i) not in free_idx}
        for i in free_tasks:
            after = () if self._job(i) in pulled else self._succs[i]
            for k in (*self._preds[i], *after):
                if k not in free_idx and math.isfinite(start[k]):
                    fixed_idx.add(k)
        sub = nx.DiGraph()
        for i in free_tasks:
            t = self._order[i]
            attrs = dict(g.nodes[t])
            attrs["release"] = max(attrs["release"], earliest)
            attrs["droppable"] = attrs["job"] in pulled or (
                attrs["job"] in inst.droppable and attrs["job"] not in keep_running
            )
            sub.add_node(t, **attrs)
        fixed: dict[str, float] = {}
        for i in sorted(fixed_idx):
            t = self._order[i]
            pl = placements[t]
            sub.add_node(
                t,
                durations={pl.processor: g.nodes[t]["durations"][pl.processor]},
                release=pl.start,
                deadline=None,
                job=f"fixed:{t}",
                stream=g.nodes[t]["stream"],
                weight=0.0,
                phase="task",
                request=None,
                tokens=0,
                droppable=False,
            )
            fixed[t] = pl.start
        for t in list(sub.nodes):
            # a pulled task's fixed successors start after the cap plus the transfer (_pulled):
            # no edge, or they would pin it in the frame
            pulled_task = g.nodes[t]["job"] in pulled
            for v in g.successors(t):
                if v in sub and not (pulled_task and v in fixed):
                    sub.add_edge(t, v, **g.edges[t, v])
        requests = {
            r: req
            for r, req in inst.requests.items()
            if all(t in sub and t not in fixed for t in req.prefill_tasks)
        }
        part = Instance.from_networkx(
            sub,
            inst.platform,
            miss_mode=inst.miss_mode,
            name=f"{inst.name}[{earliest:g}..{upper:g}]",
            horizon=inst.horizon,
            streams=inst.streams,
            requests=requests,
            resolution=inst.resolution,
        )
        if hint is None:
            pinned = {t: (placements[t].processor, s) for t, s in fixed.items()}
            schedule = list_schedule(part, self.objective, fixed=pinned)
        else:
            rows = [
                (t, hint[t].processor, hint[t].start, hint[t].end)
                for t in sub.nodes
                if t in hint and sub.nodes[t]["job"] not in pulled
            ]
            off = [j for j in free if j in dropped or j in pulled]
            schedule = Schedule.build(rows, off, method="incumbent")
        violations = validate(part, schedule)
        if violations:
            raise InternalError(f"window search: the hint leaves its frame: {violations[:2]}")
        return Frame(part, schedule, fixed, cap)

    def _solve(self, frame: Frame, time_limit: float) -> Schedule | None:
        """The frame solved by CP-SAT (its schedule is never worse than the hint)."""
        self.stats.solved += 1
        started = time.perf_counter()
        result = solve_exact(
            frame.instance,
            self.objective,
            "cpsat",
            time_limit=time_limit,
            workers=self.workers,
            seed=self.seed,
            hint=frame.hint,
            fixed=frame.fixed,
            latest_end=frame.latest_end,
            parameters=self.parameters,
            floor_probe=False,  # see cpsat.FLOOR_SHARE
        )
        self.stats.solve_s += time.perf_counter() - started
        if result.stats.get("interrupted"):
            self.stats.interrupted = True
            self.stop.set()
        if result.status is SolveStatus.UNKNOWN:
            return None
        # Compact: the windows after this one find the processors free as early as possible.
        return left_shift(frame.instance, result.schedule)

    def _share(
        self, jobs: list[str], placements: Mapping[str, Placement], dropped
    ) -> tuple[Instance, float]:
        """The instance restricted to ``jobs`` and their share of the first objective
        component as ``placements`` and ``dropped`` place them."""
        part = self.instance.restrict(jobs)
        share = Schedule.build(
            [
                (t, placements[t].processor, placements[t].start, placements[t].end)
                for t in part.tasks
                if t in placements
            ],
            [j for j in jobs if j in dropped],
        )
        return part, self.objective.first.evaluate(part, share)

    def _closed(self, free: list[str], placements: Mapping[str, Placement], dropped) -> bool:
        """Whether the free jobs' share of the objective meets its solver-free bound."""
        part, value = self._share(free, placements, dropped)
        return leq(value, combinatorial_bounds(part, self.objective)["bound"])

    def _earliest(self, free: list[str], end: np.ndarray) -> float:
        """The earliest a free task can start: over the free tasks without a free predecessor,
        the least of their release and their placed predecessors' ends (a decode block waits
        for the block before it, placed in an earlier window)."""
        jobs = self.instance.jobs
        free_idx = {self._index[t] for j in free for t in jobs[j].tasks}
        out = math.inf
        for i in free_idx:
            if any(k in free_idx for k in self._preds[i]):
                continue
            ready = max(
                [self._release[i], *(end[k] for k in self._preds[i] if math.isfinite(end[k]))]
            )
            out = min(out, float(ready))
        return out

    def _pinned_dropped(self, jobs: Iterable[str], dropped: Iterable[str]) -> set[str]:
        """Of ``jobs``, those that depend on a dropped job outside them: they stay dropped."""
        chosen = set(jobs)
        inst = self.instance
        return {
            k for j in dropped if j not in chosen for k in inst.drop_closure([j]) if k in chosen
        }

    # ----------------------------------------------------------------- rolling construction
    def construct(
        self,
        deadline: float,
        *,
        target: int = WINDOW_TASKS,
        window_limit: float | None = None,
        lookahead: int = LOOKAHEAD,
        give_up: float | None = None,
    ) -> Schedule:
        """A whole schedule built window by window (see the module docstring); it replaces the
        incumbent when it is better. Returns the incumbent.

        Windows are solved until ``deadline``, the rest list scheduled; at ``give_up`` (a
        :func:`time.perf_counter` time) an unfinished construction is abandoned.

        Each step solves its window together with the next ``lookahead`` windows and commits
        only its own jobs, so a window leaves room for the work due just after it.
        """
        inst = self.instance
        placements: dict[str, Placement] = {}
        dropped: set[str] = set()
        times = self._times({})
        windows = windows_of(inst, target, by="deadline")
        lead = None
        if CONSTRUCT_LEAD_KEEP is not None and self.objective.first.additive:
            lead = _Lead(self, self.incumbent)
        for k, window in enumerate(windows):
            if give_up is not None and time.perf_counter() >= give_up:
                self.stats.construct_abandoned = True
                return self.incumbent
            ahead = [j for w in windows[k + 1 : k + 1 + lookahead] for j in w.jobs]
            pinned = self._pinned_dropped([*window.jobs, *ahead], dropped)
            dropped |= pinned & set(window.jobs)
            commit = [j for j in window.jobs if j not in pinned]
            if not commit:
                continue
            free = commit + [j for j in ahead if j not in pinned]
            earliest = self._earliest(free, times[1])
            frame = self._frame(
                free,
                placements,
                dropped,
                times,
                earliest=earliest,
                cap=None,
                hint=None,
                keep_running=set(),
            )
            schedule = left_shift(frame.instance, frame.hint)
            limit = self._limit(
                len(frame.instance.tasks) - len(frame.fixed), deadline, window_limit
            )
            if self._over(deadline) or limit <= 0.05:
                self.stats.construct_listed += 1
            elif not self._closed(free, frame.hint.placements, frame.hint.dropped):
                self.stats.construct_windows += 1
                schedule = self._solve(frame, limit) or schedule
            moved = {t for j in commit for t in inst.jobs[j].tasks}
            for t, pl in schedule.placements.items():
                if t in moved:
                    placements[t] = pl
                    i = self._index[t]
                    times[0][i], times[1][i] = pl.start, pl.end
            dropped |= set(schedule.dropped) & set(commit)
            if lead is not None and k + 1 < len(windows):
                lead.add(commit, placements, dropped)
                if lead.fallen():
                    self._complete(placements, dropped, deadline)
                    lead.completed = True
                elif lead.gone() or lead.behind(k + 1):
                    self.stats.construct_stopped = True
                    return self.incumbent
        built = Schedule.build(
            [(t, pl.processor, pl.start, pl.end) for t, pl in placements.items()],
            dropped,
            method="window-search",
        )
        violations = validate(inst, built)
        if violations:
            raise InvalidScheduleError(violations)
        values = self.objective.values(inst, built)
        self.stats.construct_value = values[0]
        if values < self.values:
            self.incumbent, self.values = built, values
        return self.incumbent

    def _complete(self, placements: Mapping[str, Placement], dropped: set[str], until: float):
        """The construction so far completed by list scheduling the rest around it; it
        replaces the incumbent when it is better."""
        pinned = {t: (pl.processor, pl.start) for t, pl in placements.items()}
        done = list_schedule(self.instance, self.objective, fixed=pinned, until=until)
        violations = validate(self.instance, done)
        if violations:
            raise InvalidScheduleError(violations)
        values = self.objective.values(self.instance, done)
        self.stats.construct_completed = values[0]
        if values < self.values:
            self.incumbent = done.with_provenance(method="window-search")
            self.values = values

    # ----------------------------------------------------------------- improving passes
    def run(
        self,
        deadline: float,
        *,
        target: int = WINDOW_TASKS,
        window_limit: float | None = None,
        done: Callable[[tuple[float, ...]], bool] | None = None,
        on_improve: OnImprove | None = None,
        stall: Callable[[], bool] | None = None,
    ) -> Schedule:
        """Improving passes over the slices until ``deadline`` (a ``time.perf_counter()``
        value), until ``done(values)`` is true, or until the largest slices improve nothing.

        When two passes in a row (both cuts) improve nothing, ``stall()`` is called first (the
        decomposition tightens its bound there); the slices grow only when it returns false.
        Returns the incumbent, validated against the instance.
        """
        offset = 0
        stalled = 0
        while not self._over(deadline) and not (done and done(self.values)):
            if self.sweep(
                target,
                deadline,
                offset=offset,
                window_limit=window_limit,
                done=done,
                on_improve=on_improve,
            ):
                stalled = 0
            else:
                stalled += 1
                if stalled >= 2:  # both cuts at this size improved nothing
                    stalled = 0
                    if stall is not None and stall():
                        continue
                    if target >= MAX_WINDOW_TASKS:
                        break
                    target = min(MAX_WINDOW_TASKS, target * GROWTH)
            offset = 0 if offset else target // 2
        violations = validate(self.instance, self.incumbent)
        if violations:
            raise InvalidScheduleError(violations)
        return self.incumbent

    def sweep(
        self,
        target: int,
        deadline: float,
        *,
        offset: int = 0,
        window_limit: float | None = None,
        done: Callable[[tuple[float, ...]], bool] | None = None,
        on_improve: OnImprove | None = None,
    ) -> bool:
        """One pass over the slices of ``target`` tasks (first slice ``offset``); whether it
        improved the incumbent."""
        self.stats.passes += 1
        self.stats.slice_tasks.append(target)
        before = self.values
        for a, b in self.slices(target, offset=offset):
            if self._over(deadline) or (done and done(self.values)):
                break
            limit = self._limit(target, deadline, window_limit)
            if self.improve(a, b, limit) and on_improve is not None:
                on_improve(self.incumbent, self.values)
        return self.values < before

    def slices(self, target: int, *, offset: int = 0) -> list[tuple[float, float]]:
        """Time slices ``[a, b)`` in which about ``target`` tasks of the incumbent start (a
        dropped job's tasks count at their release); the first holds ``offset`` tasks when
        ``0 < offset < target``."""
        start, _ = self._times(self.incumbent.placements)
        when = np.where(np.isfinite(start), start, self._release)
        times = np.sort(when)
        if not len(times):
            return []
        cuts = [float(times[0])]
        k = offset if 0 < offset < target else target
        while k < len(times):
            t = float(times[k])
            if t > cuts[-1]:
                cuts.append(t)
            k += target
        return list(zip(cuts, [*cuts[1:], math.inf], strict=True))

    def improve(self, a: float, b: float, time_limit: float) -> bool:
        """Re-optimise the jobs of slice ``[a, b)`` with the rest fixed; keep it if better."""
        inst = self.instance
        placements, dropped = self.incumbent.placements, self.incumbent.dropped
        times = self._times(placements)
        free = self._slice_jobs(a, b, times[0], dropped)
        if not free or time_limit <= 0.05:
            return False
        start, end = times
        free_tasks = [self._index[t] for j in free for t in inst.jobs[j].tasks]
        placed = [i for i in free_tasks if math.isfinite(start[i])]
        lo = min([a, *(start[i] for i in placed)])
        ends = [end[i] for i in placed]
        deadlines = [
            inst.jobs[j].deadline
            for j in free
            if j in dropped and inst.jobs[j].deadline is not None
        ]
        last = max([*ends, *deadlines, b if math.isfinite(b) else lo])
        width = (b if math.isfinite(b) else last) - a
        releases = min(inst.graph.nodes[self._order[i]]["release"] for i in free_tasks)
        earliest = max(releases, lo - width)
        cap = last + (last - earliest)
        free_set = set(free)
        keep_running = {
            j
            for j in free
            if any(k not in free_set and k not in dropped for k in inst.drop_closure([j]))
        }
        pulled = self._pulled(a, b, free_set, times, cap)
        if not pulled and self._closed(free, placements, dropped):
            self.stats.skipped += 1
            return False
        self.stats.pulled += len(pulled)
        frame = self._frame(
            [*free, *sorted(pulled)],
            placements,
            dropped,
            times,
            earliest=earliest,
            cap=cap,
            hint=placements,
            keep_running=keep_running,
            pulled=pulled,
        )
        window = self._solve(frame, time_limit)
        if window is None:
            return False
        merged = self._merge([*free, *pulled], window, pulled)
        values = self.objective.values(inst, merged)
        if not values < self.values:
            return False
        self.incumbent, self.values = merged, values
        self.stats.improved += 1
        self.stats.pulled_on_time += len(pulled - window.dropped)
        return True

    def _pulled(
        self, a: float, b: float, free: set[str], times: tuple[np.ndarray, np.ndarray], cap: float
    ) -> frozenset[str]:
        """The late jobs a slice ``[a, b)`` pulls in (:data:`PULL`): missed, due in the slice,
        not free, running after ``cap`` plus the longest transfer from each predecessor, with
        every predecessor free, pulled or done by the deadline, and every successor not free
        and starting after ``cap`` plus the longest transfer to it. A slice frees the work running in it; a job that runs long after its
        deadline (a deferred decode block) is free only in the slice where it runs, where
        nothing is due, so without this no slice brings it back on time.

        Only where a dropped job is a missed job like a late one (``misses`` in ``drop``
        mode): in the frame, dropping a pulled job means leaving it where it was."""
        inst = self.instance
        if not PULL or not math.isfinite(b) or inst.miss_mode != "drop":
            return frozenset()
        if self.objective.first.name != "misses":
            return frozenset()
        if self._late[0] is not self.incumbent:
            missed = missed_jobs(inst, self.incumbent) - self.incumbent.dropped
            self._late = (self.incumbent, sorted((inst.jobs[j].deadline, j) for j in missed))
        late = self._late[1]
        out: set[str] = set()
        for deadline, j in late[bisect.bisect_left(late, (a, "")) :]:
            if deadline >= b or len(out) >= PULL:
                break
            if j not in free and self._pullable(j, deadline, free | out, times, cap):
                out.add(j)
        return frozenset(out)

    def _pullable(
        self,
        job: str,
        deadline: float,
        moving: set[str],
        times: tuple[np.ndarray, np.ndarray],
        cap: float,
    ) -> bool:
        """Whether ``job`` may be pulled in beside the ``moving`` jobs (:meth:`_pulled`)."""
        start, end = times
        tasks = [self._index[t] for t in self.instance.jobs[job].tasks]
        mine = set(tasks)
        for i in tasks:
            for k in self._preds[i]:
                if k in mine:
                    continue
                if self._job(k) not in moving and not end[k] <= deadline:
                    return False
                if start[i] < cap + self._lag(k, i):
                    return False  # left out, it stays where it is, after whatever the frame did
            for k in self._succs[i]:
                if k in mine:
                    continue
                if self._job(k) in moving:
                    return False  # a free job that needs it would pin it in the frame
                if math.isfinite(start[k]) and start[k] < cap + self._lag(i, k):
                    return False
        return start[tasks].min() >= cap

    def _job(self, i: int) -> str:
        """The job of task ``i``."""
        return self._job_ids[self._job_of[i]]

    def _lag(self, i: int, k: int) -> float:
        """The longest transfer from task ``i`` (on any of its processors) to task ``k`` where
        the incumbent has it."""
        inst = self.instance
        u, v = self._order[i], self._order[k]
        p = self.incumbent.placements[v].processor
        return max(inst.transfer_ms(u, v, q, p) for q in inst.durations(u))

    def _slice_jobs(self, a: float, b: float, start: np.ndarray, dropped) -> list[str]:
        """The jobs with a task that starts in ``[a, b)`` and the dropped jobs released in it,
        less those that must stay dropped."""
        inside = (start >= a) & (start < b)
        touched = np.zeros(len(self._job_ids), dtype=bool)
        touched[self._job_of[inside]] = True
        released = (self._job_release >= a) & (self._job_release < b)
        is_dropped = np.zeros(len(self._job_ids), dtype=bool)
        is_dropped[[self._job_index[j] for j in dropped]] = True
        chosen = [self._job_ids[k] for k in np.flatnonzero(touched | (is_dropped & released))]
        pinned = self._pinned_dropped(chosen, dropped)
        return [j for j in chosen if j not in pinned]

    def _merge(
        self, free: list[str], window: Schedule, pulled: frozenset[str] = frozenset()
    ) -> Schedule:
        """The incumbent with the free jobs as ``window`` places them (a pulled job that
        ``window`` drops stays where it was)."""
        inst = self.instance
        free_set = set(free) - (window.dropped & pulled)
        moved = {t for j in free_set for t in inst.jobs[j].tasks}
        placements: dict[str, Placement] = {
            t: pl for t, pl in self.incumbent.placements.items() if t not in moved
        }
        for t, pl in window.placements.items():
            if t in moved:
                placements[t] = pl
        dropped = (self.incumbent.dropped - free_set) | (window.dropped & free_set)
        return Schedule.build(
            [(t, pl.processor, pl.start, pl.end) for t, pl in placements.items()],
            dropped,
            **{**self.incumbent.provenance, "method": "window-search"},
        )


class _Lead:
    """The rolling construction's lead over a start (:data:`CONSTRUCT_LEAD_KEEP`), window by
    window: the start's share of the first (additive) component on the committed jobs less
    the construction's."""

    def __init__(self, search: WindowSearch, start: Schedule) -> None:
        self.search, self.start = search, start
        self.lead = self.best = 0.0
        self.completed = False

    def _share(self, jobs: list[str], placements: Mapping[str, Placement], dropped) -> float:
        return self.search._share(jobs, placements, dropped)[1]

    def add(self, jobs: list[str], placements: Mapping[str, Placement], dropped) -> None:
        start = self.start
        self.lead += self._share(jobs, start.placements, start.dropped)
        self.lead -= self._share(jobs, placements, dropped)
        self.best = max(self.best, self.lead)

    def fallen(self) -> bool:
        """The lead has fallen to CONSTRUCT_LEAD_KEEP of its best (once)."""
        keep = CONSTRUCT_LEAD_KEEP or 0.0
        return not self.completed and self.best > 0 and self.lead <= keep * self.best

    def behind(self, windows: int) -> bool:
        """After ``windows`` windows the construction has never led and trails the start
        (:data:`CONSTRUCT_BEHIND_WINDOWS`)."""
        least = CONSTRUCT_BEHIND_WINDOWS
        return least is not None and windows >= least and self.best <= 0 and self.lead < 0

    def gone(self) -> bool:
        """After the completion, the lead is gone: the construction is not worth finishing."""
        return self.completed and self.lead <= 0
