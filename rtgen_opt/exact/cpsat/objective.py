"""Objectives of the CP-SAT model (formulations/cpsat.md, section "Objectives").

Each objective is an integer linear expression ``z`` with ``value = z x factor + offset`` in the
objective's units (weighted misses, ms, mJ), exactly as :mod:`rtgen_opt.objectives` defines
it: weights and watts are scaled to integers exactly as far as they are decimals
(:func:`~rtgen_opt.exact.cpsat.constraints.integer_weights`), times are model time.
Auxiliary variables are defined by equalities (not just inequalities), so the value of *any*
solution -- not only an optimal one -- equals the recomputed objective of its schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from ortools.sat.python import cp_model

from rtgen_opt.exact.cpsat.constraints import integer_weights
from rtgen_opt.exact.cpsat.variables import HintValues, Variables
from rtgen_opt.objectives import builder


@dataclass(frozen=True)
class Term:
    """One objective as ``value = expr x factor + offset``."""

    name: str
    expr: cp_model.LinearExprT
    factor: Fraction
    offset: float

    def value(self, z: float) -> float:
        return float(z * self.factor) + self.offset


class Terms:
    """Builds the expression of each objective component, with its auxiliary variables.

    :meth:`term` looks the criterion up in :data:`BUILDERS` (one builder per criterion of the
    objective registry, :mod:`rtgen_opt.objectives`).
    """

    def __init__(self, model: cp_model.CpModel, variables: Variables) -> None:
        self.model = model
        self.v = variables
        self.instance = variables.instance
        self.win = variables.win
        self.unit = Fraction(repr(self.win.scale.unit_ms))
        self._hints: list = []

    def term(self, name: str) -> Term:
        return builder(BUILDERS, name, "exact.cpsat.objective.BUILDERS")(self)

    def _misses(self) -> Term:
        """(O1) weighted misses: sum of w_j (1 - ontime[j])."""
        jobs = self.instance.jobs
        ids = sorted(self.v.ontime)
        ints, factor = integer_weights([jobs[j].weight for j in ids])
        expr = sum(w * (1 - self.v.ontime[j]) for w, j in zip(ints, ids, strict=True))
        return Term("misses", expr, factor, 0.0)

    def _tardiness(self) -> Term:
        """(O2) weighted tardiness: sum of w_j T_j, T_j = max(0, C_j - d_j) if j runs, else 0."""
        m, v, win = self.model, self.v, self.win
        jobs = self.instance.jobs
        ids = sorted(v.completion)
        ints, factor = integer_weights([jobs[j].weight for j in ids])
        terms = []
        for w, j in zip(ints, ids, strict=True):
            d = win.deadline[j]
            hi = max(0, v.job_hi[j] - d)
            late = m.NewIntVar(0, hi, f"L[{j}]")
            m.AddMaxEquality(late, [0, v.completion[j] - d])
            if j in v.droppable:
                tard = m.NewIntVar(0, hi, f"T[{j}]")
                m.Add(tard == late).OnlyEnforceIf(v.run[j])
                m.Add(tard == 0).OnlyEnforceIf(v.run[j].Not())
            else:
                tard = late
            self._hints.append(
                lambda h, j=j, d=d, late=late, tard=tard: self._hint_tardiness(h, j, d, late, tard)
            )
            terms.append(w * tard)
        return Term("tardiness", sum(terms), factor * self.unit, 0.0)

    def _hint_tardiness(self, h: HintValues, j: str, d: int, late, tard) -> None:
        lateness = max(0, self.v.hinted_completion(h, j) - d)  # (O2) L_j = max(0, C_j - d_j)
        self.model.AddHint(late, lateness)
        if tard is not late:
            self.model.AddHint(tard, lateness if j not in h.dropped else 0)

    def _ttft(self) -> Term:
        """(O3) TTFT: sum over requests of F_r - arrival, F_r = latest end of its prefill."""
        m, v = self.model, self.v
        terms, offset = [], 0.0
        for rid in sorted(self.instance.requests):
            req = self.instance.requests[rid]
            if not req.prefill_tasks:
                continue  # objectives.py counts arrival - arrival = 0
            ends = [v.end[t] for t in req.prefill_tasks]
            hi = max(v.hi[t] for t in req.prefill_tasks)
            first = m.NewIntVar(0, hi, f"F[{rid}]")
            m.AddMaxEquality(first, ends)
            self._hints.append(
                lambda h, req=req, first=first: self.model.AddHint(
                    first, max(h.end[t] for t in req.prefill_tasks)
                )
            )
            terms.append(first)
            offset -= req.arrival
        return Term("ttft", sum(terms), self.unit, offset)

    def _makespan(self) -> Term:
        """(O4) makespan: the latest end of a task that runs."""
        m, v, win = self.model, self.v, self.win
        g = self.instance.graph
        nodes = g.nodes
        ends = []
        for t in win.tasks:
            # A task with an always-present successor never ends last.
            if any(win.always_present[t, s] for s in g.successors(t)):
                continue
            job = nodes[t]["job"]
            if job in v.droppable:
                eff = m.NewIntVar(0, v.hi[t], f"Eeff[{t}]")
                m.Add(eff == v.end[t]).OnlyEnforceIf(v.run[job])
                m.Add(eff == 0).OnlyEnforceIf(v.run[job].Not())
                self._hints.append(lambda h, t=t, eff=eff: self.model.AddHint(eff, h.end.get(t, 0)))
                ends.append(eff)
            else:
                ends.append(v.end[t])
        m.AddMaxEquality(v.makespan, ends or [0])
        return Term("makespan", v.makespan, self.unit, 0.0)

    def _energy(self) -> Term:
        """(O5) energy above idle: sum of x[t, p] (active_w - idle_w)(p) d(t, p)."""
        procs = self.instance.platform.by_name
        names = sorted(procs)
        watts, factor = integer_weights([procs[p].active_w - procs[p].idle_w for p in names])
        w = dict(zip(names, watts, strict=True))
        win = self.win
        expr = sum(
            w[p] * win.duration[t, p] * self.v.present[t, p]
            for t in win.tasks
            for p in win.options[t]
            if w[p]
        )
        return Term("energy", expr, factor * self.unit, 0.0)

    def hint(self, h: HintValues) -> None:
        """Hint the auxiliary variables created so far."""
        for add in self._hints:
            add(h)


#: One builder per criterion of :data:`rtgen_opt.objectives.CRITERIA` (O1)-(O5).
BUILDERS: dict[str, Callable[[Terms], Term]] = {
    "misses": Terms._misses,
    "tardiness": Terms._tardiness,
    "ttft": Terms._ttft,
    "makespan": Terms._makespan,
    "energy": Terms._energy,
}
