"""The discrete-event simulator: readiness, transfers, drops, noise, determinism, validity."""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from rtgen_opt.errors import ArgumentError
from rtgen_opt.instance import Instance, Link, Platform, Processor
from rtgen_opt.online import (
    Policy,
    PolicyError,
    perturb,
    policy_names,
    replay,
    simulate,
)
from rtgen_opt.validate import validate

ROOT = Path(__file__).resolve().parents[2]
SOC = Platform(
    "soc",
    (Processor("cpu", "cpu", 5, 1), Processor("gpu", "gpu", 10, 1), Processor("npu", "npu", 3, 1)),
    default_link=Link(sync_ms=0.5, bytes_per_ms=1000.0),
)


def one_proc(*names: str) -> Platform:
    return Platform.homogeneous(names or ("m",))


# --------------------------------------------------------------------------- by hand
def test_successor_on_another_processor_waits_for_its_transfer_holding_the_processor():
    g = nx.DiGraph()
    g.add_node("a", durations={"npu": 2.0})
    g.add_node("b", durations={"cpu": 1.0})
    g.add_edge("a", "b", bytes=1500.0)  # 0.5 sync + 1.5 ms transfer = 2 ms
    inst = Instance.from_networkx(g, SOC)
    s = replay(inst, "edf-eft")
    assert s.placements["b"].start == pytest.approx(4.0)
    assert s.placements["b"].processor == "cpu"


def test_a_task_is_not_visible_before_its_release():
    g = nx.DiGraph()
    g.add_node("late", durations={"m": 1.0}, release=5.0, deadline=6.0)
    g.add_node("early", durations={"m": 3.0}, release=0.0, deadline=100.0)
    inst = Instance.from_networkx(g, one_proc())
    # EDF would prefer "late" (deadline 6) but it does not exist yet at time 0
    s = replay(inst, "edf-fixed")
    assert s.placements["early"].start == 0.0
    assert s.placements["late"].start == 5.0


def _drop_instance(miss_mode: str) -> Instance:
    """One processor; a long job, then a queued job whose deadline passes, its cascade, an LLM
    job (not droppable) and a two-task job already started when its deadline passes."""
    g = nx.DiGraph()
    g.add_node("long", durations={"m": 10.0}, deadline=100.0, job="long")
    g.add_node("es", durations={"m": 1.0}, deadline=5.0, job="es", stream="es")
    g.add_node("ge", durations={"m": 1.0}, deadline=50.0, job="ge", stream="ge")
    g.add_edge("es", "ge")
    g.add_node("llm", durations={"m": 1.0}, deadline=5.0, job="llm", droppable=False)
    inst = Instance.from_networkx(g, one_proc(), miss_mode=miss_mode)
    return inst


def test_drop_mode_drops_a_queued_late_job_with_its_cascade_but_never_an_llm_job():
    inst = _drop_instance("drop")
    # FCFS, ties in topological order (es, ge, llm, long): nobody waits past a deadline
    s = replay(inst, "fcfs-fixed")
    assert s.placements["es"].start == 0.0
    assert not s.dropped
    # EDF with "long" most urgent: es waits until 10, past its deadline 5, and is dropped
    g = inst.graph.copy()
    g.nodes["long"]["deadline"] = 1.0
    inst2 = Instance.from_networkx(g, one_proc(), miss_mode="drop")
    s2 = replay(inst2, "edf-fixed")
    assert s2.placements["long"].start == 0.0
    assert s2.dropped == {"es", "ge"}  # es late at t=10 > 5, ge depends on it
    assert "llm" in s2.placements  # deadline passed too, but LLM jobs are never dropped
    assert s2.placements["llm"].start == 10.0
    assert validate(inst2, s2) == []


def test_late_mode_drops_nothing():
    g = _drop_instance("late").graph.copy()
    g.nodes["long"]["deadline"] = 1.0
    inst = Instance.from_networkx(g, one_proc(), miss_mode="late")
    s = replay(inst, "edf-fixed")
    assert not s.dropped and set(s.placements) == set(inst.tasks)


