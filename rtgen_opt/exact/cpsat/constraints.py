"""Constraints of the CP-SAT model, one method per family, numbered as in formulations/cpsat.md.

:meth:`Constraints.add_all` calls them in order and reads like the table of contents of the
formulation. (C1)-(C8) define the problem; (C9)-(C11) are redundant: implied by the others, they
only make the LP relaxation and the bound stronger.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction

from ortools.sat.python import cp_model

from rtgen_opt.exact.bounds import _eligibility_sets, _sample, job_tails, mandatory_tasks
from rtgen_opt.exact.cpsat.variables import Variables
from rtgen_opt.exact.symmetry import symmetric_pairs
from rtgen_opt.objectives import Objective

#: Caps on the number of redundant window-load constraints (C11).
MAX_WINDOW_CONSTRAINTS = 400
#: (C10) per processor set and per processor too, not only over all processors, in the
#: optimisation model (feasibility probes always add them: ``PROBE_LOAD_PER_SET``).
LOAD_PER_SET = False


class Constraints:
    def __init__(
        self, model: cp_model.CpModel, variables: Variables, *, cumulative: bool = False
    ) -> None:
        self.cumulative = cumulative
        self.model = model
        self.v = variables
        self.instance = variables.instance
        self.win = variables.win

    def processor_sets(self) -> list[frozenset[str]]:
        """The processor sets of the load bounds (``bounds._eligibility_sets``), each once: with
        pools, a set of representatives and the set of its pools' processors are one set."""
        pools, seen, out = self.v.pools, set(), []
        for procs in _eligibility_sets(self.instance, self.win):
            key = frozenset(m for p in procs for m in pools.members[pools.rep[p]])
            if key not in seen:
                seen.add(key)
                out.append(procs)
        return out

    def add_all(self, objective: Objective) -> None:
        self.one_option_per_task()  # (C1)
        self.option_timing()  # (C2)
        self.task_duration()  # (C3)
        self.one_task_at_a_time()  # (C4)
        self.precedence_and_transfers()  # (C5)
        self.drop_cascade()  # (C6)
        self.job_completion()  # (C7)
        self.deadlines()  # (C8)
        if self.cumulative:
            self.redundant_task_cumulative()  # (C9), opt-in: see the method
        self.redundant_processor_load()  # (C10)
        if objective.has("misses") or objective.has("tardiness"):
            self.redundant_window_load()  # (C11): needs the on-time literals

    def one_option_per_task(self) -> None:
        """(C1) exactly one option of a task is chosen when its job runs, none otherwise."""
        m, v = self.model, self.v
        nodes = self.instance.graph.nodes
        for t in self.win.tasks:
            lits = [v.present[t, p] for p in self.win.options[t]]
            job = nodes[t]["job"]
            if job in v.droppable:
                m.Add(sum(lits) == v.run[job])
            else:
                m.AddExactlyOne(lits)

    def option_timing(self) -> None:
        """(C2) the chosen option shares the task's start and end."""
        m, v, win = self.model, self.v, self.win
        for t in win.tasks:
            for p in win.options[t]:
                lit = v.present[t, p]
                if not v.shared_start:
                    m.Add(v.start[t] == v.opt_start[t, p]).OnlyEnforceIf(lit)
                m.Add(v.end[t] == v.opt_start[t, p] + win.duration[t, p]).OnlyEnforceIf(lit)

    def task_duration(self) -> None:
        """(C3) a task's duration is its chosen option's (0 when its job is dropped)."""
        m, v, win = self.model, self.v, self.win
        for t in win.tasks:
            m.Add(v.size[t] == sum(win.duration[t, p] * v.present[t, p] for p in win.options[t]))

    def one_task_at_a_time(self) -> None:
        """(C4) one task at a time per processor: no overlap of its chosen options; for a pool
        of ``k`` identical processors (:mod:`.pools`), at most ``k`` of its options at once.

        The pool's cumulative replaces ``k`` optional intervals per task and ``k`` no-overlaps,
        so that a ``P|prec|Cmax`` instance is the textbook cumulative model (plus the redundant
        constraints) rather than ``k`` times the interval literals (STG graphs at m = 8:
        proven 4/4 with pools, 2/4 without; ``bench/results/stg_open.md``).
        """
        pools = self.v.pools
        per_proc: dict[str, list[cp_model.IntervalVar]] = {p: [] for p in self.instance.processors}
        for (_, p), interval in self.v.opt_interval.items():
            per_proc[p].append(interval)
        for p in sorted(per_proc):
            k = pools.size(p)
            if k > 1 and len(per_proc[p]) > k:
                self.model.AddCumulative(per_proc[p], [1] * len(per_proc[p]), k)
            elif k == 1 and len(per_proc[p]) > 1:
                self.model.AddNoOverlap(per_proc[p])

    def precedence_and_transfers(self) -> None:
        """(C5) ``v`` starts after ``u`` ends, plus the transfer when on different processors."""
        m, v, win = self.model, self.v, self.win
        g = self.instance.graph
        for a, b in g.edges:
            job_b = g.nodes[b]["job"]
            base = m.Add(v.end[a] <= v.start[b])
            if job_b in v.droppable:
                base.OnlyEnforceIf(v.run[job_b])
            if not win.has_transfer(a, b):
                continue
            for q in win.options[b]:
                delay = sum(
                    win.transfer(a, b, p, q) * v.present[a, p]
                    for p in win.options[a]
                    if win.transfer(a, b, p, q)
                )
                m.Add(v.opt_start[b, q] >= v.end[a] + delay).OnlyEnforceIf(v.present[b, q])

    def drop_cascade(self) -> None:
        """(C6) a job depending on a dropped job is dropped: ``run[j'] <= run[j]``."""
        m, v = self.model, self.v
        for j, succs in self.instance.job_successors.items():
            if j not in v.droppable:
                continue  # run[j] is fixed to 1
            for k in succs:
                m.AddImplication(v.run[k], v.run[j])

    def job_completion(self) -> None:
        """(C7) a job's completion is the latest end of its tasks."""
        m, v = self.model, self.v
        for j, comp in v.completion.items():
            m.AddMaxEquality(comp, [v.end[t] for t in v.last_tasks[j]])

    def deadlines(self) -> None:
        """(C8) ``ontime[j]`` iff the job runs and completes by its deadline.

        Also, when on time, every task of the job ends early enough for the rest of its job
        (deadline minus in-job tail): implied, but it prunes start domains.
        """
        m, v, win = self.model, self.v, self.win
        tails = job_tails(self.instance, win)
        for j, lit in v.ontime.items():
            d = win.deadline[j]
            m.Add(v.completion[j] <= d).OnlyEnforceIf(lit)
            if j in v.droppable:
                m.AddImplication(lit, v.run[j])
                m.Add(v.completion[j] >= d + 1).OnlyEnforceIf([lit.Not(), v.run[j]])
            else:
                m.Add(v.completion[j] >= d + 1).OnlyEnforceIf(lit.Not())
            for t in self.instance.jobs[j].tasks:
                slack = min(tails[t, p] for p in win.options[t])
                if slack:
                    m.Add(v.end[t] <= d - slack).OnlyEnforceIf(lit)

    def redundant_task_cumulative(self) -> None:
        """(C9) tasks restricted to a processor set ``K`` never run more than ``|K|`` at once.

        Opt-in (``solve(..., cumulative=True)``): on the Fattahi FJSP instances it slowed the
        proof down (MFJS8: not proven in 10 s with it, proven in 3-9 s without).
        """
        win = self.win
        for procs in self.processor_sets():
            if len({self.v.pools.rep[p] for p in procs}) < 2:
                continue  # a single processor or pool: (C4) already says it
            tasks = [t for t in win.tasks if set(win.options[t]) <= procs]
            capacity = self.v.pools.capacity(procs)
            if len(tasks) > capacity:
                self.model.AddCumulative(
                    [self.v.interval[t] for t in tasks], [1] * len(tasks), capacity
                )

    def redundant_processor_load(self, per_set: bool = LOAD_PER_SET) -> None:
        """(C10) the work chosen on the processors fits in ``|P| x (makespan - head)``.

        Only with a makespan variable (``makespan`` objective). With ``per_set`` also for
        every eligibility set and kind ``K`` (``|K| x ...``) and every single processor: off,
        since those slowed the proofs (Fattahi MFJS9: proven in 27-34 s without them, bound
        913-922 after 45-60 s with them), while the solver-free bounds (load, energetic) give
        the makespan variable its lower bound anyway.
        """
        mk = self.v.makespan
        if mk is None:
            return
        m, v, win = self.model, self.v, self.win
        must = set(mandatory_tasks(self.instance))

        def add(terms: list[tuple[int, cp_model.IntVar, int, str]], capacity: int) -> None:
            # Chosen work starts at or after `head`; it lies in [head, makespan] only if the
            # makespan surely reaches `head`: some task that surely runs ends no earlier (else
            # nothing may run here and the makespan may be below head; then count from 0).
            reach = max(
                (
                    min(win.est[t, q] + win.duration[t, q] for q in win.options[t])
                    for *_, t in terms
                    if t in must
                ),
                default=0,
            )
            head = min(min(e for _, _, e, _ in terms), reach)
            m.Add(sum(d * x for d, x, _, _ in terms) <= capacity * (mk - head))

        every = frozenset(self.instance.processors)
        sets = self.processor_sets() if per_set else [every]
        for procs in sets:
            terms = [
                (win.duration[t, p], v.present[t, p], win.est[t, p], t)
                for t in win.tasks
                for p in win.options[t]
                if p in procs and set(win.options[t]) <= procs
            ]
            if terms:
                add(terms, v.pools.capacity(procs))
        if not per_set:
            return
        for p in self.instance.processors:  # a processor, or a pool through its representative
            terms = [
                (win.duration[t, p], v.present[t, p], win.est[t, p], t)
                for t in win.tasks
                if p in win.options[t]
            ]
            if terms:
                add(terms, v.pools.size(p))

    def interchangeable_job_order(self) -> None:
        """(C12) symmetry breaking: of two interchangeable jobs, the first starts no later.

        Swapping interchangeable jobs (:mod:`rtgen_opt.exact.symmetry`) maps every schedule
        onto one of equal value, so some optimum has each class's first tasks in class order.
        Feasibility probes only (:meth:`CpsatModel.probe`): a proof of infeasibility searches
        half the space per pair (Fattahi MFJS10, two pairs: ``makespan <= 1150`` infeasible in
        3.7 s instead of 6.7 s), while in the optimiser it changes which schedules LNS finds.
        """
        m, v = self.model, self.v
        jobs = self.instance.jobs
        for a, b in symmetric_pairs(self.instance):
            m.Add(v.start[jobs[a].tasks[0]] <= v.start[jobs[b].tasks[0]])

    def frozen_context(self, fixed: Mapping[str, int], latest_end: int | None) -> None:
        """(C13) a window of a larger schedule: the ``fixed`` tasks start where they are, every
        other task that runs ends by ``latest_end`` (model time).

        Used by the window search (:mod:`rtgen_opt.exact.window_search`), which re-optimises
        the jobs of one time window while the rest of the schedule stays: the tasks around the
        window enter the model as fixed tasks (one eligible processor each), so (C4) and (C5)
        keep the window's tasks off their time and after their data; ``latest_end`` keeps the
        window's tasks inside the stretch whose fixed tasks the model holds.
        """
        m, v = self.model, self.v
        for t, start in fixed.items():
            m.Add(v.start[t] == start)
        if latest_end is not None:
            nodes = self.instance.graph.nodes
            for t in self.win.tasks:
                if t not in fixed:
                    ends = m.Add(v.end[t] <= latest_end)
                    job = nodes[t]["job"]
                    if job in v.droppable:
                        # a dropped task may sit where its time window puts it, past the frame
                        ends.OnlyEnforceIf(v.run[job])

    def redundant_window_load(self) -> None:
        """(C11) on-time jobs inside a window ``[a, b]`` fit: their least work <= ``|K| (b - a)``."""
        m, v, win = self.model, self.v, self.win
        jobs = self.instance.jobs
        opts = win.options
        cands = sorted(v.ontime)
        if not cands:
            return
        head = {j: min(min(win.est[t, p] for p in opts[t]) for t in jobs[j].tasks) for j in cands}
        added = 0
        for procs in self.processor_sets():
            work = {
                j: sum(win.min_duration(t) for t in jobs[j].tasks if set(opts[t]) <= procs)
                for j in cands
            }
            for a in _sample([head[j] for j in cands]):
                for b in _sample([win.deadline[j] for j in cands]):
                    inside = [j for j in cands if work[j] and head[j] >= a and win.deadline[j] <= b]
                    cap = v.pools.capacity(procs) * (b - a) if b > a else 0
                    if sum(work[j] for j in inside) <= cap:
                        continue  # never binding
                    m.Add(sum(work[j] * v.ontime[j] for j in inside) <= cap)
                    added += 1
                    if added >= MAX_WINDOW_CONSTRAINTS:
                        return


def integer_weights(values: list[float]) -> tuple[list[int], Fraction]:
    """Decimal weights as integers: ``values[i] == ints[i] * factor`` exactly (as decimals).

    >>> integer_weights([0.5, 1.25, 2.0])
    ([2, 5, 8], Fraction(1, 4))
    """
    fracs = [Fraction(repr(float(x))).limit_denominator(10**9) for x in values]
    denom = math.lcm(*(f.denominator for f in fracs)) if fracs else 1
    ints = [int(f * denom) for f in fracs]
    g = math.gcd(*ints) if any(ints) else 1
    return [i // g for i in ints], Fraction(g, denom)
