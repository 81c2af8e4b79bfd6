"""The objective definitions every solver and report shares, checked by hand on small cases."""

import networkx as nx
import pytest

from rtgen_opt.errors import ArgumentError, InternalError
from rtgen_opt.exact.bounds import BOUNDS, combinatorial_bounds
from rtgen_opt.exact.cpsat.objective import BUILDERS as CPSAT_BUILDERS
from rtgen_opt.exact.milp.objective import BUILDERS as MILP_BUILDERS
from rtgen_opt.instance import Instance, Platform, Processor, Request
from rtgen_opt.objectives import CRITERIA, Objective, builder, missed_jobs, objective_values
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
def test_parse_rejects_with_one_clear_error(bad):
    with pytest.raises(ArgumentError, match="objective"):
        Objective.parse(bad)


def test_parse_accepts_lists_strings_and_parsed_values():
    assert Objective.parse(" misses , tardiness").names == ("misses", "tardiness")
    assert Objective.parse(["makespan"]).names == ("makespan",)
    parsed = Objective.parse("energy")
    assert Objective.parse(parsed) is parsed and str(parsed) == "energy"
    assert [c.name for c in Objective.parse("ttft,misses")] == ["ttft", "misses"]


@pytest.mark.parametrize(
    "table", [BOUNDS, CPSAT_BUILDERS, MILP_BUILDERS], ids=["bounds", "cpsat", "milp"]
)
def test_every_table_covers_every_criterion_and_nothing_else(table):
    # Adding a criterion to the registry without its builder or bound fails here.
    assert set(table) == set(CRITERIA)


def test_a_missing_table_entry_is_an_internal_error_not_a_wrong_answer():
    with pytest.raises(InternalError, match="no entry for the objective 'misses'"):
        builder({}, "misses", "a table")


def test_each_bound_reports_its_registered_ingredients():
    inst = _instance("drop")
    for name, criterion in CRITERIA.items():
        b = combinatorial_bounds(inst, name)
        assert b["objective"] == name
        assert set(criterion.bounds) <= set(b), name
        assert b["bound"] == max(b[k] for k in criterion.bounds), name


def test_only_counts_of_jobs_have_absolute_gaps_and_only_makespan_is_not_a_sum():
    assert [n for n, c in CRITERIA.items() if c.counts_jobs] == ["misses"]
    assert [n for n, c in CRITERIA.items() if not c.additive] == ["makespan"]
