"""The window search: every schedule it keeps is valid and no worse; the rolling construction
covers every job; frames hold the incumbent; a stop returns the best so far."""

from __future__ import annotations

import threading
import time

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from rtgen_opt.exact import window_search
from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.window_search import WindowSearch
from rtgen_opt.inputs import load_instance
from rtgen_opt.instance import Instance, Platform
from rtgen_opt.objectives import Objective
from rtgen_opt.online import replay
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import validate
from tests.exact.test_cross_validation import instances


@settings(max_examples=30, deadline=None)
@given(instances(max_tasks=12), st.sampled_from(["misses", "tardiness", "misses,tardiness"]))
def test_search_keeps_valid_schedules_never_worse_than_the_start(instance, name):
    objective = Objective.parse(name)
    start = replay(instance, "round-robin")  # a poor start leaves room to improve
    search = WindowSearch(instance, objective, start, workers=1)
    built = search.construct(time.perf_counter() + 20, target=3)
    assert validate(instance, built) == []
    assert search.values <= objective.values(instance, start)
    final = search.run(time.perf_counter() + 20, target=3)
    assert validate(instance, final) == []
    assert search.values == objective.values(instance, final) <= objective.values(instance, start)


def test_construction_and_slices_improve_a_loaded_instance():
    # game_npc_medium at 120 + 90 FPS: the round-robin policy misses most frames.
    inst = load_instance("instances/scenarios/game_npc_small.yaml")
    objective = Objective.parse("misses")
    start = replay(inst, "round-robin")
    search = WindowSearch(inst, objective, start, workers=1)
    search.construct(time.perf_counter() + 30)
    constructed = search.values
    assert constructed < objective.values(inst, start)
    assert search.stats.as_dict()["construct_value"] == constructed[0]
    search.run(time.perf_counter() + 10)
    assert search.values <= constructed
    assert validate(inst, search.incumbent) == []


def test_the_constructed_value_is_recorded_and_kept_only_when_better():
    inst = load_instance("instances/scenarios/game_npc_small.yaml")
    objective = Objective.parse("misses")
    for start in (list_schedule(inst, objective), replay(inst, "round-robin")):
        before = objective.values(inst, start)[0]
        search = WindowSearch(inst, objective, start, workers=1)
        search.construct(time.perf_counter() + 30)
        value = search.stats.construct_value
        assert search.values[0] == min(value, before)
        assert (search.incumbent is start) == (value >= before)


def test_a_set_stop_ends_the_passes_at_once_with_the_incumbent():
    inst = load_instance("instances/scenarios/game_npc_small.yaml")
    objective = Objective.parse("misses")
    start = list_schedule(inst, objective)
    stop = threading.Event()
    stop.set()
    search = WindowSearch(inst, objective, start, workers=1, stop=stop)
    began = time.perf_counter()
    assert search.run(began + 60) is start and time.perf_counter() - began < 5


def _lead(start: dict[str, int]):
    """A construction's lead over a start whose share of each job is given (``start``), the
    construction's share read the same way from the placements it commits."""
    from rtgen_opt.exact import window_search

    class Lead(window_search._Lead):
        def _share(self, jobs, placements, dropped):
            return sum(placements[j] for j in jobs)

    lead = Lead.__new__(Lead)
    lead.lead = lead.best = 0.0
    lead.completed = False
    lead.start = type("S", (), {"placements": start, "dropped": set()})()
    return lead


def test_the_lead_is_the_starts_share_less_the_constructions():
    lead = _lead({"a": 5, "b": 1, "c": 0, "d": 0})
    steps = [("a", 1), ("b", 3), ("c", 1)]  # the construction's misses per job
    seen = []
    for job, own in steps:
        lead.add([job], {job: own}, set())
        seen.append((lead.lead, lead.best, lead.fallen()))
    # lead 4, then 4 - 2 = 2 (half of the best: fallen), then 1
    assert seen == [(4, 4, False), (2, 4, True), (1, 4, True)]
    lead.completed = True
    assert not lead.fallen() and not lead.gone()
    lead.add(["d"], {"d": 1}, set())
    assert lead.lead == 0 and lead.gone()


def test_a_construction_that_never_leads_and_trails_stops_after_a_few_windows():
    from rtgen_opt.exact import window_search

    lead = _lead(dict.fromkeys("abcde", 0))
    n = window_search.CONSTRUCT_BEHIND_WINDOWS
    trail = []
    for k, job in enumerate("abcde", start=1):  # the start misses nothing; it misses "b"
        lead.add([job], {job: int(job == "b")}, set())
        trail.append(lead.behind(k))
    assert trail == [False] * (n - 1) + [True] * (5 - n + 1)
    lead.best = 1.0  # it led once: the lead rule (fallen, gone) decides, not this one
    assert not lead.behind(5)


