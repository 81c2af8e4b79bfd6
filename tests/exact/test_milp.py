"""The MILP backends (CBC and HiGHS through PuLP): hand-checked optima, every objective, both
miss modes, lexicographic stages, pruning of the ordering binaries, bounds, warm starts, time
limits, and LP/MPS files another solver reads back to the same optimum."""

import itertools
from pathlib import Path

import highspy
import networkx as nx
import pulp
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from rtgen_opt import stopping
from rtgen_opt.cli import main
from rtgen_opt.errors import LimitError
from rtgen_opt.exact import solver_names
from rtgen_opt.exact.bounds import combinatorial_bounds
from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.milp import (
    build_model,
    count_pairs,
    decode,
    hint_values,
    solve_milp,
    write_model,
)
from rtgen_opt.exact.milp.constraints import fast_row
from rtgen_opt.exact.milp.engines import parse_cbc_bound
from rtgen_opt.exact.milp.variables import KINDS, pair_table, start_bounds
from rtgen_opt.exact.result import SolveStatus
from rtgen_opt.exact.solve import finish, solve
from rtgen_opt.exact.windows import windows
from rtgen_opt.instance import Instance, Platform, Processor, Request
from rtgen_opt.objectives import Objective, objective_values
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import validate
from tests.exact.test_cross_validation import instances

DATA = Path(__file__).parents[1] / "data"
MILP = tuple(s for s in solver_names() if s.startswith("milp-"))  # every MILP engine


def _solve(inst, objective, solver, **kw):
    r = solve(inst, objective, solver=solver, time_limit=20, workers=1, **kw)
    assert r.schedule is not None
    assert validate(inst, r.schedule) == []
    assert r.objective == pytest.approx(objective_values(inst, r.schedule, r.objective_name))
    return r


@pytest.mark.parametrize("solver", MILP)
def test_ft06_optimum_is_55(solver):
    inst = Instance.load(DATA / "ft06.json")
    r = _solve(inst, "makespan", solver)
    assert r.status is SolveStatus.OPTIMAL
    assert r.objective == (55.0,) and r.bound == (55.0,)
    # The LP relaxation is weaker than the proven optimum, but a valid bound.
    assert r.stats["lp_bound"] <= 55.0


def _transfer_instance(sync_ms):
    # a (2 ms, cpu only) -> b (4 ms on cpu, 1 ms on gpu): moving a's output costs sync_ms.
    platform = Platform("p", (Processor("cpu", "cpu"), Processor("gpu", "gpu")))
    g = nx.DiGraph()
    g.add_node("a", durations={"cpu": 2.0})
    g.add_node("b", durations={"cpu": 4.0, "gpu": 1.0})
    g.add_edge("a", "b", delay=sync_ms)
    return Instance.from_networkx(g, platform)


@pytest.mark.parametrize("solver", MILP)
@pytest.mark.parametrize(
    "sync_ms, where, makespan",
    [(1.0, "gpu", 4.0), (2.5, "gpu", 5.5), (3.5, "cpu", 6.0)],  # 2 + sync + 1 vs 2 + 4
)
def test_transfer_delay_decides_the_placement(solver, sync_ms, where, makespan):
    inst = _transfer_instance(sync_ms)
    r = _solve(inst, "makespan", solver)
    assert r.status is SolveStatus.OPTIMAL
    assert r.objective == (makespan,)
    assert r.schedule.placements["b"].processor == where


def _competing(miss_mode):
    # A (weight 1) and B (weight 3) both need the one cpu for 2 ms before 2 ms: one misses.
    # C depends on A (a cascade); L is an LLM prefill that may never be dropped.
    platform = Platform("p", (Processor("cpu", "cpu"), Processor("npu", "npu")))
    g = nx.DiGraph()
    g.add_node("a", durations={"cpu": 2.0}, job="A", deadline=2.0, weight=1.0)
    g.add_node("b", durations={"cpu": 2.0}, job="B", deadline=2.0, weight=3.0)
    g.add_node("c", durations={"npu": 1.0}, job="C")  # no deadline: never a miss
    g.add_node(
        "l",
        durations={"npu": 3.0},
        job="L",
        deadline=2.0,
        phase="prefill",
        request="R",
        droppable=False,
    )
    g.add_edge("a", "c")
    req = Request("R", "llm", 0.0, 16, 1, 2.0, 1.0, ("l",), ())
    return Instance.from_networkx(g, platform, miss_mode=miss_mode, requests={"R": req})


