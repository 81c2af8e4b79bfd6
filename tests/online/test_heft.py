"""HEFT as published: the article's worked example, insertion, replay == plan, arrivals, noise."""

from __future__ import annotations

import math

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtgen_opt.instance import Instance, Link, Platform, Processor
from rtgen_opt.online import replay, simulate
from rtgen_opt.online.policies.heft import HEFT
from rtgen_opt.online.simulator import Simulation
from rtgen_opt.validate import validate
from tests.online.test_simulator import instances

# Topcuoglu, Hariri and Wu (2002), Fig. 2: computation costs on P1, P2, P3 and edge costs.
PAPER_W = {
    1: (14, 16, 9),
    2: (13, 19, 18),
    3: (11, 13, 19),
    4: (13, 8, 17),
    5: (12, 13, 10),
    6: (13, 16, 9),
    7: (7, 15, 11),
    8: (5, 11, 14),
    9: (18, 12, 20),
    10: (21, 7, 16),
}
PAPER_C = {
    (1, 2): 18,
    (1, 3): 12,
    (1, 4): 9,
    (1, 5): 11,
    (1, 6): 14,
    (2, 8): 19,
    (2, 9): 16,
    (3, 7): 23,
    (4, 8): 27,
    (4, 9): 23,
    (5, 9): 13,
    (6, 8): 15,
    (7, 10): 17,
    (8, 10): 11,
    (9, 10): 13,
}
PAPER_RANKS = [108.0, 77.0, 80.0, 80.0, 69.0, 63.33, 42.67, 35.67, 44.33, 14.67]


def paper_instance() -> Instance:
    g = nx.DiGraph()
    for t, costs in PAPER_W.items():
        g.add_node(
            f"n{t:02d}", durations=dict(zip(("p1", "p2", "p3"), costs, strict=True)), job="dag"
        )
    for (u, v), c in PAPER_C.items():
        g.add_edge(f"n{u:02d}", f"n{v:02d}", delay=float(c))  # the same on every processor pair
    return Instance.from_networkx(g, Platform.homogeneous(["p1", "p2", "p3"]))


def plan_matches_replay(inst: Instance, policy: HEFT, schedule) -> bool:
    procs = sorted(inst.processors)
    for k, t in enumerate(inst.tasks):
        pl = schedule.placements[t]
        planned = (procs[policy.assigned[k]], policy.planned_start[k] * inst.resolution)
        if (pl.processor, pl.start) != pytest.approx(planned):
            return False
    return True


def test_the_articles_worked_example_ranks_and_makespan():
    inst = paper_instance()
    pol = HEFT()
    run = simulate(inst, pol)
    assert [round(r * inst.resolution, 2) for r in pol.upward_rank] == PAPER_RANKS
    s = run.schedule
    assert max(p.end for p in s.placements.values()) == 80.0  # the article's HEFT makespan
    # the article's Fig. 4(a): where each task runs
    assert [s.placements[f"n{t:02d}"].processor for t in range(1, 11)] == [
        "p3",
        "p1",
        "p3",
        "p2",
        "p3",
        "p2",
        "p3",
        "p1",
        "p2",
        "p2",
    ]
    assert plan_matches_replay(inst, pol, s)


def test_saga_mean_comm_counts_self_links():
    # 3 processors, one uniform cost per edge: saga's mean is (3 - 1) / (3 + 1) of it
    inst = paper_instance()
    pol = HEFT(mean_comm="saga")
    simulate(inst, pol)
    ranks = [r * inst.resolution for r in pol.upward_rank]
    assert ranks[9] == pytest.approx(44 / 3)
    assert ranks[8] == pytest.approx(50 / 3 + 13 / 2 + 44 / 3)  # n9 -> n10
    with pytest.raises(ValueError, match="mean_comm"):
        HEFT(mean_comm="median")  # type: ignore[arg-type]


def test_a_low_rank_task_is_inserted_into_an_earlier_gap():
    # a (npu only) feeds b on the cpu through a 4 ms transfer, so the cpu is free until 6;
    # b -> d keep the cpu from 6 to 11. c (rank 3, planned last) fits into the gap [0, 6).
    plat = Platform.homogeneous(["cpu", "npu"])
    g = nx.DiGraph()
    g.add_node("a", durations={"npu": 2.0}, job="j")
    g.add_node("b", durations={"cpu": 1.0}, job="j")
    g.add_node("c", durations={"cpu": 3.0}, job="j")
    g.add_node("d", durations={"cpu": 4.0}, job="j")
    g.add_edge("a", "b", delay=4.0)
    g.add_edge("b", "d")
    inst = Instance.from_networkx(g, plat)
    pol = HEFT()
    s = simulate(inst, pol).schedule
    assert [round(r * inst.resolution) for r in pol.upward_rank] == [11, 5, 3, 4]
    at = {t: (p.processor, p.start) for t, p in s.placements.items()}
    assert at == {"a": ("npu", 0.0), "c": ("cpu", 0.0), "b": ("cpu", 6.0), "d": ("cpu", 7.0)}
    assert plan_matches_replay(inst, pol, s)