def test_a_construction_completed_at_its_falling_lead_keeps_the_better_schedule(monkeypatch):
    # Completing at the first loss of lead (keep 1.0): from round-robin's 14 misses on
    # game_npc_small, in windows of 20 tasks, the lead falls and the completion is scored.
    from rtgen_opt.exact import window_search

    monkeypatch.setattr(window_search, "CONSTRUCT_LEAD_KEEP", 1.0)
    inst = load_instance("instances/scenarios/game_npc_small.yaml")
    objective = Objective.parse("misses")
    start = replay(inst, "round-robin")
    search = WindowSearch(inst, objective, start, workers=1)
    search.construct(time.perf_counter() + 30, target=20)
    stats = search.stats
    assert stats.construct_completed is not None
    assert stats.construct_stopped or stats.construct_value is not None
    assert search.values[0] <= stats.construct_completed < objective.values(inst, start)[0]
    assert validate(inst, search.incumbent) == []
    assert search.values == objective.values(inst, search.incumbent)


@settings(max_examples=30, deadline=None)
@given(instances(max_tasks=12))
def test_slices_that_pull_late_jobs_keep_valid_schedules(instance):
    # a start that runs the jobs that are never dropped long after everything else, in turn,
    # as a deferral search sends them to the back
    objective = Objective.parse("misses")
    g = instance.graph.copy()
    never = {t for j in instance.jobs.values() if not j.droppable for t in j.tasks}
    for t in never:  # each due, so that late it misses
        if g.nodes[t].get("deadline") is None:
            g.nodes[t]["deadline"] = g.nodes[t]["release"] + 20.0
    inst = Instance.from_networkx(
        g, instance.platform, miss_mode="drop", requests=instance.requests
    )
    nodes = inst.graph.nodes
    back = {
        t: (min(nodes[t]["durations"]), 1000.0 + 200.0 * k)
        for k, t in enumerate(t for t in inst.tasks if t in never)
    }
    start = list_schedule(inst, objective, fixed=back)
    search = WindowSearch(inst, objective, start, workers=1)
    search.improve(0.0, 100.0, 5.0)  # every deadline is before 100: the slice pulls them in
    assert validate(inst, search.incumbent) == []
    final = search.run(time.perf_counter() + 20, target=2)
    assert validate(inst, final) == []
    assert search.values == objective.values(inst, final) <= objective.values(inst, start)


def _late_llm_job() -> tuple:
    """One processor; ``B`` (4 ms, due 20) runs at 0; ``A`` (4 ms, due 10, never dropped)
    runs at 100, long after its deadline, with room for it at 4: a start like a deferral
    search's, where a deferred decode block runs after everything else."""
    g = nx.DiGraph()
    g.add_node("a", durations={"m": 4.0}, job="A", deadline=10.0, droppable=False)
    g.add_node("b", durations={"m": 4.0}, job="B", deadline=20.0)
    g.add_node("c", durations={"m": 4.0}, job="C", release=100.0, deadline=130.0)
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]), miss_mode="drop")
    start = Schedule.build(
        [("b", "m", 0.0, 4.0), ("a", "m", 100.0, 104.0), ("c", "m", 104.0, 108.0)]
    )
    return inst, start


def test_a_slice_pulls_in_a_late_job_due_in_it(monkeypatch):
    inst, start = _late_llm_job()
    objective = Objective.parse("misses")
    search = WindowSearch(inst, objective, start, workers=1)
    assert search.values == (1.0,)
    # the slice [0, 50) frees B only; A, due in it and running at 100, is pulled in
    assert search.improve(0.0, 50.0, 5.0)
    assert search.values == (0.0,)
    assert search.incumbent.placements["a"].end <= 10.0
    assert validate(inst, search.incumbent) == []
    assert (search.stats.pulled, search.stats.pulled_on_time) == (1, 1)
    # without the pull no slice of one task brings A back: in its own it moves back 4 ms
    monkeypatch.setattr(window_search, "PULL", 0)
    search = WindowSearch(inst, objective, start, workers=1)
    assert not search.improve(0.0, 50.0, 5.0)
    assert not search.sweep(1, time.perf_counter() + 10)  # one slice per task
    assert search.values == (1.0,)


def test_a_pulled_job_the_frame_leaves_late_keeps_its_place():
    # B and D (weight 2) fill [0, 8]; A (due 8) can be on time only if one of them is not, so
    # the frame drops it, and it stays at 100; E, late at 40, comes back on time at 8
    g = nx.DiGraph()
    g.add_node("a", durations={"m": 4.0}, job="A", deadline=8.0, droppable=False)
    g.add_node("b", durations={"m": 4.0}, job="B", deadline=4.0, weight=2.0)
    g.add_node("d", durations={"m": 4.0}, job="D", deadline=8.0, weight=2.0)
    g.add_node("e", durations={"m": 4.0}, job="E", deadline=12.0)
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]), miss_mode="drop")
    rows = [("b", 0.0), ("d", 4.0), ("e", 40.0), ("a", 100.0)]
    start = Schedule.build([(t, "m", s, s + 4.0) for t, s in rows])
    search = WindowSearch(inst, Objective.parse("misses"), start, workers=1)
    assert search.values == (2.0,)
    assert search.improve(0.0, 50.0, 5.0)
    assert search.values == (1.0,)
    assert (search.stats.pulled, search.stats.pulled_on_time) == (1, 0)
    assert search.incumbent.placements["a"] == start.placements["a"]
    assert search.incumbent.placements["e"].end <= 12.0
    assert validate(inst, search.incumbent) == []