@pytest.mark.parametrize("solver", MILP)
def test_late_mode_lexicographic_misses_then_tardiness(solver):
    inst = _competing("late")
    r = _solve(inst, "misses,tardiness", solver)
    assert r.status is SolveStatus.OPTIMAL
    # A runs after B (ends 4: 2 ms late, weight 1); the prefill L (3 ms > 2 ms) always misses.
    assert r.objective == (2.0, 3.0)
    assert r.schedule.dropped == frozenset()


@pytest.mark.parametrize("solver", MILP)
def test_drop_mode_drops_the_cascade_and_never_the_llm(solver):
    inst = _competing("drop")
    r = _solve(inst, "misses,tardiness", solver)
    assert r.status is SolveStatus.OPTIMAL
    # Dropping A (and C with it; C has no deadline, so no miss) costs the same misses as
    # running A late, and no tardiness;
    # L misses but may not be dropped: its tardiness (1 ms) remains.
    assert r.objective == (2.0, 1.0)
    assert r.schedule.dropped == frozenset({"A", "C"})
    assert "l" in r.schedule.placements


@pytest.mark.parametrize("solver", MILP)
def test_ttft_energy_and_makespan(solver):
    platform = Platform(
        "p", (Processor("cpu", "cpu", 10.0, 2.0), Processor("npu", "npu", 3.0, 1.0))
    )
    g = nx.DiGraph()
    # prefill p1 -> p2, each faster on the cpu (1 ms) than on the npu (2 ms); transfers free.
    for t in ("p1", "p2"):
        g.add_node(
            t,
            durations={"cpu": 1.0, "npu": 2.0},
            job="R/ttft",
            phase="prefill",
            request="R",
            droppable=False,
            release=0.5,
        )
    g.add_edge("p1", "p2")
    g.add_node("f", durations={"cpu": 3.0, "npu": 4.0}, job="F")
    req = Request("R", "llm", 0.5, 16, 1, 9.0, 1.0, ("p1", "p2"), ())
    inst = Instance.from_networkx(g, platform, requests={"R": req})
    # TTFT: both prefill chunks on the cpu: ends at 0.5 + 2 = 2.5, minus arrival 0.5.
    assert _solve(inst, "ttft", solver).objective == (2.0,)
    # Energy above idle: cpu 8 W, npu 2 W: p1, p2 on npu (2 x 2 x 2) + f on npu (2 x 4) = 16.
    r = _solve(inst, "energy", solver)
    assert r.objective == (16.0,)
    assert {pl.processor for pl in r.schedule.placements.values()} == {"npu"}
    # Makespan: f on the npu (4) beside the prefill on the cpu (0.5 + 2) -> 4.
    assert _solve(inst, "makespan", solver).objective == (4.0,)


@pytest.mark.parametrize("solver", MILP)
def test_fractional_weights_and_grid_times_are_exact(solver):
    platform = Platform.homogeneous(["m0"])
    g = nx.DiGraph()
    g.add_node("a", durations={"m0": 0.003}, deadline=0.004, weight=0.7)
    g.add_node("b", durations={"m0": 0.002}, deadline=0.003, weight=0.2)
    inst = Instance.from_networkx(g, platform)
    r = _solve(inst, "tardiness", solver)
    # b first (ends 0.002), a ends 0.005: 0.7 x 0.001; a first: 0.2 x 0.002 = 0.0004 (better).
    assert r.objective == pytest.approx((0.0004,), abs=1e-12)
    assert r.stats["time_unit_ms"] == pytest.approx(0.001)


