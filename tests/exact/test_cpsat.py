"""The CP-SAT model: proven optima on small hand-checked instances, every objective, both miss
modes, lexicographic stages, progress and interruption. Every result passes the validator."""

from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtgen_opt.exact import solver_names
from rtgen_opt.exact.result import SolveStatus
from rtgen_opt.exact.solve import solve
from rtgen_opt.instance import Instance, Platform, Processor, Request
from rtgen_opt.objectives import Objective, objective_values
from rtgen_opt.validate import validate
from tests.exact.test_cross_validation import instances

DATA = Path(__file__).parents[1] / "data"


def _assert_valid(inst, result):
    assert result.schedule is not None
    assert validate(inst, result.schedule) == []
    assert result.objective == pytest.approx(
        objective_values(inst, result.schedule, result.objective_name)
    )


def test_ft06_optimum_is_55():
    inst = Instance.load(DATA / "ft06.json")
    r = solve(inst, "makespan", time_limit=20)
    assert r.status is SolveStatus.OPTIMAL
    assert r.objective == (55.0,) and r.bound == (55.0,)
    assert r.gap == 0.0
    _assert_valid(inst, r)
    assert r.schedule.provenance["status"] == "optimal"


def _transfer_instance(sync_ms):
    # a (2 ms on cpu) -> b (1 ms on gpu, 4 ms on cpu); moving a's output to the gpu costs sync.
    platform = Platform(
        "p",
        (Processor("cpu", "cpu"), Processor("gpu", "gpu")),
        links={},
    )
    g = nx.DiGraph()
    g.add_node("a", durations={"cpu": 2.0})
    g.add_node("b", durations={"cpu": 4.0, "gpu": 1.0})
    g.add_edge("a", "b", delay=sync_ms)
    return Instance.from_networkx(g, platform)


@pytest.mark.parametrize(
    ("sync_ms", "where", "makespan"),
    [(1.0, "gpu", 4.0), (2.5, "gpu", 5.5), (3.5, "cpu", 6.0)],
)
def test_transfer_delay_decides_the_placement(sync_ms, where, makespan):
    # gpu: 2 + sync + 1; cpu: 2 + 4 (no transfer on the same processor)
    inst = _transfer_instance(sync_ms)
    r = solve(inst, "makespan", time_limit=5)
    assert r.status is SolveStatus.OPTIMAL
    assert r.objective == (pytest.approx(makespan),)
    assert r.schedule.placements["b"].processor == where
    _assert_valid(inst, r)


def _deadline_instance(miss_mode):
    # One processor; A (3 ms, deadline 3, weight 1), B (3 ms, deadline 4, weight 2),
    # C depends on A (1 ms, deadline 10). Only one of A and B can be on time.
    g = nx.DiGraph()
    g.add_node("a", durations={"m": 3.0}, job="A", deadline=3.0, weight=1.0)
    g.add_node("b", durations={"m": 3.0}, job="B", deadline=4.0, weight=2.0)
    g.add_node("c", durations={"m": 1.0}, job="C", deadline=10.0, weight=1.0)
    g.add_edge("a", "c")
    return Instance.from_networkx(g, Platform.homogeneous(["m"]), miss_mode=miss_mode)


def test_misses_late_mode():
    inst = _deadline_instance("late")
    r = solve(inst, "misses", time_limit=5)
    assert r.status is SolveStatus.OPTIMAL
    assert r.objective == (1.0,)  # B on time (weight 2), A late
    _assert_valid(inst, r)
    assert r.schedule.placements["b"].end == pytest.approx(3.0)
    assert not r.schedule.dropped


