"""The affinity search: restricting classes of tasks to kinds of processor only removes
options, its schedule is valid on the instance and never worse than the list schedule it starts
from, and on the loaded game-NPC scenario it finds the pinning that misses nothing."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtgen_opt
from rtgen_opt.errors import SpecError
from rtgen_opt.exact import affinity
from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.result import SolveStatus
from rtgen_opt.inputs import load_instance
from rtgen_opt.objectives import Objective
from rtgen_opt.validate import validate
from tests.exact.test_cross_validation import instances

SCENARIOS = Path(__file__).resolve().parents[2] / "instances" / "scenarios"
MISSES = Objective.parse("misses")


@settings(max_examples=40)
@given(instances(max_tasks=9), st.randoms(use_true_random=False))
def test_a_schedule_of_a_restricted_instance_is_valid_on_the_instance(instance, rnd):
    kinds = affinity.classes(instance)
    pick = {}
    for c, sets in kinds.items():
        every = sorted(frozenset().union(*sets))
        keep = frozenset(rnd.sample(every, rnd.randint(1, len(every))))
        if all(keep & own for own in sets):
            pick[c] = keep
    narrow = affinity.restricted(instance, pick)
    kind = {p.name: p.kind for p in instance.platform.processors}
    for t in instance.tasks:
        allowed = pick.get(affinity.task_class(instance.graph.nodes[t]))
        procs = set(narrow.durations(t))
        assert procs <= set(instance.durations(t))
        assert allowed is None or {kind[p] for p in procs} <= allowed
    assert validate(instance, list_schedule(narrow)) == []


@settings(max_examples=40)
@given(instances(max_tasks=9))
def test_the_search_never_loses_to_the_list_schedule_it_starts_from(instance):
    found = affinity.search(instance, MISSES)
    if found is None:  # nothing to restrict: no kind can go without leaving a task nowhere
        for sets in affinity.classes(instance).values():
            every = frozenset().union(*sets)
            assert all(any(not (own - {k}) for own in sets) for k in every)
        return
    assert validate(instance, found.schedule) == []
    assert found.values == MISSES.values(instance, found.schedule)
    start = list_schedule(instance, MISSES, rules=affinity.SCORE_RULES)
    assert found.values <= MISSES.values(instance, start)


def test_on_the_loaded_game_npc_second_it_finds_a_pinning_that_misses_nothing():
    # game_npc_heavy_1s: the list schedule misses 15 weighted jobs (decode blocks crowd the
    # NPU that the hand tracker needs); with the hand tracker kept off the CPU it misses none.
    inst = load_instance(SCENARIOS / "game_npc_heavy_1s.yaml")
    plain = MISSES.values(inst, list_schedule(inst, MISSES, rules=affinity.SCORE_RULES))
    assert plain[0] > 0
    found = affinity.search(inst, MISSES, target=0.0)
    assert found is not None and found.values == (0.0,)
    assert validate(inst, found.schedule) == []
    unrestricted = {
        c: tuple(sorted(frozenset().union(*s))) for c, s in affinity.classes(inst).items()
    }
    assert found.pinned and found.affinity != unrestricted
    assert found.pinned == {c: k for c, k in found.affinity.items() if k != unrestricted[c]}
    assert found.schedule.provenance["method"].startswith("affinity+list-")


def test_a_stop_request_ends_the_search_with_a_valid_schedule_or_none():
    inst = load_instance(SCENARIOS / "game_npc_heavy_1s.yaml")
    stop = threading.Event()
    stop.set()
    assert affinity.search(inst, MISSES, stop=stop) is None


def test_a_stop_during_the_search_keeps_the_best_pinning_scored_so_far():
    inst = load_instance(SCENARIOS / "game_npc_heavy_1s.yaml")
    stop = threading.Event()
    seen = []

    def on_score(n, best):
        seen.append(best)
        if n == 3:
            stop.set()

    found = affinity.search(inst, MISSES, stop=stop, on_score=on_score)
    assert found is not None and found.scored == 3  # no neighbour scored after the stop
    assert validate(inst, found.schedule) == []
    assert found.values == MISSES.values(inst, found.schedule) and found.values[0] <= seen[-1][0]


def test_the_front_door_uses_it_beyond_the_monolithic_size_and_proves_with_it(monkeypatch):
    import rtgen_opt.optimise as optimise

    inst = load_instance(SCENARIOS / "game_npc_heavy_1s.yaml")
    monkeypatch.setattr(optimise, "MONOLITHIC_TASKS", 100)
    monkeypatch.setattr(optimise, "TIMELINE_SHARE", 0.0)  # the lane timeline would replace it
    r = rtgen_opt.solve(inst, time_limit=20, workers=1)
    assert r.stats["method"] == "decompose" and r.stats["start"] == "affinity"
    # the pinning meets the solver-free bound (0), so it is returned proven, with no model
    assert r.status is SolveStatus.OPTIMAL and r.objective == r.bound == (0.0,)
    assert r.stats["affinity"]["value"] == (0.0,) and not r.stats["model_built"]
    assert validate(inst, r.schedule) == []
    # the monolithic model does not run it
    monkeypatch.setattr(optimise, "MONOLITHIC_TASKS", 10_000)
    assert "affinity" not in rtgen_opt.solve(inst, time_limit=5, workers=1).stats


def test_a_processor_restriction_that_leaves_nothing_is_one_clear_error():
    inst = load_instance(SCENARIOS / "game_npc_heavy_1s.yaml")
    t = inst.tasks[0]
    with pytest.raises(SpecError, match="expected a processor among"):
        inst.with_processors({t: ["no-such-processor"]})


def test_past_its_sample_it_climbs_on_the_whole_instance(monkeypatch):
    # game_npc_heavy_1s scored on its first 120 tasks: the sample's load is not the whole's
    # (its affinity misses 15 on the whole instance), so the climb goes on over the whole
    # instance from that affinity, and ends better there (0 misses).
    inst = load_instance(SCENARIOS / "game_npc_heavy_1s.yaml")
    monkeypatch.setattr(affinity, "SAMPLE_TASKS", 120)

    def whole_score(found):
        narrow = affinity.restricted(inst, found.affinity)
        return MISSES.ranking(inst, list_schedule(narrow, MISSES, rules=affinity.SCORE_RULES))

    monkeypatch.setattr(affinity, "CLIMB_WHOLE", False)
    sampled = affinity.search(inst, MISSES)
    monkeypatch.setattr(affinity, "CLIMB_WHOLE", True)
    climbed = affinity.search(inst, MISSES)
    assert sampled is not None and climbed is not None
    assert climbed.scored > sampled.scored
    assert whole_score(climbed) < whole_score(sampled)
    assert climbed.values < sampled.values
    assert validate(inst, climbed.schedule) == []
    assert climbed.values == MISSES.values(inst, climbed.schedule)
