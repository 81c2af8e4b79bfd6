"""The deferral search: deferred tasks go last, a request is deferred from its first missed
milestone, the search never loses to the list schedule it starts from, its schedules are valid,
and under load it keeps more milestones on time by serving a few requests in the background."""

from __future__ import annotations

import threading
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtgen_opt
from rtgen_opt.exact import deferral, lanes
from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.partition import units_of
from rtgen_opt.inputs import load_instance
from rtgen_opt.instance import Instance, Platform
from rtgen_opt.objectives import Objective, missed_jobs
from rtgen_opt.validate import validate

SCENARIOS = Path(__file__).resolve().parents[2] / "instances" / "scenarios"
MISSES = Objective.parse("misses")
HEAVY_1S = load_instance(SCENARIOS / "game_npc_heavy_1s.yaml")


def test_deferred_tasks_are_placed_after_every_other():
    g = nx.DiGraph()
    g.add_node("urgent", durations={"m": 2.0}, deadline=2.0)
    g.add_node("later", durations={"m": 2.0}, deadline=10.0)
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    plain = list_schedule(inst, rules=("edf",))
    assert plain.placements["urgent"].start == 0.0 and plain.placements["later"].start == 2.0
    put_off = list_schedule(inst, rules=("edf",), defer=["urgent"])
    assert put_off.placements["later"].start == 0.0 and put_off.placements["urgent"].start == 2.0


def test_a_request_is_deferred_from_its_first_missed_milestone():
    start = list_schedule(HEAVY_1S, MISSES, rules=("edf",))
    missed = missed_jobs(HEAVY_1S, start)
    found = deferral.candidates(HEAVY_1S, start)
    assert found, "the loaded second misses LLM milestones under EDF"
    job = {t: HEAVY_1S.graph.nodes[t]["job"] for t in HEAVY_1S.tasks}
    for arrival, rid, tasks in found:
        req = HEAVY_1S.requests[rid]
        assert arrival == req.arrival
        if job[req.prefill_tasks[-1]] in missed:  # the first token is late: all of it
            assert tasks == (*req.prefill_tasks, *req.decode_tasks)
        else:
            k = req.decode_tasks.index(tasks[0])
            assert tasks == req.decode_tasks[k:]
            assert job[tasks[0]] in missed
            assert not any(job[t] in missed for t in req.decode_tasks[:k])
    missing = {
        rid
        for rid, req in HEAVY_1S.requests.items()
        if any(job[t] in missed for t in (*req.prefill_tasks, *req.decode_tasks))
    }
    assert {rid for _, rid, _ in found} == missing
    assert [a for a, _, _ in found] == sorted(a for a, _, _ in found)


def test_on_the_loaded_game_npc_second_it_keeps_more_milestones_on_time():
    start = MISSES.values(HEAVY_1S, list_schedule(HEAVY_1S, MISSES, rules=("edf",)))
    found = deferral.search(HEAVY_1S, MISSES, rule="edf")
    assert found is not None and found.deferred
    assert found.values < start  # 10 weighted misses where EDF alone has 15
    assert validate(HEAVY_1S, found.schedule) == []
    assert found.values == MISSES.values(HEAVY_1S, found.schedule)
    assert found.schedule.provenance["method"] == "deferral+list-edf"
    # the schedule is the list schedule with the deferred tasks last
    tasks = [t for ts in found.deferred.values() for t in ts]
    again = list_schedule(HEAVY_1S, MISSES, rules=("edf",), defer=tasks)
    assert again.rows() == found.schedule.rows()


@settings(max_examples=15, deadline=None)
@given(st.data(), st.sampled_from(deferral.RULES))
def test_never_worse_than_the_list_schedule_it_starts_from(data, rule):
    units = units_of(HEAVY_1S)
    first = data.draw(st.integers(0, len(units) - 2))
    last = data.draw(st.integers(first + 1, min(len(units), first + 150)))
    inst = HEAVY_1S.restrict([j for u in units[first:last] for j in u.jobs])
    found = deferral.search(inst, MISSES, rule=rule)
    if not inst.requests:
        assert found is None
        return
    assert found is not None
    assert validate(inst, found.schedule) == []
    assert found.values <= MISSES.values(inst, list_schedule(inst, MISSES, rules=(rule,)))


