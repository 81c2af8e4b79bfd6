"""The constraints of the MILP, one function per family, numbered as in ``formulations/milp.md``.

:func:`add_constraints` calls them in order, like a table of contents. Every big-M is derived
per constraint from the time windows (:mod:`rtgen_opt.exact.windows`) and the variable bounds,
never one global constant; the formulation document says why each is valid.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
import pulp

from rtgen_opt.exact.milp.variables import Variables, job_sinks, start_bounds
from rtgen_opt.exact.windows import Windows
from rtgen_opt.instance import Instance


def fast_row(
    terms: dict[pulp.LpVariable, float], sense: int, name: str, rhs: float
) -> pulp.LpConstraint:
    """``LpConstraint(LpAffineExpression(terms), sense, name, rhs)``, the same object made
    without PuLP's constructors (argument checks, name translation).

    ``name`` must need no translation and ``rhs`` be finite. PuLP is pinned to 3.x; the test
    ``test_fast_row_is_pulps_row`` compares the two on every field PuLP reads.
    """
    expr = _new_expr(pulp.LpAffineExpression)
    _fill(expr, terms)
    vars(expr).update(constant=0.0, _LpAffineExpression__name=None)
    row = _new_row(pulp.LpConstraint)
    vars(row).update(
        expr=expr,
        _LpConstraint__name=name,
        constant=0.0 - rhs,  # as PuLP: the expression's 0.0 minus the right-hand side
        sense=sense,
        pi=None,
        slack=None,
        modified=True,
    )
    return row


_new_expr = pulp.LpAffineExpression.__new__
_new_row = object.__new__
_fill = dict.update


#: ``check(rows_done, rows_total)`` during the build: returns, or raises to stop it.
Check = Callable[[int, int], None]

#: The build calls its ``check`` every this many rows of the disjunctive family.
CHECK_EVERY = 4096

#: Table entries turned into Python values at a time.
_CHUNK = 1 << 16


def add_constraints(
    problem: pulp.LpProblem,
    instance: Instance,
    win: Windows,
    var: Variables,
    check: Check | None = None,
) -> None:
    """Add every constraint family to ``problem``, in the order of the formulation.

    ``check`` is called as the disjunctive family is built (see :data:`Check`); an exception it
    raises stops the build.
    """
    _assignment(problem, instance, win, var)  # (C1)
    _option_windows(problem, instance, win, var)  # (C2)
    _precedence(problem, instance, win, var)  # (C3)
    _disjunctive(problem, win, var, check)  # (C4)-(C6)
    _drop_closure(problem, instance, var)  # (C7)
    _misses(problem, instance, win, var)  # (C8)
    _tardiness(problem, instance, win, var)  # (C9)
    _makespan(problem, instance, win, var)  # (C10)-(C11)
    _first_token(problem, instance, win, var)  # (C12)


def _job(instance: Instance, task: str) -> str:
    return instance.graph.nodes[task]["job"]


def _drop(instance: Instance, var: Variables, task: str) -> pulp.LpVariable | int:
    """The drop binary of the task's job, or 0 when it cannot be dropped."""
    return var.dropped.get(_job(instance, task), 0)


def _assignment(problem: pulp.LpProblem, instance: Instance, win: Windows, var: Variables) -> None:
    """(C1) every task runs on exactly one eligible processor, unless its job is dropped."""
    for i, t in enumerate(win.tasks):
        problem += (
            pulp.lpSum(var.x[t, p] for p in win.options[t]) + _drop(instance, var, t) == 1,
            f"C1_assign_{i}",
        )


def _option_windows(
    problem: pulp.LpProblem, instance: Instance, win: Windows, var: Variables
) -> None:
    """(C2) the start lies in the window of the chosen option (bounds cover the common part)."""
    for i, t in enumerate(win.tasks):
        opts = win.options[t]
        lo, hi = start_bounds(win, t)
        if any(win.est[t, p] != lo for p in opts):
            problem += (
                var.start[t] >= pulp.lpSum(win.est[t, p] * var.x[t, p] for p in opts),
                f"C2_head_{i}",
            )
        if any(win.lst(t, p) != hi for p in opts):
            # A dropped task has no option: its start only keeps its bounds (M = Smax).
            problem += (
                var.start[t]
                <= pulp.lpSum(win.lst(t, p) * var.x[t, p] for p in opts)
                + hi * _drop(instance, var, t),
                f"C2_tail_{i}",
            )