def test_a_started_job_is_never_dropped_and_a_job_is_dropped_only_after_its_deadline():
    g = nx.DiGraph()
    g.add_node("x1", durations={"m": 2.0}, deadline=3.0, job="x")
    g.add_node("x2", durations={"m": 2.0}, deadline=3.0, job="x")
    g.add_edge("x1", "x2")
    g.add_node("y", durations={"m": 1.0}, deadline=4.0, job="y")  # queued until t=4: on time
    inst = Instance.from_networkx(g, one_proc(), miss_mode="drop")
    s = replay(inst, "edf-fixed")
    # x started at 0: x2 runs 2..4 though x's deadline (3) passed; y waits until 4 == deadline,
    # which is not *past* its deadline, so y runs (late), as XRBench's `deadline < now`
    assert s.placements["x2"].start == 2.0
    assert s.placements["y"].start == 4.0
    assert not s.dropped


def test_a_late_job_whose_dependent_already_started_is_kept():
    g = nx.DiGraph()
    g.add_node("blocker", durations={"m": 5.0}, deadline=100.0, job="b")
    g.add_node("u", durations={"m": 1.0}, deadline=2.0, job="u")
    g.add_node("d1", durations={"n": 1.0}, deadline=50.0, job="d")
    g.add_node("d2", durations={"m": 1.0}, deadline=50.0, job="d")
    g.add_edge("u", "d2")
    g.add_edge("d1", "d2")
    inst = Instance.from_networkx(g, Platform.homogeneous(["m", "n"]), miss_mode="drop")
    s = replay(inst, "fcfs-fixed")  # blocker (id order) holds m until 5; d1 starts on n at 0
    assert s.placements["d1"].start == 0.0
    assert not s.dropped  # dropping u would force dropping d, which has started
    assert validate(inst, s) == []


def test_noise_is_lognormal_with_mean_one_and_seeded():
    g = nx.DiGraph()
    for k in range(4000):
        g.add_node(f"t{k:04d}", durations={"m": 10.0})
    inst = Instance.from_networkx(g, one_proc())
    a = perturb(inst, 0.5, seed=3)
    factors = np.array([a.durations(t)["m"] / 10.0 for t in inst.tasks])
    assert abs(factors.mean() - 1.0) < 0.03  # mean one (a median-one draw has mean 1.133)
    assert abs(np.log(factors).std() - 0.5) < 0.03
    b = perturb(inst, 0.5, seed=3)
    assert all(a.durations(t) == b.durations(t) for t in inst.tasks)
    c = perturb(inst, 0.5, seed=4)
    assert any(a.durations(t) != c.durations(t) for t in inst.tasks)
    with pytest.raises(ArgumentError):
        perturb(inst, -0.1)


def test_noisy_replay_is_valid_for_the_perturbed_instance_only():
    g = nx.DiGraph()
    for k in range(6):
        g.add_node(f"t{k}", durations={"cpu": 3.0, "npu": 1.0}, release=k * 1.0, deadline=k + 3.0)
    inst = Instance.from_networkx(g, Platform.homogeneous(["cpu", "npu"]))
    run = simulate(inst, "edf-eft", noise=0.3, seed=7)
    assert validate(run.instance, run.schedule) == []
    assert any(v.kind == "wrong_duration" for v in validate(inst, run.schedule))
    assert run.schedule.provenance["seed"] == 7 and run.schedule.provenance["noise"] == 0.3
    assert run.schedule.provenance["method"] == "edf-eft"


def test_policy_plans_with_nominal_durations_under_noise():
    """edf-eft expects the running task to end at its nominal end: b waits for the NPU (nominal
    finish 1 + 1 = 2 < 3 on the CPU) even when the NPU actually runs a longer."""
    g = nx.DiGraph()
    g.add_node("a", durations={"cpu": 10.0, "npu": 1.0})
    g.add_node("b", durations={"cpu": 3.0, "npu": 1.0})
    inst = Instance.from_networkx(g, Platform.homogeneous(["cpu", "npu"]))
    slow = inst.with_durations({"a": 5.0})
    from rtgen_opt.online.simulator import Simulation

    sim = Simulation(inst, slow)
    from rtgen_opt.online import make_policy

    sim.run(make_policy("edf-eft"))
    s = sim.schedule()
    assert s.placements["a"].end == 5.0
    assert s.placements["b"].processor == "npu" and s.placements["b"].start == 5.0


