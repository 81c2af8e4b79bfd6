"""Makespan probes (``cpsat._minimise``): galloping from the incumbent, then bisection between
bound and incumbent, so closing a gap ``g`` takes ``O(log g)`` probes, not ``g``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtgen_opt.exact import cpsat
from rtgen_opt.exact.cpsat import _minimise, next_probe
from rtgen_opt.exact.cpsat.model import CpsatModel, StageResult
from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.solve import solve
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective
from rtgen_opt.validate import validate
from tests.exact.test_cross_validation import instances as random_instances

DATA = Path(__file__).parents[1] / "data"


class _Term:
    expr = None

    @staticmethod
    def value(z: int) -> float:
        return float(z)


class _FakeModel:
    """A model whose optimum is ``opt``: the first run returns ``(start, lb)``; a probe at ``t``
    is infeasible below ``opt``, else feasible with a value ``pick(t)`` in ``[opt, t]``."""

    def __init__(self, start: int, lb: int, opt: int, pick: Any) -> None:
        self.start, self.lb, self.opt, self.pick = start, lb, opt, pick
        self.terms = [_Term()]
        self.targets: list[int] = []

    def solve_stage(self, k: int, **_: Any) -> StageResult:
        return StageResult("feasible", self.start, self.lb, "s0", {}, False)

    def probe(self, k: int, at_most: int, **_: Any) -> StageResult:
        self.targets.append(at_most)
        stats = {"probe_at_most": at_most, "wall_s": 0.0}
        if at_most < self.opt:
            return StageResult("infeasible", None, at_most + 1, None, stats, False)
        return StageResult("feasible", self.pick(at_most), None, f"s{at_most}", stats, False)


def _run(model: _FakeModel) -> StageResult:
    return _minimise(
        model,
        0,
        time_limit=1e6,
        workers=1,
        seed=0,
        progress=None,
        parameters=None,
        probe=True,
    )


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 10**6), st.integers(0, 10**6), st.data())
def test_probes_close_any_gap_in_logarithmically_many_steps(lb, gap, above, data):
    monkey = pytest.MonkeyPatch()
    monkey.setattr(cpsat, "PROBE_GAP", math.inf)  # probe whatever the gap
    try:
        opt = lb + min(above, gap)
        start = lb + gap
        # A feasible probe at t returns anything in [opt, t] (a solver may find better).
        pick = data.draw(st.sampled_from(["target", "optimum", "between"]))
        choose = {
            "target": lambda t: t,
            "optimum": lambda t: opt,
            "between": lambda t: (opt + t + 1) // 2,
        }[pick]
        model = _FakeModel(start, lb, opt, choose)
        found = _run(model)
    finally:
        monkey.undo()
    assert found.status == "optimal" and found.value == found.bound == opt
    assert len(model.targets) <= 2 * math.ceil(math.log2(gap + 1)) + 2
    assert len(found.stats["probes"]) == len(model.targets)
    outcomes = [p["outcome"] for p in found.stats["probes"]]
    assert set(outcomes) <= {"feasible", "infeasible"}
    # The schedule returned is the last feasible probe's (or the first run's).
    feasible = [t for t, o in zip(model.targets, outcomes, strict=True) if o == "feasible"]
    assert found.schedule == (f"s{feasible[-1]}" if feasible else "s0")


def test_one_tick_steps_are_gone_on_a_wide_gap():
    # The case: 56 probes of -1 each to go down 56 ticks. Galloping needs a handful.
    model = _FakeModel(start=1056, lb=1000, opt=1000, pick=lambda t: t)
    monkey = pytest.MonkeyPatch()
    monkey.setattr(cpsat, "PROBE_GAP", math.inf)
    try:
        found = _run(model)
    finally:
        monkey.undo()
    assert found.value == found.bound == 1000
    assert model.targets == [1055, 1053, 1049, 1041, 1025, 1000]


def test_an_undecided_probe_stops_probing():
    class Undecided(_FakeModel):
        def probe(self, k, at_most, **_):
            self.targets.append(at_most)
            stats = {"probe_at_most": at_most, "wall_s": 1e9}  # ran to its limit
            return StageResult("unknown", None, None, None, stats, False)

    monkey = pytest.MonkeyPatch()
    monkey.setattr(cpsat, "PROBE_GAP", math.inf)
    try:
        model = Undecided(start=50, lb=40, opt=45, pick=None)
        found = _minimise(
            model, 0, time_limit=0.4, workers=1, seed=0, progress=None, parameters=None, probe=True
        )
    finally:
        monkey.undo()
    assert found.status == "feasible" and (found.value, found.bound) == (50, 40)


def test_next_probe_gallops_then_bisects():
    assert [next_probe(100, 0, s) for s in (1, 2, 4, 8)] == [99, 98, 96, 92]
    assert next_probe(100, 97, 8) == 97  # never below the bound
    assert next_probe(100, 90, 0) == 94
    assert next_probe(91, 90, 0) == 90


def test_real_probes_from_a_poor_incumbent_reach_the_ft06_optimum(monkeypatch):
    # ft06 (optimum 55): the first run is replaced by the list schedule and the critical-path
    # bound, so the probes alone must close the gap; the result equals the known optimum.
    inst = Instance.load(DATA / "ft06.json")
    hint = list_schedule(inst, "makespan")
    model = CpsatModel(inst, Objective.parse("makespan"), hint)
    start = round(hint.makespan / model.win.scale.unit_ms)
    lb = model.win.critical_path
    assert start - lb > 1
    monkeypatch.setattr(cpsat, "PROBE_GAP", math.inf)
    monkeypatch.setattr(
        model, "solve_stage", lambda k, **_: StageResult("feasible", start, lb, hint, {}, False)
    )
    found = _minimise(
        model, 0, time_limit=60, workers=2, seed=0, progress=None, parameters=None, probe=True
    )
    assert found.status == "optimal" and found.value == found.bound == 55
    assert len(found.stats["probes"]) <= 2 * math.ceil(math.log2(start - lb + 1)) + 2
    assert validate(inst, found.schedule) == [] and found.schedule.makespan == 55.0
    assert solve(inst, "makespan", time_limit=20).objective == (55.0,)


# --------------------------------------------------------------------- the probe at the bound
def _one_processor(
    durations: dict[str, float],
    deadlines: dict[str, float],
    releases: dict[str, float] | None = None,
) -> Instance:
    import networkx as nx

    from rtgen_opt.instance import Platform

    g = nx.DiGraph()
    for t, d in durations.items():
        release = (releases or {}).get(t, 0.0)
        g.add_node(t, durations={"m0": d}, deadline=deadlines[t], release=release)
    return Instance.from_networkx(g, Platform.homogeneous(["m0"]))


def _in_order(inst: Instance, order: list[str]):
    from rtgen_opt.schedule import Schedule

    rows, at = [], 0.0
    for t in order:
        d = inst.durations(t)["m0"]
        rows.append((t, "m0", at, at + d))
        at += d
    return Schedule.build(rows, [], method="test")


def _floor_probe(result) -> dict:
    (stage,) = result.stats["stages"]
    return stage["floor_probe"]


def test_the_probe_at_the_bound_finds_a_schedule_with_no_miss():
    # a must go first (deadline 3); the hint runs b first, so a is late: 1 miss, bound 0.
    inst = _one_processor({"a": 3.0, "b": 2.0}, {"a": 3.0, "b": 5.0})
    hint = _in_order(inst, ["b", "a"])
    assert Objective.parse("misses").values(inst, hint) == (1.0,)
    r = solve(inst, "misses", "cpsat", time_limit=20, hint=hint)
    assert str(r.status) == "optimal" and r.objective == r.bound == (0.0,)
    assert _floor_probe(r)["outcome"] == "feasible"
    assert validate(inst, r.schedule) == []


def _preemption_trap() -> Instance:
    """p (0-2, due 3) and q (released 1, 1 long, due 2) cannot both be on time without
    preemption, which the solver-free bound (loads per window) allows; r (due 9) is late in the
    hint r, p, q and on time in the optimum. So: bound 0, hint 2 misses, optimum 1."""
    return _one_processor(
        {"p": 2.0, "q": 1.0, "r": 4.0},
        {"p": 3.0, "q": 2.0, "r": 9.0},
        releases={"q": 1.0},
    )


def test_an_infeasible_probe_at_the_bound_raises_it_and_the_search_goes_on():
    inst = _preemption_trap()
    hint = _in_order(inst, ["r", "p", "q"])
    assert Objective.parse("misses").values(inst, hint) == (2.0,)
    r = solve(inst, "misses", "cpsat", time_limit=20, hint=hint)
    assert str(r.status) == "optimal" and r.objective == r.bound == (1.0,)
    assert _floor_probe(r) == {**_floor_probe(r), "probe_at_most": 0, "outcome": "infeasible"}
    assert validate(inst, r.schedule) == []


def test_an_infeasible_probe_at_the_bound_stays_in_the_model():
    # After the probe at 0 is infeasible, the model itself keeps misses >= 1 (one constraint
    # more, and with it the optimiser's model has no schedule with 0 misses).
    from rtgen_opt.exact.cpsat import _at_floor

    inst = _preemption_trap()
    model = CpsatModel(inst, Objective.parse("misses"), _in_order(inst, ["r", "p", "q"]))
    before = len(model.model.Proto().constraints)
    found = _at_floor(model, 0, 0, time_limit=20, workers=1, seed=0, progress=None, parameters=None)
    assert (found.status, found.bound) == ("unknown", 1)
    assert found.stats["floor_probe"]["outcome"] == "infeasible"
    constraints = model.model.Proto().constraints
    assert len(constraints) == before + 1
    added = constraints[before]
    ontime = {v.Index() for v in model.vars.ontime.values()}
    assert set(added.linear.vars) <= ontime
    # Every job on time (each on-time literal 1) is outside the constraint's domain.
    value = sum(added.linear.coeffs)
    d = list(added.linear.domain)
    assert not any(lo <= value <= hi for lo, hi in zip(d[::2], d[1::2], strict=True))


def test_probe_search_by_structure():
    shop = Instance.load(DATA / "ft06.json")
    model = CpsatModel(shop, Objective.parse("makespan"), list_schedule(shop, "makespan"))
    assert model.job_shop
    assert cpsat.model.probe_search(2, job_shop=True)["filter_subsolvers"] == ["shared_tree"]
    assert "subsolvers" in cpsat.model.probe_search(2, job_shop=False)
    from rtgen_opt.importers.fjsp import read_fjsp

    kacem = read_fjsp(DATA / "fjsp" / "179.txt")  # flexible: several machines per operation
    model = CpsatModel(kacem, Objective.parse("makespan"), list_schedule(kacem, "makespan"))
    assert not model.job_shop


@settings(max_examples=40, deadline=None)
@given(
    random_instances(),
    st.sampled_from(["misses", "makespan,misses", "misses,tardiness", "ttft,misses"]),
)
def test_the_probe_at_the_bound_never_changes_the_proven_optimum(inst, objective):
    # Also as a later stage of a lexicographic objective, where the floor is the unconditional
    # solver-free bound and the earlier components are fixed.
    on = solve(inst, objective, "cpsat", time_limit=20)
    off = solve(inst, objective, "cpsat", time_limit=20, probe=False)
    assert str(on.status) == str(off.status) == "optimal"
    assert on.objective == off.objective
    assert validate(inst, on.schedule) == []