def test_ordering_binaries_only_where_both_orders_fit():
    platform = Platform.homogeneous(["m0"])
    g = nx.DiGraph()
    g.add_node("a", durations={"m0": 2.0})
    g.add_node("b", durations={"m0": 2.0}, release=10.0)
    g.add_node("c", durations={"m0": 1.0})
    g.add_edge("a", "c")  # a precedence path orders a and c: never a pair
    inst = Instance.from_networkx(g, platform)
    loose = build_model(inst, "makespan")
    assert ("a", "c") not in loose.var.pairs
    assert set(loose.var.order) == {("a", "b"), ("c", "b")}  # keys in topological order
    # With the horizon cut to a known makespan (12: a, c, then b at 10), b can only go last:
    # one-sided constraints (C5) replace both ordering binaries.
    tight = build_model(inst, "makespan", win=windows(inst, makespan_upper=12.0))
    assert tight.var.order == {}
    assert tight.var.pairs[("a", "b")].t_first == ("m0",)
    r = _solve(inst, "makespan", "milp-highs")
    assert r.objective == (12.0,)


def test_decode_left_shifts_onto_the_grid():
    inst = _transfer_instance(1.0)
    model = build_model(inst, "makespan")
    # A feasible but lazy, slightly off-grid solution: b on the gpu, started late.
    values = {"a": ("cpu", 0.2), "b": ("gpu", 7.0000001)}
    for t, (p, s) in values.items():
        for q in model.win.options[t]:
            model.var.x[t, q].varValue = 1.0 if q == p else 0.0
        model.var.start[t].varValue = s / model.win.scale.unit_ms
    schedule = decode(model)
    assert schedule.rows() == [("a", "cpu", 0.0, 2.0), ("b", "gpu", 3.0, 4.0)]


@pytest.mark.parametrize("solver", MILP)
def test_bounds_time_limit_and_warm_start(solver):
    inst = Instance.load(DATA / "ft06.json")
    hint = solve(inst, "makespan", solver="milp-highs", time_limit=0.01, lp_bound=False).schedule
    r = solve(inst, "makespan", solver=solver, time_limit=0.3, hint=hint)
    assert r.runtime < 5.0  # the limit is honoured (plus model building and CBC start-up)
    assert validate(inst, r.schedule) == []
    assert r.status in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
    assert r.stats["stages"][0]["warm_start"] is True
    assert r.bound[0] <= 55.0 <= r.objective[0] <= hint.makespan
    assert r.stats["lp_bound"] <= r.bound[0] + 1e-9


def test_progress_and_interrupt_highs():
    inst = Instance.load(DATA / "ft06.json")
    seen = []

    def progress(elapsed, objective, bound):
        seen.append((objective, bound))
        raise KeyboardInterrupt  # Ctrl-C at the first improving solution

    r = solve(inst, "makespan", solver="milp-highs", time_limit=20, progress=progress)
    assert seen and seen[0][1] <= seen[0][0]
    assert r.stats.get("interrupted") is True
    assert validate(inst, r.schedule) == []


def test_parse_cbc_bound():
    log = (
        "Cbc0010I After 0 nodes, 1 on tree, 60 best solution, best possible 50.25 (0.1 seconds)\n"
        "Cbc0010I After 100 nodes, 9 on tree, 57 best solution, best possible 53.5 (1.0 seconds)\n"
        "Result - Stopped on time limit\n\nObjective value: 57\nLower bound:   53.500\n"
    )
    assert parse_cbc_bound(log) == 53.5
    assert parse_cbc_bound("Lower bound:    -4.25\n") == -4.25
    assert parse_cbc_bound("Result - Optimal solution found\n") is None


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PuLP 4.0 notices
@pytest.mark.parametrize("fmt", ["lp", "mps"])
def test_written_model_reads_back_to_the_same_optimum(tmp_path, fmt):
    inst = _competing("drop")
    model = build_model(inst, "misses")
    path = tmp_path / f"model.{fmt}"
    write_model(model, path)
    optimum = solve(inst, "misses", solver="milp-highs").objective[0]
    # HiGHS reads it ...
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(path)) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getInfo().objective_function_value == pytest.approx(optimum)
    # ... and so does CBC, through PuLP's MPS reader.
    if fmt == "mps":
        _, problem = pulp.LpProblem.fromMPS(str(path))
        problem.solve(pulp.PULP_CBC_CMD(msg=False))
        assert pulp.value(problem.objective) == pytest.approx(optimum)


