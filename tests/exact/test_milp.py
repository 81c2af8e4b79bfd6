"""The MILP backends (CBC and HiGHS through PuLP): hand-checked optima, every objective, both
miss modes, lexicographic stages, pruning of the ordering binaries, bounds, warm starts, time
limits, and LP/MPS files another solver reads back to the same optimum."""

from pathlib import Path

import highspy
import networkx as nx
import pulp
import pytest
from click.testing import CliRunner

from rtgen_opt.cli import main
from rtgen_opt.exact import solver_names
from rtgen_opt.exact.milp import build_model, decode, hint_values, write_model
from rtgen_opt.exact.milp.engines import parse_cbc_bound
from rtgen_opt.exact.result import SolveStatus
from rtgen_opt.exact.solve import solve
from rtgen_opt.exact.windows import windows
from rtgen_opt.instance import Instance, Platform, Processor, Request
from rtgen_opt.objectives import objective_values
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import validate

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