def test_drop_mode_cascades_and_lexicographic_tardiness():
    inst = _deadline_instance("drop")
    r = solve(inst, "misses,tardiness", time_limit=5)
    assert r.status is SolveStatus.OPTIMAL
    # misses = 1 (A); dropping A (and with it C) removes all tardiness, but C would then miss
    # too: misses stay 1 only if A runs late, so A runs after B: tardiness of A = 7 - 3 = ... B
    # ends 3, A ends 6 (tardiness 3), C ends 7 (on time).
    assert r.objective == pytest.approx((1.0, 3.0))
    _assert_valid(inst, r)

    r2 = solve(inst, "tardiness", time_limit=5)
    # Tardiness alone: drop A (with its dependent C): nothing is late.
    # (without drops it is at least 3: one of A, B ends at 6), so something is dropped.
    assert r2.objective == (0.0,)
    assert r2.schedule.dropped
    _assert_valid(inst, r2)


@pytest.mark.parametrize(
    ("d_deadline", "expected", "dropped"),
    [(7.0, (1.0, 7.0), frozenset()), (6.5, (2.0, 1.0), frozenset({"A", "D"}))],
)
def test_drop_mode_cascade(d_deadline, expected, dropped):
    # One machine. A (5 ms, deadline 2) always misses; D depends on A; C (1 ms, deadline 1).
    # Best: C 0-1, A 1-6, D 6-7. With D's deadline 7 dropping A would also drop D (a second
    # miss), so A runs late. With deadline 6.5 D misses anyway: dropping A and D keeps misses
    # at 2 and the makespan falls to C's end.
    g = nx.DiGraph()
    g.add_node("a", durations={"m": 5.0}, job="A", deadline=2.0)
    g.add_node("c", durations={"m": 1.0}, job="C", deadline=1.0)
    g.add_node("d", durations={"m": 1.0}, job="D", deadline=d_deadline)
    g.add_edge("a", "d")
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]), miss_mode="drop")
    r = solve(inst, "misses,makespan", time_limit=5)
    assert r.status is SolveStatus.OPTIMAL
    assert r.objective == pytest.approx(expected)
    assert r.schedule.dropped == dropped
    _assert_valid(inst, r)


def test_non_droppable_jobs_always_run():
    g = nx.DiGraph()
    g.add_node("p", durations={"m": 5.0}, job="R/ttft", deadline=1.0, droppable=False)
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]), miss_mode="drop")
    r = solve(inst, "misses", time_limit=5)
    assert r.objective == (1.0,)
    assert not r.schedule.dropped and "p" in r.schedule.placements


def test_ttft_and_energy():
    platform = Platform(
        "p", (Processor("npu", "npu", 3.0, 1.0), Processor("gpu", "gpu", 10.0, 2.0))
    )
    g = nx.DiGraph()
    g.add_node("p0", durations={"npu": 4.0, "gpu": 2.0}, job="R", phase="prefill", request="R")
    g.add_node("p1", durations={"npu": 4.0, "gpu": 2.0}, job="R", phase="prefill", request="R")
    g.add_edge("p0", "p1")
    req = Request("R", "llm", 1.0, 10, 0, 100.0, 10.0, ("p0", "p1"), ())
    g.nodes["p0"]["release"] = 1.0
    inst = Instance.from_networkx(g, platform, requests={"R": req})
    r = solve(inst, "ttft", time_limit=5)
    assert r.objective == (pytest.approx(4.0),)  # both on the gpu: 1 + 2 + 2 - 1
    _assert_valid(inst, r)
    e = solve(inst, "energy", time_limit=5)
    assert e.objective == (pytest.approx(2 * (3.0 - 1.0) * 4.0),)  # npu: 2 W x 8 ms
    assert {pl.processor for pl in e.schedule.placements.values()} == {"npu"}
    assert e.status is SolveStatus.OPTIMAL


def test_weights_with_decimals_are_exact():
    g = nx.DiGraph()
    g.add_node("a", durations={"m": 2.0}, job="A", deadline=2.0, weight=0.1)
    g.add_node("b", durations={"m": 2.0}, job="B", deadline=2.0, weight=0.25)
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    r = solve(inst, "misses,tardiness", time_limit=5)
    assert r.objective == pytest.approx((0.1, 0.2))
    assert r.status is SolveStatus.OPTIMAL