def _precedence(problem: pulp.LpProblem, instance: Instance, win: Windows, var: Variables) -> None:
    """(C3) ``v`` starts after ``u`` ends plus the transfer between their processors.

    Without transfers on the edge: ``S_v >= S_u + sum_p d_up x_up``. With transfers, one
    constraint per processor ``q`` of ``v``, exact when ``x_vq = 1``::

        S_v >= S_u + sum_p (d_up + delta_pq) x_up - Delta_q (1 - x_vq)

    with ``Delta_q = max_p (delta_pq - min_q' delta_pq')``. An edge into a droppable job other
    than ``u``'s is relaxed by ``R drop_job(v)``: a dropped ``v`` need not wait for ``u``.
    """
    g = instance.graph
    index = {t: i for i, t in enumerate(win.tasks)}
    for u, v in sorted(g.edges, key=lambda e: (index[e[0]], index[e[1]])):
        name = f"C3_prec_{index[u]}_{index[v]}"
        su_lo, su_hi = start_bounds(win, u)
        sv_lo, _ = start_bounds(win, v)
        relax: pulp.LpAffineExpression | int = 0
        dv = var.dropped.get(_job(instance, v))
        if dv is not None and _job(instance, u) != _job(instance, v):
            worst = max(
                win.duration[u, p] + max(win.transfer(u, v, p, q) for q in win.options[v])
                for p in win.options[u]
            )
            big_r = max(0, su_hi + worst - sv_lo)
            if big_r:
                relax = big_r * dv
        if not win.has_transfer(u, v):
            problem += var.start[v] >= var.end(win, u) - relax, name
            continue
        for q in win.options[v]:
            delta_q = max(
                win.transfer(u, v, p, q) - min(win.transfer(u, v, p, r) for r in win.options[v])
                for p in win.options[u]
            )
            ready = pulp.lpSum(
                (win.duration[u, p] + win.transfer(u, v, p, q)) * var.x[u, p]
                for p in win.options[u]
            )
            problem += (
                var.start[v] >= var.start[u] + ready - delta_q * (1 - var.x[v, q]) - relax,
                f"{name}_q{q}",
            )


