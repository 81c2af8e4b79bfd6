"""Solver-free lower bounds: hand-checked values, and never above a proven CP-SAT optimum."""

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtgen_opt.exact.bounds import mandatory_tasks
from rtgen_opt.exact.result import SolveStatus
from rtgen_opt.exact.solve import bounds, solve
from rtgen_opt.instance import Instance, Link, Platform, Processor


def test_makespan_bounds_by_hand():
    g = nx.DiGraph()
    g.add_node("a", durations={"m0": 3.0, "m1": 5.0})
    g.add_node("b", durations={"m0": 4.0})
    g.add_node("c", durations={"m0": 4.0})
    g.add_edge("a", "b", delay=10.0)
    inst = Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"]))
    b = bounds(inst, "makespan")
    # critical path: a on m0 (3) then b on m0 (4), no transfer = 7
    assert b["critical_path"] == 7.0
    # b and c only run on m0: 8 ms of work on one processor from time 0
    assert b["load"] == 8.0
    assert b["bound"] == 8.0
    assert solve(inst, "makespan", time_limit=5).objective == (11.0,)


def test_window_misses_by_hand():
    # Three 2-ms jobs released at 0 with deadline 3 on one processor: at most one is on time.
    g = nx.DiGraph()
    for j in "ABC":
        g.add_node(j, durations={"m": 2.0}, deadline=3.0)
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    b = bounds(inst, "misses")
    assert b["sure_misses"] == 0.0
    assert b["window_misses"] == 2.0
    assert b["bound"] == 2.0


def test_sure_misses_and_tardiness():
    g = nx.DiGraph()
    g.add_node("a", durations={"m": 5.0}, deadline=3.0, weight=2.0, release=1.0)
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    assert bounds(inst, "misses")["sure_misses"] == 2.0
    assert bounds(inst, "tardiness")["bound"] == 2.0 * 3.0  # ends at 6, deadline 3


def test_drop_mode_mandatory_tasks():
    g = nx.DiGraph()
    g.add_node("a", durations={"m": 1.0}, job="A")
    g.add_node("b", durations={"m": 1.0}, job="B", droppable=False)
    g.add_node("c", durations={"m": 1.0}, job="C")
    g.add_edge("a", "b")
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]), miss_mode="drop")
    assert mandatory_tasks(inst) == ("a", "b")
    assert bounds(inst, "makespan")["bound"] == 2.0


def test_solver_bound_is_reported():
    g = nx.DiGraph()
    g.add_node("a", durations={"m": 2.0})
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    b = bounds(inst, "makespan", solver="cpsat", time_limit=2)
    assert b["solver"] == 2.0 and b["bound"] == 2.0


@st.composite
def instances(draw):
    n = draw(st.integers(2, 7))
    procs = ["p0", "p1", "p2"][: draw(st.integers(1, 3))]
    platform = Platform(
        "p",
        tuple(
            Processor(p, "cpu" if i == 0 else "acc", draw(st.sampled_from([1.0, 2.5])), 0.5)
            for i, p in enumerate(procs)
        ),
        default_link=Link(sync_ms=draw(st.sampled_from([0.0, 1.0, 2.0]))),
    )
    g = nx.DiGraph()
    for i in range(n):
        elig = draw(st.lists(st.sampled_from(procs), min_size=1, max_size=len(procs), unique=True))
        g.add_node(
            f"t{i}",
            durations={p: float(draw(st.integers(1, 5))) for p in elig},
            release=float(draw(st.integers(0, 4))),
            deadline=float(draw(st.integers(2, 14))),
            weight=float(draw(st.sampled_from([1, 2]))),
            job=f"J{i}",
        )
        for j in range(i):
            if draw(st.booleans()) and draw(st.booleans()):
                g.add_edge(f"t{j}", f"t{i}")
    mode = draw(st.sampled_from(["late", "drop"]))
    return Instance.from_networkx(g, platform, miss_mode=mode)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances(), objective=st.sampled_from(["misses", "makespan", "tardiness", "energy"]))
def test_bounds_never_exceed_the_proven_optimum(inst, objective):
    r = solve(inst, objective, time_limit=5, workers=1)
    assert r.status is SolveStatus.OPTIMAL
    b = bounds(inst, objective)
    assert b["bound"] <= r.objective[0] + 1e-6, (b, r.objective)
    for key, value in b.items():
        if isinstance(value, float):
            assert value <= r.objective[0] + 1e-6, (key, value, r.objective)


def test_energetic_makespan_bound_by_hand():
    # t0 (release 1) and t1 (release 0) take >= 3 and must end by M - 1 (t2 follows, 1 ms);
    # t3 takes 3 on m0 only. For M = 5, the window [1, 4] on both processors holds 6 ms but
    # needs t0 3 + t1 2 (it starts at 0 the earliest) + t3 2 (it ends at 5 the latest) = 7.
    g = nx.DiGraph()
    g.add_node("t0", durations={"m0": 4.0, "m1": 3.0}, release=1.0)
    g.add_node("t1", durations={"m0": 4.0, "m1": 3.0})
    g.add_node("t2", durations={"m0": 1.0, "m1": 1.0})
    g.add_node("t3", durations={"m0": 3.0})
    g.add_edges_from([("t0", "t2"), ("t1", "t2")])
    inst = Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"]))
    b = bounds(inst, "makespan")
    assert (b["critical_path"], b["load"]) == (5.0, 5.0)
    assert b["energetic"] == 6.0 and b["bound"] == 6.0
    assert solve(inst, "makespan", time_limit=5).objective == (7.0,)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([1.0, 2.0, 0.5]),
            st.integers(1, 9),
            st.integers(0, 20),
            st.integers(0, 30),
        ),
        min_size=1,
        max_size=15,
    ),
    st.integers(1, 3),
)
def test_window_losses_are_the_knapsack_of_every_window(jobs, capacity):
    # The array computation against the definition, window by window.
    import numpy as np

    from rtgen_opt.exact.bounds import _fractional_knapsack_loss, _window_losses

    weight, work, head, deadline = (np.array(col) for col in zip(*jobs, strict=True))
    starts, ends = sorted(set(head.tolist())), sorted(set(deadline.tolist()))
    expected = 0.0
    for a in starts:
        for b in ends:
            if b > a:
                items = [(w, d) for w, d, h, e in jobs if h >= a and e <= b]
                expected = max(expected, _fractional_knapsack_loss(items, capacity * (b - a)))
    got = _window_losses(weight, work, head, deadline, starts, ends, capacity)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)