def _chain_instance(n=8):
    g = nx.DiGraph()
    for i in range(n):
        g.add_node(f"t{i}", durations={"m0": 1.0 + i % 3, "m1": 2.0}, deadline=3.0 + i, job=f"J{i}")
    for i in range(1, n, 2):
        g.add_edge(f"t{i - 1}", f"t{i}")
    return Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"]))


def test_progress_is_called_with_incumbent_and_bound():
    inst = Instance.load(DATA / "ft06.json")
    calls = []
    r = solve(inst, "makespan", time_limit=10, progress=lambda *a: calls.append(a))
    assert calls, "progress never called"
    for elapsed, obj, bound in calls:
        assert elapsed >= 0 and bound <= obj + 1e-9
    assert calls[-1][1] >= r.objective[0]


def test_interrupt_returns_the_valid_best_so_far():
    inst = Instance.load(DATA / "ft06.json")

    def stop(*_):
        raise KeyboardInterrupt

    r = solve(inst, "makespan", time_limit=20, progress=stop)
    assert r.stats.get("interrupted") is True
    assert r.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)
    _assert_valid(inst, r)
    assert r.bound[0] <= r.objective[0]


def test_tiny_time_limit_still_returns_a_valid_schedule():
    inst = _chain_instance(12)
    r = solve(inst, "misses", time_limit=0.0)
    assert r.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)
    _assert_valid(inst, r)


def test_hint_is_validated_and_used():
    from rtgen_opt.errors import InvalidScheduleError
    from rtgen_opt.schedule import Schedule

    inst = _transfer_instance(1.0)
    with pytest.raises(InvalidScheduleError):
        solve(inst, "makespan", hint=Schedule.build([("a", "cpu", 0, 1)]))
    good = Schedule.build([("a", "cpu", 0, 2), ("b", "cpu", 10, 14)])
    r = solve(inst, "makespan", hint=good, time_limit=5)
    assert r.objective == (4.0,)


def test_same_seed_same_schedule():
    inst = _chain_instance(10)
    a = solve(inst, "misses,tardiness", time_limit=5, workers=1, seed=3)
    b = solve(inst, "misses,tardiness", time_limit=5, workers=1, seed=3)
    assert a.schedule.placements == b.schedule.placements


def test_optional_redundant_cumulative_keeps_the_optimum():
    inst = Instance.load(DATA / "ft06.json")
    r = solve(inst, "makespan", time_limit=20, cumulative=True)
    assert r.status is SolveStatus.OPTIMAL and r.objective == (55.0,)


def test_drop_mode_makespan_may_drop_everything():
    """Regression: the load constraint (C10) once forced makespan >= the earliest head even when
    every task could be dropped (found by tests/test_online_simulator.py's property test)."""
    g = nx.DiGraph()
    g.add_node("t0", durations={"p0": 0.0}, release=1.0, deadline=0.0, job="j0")
    g.add_node("t1", durations={"p0": 0.0}, deadline=0.0, job="j0")
    g.add_node("t2", durations={"p0": 0.0}, job="j1")
    g.add_edge("t0", "t1")
    g.add_edge("t0", "t2")
    inst = Instance.from_networkx(g, Platform.homogeneous(["p0"]), miss_mode="drop")
    r = solve(inst, "makespan", time_limit=5)
    assert r.status is SolveStatus.OPTIMAL and r.objective == (0.0,)
    assert r.schedule.dropped == {"j0", "j1"}
    _assert_valid(inst, r)