def _disjunctive(
    problem: pulp.LpProblem, win: Windows, var: Variables, check: Check | None = None
) -> None:
    """(C4) one task at a time per processor; (C5) one-sided pairs; (C6) pairs kept apart.

    For a pair ``(t, u)`` on a shared processor ``p`` where both orders fit the windows::

        S_u >= S_t + d_tp - M_tup (3 - y_tu - x_tp - x_up)
        S_t >= S_u + d_up - M_utp (2 + y_tu - x_tp - x_up)

    with ``M_tup = max(0, Smax_t + d_tp - Smin_u)``: when the constraint is switched off its
    right-hand side is at most ``Smin_u``. Where only one order fits, that order is imposed
    without an ordering binary (C5); where neither does, the two may not share ``p`` (C6).

    This family is nearly all of the model (eight rows per free pair on two processors), so
    its rows are made from coefficient arrays (:class:`~rtgen_opt.exact.milp.variables.
    PairTable`) straight into PuLP constraints, without PuLP's expression arithmetic; every
    :data:`CHECK_EVERY` rows ``check(done, total)`` may stop the build.
    """
    table = var.table
    if table is None or len(table.t) == 0:
        return
    tasks = win.tasks
    # Constraint names as PuLP would store them (it translates "-+[] " to "_").
    procs = tuple(p.translate(pulp.LpAffineExpression.trans) for p in table.processors)
    lo = np.array([start_bounds(win, t)[0] for t in tasks], dtype=np.int64)
    hi = np.array([start_bounds(win, t)[1] for t in tasks], dtype=np.int64)
    dur = np.zeros((len(tasks), len(procs)), dtype=np.int64)
    proc_index = {p: k for k, p in enumerate(table.processors)}
    for i, t in enumerate(tasks):
        for p in win.options[t]:
            dur[i, proc_index[p]] = win.duration[t, p]
    t_, u_, p_ = table.t, table.u, table.p
    d_t, d_u = dur[t_, p_], dur[u_, p_]
    m_tu = np.maximum(0, hi[t_] + d_t - lo[u_])  # big-M of "t then u", per entry
    m_ut = np.maximum(0, hi[u_] + d_u - lo[t_])
    start, x, order = var.start, var.x, var.order
    constraints = problem._constraints  # PuLP's own store: no name check, no re-registration
    ge, le = pulp.LpConstraintGE, pulp.LpConstraintLE
    total, done, next_check = table.n_rows, 0, 0
    columns = (t_, u_, p_, table.kind, d_t, d_u, m_tu, m_ut)
    # In chunks: Python lists of the whole table would be most of the build's peak memory.
    chunks = (
        zip(*(col[lo : lo + _CHUNK].tolist() for col in columns), strict=True)
        for lo in range(0, len(t_), _CHUNK)
    )
    for i, k, pk, kind, dt, du, mtu, mut in itertools.chain.from_iterable(chunks):
        if check is not None and done >= next_check:
            check(done, total)
            next_check = done + CHECK_EVERY
        t, u, p, pname = tasks[i], tasks[k], table.processors[pk], procs[pk]
        st, su, xt, xu = start[t], start[u], x[t, p], x[u, p]
        if kind == 0:  # (C4) free: an ordering binary decides
            y = order[t, u]
            name = f"C4_{i}_{k}_{pname}_tu"
            terms = {su: 1, st: -1, y: -mtu, xt: -mtu, xu: -mtu} if mtu else {su: 1, st: -1}
            constraints[name] = fast_row(terms, ge, name, dt - 3 * mtu)
            name = f"C4_{i}_{k}_{pname}_ut"
            terms = {st: 1, su: -1, y: mut, xt: -mut, xu: -mut} if mut else {st: 1, su: -1}
            constraints[name] = fast_row(terms, ge, name, du - 2 * mut)
            done += 2
            continue
        done += 1
        if kind == 1:  # (C5) only t then u fits
            name = f"C5_{i}_{k}_{pname}"
            terms = {su: 1, st: -1, xt: -mtu, xu: -mtu} if mtu else {su: 1, st: -1}
            constraints[name] = fast_row(terms, ge, name, dt - 2 * mtu)
        elif kind == 2:  # (C5) only u then t fits
            name = f"C5_{k}_{i}_{pname}"
            terms = {st: 1, su: -1, xt: -mut, xu: -mut} if mut else {st: 1, su: -1}
            constraints[name] = fast_row(terms, ge, name, du - 2 * mut)
        else:  # (C6) neither order fits: not both on p
            name = f"C6_{i}_{k}_{pname}"
            constraints[name] = fast_row({xt: 1, xu: 1}, le, name, 1)
    if check is not None:
        check(total, total)
    # What PuLP's addConstraint would have registered: every variable of these rows.
    involved = sorted(set(t_.tolist()) | set(u_.tolist()))
    problem._add_variables(start[tasks[i]] for i in involved)
    problem._add_variables(order.values())
    names = table.processors
    problem._add_variables(
        x[tasks[i], names[pk]] for i, pk in set(zip(t_.tolist(), p_.tolist(), strict=True))
    )
    problem._add_variables(
        x[tasks[k], names[pk]] for k, pk in set(zip(u_.tolist(), p_.tolist(), strict=True))
    )


def _drop_closure(problem: pulp.LpProblem, instance: Instance, var: Variables) -> None:
    """(C7) a job depending on a dropped job is dropped.

    Every dependent of a job that may be dropped may be dropped too (:attr:`Instance.droppable`
    is closure-aware), so each has its binary.
    """
    job_index = {j: k for k, j in enumerate(instance.jobs)}
    for j, dj in var.dropped.items():
        for succ in instance.job_successors[j]:
            problem += dj <= var.dropped[succ], f"C7_{job_index[j]}_{job_index[succ]}"