@pytest.mark.parametrize("name", ["video_call_stress", "game_npc_stress", "ar_assistant_stress"])
@pytest.mark.parametrize("rule", deferral.RULES)
def test_never_worse_on_the_stress_scenarios(name, rule):
    inst = load_instance(SCENARIOS / f"{name}.yaml")
    found = deferral.search(inst, MISSES, rule=rule)
    assert found is not None and validate(inst, found.schedule) == []
    assert found.values <= MISSES.values(inst, list_schedule(inst, MISSES, rules=(rule,)))


def test_a_stop_or_a_past_deadline_before_the_first_schedule_gives_none():
    stop = threading.Event()
    stop.set()
    assert deferral.search(HEAVY_1S, MISSES, stop=stop) is None
    assert deferral.search(HEAVY_1S, MISSES, until=0.0) is None


def test_a_stop_during_the_search_keeps_a_valid_schedule_no_worse_than_its_start():
    stop = threading.Event()

    def on_score(n, best):
        if n >= 3:
            stop.set()

    found = deferral.search(HEAVY_1S, MISSES, rule="edf", stop=stop, on_score=on_score)
    assert found is not None and validate(HEAVY_1S, found.schedule) == []
    start = MISSES.values(HEAVY_1S, list_schedule(HEAVY_1S, MISSES, rules=("edf",)))
    assert found.values <= start


def test_the_front_door_starts_from_it_after_the_affinity_search(monkeypatch):
    import rtgen_opt.optimise as optimise
    from rtgen_opt.cli.solve_cmd import _method_line

    monkeypatch.setattr(optimise, "MONOLITHIC_TASKS", 100)
    monkeypatch.setattr(optimise, "TIMELINE_SHARE", 0.0)  # it would replace both searches
    # Without the affinity search's pinning (which proves 0 here) nor the lane plans, the
    # deferral search runs on the instance itself and is the best start: 10 where the list
    # schedule has 15.
    monkeypatch.setattr(optimise, "AFFINITY_SHARE", 0)
    monkeypatch.setattr(optimise, "AFFINITY_SHARE_LANES", 0)
    monkeypatch.setattr(lanes, "SLACKS", ())
    r = rtgen_opt.solve(HEAVY_1S, time_limit=20, workers=1)
    assert r.stats["start"] == "deferral" and r.stats["start_value"] == (10.0,)
    rule = r.stats["deferral"]["rule"]
    assert r.stats["deferral"]["requests"] >= 1 and rule in deferral.RULES
    assert r.stats["deferral"]["pinning"] == "affinity"
    assert r.objective <= (10.0,) and validate(HEAVY_1S, r.schedule) == []
    assert f"LLM requests deferred ({rule})" in _method_line(r.stats)
    # With the lane plans, the first (127 ms: 123 ms of prefill, a 4 ms frame) misses nothing
    # and is the start.
    monkeypatch.setattr(lanes, "SLACKS", (1.0,))
    r = rtgen_opt.solve(HEAVY_1S, time_limit=20, workers=1)
    assert r.stats["start"] == "deferral" and r.stats["start_value"] == (0.0,)
    assert r.stats["deferral"]["pinning"] == "lanes 127 ms"
    assert validate(HEAVY_1S, r.schedule) == []
    assert "lane plan 127 ms; " in _method_line(r.stats)
    # When a start meets the bound, it does not run.
    monkeypatch.setattr(optimise, "AFFINITY_SHARE_LANES", 0.4)
    r = rtgen_opt.solve(HEAVY_1S, time_limit=20, workers=1)
    assert r.stats["start"] == "affinity" and "deferral" not in r.stats