def test_a_job_arriving_after_an_overrun_is_planned_where_the_work_really_stands():
    # job A: a1 -> a2 on the npu, planned [0, 4) and [4, 8); a1 really takes 7. Job B arrives at
    # 5: re-timed, the npu is busy until 5 + 4 = 9 and b would end there at 12, so it takes the
    # cpu (ends 11.5); against the stale plan (npu free at 8, end 11) it would have waited.
    plat = Platform.homogeneous(["cpu", "npu"])

    def build(a1: float) -> Instance:
        g = nx.DiGraph()
        g.add_node("a1", durations={"npu": a1}, job="A")
        g.add_node("a2", durations={"npu": 4.0}, job="A")
        g.add_node("b", durations={"npu": 3.0, "cpu": 6.5}, job="B", release=5.0)
        g.add_edge("a1", "a2")
        return Instance.from_networkx(g, plat)

    sim = Simulation(build(4.0), build(7.0))
    pol = HEFT()
    sim.run(pol)
    s = sim.schedule(method="heft")
    assert validate(build(7.0), s) == []
    assert (s.placements["b"].processor, s.placements["b"].start) == ("cpu", 5.0)
    assert s.placements["a2"].start == 7.0


# --------------------------------------------------------------------------- properties
@st.composite
def dags(draw, max_tasks: int = 25) -> Instance:
    """One job released at 0: a random DAG on related-speed processors (random eligibility)."""
    P = draw(st.integers(1, 4))
    speeds = [draw(st.sampled_from([1.0, 2.0, 4.0])) for _ in range(P)]
    kinds = [f"k{p}" for p in range(P)]
    links = {
        (a, b): Link(draw(st.sampled_from([0.0, 0.5])), draw(st.sampled_from([math.inf, 50.0])))
        for a in kinds
        for b in kinds
        if a != b
    }
    plat = Platform("rel", tuple(Processor(f"p{p}", kinds[p]) for p in range(P)), links=links)
    n = draw(st.integers(1, max_tasks))
    g = nx.DiGraph()
    for i in range(n):
        cost = draw(st.integers(0, 12))
        elig = draw(st.lists(st.integers(0, P - 1), min_size=1, max_size=P, unique=True))
        g.add_node(f"t{i:02d}", durations={f"p{p}": cost * 4 / speeds[p] for p in elig}, job="j")
        for u in range(i):
            if draw(st.integers(0, 3)) == 0:
                g.add_edge(
                    f"t{u:02d}", f"t{i:02d}", bytes=draw(st.sampled_from([0.0, 25.0, 100.0]))
                )
    return Instance.from_networkx(g, plat)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(inst=dags(), mean_comm=st.sampled_from(["paper", "saga"]))
def test_one_job_at_zero_the_replay_is_the_heft_plan(inst, mean_comm):
    pol = HEFT(mean_comm=mean_comm)
    s = simulate(inst, pol).schedule
    assert plan_matches_replay(inst, pol, s)


class Recording(HEFT):
    """HEFT noting each processor's planned order after every arrival and its dispatch order."""

    def reset(self, sim):
        super().reset(sim)
        self.snapshots: list[list[list[int]]] = []
        self.dispatched: list[list[int]] = [[] for _ in range(sim.n_procs)]

    def arrive(self, sim, now, jobs):
        super().arrive(sim, now, jobs)
        self.snapshots.append([list(tl) for tl in self.timeline])

    def decide(self, sim, now, ready):
        out = super().decide(sim, now, ready)
        for i, p in out:
            self.dispatched[p].append(i)
        return out


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(inst=instances(), noise=st.sampled_from([0.0, 0.3, 0.8]), seed=st.integers(0, 3))
def test_arrivals_and_noise_keep_each_processors_plan_order(inst, noise, seed):
    pol = Recording()
    run = simulate(inst, pol, noise=noise, seed=seed)
    assert validate(run.instance, run.schedule) == []
    placed = run.schedule.placements
    for snap in pol.snapshots:
        for p, planned in enumerate(snap):
            members = set(planned)
            ran = [i for i in pol.dispatched[p] if i in members]
            # every planned task that ran (all but those of dropped jobs) ran here, in plan order
            assert ran == [i for i in planned if inst.tasks[i] in placed]
    if noise == 0.0 and inst.miss_mode == "late":  # several jobs, no noise: still the plan
        assert plan_matches_replay(inst, pol, run.schedule)


def test_replay_validates_under_noise_on_the_articles_example():
    inst = paper_instance()
    for seed in range(5):
        s = replay(inst, "heft", noise=0.5, seed=seed)
        assert len(s.placements) == 10
