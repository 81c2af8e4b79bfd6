"""Decision variables of the CP-SAT model (formulations/cpsat.md, section "Variables").

All times are integers in the model time of :func:`rtgen_opt.exact.windows.windows`; every
domain is shrunk to the option's time window ``[est, horizon - tail]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ortools.sat.python import cp_model

from rtgen_opt.exact.cpsat.pools import Pools
from rtgen_opt.exact.windows import Windows
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective

#: Option intervals start at the task's start variable (as in PyJobShop) instead of an own
#: start variable tied to it by (C2) (as in the OR-Tools flexible job shop example).
SHARED_START = True


@dataclass(frozen=True)
class HintValues:
    """A schedule in model time, from which every variable's hint is derived."""

    start: dict[str, int]
    end: dict[str, int]
    processor: dict[str, str]
    dropped: frozenset[str]


class Variables:
    """Creates and holds every variable of the model.

    Attributes
    ----------
    start, end, size, interval
        Per task: its start, end, chosen duration and (optional when droppable) interval.
    present, opt_start, opt_interval
        Per option ``(task, processor)``: chosen literal ``x[t, p]``, start, and the optional
        fixed-size interval on that processor.
    run
        Per job: the job runs (constant true unless it may be dropped).
    completion, ontime
        Per job with a deadline: the end of its last task, and "ends by the deadline" literal.
    makespan
        The latest end of a task (only with the ``makespan`` objective), at least
        ``makespan_lb`` (a combinatorial bound).
    pools
        The pools of identical processors (:mod:`.pools`); ``win`` holds the options reduced to
        their representatives (:meth:`Pools.reduce`).
    """

    def __init__(
        self,
        model: cp_model.CpModel,
        instance: Instance,
        win: Windows,
        objective: Objective,
        makespan_lb: int = 0,
        shared_start: bool = SHARED_START,
        pools: Pools | None = None,
    ) -> None:
        self.model = model
        self.pools = pools or Pools.none(instance)
        self.instance = instance
        self.win = win
        # The jobs that may be dropped in effect (Instance.droppable: closure-aware).
        self.droppable = instance.droppable
        self.shared_start = shared_start
        self._job_vars()
        self._task_vars()
        self._option_vars()
        self._deadline_vars()
        self.makespan: cp_model.IntVar | None = None
        if objective.has("makespan"):
            self.makespan = model.NewIntVar(min(makespan_lb, win.horizon), win.horizon, "makespan")

    # ----------------------------------------------------------------- creation
    def _job_vars(self) -> None:
        m = self.model
        self.run: dict[str, cp_model.IntVar] = {}
        for j in self.instance.jobs:
            lit = m.NewBoolVar(f"run[{j}]")
            if j not in self.droppable:
                m.Add(lit == 1)
            self.run[j] = lit

    def _option_vars(self) -> None:
        m, win = self.model, self.win
        self.present: dict[tuple[str, str], cp_model.IntVar] = {}
        self.opt_start: dict[tuple[str, str], cp_model.IntVar] = {}
        self.opt_interval: dict[tuple[str, str], cp_model.IntervalVar] = {}
        nodes = self.instance.graph.nodes
        for t in win.tasks:
            # A task with one option that always runs gets a plain interval (the classic
            # job-shop model), not an optional one whose literal presolve must fix.
            plain = len(win.options[t]) == 1 and nodes[t]["job"] not in self.droppable
            for p in win.options[t]:
                est, lst = win.est[t, p], win.lst(t, p)
                lit = m.NewBoolVar(f"x[{t},{p}]")
                if est > lst:  # cannot fit in the horizon: never chosen
                    m.Add(lit == 0)
                    lst = est
                if self.shared_start:
                    # The option's interval starts at the task's start; its own window
                    # [est, lst] holds only when chosen.
                    s = self.start[t]
                    if est > self.lo[t]:
                        m.Add(s >= est).OnlyEnforceIf(lit)
                    if lst < self.hi[t] - win.duration[t, p]:
                        m.Add(s <= lst).OnlyEnforceIf(lit)
                else:
                    s = m.NewIntVar(est, lst, f"s[{t},{p}]")
                self.present[t, p] = lit
                self.opt_start[t, p] = s
                if plain:
                    m.Add(lit == 1)
                    self.opt_interval[t, p] = m.NewFixedSizeIntervalVar(
                        s, win.duration[t, p], f"I[{t},{p}]"
                    )
                else:
                    self.opt_interval[t, p] = m.NewOptionalFixedSizeIntervalVar(
                        s, win.duration[t, p], lit, f"I[{t},{p}]"
                    )

    def _task_vars(self) -> None:
        m, win = self.model, self.win
        nodes = self.instance.graph.nodes
        self.start: dict[str, cp_model.IntVar] = {}
        self.end: dict[str, cp_model.IntVar] = {}
        self.size: dict[str, cp_model.IntVar] = {}
        self.interval: dict[str, cp_model.IntervalVar] = {}
        self.lo: dict[str, int] = {}  # bounds of start[t] and end[t]
        self.hi: dict[str, int] = {}
        for t in win.tasks:
            opts = win.options[t]
            lo = min(win.est[t, p] for p in opts)
            hi = max(max(win.lct(t, p) for p in opts), lo)
            durations = sorted({win.duration[t, p] for p in opts})
            job = nodes[t]["job"]
            if job in self.droppable:
                durations = sorted(set(durations) | {0})
            self.lo[t], self.hi[t] = lo, hi
            self.start[t] = m.NewIntVar(lo, hi, f"S[{t}]")
            self.end[t] = m.NewIntVar(lo, hi, f"E[{t}]")
            self.size[t] = m.NewIntVarFromDomain(cp_model.Domain.FromValues(durations), f"D[{t}]")
            if job in self.droppable:
                self.interval[t] = m.NewOptionalIntervalVar(
                    self.start[t], self.size[t], self.end[t], self.run[job], f"T[{t}]"
                )
            else:
                self.interval[t] = m.NewIntervalVar(
                    self.start[t], self.size[t], self.end[t], f"T[{t}]"
                )

    def _deadline_vars(self) -> None:
        m, win = self.model, self.win
        self.completion: dict[str, cp_model.IntVar] = {}
        self.ontime: dict[str, cp_model.IntVar] = {}
        self.job_lo: dict[str, int] = {}  # bounds of completion[j]
        self.job_hi: dict[str, int] = {}
        g = self.instance.graph
        # The tasks a job can end with: those without a successor in the same job (C7).
        self.last_tasks: dict[str, tuple[str, ...]] = {
            j: tuple(
                t for t in job.tasks if not any(g.nodes[s]["job"] == j for s in g.successors(t))
            )
            for j, job in self.instance.jobs.items()
        }
        for j, job in self.instance.jobs.items():
            if j not in win.deadline:
                continue
            lo = min(self.lo[t] for t in job.tasks)
            hi = max(self.hi[t] for t in job.tasks)
            self.job_lo[j], self.job_hi[j] = lo, hi
            self.completion[j] = m.NewIntVar(lo, hi, f"C[{j}]")
            self.ontime[j] = m.NewBoolVar(f"ontime[{j}]")

    # ----------------------------------------------------------------- hints
    def hinted_completion(self, h: HintValues, j: str) -> int:
        """The completion (C7) of job ``j`` under hint ``h``: the latest end of its last
        tasks, a task that does not run counting at its earliest start (where it is hinted)."""
        return max(h.end.get(t, self.lo[t]) for t in self.last_tasks[j])

    def hint(self, h: HintValues) -> None:
        """Hint every variable of this class from a schedule in model time."""
        m, win = self.model, self.win
        # A task that does not run is hinted at its earliest start with size 0, so its job's
        # completion (C7: the latest end of its last tasks) is the latest of those starts.
        for j in self.instance.jobs:
            runs = j not in h.dropped
            m.AddHint(self.run[j], runs)
            if j in self.completion:
                comp = self.hinted_completion(h, j)
                m.AddHint(self.completion[j], comp)
                m.AddHint(self.ontime[j], runs and comp <= win.deadline[j])
        if self.makespan is not None:
            m.AddHint(self.makespan, max(h.end.values(), default=0))
        for t in win.tasks:
            placed = t in h.start
            for p in win.options[t]:
                chosen = placed and h.processor[t] == p
                m.AddHint(self.present[t, p], chosen)
                if not self.shared_start:
                    m.AddHint(self.opt_start[t, p], h.start[t] if chosen else win.est[t, p])
            if placed:
                m.AddHint(self.start[t], h.start[t])
                m.AddHint(self.end[t], h.end[t])
                m.AddHint(self.size[t], h.end[t] - h.start[t])
            else:
                m.AddHint(self.start[t], self.lo[t])
                m.AddHint(self.end[t], self.lo[t])
                m.AddHint(self.size[t], 0)
