"""The constraints of the MILP, one function per family, numbered as in ``formulations/milp.md``.

:func:`add_constraints` calls them in order, like a table of contents. Every big-M is derived
per constraint from the time windows (:mod:`rtgen_opt.exact.windows`) and the variable bounds,
never one global constant; the formulation document says why each is valid.
"""

from __future__ import annotations

import pulp

from rtgen_opt.exact.milp.variables import Variables, job_sinks, start_bounds
from rtgen_opt.exact.windows import Windows
from rtgen_opt.instance import Instance


def add_constraints(
    problem: pulp.LpProblem, instance: Instance, win: Windows, var: Variables
) -> None:
    """Add every constraint family to ``problem``, in the order of the formulation."""
    _assignment(problem, instance, win, var)  # (C1)
    _option_windows(problem, instance, win, var)  # (C2)
    _precedence(problem, instance, win, var)  # (C3)
    _disjunctive(problem, win, var)  # (C4)-(C6)
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


def _disjunctive(problem: pulp.LpProblem, win: Windows, var: Variables) -> None:
    """(C4) one task at a time per processor; (C5) one-sided pairs; (C6) pairs kept apart.

    For a pair ``(t, u)`` on a shared processor ``p`` where both orders fit the windows::

        S_u >= S_t + d_tp - M_tup (3 - y_tu - x_tp - x_up)
        S_t >= S_u + d_up - M_utp (2 + y_tu - x_tp - x_up)

    with ``M_tup = max(0, Smax_t + d_tp - Smin_u)``: when the constraint is switched off its
    right-hand side is at most ``Smin_u``. Where only one order fits, that order is imposed
    without an ordering binary (C5); where neither does, the two may not share ``p`` (C6).
    """
    index = {t: i for i, t in enumerate(win.tasks)}
    for (t, u), plan in var.pairs.items():
        i, k = index[t], index[u]
        t_lo, t_hi = start_bounds(win, t)
        u_lo, u_hi = start_bounds(win, u)

        def big_m(first_hi: int, d_first: int, second_lo: int) -> int:
            return max(0, first_hi + d_first - second_lo)

        for p in plan.free:
            y = var.order[t, u]
            xt, xu = var.x[t, p], var.x[u, p]
            d_t, d_u = win.duration[t, p], win.duration[u, p]
            m_tu = big_m(t_hi, d_t, u_lo)
            m_ut = big_m(u_hi, d_u, t_lo)
            problem += (
                var.start[u] >= var.start[t] + d_t - m_tu * (3 - y - xt - xu),
                f"C4_{i}_{k}_{p}_tu",
            )
            problem += (
                var.start[t] >= var.start[u] + d_u - m_ut * (2 + y - xt - xu),
                f"C4_{i}_{k}_{p}_ut",
            )
        for p in plan.t_first:
            xt, xu = var.x[t, p], var.x[u, p]
            m = big_m(t_hi, win.duration[t, p], u_lo)
            problem += (
                var.start[u] >= var.start[t] + win.duration[t, p] - m * (2 - xt - xu),
                f"C5_{i}_{k}_{p}",
            )
        for p in plan.u_first:
            xt, xu = var.x[t, p], var.x[u, p]
            m = big_m(u_hi, win.duration[u, p], t_lo)
            problem += (
                var.start[t] >= var.start[u] + win.duration[u, p] - m * (2 - xt - xu),
                f"C5_{k}_{i}_{p}",
            )
        for p in plan.apart:
            problem += var.x[t, p] + var.x[u, p] <= 1, f"C6_{i}_{k}_{p}"


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