def test_cli_write_lp_and_mps(tmp_path):
    inst = _transfer_instance(1.0)
    src = tmp_path / "inst.json"
    inst.save(src)
    lp, mps = tmp_path / "m.lp", tmp_path / "m.mps"
    out = CliRunner().invoke(
        main,
        [
            "solve",
            str(src),
            "--solver",
            "milp-cbc",
            "--objective",
            "makespan",
            "-q",
            "--write-lp",
            str(lp),
            "--write-mps",
            str(mps),
        ],
    )
    assert out.exit_code == 0, out.output
    assert "optimal" in out.output
    for path in (lp, mps):
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.readModel(str(path))
        h.run()
        assert h.getInfo().objective_function_value == pytest.approx(4.0)  # model unit: 1 ms


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # PuLP 4.0 notices
def test_hint_values_satisfy_the_model():
    """The warm start built from a valid schedule is feasible for the MILP (all constraints)."""
    inst = _competing("drop")
    model = build_model(inst, "misses,tardiness")
    hint = Schedule.build(
        [
            ("b", "cpu", 0.0, 2.0),
            ("a", "cpu", 2.0, 4.0),
            ("c", "npu", 4.0, 5.0),
            ("l", "npu", 0.0, 3.0),
        ]
    )
    assert validate(inst, hint) == []
    values = hint_values(model, hint)
    for v, value in values.items():
        v.varValue = value
    for name, c in model.problem.constraints.items():
        assert c.valid(eps=1e-9), name


def test_raw_parameters_reach_the_engine():
    inst = _transfer_instance(1.0)
    # A HiGHS option by name, a CBC option as "name value"; the optimum is unchanged.
    r = _solve(inst, "makespan", "milp-highs", parameters={"mip_heuristic_effort": 0.0})
    assert r.objective == (4.0,)
    r = _solve(inst, "makespan", "milp-cbc", parameters={"cuts": "off"})
    assert r.objective == (4.0,)


# --------------------------------------------------------------------------- size and build
def _reference_table(inst, win):
    """Every (t, u, processor, kind) entry by brute force over all pairs: the windows overlap
    on the shared processor and no precedence path orders the two (independent of the sweep)."""
    index = {t: i for i, t in enumerate(win.tasks)}
    out = []
    for t, u in itertools.combinations(win.tasks, 2):
        if nx.has_path(inst.graph, t, u) or nx.has_path(inst.graph, u, t):
            continue
        for p in sorted(set(win.options[t]) & set(win.options[u])):
            est_t, est_u, lct_t, lct_u = win.est[t, p], win.est[u, p], win.lct(t, p), win.lct(u, p)
            if not (est_t < lct_u and est_u < lct_t):
                continue
            d_t, d_u = win.duration[t, p], win.duration[u, p]
            tu = max(est_t + d_t, est_u) + d_u <= lct_u
            ut = max(est_u + d_u, est_t) + d_t <= lct_t
            kind = "free" if tu and ut else "t_first" if tu else "u_first" if ut else "apart"
            out.append((index[t], index[u], p, kind))
    return sorted(out)


