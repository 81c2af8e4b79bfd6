"""solve() around any backend: validation, recomputed objective, bounds; named settings."""

from pathlib import Path

import pytest

from rtgen_opt.errors import ArgumentError, InternalError, SpecError
from rtgen_opt.exact import BACKENDS
from rtgen_opt.exact.result import Result, SolveStatus
from rtgen_opt.exact.solve import load_settings, solve
from rtgen_opt.instance import Instance
from rtgen_opt.schedule import Schedule

ROOT = Path(__file__).parents[2]
DATA = Path(__file__).parents[1] / "data"


def test_packaged_settings_mirror_solvers_dir():
    for path in sorted((ROOT / "solvers").glob("*.toml")):
        packaged = ROOT / "rtgen_opt" / "data" / "solvers" / path.name
        assert packaged.read_text() == path.read_text(), path.name
    assert load_settings("bench") == {
        "solver": "cpsat",
        "time_limit": 60.0,
        "workers": 2,
        "seed": 0,
        "parameters": {},
    }


def test_settings_errors(tmp_path):
    with pytest.raises(ArgumentError, match="unknown settings"):
        load_settings("nope")
    bad = tmp_path / "x.toml"
    bad.write_text("speed = 3\n")
    with pytest.raises(SpecError, match="unknown key"):
        load_settings(str(bad))


def test_raw_cpsat_parameters_are_passed_and_checked():
    inst = Instance.load(DATA / "ft06.json")
    r = solve(
        inst,
        "makespan",
        time_limit=10,
        parameters={"linearization_level": 2, "subsolvers": ["default_lp", "max_lp"]},
    )
    assert r.objective == (55.0,)
    with pytest.raises(ArgumentError, match="not a CP-SAT parameter"):
        solve(inst, "makespan", parameters={"speed": 1})


def test_a_lying_backend_is_caught(monkeypatch):
    """solve() recomputes the objective and refuses a bound above it."""
    import rtgen_opt.exact as exact

    inst = Instance.load(DATA / "ft06.json")

    def liar(instance, objectives, *, hint, **_):
        return Result(SolveStatus.OPTIMAL, (1.0,), (1.0,), 0.0, hint, "liar", objectives)

    monkeypatch.setitem(BACKENDS, "liar", "tests_liar:fn")
    monkeypatch.setattr(exact, "backend", lambda name: liar)
    import rtgen_opt.exact.solve as solve_mod

    monkeypatch.setattr(solve_mod, "backend", lambda name: liar)
    with pytest.raises(InternalError):
        solve(inst, "makespan", "liar")


def test_backend_without_schedule_falls_back_to_the_hint(monkeypatch):
    import rtgen_opt.exact.solve as solve_mod

    inst = Instance.load(DATA / "ft06.json")

    def empty(instance, objectives, **_):
        return Result(SolveStatus.UNKNOWN, None, None, 0.0, None, "empty", objectives)

    monkeypatch.setattr(solve_mod, "backend", lambda name: empty)
    r = solve(inst, "makespan", "empty")
    assert r.status is SolveStatus.FEASIBLE and r.stats["schedule_from"] == "hint"
    assert isinstance(r.schedule, Schedule) and r.objective[0] >= 55
    assert r.bound[0] <= 55  # the combinatorial bound


def test_a_fixed_task_stays_where_it_is_fixed_even_without_a_hint():
    # b is fixed at 0 on m0, so a (due at 5) must wait for it and is late: the optimum is 1.
    # A default hint that ignored the pin would place a first and claim 0 misses.
    import networkx as nx

    from rtgen_opt.instance import Platform

    g = nx.DiGraph()
    g.add_node("a", durations={"m0": 5.0}, deadline=5.0)
    g.add_node("b", durations={"m0": 5.0})
    inst = Instance.from_networkx(g, Platform.homogeneous(["m0"]))
    r = solve(inst, "misses", time_limit=5, fixed={"b": 0.0})
    assert r.schedule.placements["b"].start == 0.0
    assert r.objective == (1.0,) and str(r.status) == "optimal"
    moved = Schedule.build([("a", "m0", 0.0, 5.0), ("b", "m0", 5.0, 10.0)])
    with pytest.raises(ArgumentError, match="fixed task 'b' starts at 0 ms"):
        solve(inst, "misses", time_limit=5, hint=moved, fixed={"b": 0.0})