def test_drop_mode_load_with_an_unreachable_option():
    """Regression: an option beyond the horizon (t2 on p1) once made (C10) infeasible."""
    g = nx.DiGraph()
    g.add_node("t0", durations={"p0": 0.0})
    g.add_node("t1", durations={"p0": 0.0})
    g.add_node("t2", durations={"p0": 0.5, "p1": 0.0})
    g.add_edge("t0", "t1")
    delay = {(a, b): 0.7 for a in ("p0", "p1", "p2") for b in ("p0", "p1", "p2")}
    g.add_edge("t1", "t2", delay=delay)
    platform = Platform.homogeneous(["p0", "p1", "p2"])
    for mode, makespan in (("drop", 0.0), ("late", 0.5)):
        inst = Instance.from_networkx(g, platform, miss_mode=mode)
        r = solve(inst, "makespan", time_limit=5)
        assert r.status is SolveStatus.OPTIMAL and r.objective == (makespan,)
        _assert_valid(inst, r)


@pytest.mark.parametrize("solver", solver_names())
def test_a_job_an_undroppable_job_depends_on_is_never_dropped(solver):
    # j1 cannot meet its deadline and would be dropped for makespan 0 ... but the LLM job j3
    # depends on it, and j3 may not be dropped, so j1 must run (and miss).
    g = nx.DiGraph()
    g.add_node("a", durations={"p0": 2.0}, job="j1", deadline=1.0)
    g.add_node("b", durations={"p0": 1.0}, job="j3", phase="prefill", droppable=False)
    g.add_edge("a", "b")
    inst = Instance.from_networkx(g, Platform.homogeneous(["p0"]), miss_mode="drop")
    for objective in ("misses", "makespan"):
        r = solve(inst, objective, solver, time_limit=10)
        assert r.status is SolveStatus.OPTIMAL
        assert r.schedule.dropped == frozenset()
        _assert_valid(inst, r)
    assert solve(inst, "makespan", solver, time_limit=10).objective == (3.0,)


def test_feasibility_probe_decides_below_and_at_the_optimum():
    # ft06: no schedule with makespan <= 54; one with <= 55, valid.
    from rtgen_opt.exact.cpsat.model import CpsatModel
    from rtgen_opt.exact.list_schedule import list_schedule

    inst = Instance.load(DATA / "ft06.json")
    model = CpsatModel(inst, Objective.parse("makespan"), list_schedule(inst, "makespan"))
    below = model.probe(0, 54, time_limit=20, workers=2, seed=0)
    assert below.status == "infeasible" and below.bound == 55
    at = model.probe(0, 55, time_limit=20, workers=2, seed=0)
    assert at.status == "feasible" and at.value <= 55
    assert validate(inst, at.schedule) == []
    assert at.schedule.makespan <= 55.0


def test_probing_and_plain_optimisation_agree():
    inst = Instance.load(DATA / "ft06.json")
    with_probes = solve(inst, "makespan", time_limit=20)
    without = solve(inst, "makespan", time_limit=20, probe=False)
    assert with_probes.objective == without.objective == (55.0,)
    assert with_probes.status is without.status is SolveStatus.OPTIMAL
    _assert_valid(inst, with_probes)


def test_watchdog_stop_is_not_an_interruption():
    # A 10 x 10 random job shop is not proven in a split second; stop_when ends the search at
    # its first check after an incumbent, and that is no Ctrl-C.
    import random

    from rtgen_opt.exact.cpsat.model import CpsatModel
    from rtgen_opt.exact.list_schedule import list_schedule

    rng = random.Random(3)
    procs = [f"m{i}" for i in range(10)]
    g = nx.DiGraph()
    for j in range(10):
        order = rng.sample(procs, len(procs))
        for k, p in enumerate(order):
            g.add_node(f"j{j}o{k}", durations={p: float(rng.randint(1, 99))}, job=f"J{j}")
            if k:
                g.add_edge(f"j{j}o{k - 1}", f"j{j}o{k}")
    inst = Instance.from_networkx(g, Platform.homogeneous(procs))
    model = CpsatModel(inst, Objective.parse("makespan"), list_schedule(inst, "makespan"))
    model.set_hint(list_schedule(inst, "makespan"))
    stage = model.solve_stage(
        0, time_limit=30, workers=2, seed=0, progress=None, stop_when=lambda *_: True
    )
    assert stage.status == "feasible" and stage.stats["stopped_early"]
    assert not stage.interrupted
    assert stage.stats["wall_s"] < 5
    assert validate(inst, stage.schedule) == []