def _pulp_disjunctive(model):
    """The (C4)-(C6) rows as the formulation writes them, with PuLP's own arithmetic."""
    win, var = model.win, model.var
    index = {t: i for i, t in enumerate(win.tasks)}
    rows = {}
    for (t, u), plan in var.pairs.items():
        i, k = index[t], index[u]
        (t_lo, t_hi), (u_lo, u_hi) = start_bounds(win, t), start_bounds(win, u)
        s_t, s_u = var.start[t], var.start[u]
        for p in plan.free:
            y, xt, xu = var.order[t, u], var.x[t, p], var.x[u, p]
            m_tu = max(0, t_hi + win.duration[t, p] - u_lo)
            m_ut = max(0, u_hi + win.duration[u, p] - t_lo)
            rows[f"C4_{i}_{k}_{p}_tu"] = s_u >= s_t + win.duration[t, p] - m_tu * (3 - y - xt - xu)
            rows[f"C4_{i}_{k}_{p}_ut"] = s_t >= s_u + win.duration[u, p] - m_ut * (2 + y - xt - xu)
        for p in plan.t_first:
            m = max(0, t_hi + win.duration[t, p] - u_lo)
            rows[f"C5_{i}_{k}_{p}"] = s_u >= s_t + win.duration[t, p] - m * (
                2 - var.x[t, p] - var.x[u, p]
            )
        for p in plan.u_first:
            m = max(0, u_hi + win.duration[u, p] - t_lo)
            rows[f"C5_{k}_{i}_{p}"] = s_t >= s_u + win.duration[u, p] - m * (
                2 - var.x[t, p] - var.x[u, p]
            )
        for p in plan.apart:
            rows[f"C6_{i}_{k}_{p}"] = var.x[t, p] + var.x[u, p] <= 1
    return rows


def _terms(row):
    return {v.name: c for v, c in row.items() if c != 0}


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(instances(max_tasks=12), st.sampled_from(["misses", "makespan", "tardiness"]))
def test_count_pairs_is_what_the_build_makes(inst, objective):
    win = windows(inst)
    model = build_model(inst, objective, win=win)
    disjunctive = {
        c.name: c for c in model.problem.constraints() if c.name[:2] in ("C4", "C5", "C6")
    }
    # The count, the table, the plans and the rows built all agree ...
    assert count_pairs(inst, win) == len(model.var.pairs) == model.size()["disjunctive_pairs"]
    table = pair_table(inst, win)
    assert table.n_rows == len(disjunctive)
    got = sorted(
        zip(
            table.t.tolist(),
            table.u.tolist(),
            [table.processors[p] for p in table.p.tolist()],
            [KINDS[k] for k in table.kind.tolist()],
            strict=True,
        )
    )
    assert got == _reference_table(inst, win)  # ... with a brute force over every pair ...
    # ... and each row is the formulation's, as PuLP's arithmetic makes it.
    expected = _pulp_disjunctive(model)
    assert disjunctive.keys() == expected.keys()
    for name, row in disjunctive.items():
        assert _terms(row) == _terms(expected[name]), name
        assert (row.sense, row.constant) == (expected[name].sense, expected[name].constant), name


def test_fast_row_is_pulps_row():
    prob = pulp.LpProblem("p")
    a, b = prob.add_variable("a", 0, 5), prob.add_variable("b", cat=pulp.LpBinary)
    for sense, rhs in ((pulp.LpConstraintGE, 2.5), (pulp.LpConstraintLE, -1), (0, 0)):
        fast = fast_row({a: 1, b: -3.5}, sense, "r_1", rhs)
        slow = pulp.LpConstraint(pulp.LpAffineExpression({a: 1, b: -3.5}), sense, "r_1", rhs)
        assert vars(fast).keys() == vars(slow).keys()
        assert vars(fast.expr).keys() == vars(slow.expr).keys()
        assert str(fast) == str(slow) and fast.name == slow.name
        assert (fast.getLb(), fast.getUb(), fast.constant) == (slow.getLb(), slow.getUb(), -rhs)
        assert dict(fast.items()) == dict(slow.items())
        a.varValue, b.varValue = 3.0, 1.0
        assert fast.valid() == slow.valid()
    prob += fast
    assert prob.get_constraint_by_name("r_1") is fast


def _many_pairs():
    """ft06 (36 tasks, 6 machines): the list schedule is not optimal, so a model is built."""
    return Instance.load(DATA / "ft06.json")


def test_over_the_cap_is_refused_before_anything_is_built():
    inst = _many_pairs()
    # For the makespan the windows end at the start's makespan (the list schedule's, here).
    n = count_pairs(inst, windows(inst, makespan_upper=_start(inst, "makespan").makespan))
    assert 10 < n < count_pairs(inst)
    with pytest.raises(LimitError) as err:
        solve(inst, "makespan", solver="milp-highs", max_pairs=n - 1)
    line = str(err.value)
    assert "\n" not in line
    assert f"{n:,} disjunctive pairs" in line and f"cap of {n - 1:,}" in line
    assert "--solver cpsat" in line and f"--max-pairs {n}" in line
    assert solve(inst, "makespan", solver="milp-highs", max_pairs=n).objective == (55.0,)


