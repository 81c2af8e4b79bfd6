"""Pools of identical processors (``exact/cpsat/pools.py``): which processors are pooled, and
that the pooled model (one cumulative per pool, assignment by colouring) proves the same optima
as the MILP and as the unpooled model, with valid schedules."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtgen_opt.exact.cpsat.pools import Pools, identical_processors
from rtgen_opt.exact.result import SolveStatus
from rtgen_opt.exact.solve import solve
from rtgen_opt.exact.windows import windows
from rtgen_opt.instance import Instance, Link, Platform, Processor
from rtgen_opt.validate import validate
from tests.exact.test_cross_validation import HYPOTHESIS, cross_validate

#: Two identical CPUs (free transfers between them, the same link to the NPU) and an NPU.
POOLED = Platform(
    "2cpu+npu",
    (
        Processor("cpu0", "cpu", 6.0, 1.0),
        Processor("cpu1", "cpu", 6.0, 1.0),
        Processor("npu0", "npu", 3.0, 0.5),
    ),
    default_link=Link(1.0, 1000.0),
    links={("cpu", "cpu"): Link(0.0, float("inf"))},
)


def _pools(instance: Instance) -> dict[str, tuple[str, ...]]:
    p = identical_processors(instance, windows(instance))
    return {r: ms for r, ms in p.members.items() if len(ms) > 1}


def _graph(cpu: dict[str, float], npu: dict[str, float]) -> nx.DiGraph:
    g = nx.DiGraph()
    for t in sorted(set(cpu) | set(npu)):
        d = {"cpu0": cpu[t], "cpu1": cpu[t]} if t in cpu else {}
        if t in npu:
            d["npu0"] = npu[t]
        g.add_node(t, durations=d)
    return g


def test_identical_cpus_form_one_pool_and_the_npu_stays_alone():
    g = _graph({"a": 2.0, "b": 3.0}, {"b": 1.0, "c": 4.0})
    g.add_edge("a", "b", bytes=1000.0)  # a transfer to the NPU, the same from every CPU
    assert _pools(Instance.from_networkx(g, POOLED)) == {"cpu0": ("cpu0", "cpu1")}


def test_what_breaks_identity():
    g = _graph({"a": 2.0, "b": 3.0}, {})
    # A duration that differs on one CPU.
    h = g.copy()
    h.nodes["a"]["durations"] = {"cpu0": 2.0, "cpu1": 2.5}
    assert _pools(Instance.from_networkx(h, POOLED)) == {}
    # A transfer between two of them: where a task runs inside the pool matters.
    paid = Platform("2cpu", POOLED.processors[:2], default_link=Link(0.5, 1000.0))
    h = g.copy()
    h.add_edge("a", "b", bytes=100.0)
    assert _pools(Instance.from_networkx(h, paid)) == {}
    # Other power figures (energy) or another kind.
    hot = Platform("x", (Processor("cpu0", "cpu", 6.0, 1.0), Processor("cpu1", "cpu", 7.0, 1.0)))
    two = nx.DiGraph()
    two.add_node("a", durations={"cpu0": 1.0, "cpu1": 1.0})
    assert _pools(Instance.from_networkx(two, hot)) == {}
    # A zero-duration task (the colouring needs positive durations).
    h = g.copy()
    h.nodes["a"]["durations"] = dict.fromkeys(("cpu0", "cpu1"), 0.0)
    assert _pools(Instance.from_networkx(h, POOLED)) == {}


def test_colouring_puts_at_most_one_task_at_a_time_on_each_processor():
    pools = Pools({"p0": "p0", "p1": "p0", "q": "q"}, {"p0": ("p0", "p1"), "q": ("q",)})
    rows = [("a", "p0", 0, 4), ("b", "p0", 1, 3), ("c", "p0", 3, 6), ("d", "q", 0, 9)]
    got = {t: (p, s, e) for t, p, s, e in pools.assign(rows)}
    assert got == {"a": ("p0", 0, 4), "b": ("p1", 1, 3), "c": ("p1", 3, 6), "d": ("q", 0, 9)}


@st.composite
def pooled_instances(draw: st.DrawFn) -> Instance:
    """Small random instances on ``POOLED``: every task eligible on the CPU pool (one duration),
    the NPU, or both; edges with bytes; releases, deadlines, drops."""
    n = draw(st.integers(3, 9))
    g = nx.DiGraph()
    jobs = {}  # job -> (release, deadline, droppable): shared by its tasks
    for j in range((n + 1) // 2):
        release = draw(st.integers(0, 4))
        deadline = draw(st.one_of(st.none(), st.integers(release + 2, release + 10)))
        jobs[j] = (release, deadline, draw(st.booleans()))
    for i in range(n):
        where = draw(st.sampled_from(["cpu", "npu", "both"]))
        d = {}
        if where != "npu":
            d.update(dict.fromkeys(("cpu0", "cpu1"), draw(st.integers(1, 8)) / 2))
        if where != "cpu":
            d["npu0"] = draw(st.integers(1, 8)) / 2
        release, deadline, droppable = jobs[i // 2]
        g.add_node(
            f"t{i}",
            durations=d,
            release=release,
            deadline=deadline,
            job=f"J{i // 2}",
            droppable=droppable,
        )
    for v in range(1, n):
        for u in sorted(draw(st.sets(st.integers(0, v - 1), max_size=2))):
            g.add_edge(f"t{u}", f"t{v}", bytes=draw(st.sampled_from([0.0, 1000.0])))
    mode = draw(st.sampled_from(["late", "drop"]))
    return Instance.from_networkx(g, POOLED, miss_mode=mode, name="pooled")


@HYPOTHESIS
@given(pooled_instances())
def test_pooled_cpsat_and_milp_agree_on_every_objective(instance: Instance) -> None:
    assert _pools(instance) == {"cpu0": ("cpu0", "cpu1")}
    for objective in ("misses", "tardiness", "makespan", "energy"):
        cross_validate(instance, objective, ("cpsat", "milp-highs"))


@pytest.mark.parametrize("m", [2, 3])
def test_pooled_and_unpooled_models_agree_on_a_task_graph(m):
    g = nx.DiGraph()
    durations = [3, 5, 2, 7, 4, 6, 1, 8, 3, 2]
    procs = [f"p{k}" for k in range(m)]
    for i, d in enumerate(durations):
        g.add_node(f"t{i}", durations=dict.fromkeys(procs, float(d)))
    for u, v in [(0, 2), (0, 3), (1, 4), (2, 5), (3, 6), (4, 7), (5, 8), (6, 9), (7, 9)]:
        g.add_edge(f"t{u}", f"t{v}")
    inst = Instance.from_networkx(g, Platform.homogeneous(procs), resolution=1.0)
    pooled = solve(inst, "makespan", time_limit=20)
    plain = solve(inst, "makespan", time_limit=20, pool=False)
    assert pooled.status is plain.status is SolveStatus.OPTIMAL
    assert pooled.objective == plain.objective
    assert validate(inst, pooled.schedule) == []
    assert len({pl.processor for pl in pooled.schedule.placements.values()}) > 1
