"""Time windows of jobs: requests whole, cuts at release boundaries only, dependency order."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings

from rtgen_opt.exact.partition import units_of, windows_of
from rtgen_opt.inputs import load_instance
from rtgen_opt.instance import Instance, Platform
from tests.exact.test_cross_validation import instances

SCENARIO = "instances/scenarios/game_npc_small.yaml"


def test_a_request_is_one_unit_by_release_and_split_by_deadline():
    inst = load_instance(SCENARIO)
    request_jobs = {
        rid: {inst.graph.nodes[t]["job"] for t in (*r.prefill_tasks, *r.decode_tasks)}
        for rid, r in inst.requests.items()
    }
    by_release = [set(u.jobs) for u in units_of(inst)]
    for jobs in request_jobs.values():
        assert jobs in by_release  # whole, and alone in its unit
    by_deadline = units_of(inst, by="deadline")
    assert all(len(u.jobs) == 1 for u in by_deadline)
    keys = [u.release for u in by_deadline]
    assert keys == sorted(keys)


@settings(max_examples=60, deadline=None)
@given(instances(max_tasks=12))
def test_windows_partition_the_jobs_in_dependency_order(instance):
    for by in ("release", "deadline"):
        for target in (1, 3, 7):
            windows = windows_of(instance, target, by=by)
            jobs = [j for w in windows for j in w.jobs]
            assert sorted(jobs) == sorted(instance.jobs)  # every job exactly once
            position = {j: k for k, j in enumerate(jobs)}
            for j, succs in instance.job_successors.items():
                assert all(position[j] < position[k] for k in succs)  # upstream first
            # windows end at release boundaries: no key is split across two windows
            for a, b in zip(windows, windows[1:], strict=False):
                assert a.units[-1].release < b.units[0].release


def test_a_dependency_against_release_order_is_kept_and_a_cycle_merged():
    g = nx.DiGraph()
    g.add_node("late", durations={"m": 1.0}, release=5.0, job="L")
    g.add_node("early", durations={"m": 1.0}, release=0.0, job="E")
    g.add_node("x1", durations={"m": 1.0}, release=1.0, job="X")
    g.add_node("x2", durations={"m": 1.0}, release=1.0, job="X")
    g.add_node("y1", durations={"m": 1.0}, release=2.0, job="Y")
    g.add_node("y2", durations={"m": 1.0}, release=2.0, job="Y")
    g.add_edges_from([("late", "early"), ("x1", "y1"), ("y2", "x2")])  # X and Y depend mutually
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    units = [u.jobs for u in units_of(inst)]
    assert units.index(("L",)) < units.index(("E",))
    assert ("X", "Y") in units


def test_halves_cut_near_the_middle_at_a_release_boundary():
    inst = load_instance(SCENARIO)
    (window,) = windows_of(inst, 10**6)
    first, second = window.halves()
    assert first.jobs + second.jobs == window.jobs
    assert first.units[-1].release < second.units[0].release
    assert abs(first.tasks - second.tasks) <= max(u.tasks for u in window.units) * 2