def _misses(problem: pulp.LpProblem, instance: Instance, win: Windows, var: Variables) -> None:
    """(C8) a job whose last task ends after its deadline is late; a dropped job is late.

    ``S_t + sum_p d_tp x_tp <= D_j + M_jt late_j`` for each last task ``t`` of job ``j``, with
    ``M_jt = max_p lct[t,p] - D_j`` (no end exceeds the latest completion of its options).
    """
    job_index = {j: k for k, j in enumerate(instance.jobs)}
    sinks = job_sinks(instance)
    index = {t: i for i, t in enumerate(win.tasks)}
    for j, late in var.late.items():
        deadline = win.deadline[j]
        for t in sinks[j]:
            big_m = max(win.lct(t, p) for p in win.options[t]) - deadline
            if big_m > 0:
                problem += (
                    var.end(win, t) <= deadline + big_m * late,
                    f"C8_late_{job_index[j]}_{index[t]}",
                )
        if j in var.dropped:
            problem += late >= var.dropped[j], f"C8_drop_{job_index[j]}"


def _tardiness(problem: pulp.LpProblem, instance: Instance, win: Windows, var: Variables) -> None:
    """(C9) ``tard_j >= end of each last task - D_j``, switched off for a dropped job.

    The switch's ``M = Smax_t - D_j``: a dropped task has no duration, so its "end" is its start.
    """
    job_index = {j: k for k, j in enumerate(instance.jobs)}
    sinks = job_sinks(instance)
    index = {t: i for i, t in enumerate(win.tasks)}
    for j, tard in var.tardiness.items():
        deadline = win.deadline[j]
        for t in sinks[j]:
            relax: pulp.LpAffineExpression | int = 0
            if j in var.dropped:
                relax = max(0, start_bounds(win, t)[1] - deadline) * var.dropped[j]
            problem += (
                tard >= var.end(win, t) - deadline - relax,
                f"C9_{job_index[j]}_{index[t]}",
            )


def _makespan(problem: pulp.LpProblem, instance: Instance, win: Windows, var: Variables) -> None:
    """(C10) ``Cmax`` is at least every job's end; (C11) at least each processor's load.

        (C10) uses each job's last tasks (every task of a job that runs ends by one of them), with
        ``M = Smax_t`` for a dropped job. (C11): the tasks on ``p`` run one after another, none
        before the earliest head on ``p``, so ``Cmax >= min_t est[t,p] + sum_t d_tp x_tp`` (without the
    head when jobs may be dropped: an empty schedule has makespan 0).
    """
    if var.makespan is None:
        return
    cmax = var.makespan
    if instance.miss_mode == "late" or not var.dropped:
        cmax.lowBound = win.critical_path
    index = {t: i for i, t in enumerate(win.tasks)}
    sinks = job_sinks(instance)
    for j in instance.jobs:
        for t in sinks[j]:
            relax = start_bounds(win, t)[1] * _drop(instance, var, t)
            problem += cmax >= var.end(win, t) - relax, f"C10_{index[t]}"
    for k, p in enumerate(instance.processors):
        on_p = [t for t in win.tasks if p in win.options[t]]
        if on_p:
            # With drops the processor may stay empty (Cmax 0): no head offset then.
            first = min(win.est[t, p] for t in on_p) if not var.dropped else 0
            problem += (
                cmax >= first + pulp.lpSum(win.duration[t, p] * var.x[t, p] for t in on_p),
                f"C11_load_{k}",
            )


def _first_token(problem: pulp.LpProblem, instance: Instance, win: Windows, var: Variables) -> None:
    """(C12) the first token of a request is out when its last prefill task ends."""
    g = instance.graph
    index = {t: i for i, t in enumerate(win.tasks)}
    for k, (rid, first) in enumerate(var.first_token.items()):
        prefill = set(instance.requests[rid].prefill_tasks)
        last = [t for t in sorted(prefill, key=index.get) if not prefill & set(g.successors(t))]
        for t in last:
            relax = start_bounds(win, t)[1] * _drop(instance, var, t)
            problem += first >= var.end(win, t) - relax, f"C12_{k}_{index[t]}"