def _start(inst, objective):
    return list_schedule(inst, Objective.parse(objective))


@pytest.mark.parametrize("engine", ["highs", "cbc"])
def test_an_expired_time_limit_stops_the_build_with_the_start(engine):
    inst = _many_pairs()
    objective = Objective.parse("makespan")
    hint = _start(inst, objective)
    raw = solve_milp(
        inst, objective, engine=engine, time_limit=0.0, workers=1, seed=0, hint=hint, progress=None
    )
    assert raw.schedule is None and raw.stats["build_stopped"] == "time limit"
    assert raw.stats["rows_built"] == 0 < raw.stats["rows_planned"]
    result = finish(inst, objective, f"milp-{engine}", raw, hint)
    assert validate(inst, result.schedule) == []
    assert result.status is SolveStatus.FEASIBLE  # not proven
    assert result.objective == (hint.makespan,)
    cheap = combinatorial_bounds(inst, ["makespan"])["bound"]
    assert result.bound == (cheap,) and cheap < hint.makespan
    assert "interrupted" not in result.stats


def test_a_stop_request_or_ctrl_c_stops_the_build():
    inst = _many_pairs()
    objective = Objective.parse("makespan")
    hint = _start(inst, objective)
    kw = dict(engine="highs", time_limit=60.0, workers=1, seed=0, hint=hint)
    stopping.request()
    try:
        raw = solve_milp(inst, objective, progress=None, **kw)
    finally:
        stopping.clear()
    assert raw.stats["build_stopped"] == "interrupted" and raw.stats["interrupted"] is True
    seen = []

    def progress(elapsed, value, bound):  # Ctrl-C while the model is built
        seen.append((value, bound))
        raise KeyboardInterrupt

    raw = solve_milp(inst, objective, progress=progress, **kw)
    assert raw.stats["build_stopped"] == "interrupted" and raw.schedule is None
    cheap = combinatorial_bounds(inst, ["makespan"])["bound"]
    assert seen == [(hint.makespan, cheap)]  # progress reports the start and its bound
    result = finish(inst, objective, "milp-highs", raw, hint)
    assert result.status is SolveStatus.FEASIBLE and validate(inst, result.schedule) == []


def test_a_deadline_mid_build_stops_it_part_way(monkeypatch):
    inst = _many_pairs()
    win = windows(inst)
    total = pair_table(inst, win).n_rows
    calls = []

    def check(done, planned):
        calls.append(done)
        if len(calls) == 2:
            raise TimeoutError

    monkeypatch.setattr("rtgen_opt.exact.milp.constraints.CHECK_EVERY", 7)
    with pytest.raises(TimeoutError):
        build_model(inst, "makespan", win=win, check=check)
    assert calls[0] == 0 and calls[1] in (7, 8) and total > 8  # a free pair adds two rows


def test_chunked_build_and_hand_over_are_the_same_model(tmp_path, monkeypatch):
    inst = _competing("drop")
    whole = tmp_path / "whole.lp"
    write_model(build_model(inst, "misses,tardiness"), whole)
    optimum = solve(inst, "misses", solver="milp-highs").objective
    # Chunks far smaller than the model: every boundary case of the loops.
    monkeypatch.setattr("rtgen_opt.exact.milp.constraints._CHUNK", 2)
    monkeypatch.setattr("rtgen_opt.exact.milp.engines._ROWS_AT_ONCE", 3)
    chunked = tmp_path / "chunked.lp"
    write_model(build_model(inst, "misses,tardiness"), chunked)
    assert chunked.read_text() == whole.read_text()
    assert solve(inst, "misses", solver="milp-highs").objective == optimum
    assert solve(_many_pairs(), "makespan", solver="milp-highs").objective == (55.0,)