class _Lazy(Policy):
    name = "lazy"

    def decide(self, sim, now, ready):
        return []


class _Clumsy(Policy):
    name = "clumsy"

    def decide(self, sim, now, ready):
        return [(i, 0) for i in ready]  # may put two tasks on one processor


def test_bad_policies_are_caught():
    g = nx.DiGraph()
    g.add_node("a", durations={"m": 1.0})
    g.add_node("b", durations={"m": 1.0})
    inst = Instance.from_networkx(g, one_proc())
    with pytest.raises(PolicyError, match="unscheduled"):
        replay(inst, _Lazy)
    with pytest.raises(PolicyError, match="busy"):
        replay(inst, _Clumsy())


# --------------------------------------------------------------------------- properties
KINDS = ("cpu", "gpu", "npu")
PHASES = ("frame", "frame", "task", "prefill", "decode")


@st.composite
def instances(draw, max_tasks: int = 12) -> Instance:
    n_procs = draw(st.integers(1, 3))
    procs = tuple(Processor(f"p{k}", draw(st.sampled_from(KINDS))) for k in range(n_procs))
    platform = Platform(
        "gen",
        procs,
        default_link=Link(
            draw(st.sampled_from([0.0, 0.25, 1.0])), draw(st.sampled_from([math.inf, 100.0]))
        ),
    )
    n = draw(st.integers(1, max_tasks))
    n_jobs = draw(st.integers(1, n))
    job_of = [draw(st.integers(0, n_jobs - 1)) for _ in range(n)]
    deadlines = [draw(st.one_of(st.none(), st.integers(0, 40))) for _ in range(n_jobs)]
    droppable = [draw(st.sampled_from([True, True, False])) for _ in range(n_jobs)]
    g = nx.DiGraph()
    for i in range(n):
        names = [p.name for p in procs]
        elig = draw(st.lists(st.sampled_from(names), min_size=1, max_size=n_procs, unique=True))
        j = job_of[i]
        g.add_node(
            f"t{i:02d}",
            durations={p: draw(st.integers(0, 8)) * 0.5 for p in elig},
            release=draw(st.integers(0, 15)) * 1.0,
            deadline=None if deadlines[j] is None else float(deadlines[j]),
            job=f"j{j}",
            stream=f"s{j % 3}",
            phase=draw(st.sampled_from(PHASES)),
            droppable=droppable[j],
        )
    for v in range(n):
        for u in range(v):
            if draw(st.integers(0, 3)) == 0:
                kind = draw(st.integers(0, 2))
                attrs = {"bytes": draw(st.sampled_from([0.0, 50.0, 300.0]))}
                if kind == 1:
                    attrs["delay"] = draw(st.sampled_from([0.0, 0.3, 2.0]))
                elif kind == 2:
                    attrs["delay"] = {(a.name, b.name): 0.7 for a in procs for b in procs}
                g.add_edge(f"t{u:02d}", f"t{v:02d}", **attrs)
    mode = draw(st.sampled_from(["late", "drop"]))
    return Instance.from_networkx(g, platform, miss_mode=mode)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances(), noise=st.sampled_from([0.0, 0.0, 0.4]), seed=st.integers(0, 3))
def test_every_policy_gives_a_valid_schedule(inst, noise, seed):
    for name in policy_names():
        run = simulate(inst, name, noise=noise, seed=seed)  # raises if invalid
        s = run.schedule
        assert validate(run.instance, s) == []
        if inst.miss_mode == "late":
            assert not s.dropped and set(s.placements) == set(inst.tasks)
        # nothing starts before it is released and every precedence waits for its transfer:
        # covered by validate; here, drops happen only to jobs that were late at some event
        for j in s.dropped:
            job = inst.jobs[j]
            assert job.droppable
        # determinism: the same inputs give the same schedule
        again = simulate(inst, name, noise=noise, seed=seed).schedule
        assert again.placements == s.placements and again.dropped == s.dropped


