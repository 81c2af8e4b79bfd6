"""The objective definitions every solver and report shares, checked by hand on small cases."""

import networkx as nx
import pytest

from rtgen_opt.errors import SpecError
from rtgen_opt.instance import Instance, Platform, Processor, Request
from rtgen_opt.objectives import missed_jobs, objective_values, parse_objective
from rtgen_opt.schedule import Schedule


def _instance(miss_mode="late"):
    platform = Platform(
        "p", (Processor("cpu", "cpu", 10.0, 2.0), Processor("npu", "npu", 3.0, 1.0))
    )
    g = nx.DiGraph()
    # job A: two tasks, deadline 5, weight 2; job B: one task, deadline 3, weight 1, depends on A
    g.add_node("a1", durations={"cpu": 2.0, "npu": 1.0}, job="A", deadline=5.0, weight=2.0)
    g.add_node("a2", durations={"cpu": 2.0}, job="A", deadline=5.0, weight=2.0)
    g.add_node("b", durations={"npu": 1.5}, job="B", deadline=3.0, release=1.0)
    g.add_node(
        "p",
        durations={"npu": 4.0},
        job="R/ttft",
        deadline=10.0,
        phase="prefill",
        request="R",
        droppable=False,
    )
    g.add_edge("a1", "a2")
    g.add_edge("a1", "b")
    req = Request("R", "llm", 0.5, 10, 1, 9.0, 1.0, ("p",), ())
    return Instance.from_networkx(g, platform, miss_mode=miss_mode, requests={"R": req})


def test_values_by_hand():
    inst = _instance()
    s = Schedule.build(
        [("a1", "npu", 0, 1), ("a2", "cpu", 1, 3), ("b", "npu", 1, 2.5), ("p", "npu", 2.5, 6.5)]
    )
    misses, tardiness, ttft, makespan, energy = objective_values(
        inst, s, "misses,tardiness,ttft,makespan,energy"
    )
    assert misses == 0 and tardiness == 0
    assert ttft == pytest.approx(6.0)  # prefill ends 6.5, arrival 0.5
    assert makespan == pytest.approx(6.5)
    # energy above idle: npu (3-1) x (1 + 1.5 + 4) + cpu (10-2) x 2
    assert energy == pytest.approx(2 * 6.5 + 8 * 2)

    late = Schedule.build(
        [("a1", "cpu", 0, 2), ("a2", "cpu", 4, 6), ("b", "npu", 2, 3.5), ("p", "npu", 3.5, 7.5)]
    )
    assert missed_jobs(inst, late) == {"A", "B"}
    assert objective_values(inst, late, ["misses", "tardiness"]) == pytest.approx(
        (3.0, 2 * 1.0 + 0.5)
    )


def test_dropped_jobs_miss_without_tardiness():
    inst = _instance("drop")
    s = Schedule.build([("p", "npu", 0.5, 4.5)], dropped=["A", "B"])
    assert objective_values(inst, s, "misses,tardiness") == (3.0, 0.0)


def test_job_exactly_on_deadline_is_not_a_miss():
    inst = _instance()
    s = Schedule.build(
        [("a1", "npu", 0, 1), ("a2", "cpu", 3, 5), ("b", "npu", 1.5, 3), ("p", "npu", 3, 7)]
    )
    assert objective_values(inst, s, "misses") == (0.0,)


@pytest.mark.parametrize("bad", ["", "misses,,tardiness", "speed", "misses,misses", []])
def test_parse_objective_rejects(bad):
    with pytest.raises(SpecError, match="objective"):
        parse_objective(bad)


def test_parse_objective_accepts_lists_and_strings():
    assert parse_objective(" misses , tardiness") == ("misses", "tardiness")
    assert parse_objective(["makespan"]) == ("makespan",)
    assert parse_objective("energy") == ("energy",)