def test_solver_parameters_take_enum_fields_by_name_or_number() -> None:
    """A TOML [parameters] table can only give an enum field as a string or an integer."""
    from ortools.sat.python import cp_model

    from rtgen_opt.errors import ArgumentError
    from rtgen_opt.exact.cpsat.model import solver_parameters

    solver = cp_model.CpSolver()
    raw = {"search_branching": "FIXED_SEARCH", "shared_tree_split_strategy": 3}
    solver_parameters(solver, time_limit=1, workers=1, seed=0, raw=raw)
    assert solver.parameters.search_branching.name == "FIXED_SEARCH"
    assert int(solver.parameters.shared_tree_split_strategy) == 3
    with pytest.raises(
        ArgumentError, match="parameters.search_branching: expected one of AUTOMATIC_SEARCH"
    ):
        solver_parameters(solver, time_limit=1, workers=1, seed=0, raw={"search_branching": "x"})


def hint_violations(model) -> list[tuple[str, int]]:
    """Hinted variables that cannot all take their hinted values: a core of assumptions
    ``var == hint`` that CP-SAT proves infeasible (empty when the hint is feasible)."""
    from ortools.sat.python import cp_model

    proto = model.model.Proto()
    hints = list(zip(proto.solution_hint.vars, proto.solution_hint.values, strict=True))
    m = model.model.Clone()
    m.ClearHints()
    lits, names = [], {}
    for idx, value in hints:
        var = m.GetIntVarFromProtoIndex(idx)
        lit = m.NewBoolVar(f"hint[{idx}]")
        m.Add(var == value).OnlyEnforceIf(lit)
        lits.append(lit)
        names[lit.Index()] = (var.Name(), value)
    m.AddAssumptions(lits)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 30
    if solver.Solve(m) != cp_model.INFEASIBLE:
        return []
    return [names[i] for i in solver.SufficientAssumptionsForInfeasibility()]


@settings(max_examples=40, deadline=None)
@given(
    instances(), st.sampled_from(["misses", "tardiness", "misses,tardiness", "makespan", "ttft"])
)
def test_every_valid_schedule_is_a_feasible_hint(instance, objective):
    # A policy's schedule (drops included) must be accepted by CP-SAT as it is: an infeasible
    # hint is "repaired" by a search that costs the time the hint was meant to save.
    from rtgen_opt.exact.cpsat.model import CpsatModel
    from rtgen_opt.online import builtin_policies, replay

    for policy in builtin_policies():
        hint = replay(instance, policy)
        model = CpsatModel(instance, Objective.parse(objective), hint)
        model.set_hint(hint)
        assert hint_violations(model) == [], policy


def test_a_dropped_chain_job_is_a_feasible_hint():
    # x keeps the only processor busy until 5; job A (a1 -> a2, deadline 2) is dropped at 5 by
    # every drop-mode policy. Its completion was hinted at a1's earliest start (0.5), but (C7)
    # makes it a2's end, hinted at a2's earliest start (1.5): CP-SAT called the hint
    # infeasible and spent its time repairing it.
    from rtgen_opt.exact.cpsat.model import CpsatModel
    from rtgen_opt.online import replay

    g = nx.DiGraph()
    g.add_node("x", durations={"m": 5.0}, deadline=100.0, job="X")
    g.add_node("a1", durations={"m": 1.0}, release=0.5, deadline=2.0, job="A")
    g.add_node("a2", durations={"m": 1.0}, release=0.5, deadline=2.0, job="A")
    g.add_edge("a1", "a2")
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]), miss_mode="drop")
    hint = replay(inst, "edf-eft")
    assert hint.dropped == {"A"}
    model = CpsatModel(inst, Objective.parse("misses"), hint)
    model.set_hint(hint)
    assert hint_violations(model) == []
