"""Interchangeable jobs and the symmetry breaking (C12) of the CP-SAT feasibility probes.

The property test builds instances with copies of one job (sometimes with a different release,
so that they are *not* interchangeable) on top of the cross-validation generator, and checks the
probes against the MILP's proven makespan: with (C12) "makespan <= z*" must stay feasible (a
wrong symmetry breaking cuts the optimum off) and "makespan <= z* - 1" infeasible.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtgen_opt.exact.cpsat.model import CpsatModel
from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.result import SolveStatus
from rtgen_opt.exact.solve import solve
from rtgen_opt.exact.symmetry import interchangeable_jobs, symmetric_pairs
from rtgen_opt.importers.fjsp import read_fjsp
from rtgen_opt.instance import Instance, Platform, Request
from rtgen_opt.objectives import Objective
from rtgen_opt.validate import validate
from tests.exact.test_cross_validation import instances

FJSP = Path(__file__).parents[1] / "data" / "fjsp"  # copies of ../shared/external/fjsp


def _twin_graph(copies: int, release_of: dict[int, float] | None = None) -> nx.DiGraph:
    g = nx.DiGraph()
    for c in range(copies):
        rel = (release_of or {}).get(c, 0.0)
        g.add_node(f"c{c}.0", job=f"C{c}", durations={"m0": 2.0, "m1": 3.0}, release=rel)
        g.add_node(f"c{c}.1", job=f"C{c}", durations={"m1": 1.0}, release=rel)
        g.add_edge(f"c{c}.0", f"c{c}.1", bytes=100.0)
    return g


PLATFORM = Platform.homogeneous(["m0", "m1"])


def test_copies_of_a_job_are_interchangeable_in_job_order() -> None:
    inst = Instance.from_networkx(_twin_graph(3), PLATFORM)
    assert interchangeable_jobs(inst) == [("C0", "C1", "C2")]
    assert symmetric_pairs(inst) == [("C0", "C1"), ("C1", "C2")]


def test_a_different_release_an_outside_edge_or_a_request_breaks_the_symmetry() -> None:
    released = Instance.from_networkx(_twin_graph(2, {1: 1.0}), PLATFORM)
    assert interchangeable_jobs(released) == []
    g = _twin_graph(2)
    g.add_edge("c0.1", "c1.0")
    assert interchangeable_jobs(Instance.from_networkx(g, PLATFORM)) == []
    g = _twin_graph(2)
    for c in range(2):
        for i in range(2):
            g.nodes[f"c{c}.{i}"].update(request=f"R{c}", stream="llm", phase="prefill")
    requests = {
        f"R{c}": Request(f"R{c}", "llm", 0.0, 8, 1, 10.0, 1.0, (f"c{c}.0", f"c{c}.1"), ())
        for c in range(2)
    }
    llm = Instance.from_networkx(g, PLATFORM, requests=requests)
    assert interchangeable_jobs(llm) == []


def test_fattahi_mfjs9_and_mfjs10_have_two_pairs_of_equal_jobs() -> None:
    for name in ("192.txt", "193.txt"):
        classes = interchangeable_jobs(read_fjsp(FJSP / name))
        assert sorted(sorted(c) for c in classes) == [["j10", "j8"], ["j7", "j9"]]
    assert interchangeable_jobs(read_fjsp(FJSP / "191.txt")) == []


@st.composite
def with_copies(draw: st.DrawFn) -> Instance:
    """A generated instance plus 2-3 copies of a random one- or two-task job."""
    base = draw(instances(max_tasks=5))
    g = base.graph.copy()
    procs = [p.name for p in base.platform.processors]
    size = draw(st.integers(1, 2))
    template = [
        {
            p: draw(st.integers(1, 8)) / 2
            for p in sorted(draw(st.sets(st.sampled_from(procs), min_size=1)))
        }
        for _ in range(size)
    ]
    release = draw(st.integers(0, 4))
    shifted = draw(st.sampled_from([None, 0, 1]))  # a copy with another release: no symmetry
    for c in range(draw(st.integers(2, 3))):
        rel = release + (2 if c == shifted else 0)
        for i, durations in enumerate(template):
            g.add_node(f"k{c}.{i}", job=f"K{c}", durations=durations, release=rel)
            if i:
                g.add_edge(f"k{c}.{i - 1}", f"k{c}.{i}", bytes=500.0)
    return Instance.from_networkx(
        g, base.platform, miss_mode=base.miss_mode, requests=dict(base.requests), name="twins"
    )


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(with_copies())
def test_probes_with_symmetry_breaking_agree_with_the_milp_optimum(instance: Instance) -> None:
    copies = {j for j in instance.jobs if j.startswith("K")}
    found = {j for c in interchangeable_jobs(instance) for j in c}
    releases = {instance.jobs[j].release for j in copies}
    assert (copies <= found) == (len(releases) == 1)
    reference = solve(instance, "makespan", "milp-highs", time_limit=20)
    assert reference.status is SolveStatus.OPTIMAL
    model = CpsatModel(instance, Objective.parse("makespan"), list_schedule(instance, "makespan"))
    z = round(reference.objective[0] / model.win.scale.unit_ms)
    at = model.probe(0, z, time_limit=20, workers=1, seed=0)
    assert at.status == "feasible" and validate(instance, at.schedule) == []
    if z > 0:
        assert model.probe(0, z - 1, time_limit=20, workers=1, seed=0).status == "infeasible"
