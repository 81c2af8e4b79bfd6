"""Makespan probes (``cpsat._minimise``): galloping from the incumbent, then bisection between
bound and incumbent, so closing a gap ``g`` takes ``O(log g)`` probes, not ``g``."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
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

    job_shop = False

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


class _Timeline(_FakeModel):
    """The first run reports the incumbents ``points`` ``(elapsed_s, value)`` to its watchdog
    in turn, and stops where the watchdog says so."""

    def __init__(self, points: list[tuple[float, int]], **kw: Any) -> None:
        super().__init__(**kw)
        self.points = points
        self.stopped_at: float | None = None
        # What the optimiser's continuation touches (a real run would have no time left).
        self.model = SimpleNamespace(Add=lambda _: None)
        self.terms = [SimpleNamespace(expr=0, value=float)]
        self.set_hint = lambda _: None

    def solve_stage(self, k: int, stop_when: Any = None, **_: Any) -> StageResult:
        value = self.start
        for elapsed, value in self.points:
            if stop_when is not None and stop_when(elapsed, value, self.lb):
                self.stopped_at = elapsed
                break
        return StageResult("feasible", value, self.lb, "s0", {}, False)


def _timeline(points, stall, *, job_shop=False):
    # MFJS10's shape: bound 945 at the critical path, the optimum 1196 found early.
    model = _Timeline(points, start=1464, lb=945, opt=1196, pick=lambda t: t)
    model.job_shop = job_shop
    monkey = pytest.MonkeyPatch()
    monkey.setattr(cpsat, "PROBE_STALL", stall)
    try:
        found = _minimise(
            model, 0, time_limit=100, workers=1, seed=0, progress=None, parameters=None, probe=True
        )
    finally:
        monkey.undo()
    return model, found


def test_a_stalled_incumbent_starts_the_probes_on_a_wide_gap():
    found_at = [(1, 1300), (5, 1250), (10, 1196)]
    points = found_at + [(t, 1196) for t in (15, 20, 30, 36, 50, 80)]
    # Stalled once it has stood for 25% of the time and as long as it took to find: at 36 s.
    model, found = _timeline(points, 0.25)
    assert model.stopped_at == 36
    assert model.targets == [1195]  # infeasible: 1196 is proven
    assert found.status == "optimal" and found.value == found.bound == 1196
    # Without the rule the 21% gap never lets a probe start; nor on a classic job shop.
    model, found = _timeline(points, None)
    assert model.stopped_at is None and model.targets == []
    assert found.status == "feasible" and (found.value, found.bound) == (1196, 945)
    model, found = _timeline(points, 0.25, job_shop=True)
    assert model.stopped_at is None and model.targets == []


def test_an_improving_incumbent_is_not_stalled():
    points = [(t / 2, 1400 - t) for t in range(1, 200)]  # better every half second
    model, found = _timeline(points, 0.25)
    assert model.stopped_at is None and model.targets == []
    assert found.status == "feasible"


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


def test_a_probe_that_stops_in_presolve_is_no_interrupt():
    # CP-SAT may end a large probe in presolve, short of its limit and without a search
    # (game_npc_heavy_4s: 19 s of 23 s): that is not Ctrl-C, and the solve goes on.
    # stop_after_presolve stands in for it here.
    from rtgen_opt.exact.cpsat import _at_floor

    inst = _one_processor({"a": 3.0, "b": 2.0}, {"a": 3.0, "b": 5.0})
    hint = _in_order(inst, ["b", "a"])
    model = CpsatModel(inst, Objective.parse("misses"), hint)
    raw = {"stop_after_presolve": True}
    found = _at_floor(model, 0, 0, time_limit=20, workers=1, seed=0, progress=None, parameters=raw)
    assert found.status == "unknown" and found.stats["floor_probe"]["branches"] == 0
    assert not found.interrupted
    r = solve(inst, "misses", "cpsat", time_limit=20, hint=hint, parameters=raw)
    assert "interrupted" not in r.stats
    assert validate(inst, r.schedule) == [] and r.objective == (1.0,)


def test_cut_short_needs_a_search_and_an_early_end():
    from rtgen_opt.exact.cpsat.model import cut_short

    searched, presolve_only = {"branches": 5, "conflicts": 0}, {"branches": 0, "conflicts": 0}
    assert cut_short(1.0, 20.0, searched)
    assert not cut_short(19.5, 20.0, searched)  # at its limit
    assert not cut_short(1.0, 20.0, presolve_only)


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


def test_probe_phases_by_structure():
    from rtgen_opt.importers.fjsp import read_fjsp

    shop = Instance.load(DATA / "ft06.json")
    model = CpsatModel(shop, Objective.parse("makespan"), list_schedule(shop, "makespan"))
    assert model.job_shop
    kacem = read_fjsp(DATA / "fjsp" / "179.txt")  # flexible: several machines per operation
    model = CpsatModel(kacem, Objective.parse("makespan"), list_schedule(kacem, "makespan"))
    assert not model.job_shop

    def searches(**kw: bool) -> list[str]:
        phases = cpsat.model.probe_phases(2, **kw)
        assert math.isclose(sum(share for share, _ in phases), 1.0)
        return ["tree" if "filter_subsolvers" in p else "portfolio" for _, p in phases]

    assert searches(job_shop=True, makespan=True) == ["tree"]
    assert searches(job_shop=False, makespan=True) == ["portfolio", "tree"]
    assert searches(job_shop=False, makespan=False) == ["portfolio"]
    assert searches(job_shop=True, makespan=False) == ["portfolio"]


def test_a_flexible_probe_gets_the_tree_after_the_portfolio_within_its_limit():
    # Fattahi MFJS10 at M <= 1195 (the optimum is 1196): undecided in a second on either search.
    from rtgen_opt.importers.fjsp import read_fjsp

    mfjs = read_fjsp(DATA / "fjsp" / "193.txt")
    model = CpsatModel(mfjs, Objective.parse("makespan"), list_schedule(mfjs, "makespan"))
    found = model.probe(0, 1195, time_limit=1.0, workers=2, seed=0)  # resolution 1: units
    assert found.status == "unknown"
    phases = found.stats["phases"]
    assert [p["status"] for p in phases] == ["UNKNOWN", "UNKNOWN"]
    share = cpsat.model.PROBE_PORTFOLIO_SHARE
    assert phases[0]["wall_s"] == pytest.approx(share, abs=0.15)
    assert found.stats["wall_s"] <= 1.0 + 0.25


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