@settings(max_examples=40, deadline=None)
@given(inst=instances())
def test_dropped_jobs_were_past_their_deadline_or_depend_on_one(inst):
    for name in policy_names():
        s = replay(inst, name)
        roots = {j for j in s.dropped if not any(j in inst.job_successors[k] for k in s.dropped)}
        for j in roots:
            assert inst.jobs[j].deadline is not None
        assert inst.drop_closure(s.dropped) == s.dropped


def _assert_no_policy_below_optimum(inst: Instance, objective: str) -> None:
    from rtgen_opt.exact.result import SolveStatus
    from rtgen_opt.exact.solve import solve
    from rtgen_opt.objectives import objective_values

    result = solve(inst, objective, time_limit=20.0, workers=1)
    assert result.status == SolveStatus.OPTIMAL  # tiny instances: always proven
    for name in policy_names():
        value = objective_values(inst, replay(inst, name), objective)
        assert value[0] >= result.objective[0] - 1e-6, (name, objective, value, result)


@settings(
    max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(inst=instances(max_tasks=6))
def test_no_policy_beats_the_cp_sat_optimum(inst):
    """The exact answer bounds every heuristic (DESIGN section 2): misses in both miss modes,
    makespan in late mode (drop-mode makespan: see the two known CP-SAT failures below)."""
    note(f"tasks {inst.to_dict()['tasks']} edges {inst.to_dict()['edges']}")
    _assert_no_policy_below_optimum(inst, "misses")
    if inst.miss_mode == "late":
        _assert_no_policy_below_optimum(inst, "makespan")


def _cp_sat_counterexample(which: str) -> Instance:
    g = nx.DiGraph()
    if which == "infeasible":
        # a chain with an explicit delay table; nothing has a deadline
        g.add_node("t0", durations={"p0": 0.0})
        g.add_node("t1", durations={"p0": 0.0})
        g.add_node("t2", durations={"p0": 0.5, "p1": 0.0})
        g.add_edge("t0", "t1")
        delay = {(a, b): 0.7 for a in ("p0", "p1", "p2") for b in ("p0", "p1", "p2")}
        g.add_edge("t1", "t2", delay=delay)
        return Instance.from_networkx(g, Platform.homogeneous(["p0", "p1", "p2"]), miss_mode="drop")
    # j0 cannot meet its deadline (0) since t0 is released at 1: dropping j0 and its dependent
    # j1 gives makespan 0, which every policy finds
    g.add_node("t0", durations={"p0": 0.0}, release=1.0, deadline=0.0, job="j0")
    g.add_node("t1", durations={"p0": 0.0}, deadline=0.0, job="j0")
    g.add_node("t2", durations={"p0": 0.0}, job="j1")
    g.add_edge("t0", "t1")
    g.add_edge("t0", "t2")
    return Instance.from_networkx(g, Platform.homogeneous(["p0"]), miss_mode="drop")


@pytest.mark.parametrize("which", ["infeasible", "above-drop-all"])
def test_cp_sat_drop_mode_makespan_counterexamples(which):
    """Regression: CP-SAT once called these infeasible / optimal above the drop-everything 0."""
    _assert_no_policy_below_optimum(_cp_sat_counterexample(which), "makespan")


# --------------------------------------------------------------------------- scenarios
#: Every shipped scenario but the two longest of the heavy family (9,000 and 36,000 tasks: the
#: scale benchmark replays them, bench/scale_bench.py).
SCENARIOS = sorted(
    p
    for p in (ROOT / "instances" / "scenarios").glob("*.yaml")
    if p.stem not in ("game_npc_heavy_15s", "game_npc_heavy_60s")
)


@pytest.mark.parametrize("path", SCENARIOS or [None], ids=lambda p: p.name if p else "none")
def test_every_policy_is_valid_on_every_scenario(path):
    if path is None:
        pytest.skip("no scenario in instances/scenarios yet")
    from rtgen_opt.inputs import load_instance

    inst = load_instance(path)
    for name in policy_names():
        run = simulate(inst, name)
        assert validate(inst, run.schedule) == []
        noisy = simulate(inst, name, noise=0.2, seed=1)
        assert validate(noisy.instance, noisy.schedule) == []
