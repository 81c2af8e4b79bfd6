"""Lane timeline: the lane it keeps, what it sheds, and what it is worth under load."""

from __future__ import annotations

import functools
import itertools
import threading
import time

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rtgen_opt.exact import lanes, timeline
from rtgen_opt.exact.windows import windows
from rtgen_opt.inputs import load_instance
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import Objective, missed_jobs
from rtgen_opt.validate import validate

MISSES = Objective.parse("misses")
SHORT = ("frame", "hands")  # game_npc_heavy's short streams
HEAVY_1S = "instances/scenarios/game_npc_heavy_1s.yaml"


@functools.cache
def heavy(seconds: int) -> Instance:
    return load_instance(f"instances/scenarios/game_npc_heavy_{seconds}s.yaml")


def _lane_overlaps(instance: Instance, tl: timeline.Timeline, roles: lanes.Roles) -> list:
    """Where the lane's LLM work on the prefill and the decode processor overlaps other than at
    a hand-over: a task overlapping the next one in start order, on the other processor, by
    less than the longest short job's span. Every prefill runs on the prefill processor."""
    nodes = instance.graph.nodes
    placed = tl.placed.items()
    assert {p for t, (p, _, _) in placed if nodes[t]["phase"] == "prefill"} <= {roles.prefill}
    assert all(nodes[t]["phase"] == "decode" for t, (p, _, _) in placed if p == roles.decode)
    lane = sorted((s, e, p) for _, (p, s, e) in placed if p in (roles.prefill, roles.decode))
    span = max(j.deadline - j.release for j in instance.jobs.values() if j.stream in SHORT)
    to_ms = windows(instance).to_ms
    bad = []
    for k, (s, e, p) in enumerate(lane):
        for j, (s2, e2, p2) in enumerate(lane[k + 1 :], start=k + 1):
            if s2 >= e:
                break
            handover = j == k + 1 and p2 != p and e2 > e and to_ms(e - s2) < span
            if not handover:
                bad.append(((s, e, p), (s2, e2, p2)))
    return bad


def test_on_heavy_4s_the_timeline_meets_the_bound():
    # 2,344 tasks, 12 requests: the best start before the timeline (the affinity search)
    # missed none only after seconds of list schedules; one simulation does it
    inst = heavy(4)
    tl = timeline.simulate(inst, lanes.roles(inst))
    schedule = timeline.schedule(inst, MISSES, tl)
    assert validate(inst, schedule) == []
    assert MISSES.values(inst, schedule) == (0.0,)
    assert tl.misses == 0 and not tl.deferred and not tl.shed


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    lead=st.sampled_from(timeline.LEADS),
    batch=st.sampled_from(timeline.BATCHES),
    granularity=st.sampled_from(["layer", "model"]),
    shed_first=st.booleans(),
)
def test_the_timeline_keeps_the_lane_and_its_schedule_is_valid(
    seed, lead, batch, granularity, shed_first
):
    inst = load_instance(HEAVY_1S, seed=seed, granularity=granularity, horizon_ms=2000)
    roles = lanes.roles(inst)
    assume(roles is not None)  # some seeds have no request in 2 s
    requests = sorted(inst.requests.values(), key=lambda r: r.arrival)
    whole = {requests[0].id} if shed_first and requests else set()
    win = windows(inst)
    tl = timeline.simulate(inst, roles, win=win, whole=whole, lead=lead, batch=batch)
    # the lane: prefill and decode run on the two accelerators at once only at a hand-over
    assert _lane_overlaps(inst, tl, roles) == []
    # what is deferred is the rest of a request from some task on; whole means all of it
    for r in requests:
        tasks = (*r.prefill_tasks, *r.decode_tasks)
        flags = [t in tl.deferred for t in tasks]
        assert flags == sorted(flags), r.id
        assert (r.id in whole) <= all(flags)
        assert any(flags) <= (r.id in tl.shed)
    schedule = timeline.schedule(inst, MISSES, tl, win)
    assert validate(inst, schedule) == []
    # the pins stay where the simulation put them
    for t, (p, s, _) in tl.placed.items():
        assert schedule.placements[t].processor == p
        assert schedule.placements[t].start == win.to_ms(s)
    # the jobs the simulation counts miss at most as often in the schedule
    counted = {inst.graph.nodes[t]["job"] for t in (*tl.placed, *tl.deferred)}
    late = missed_jobs(inst, schedule) & counted
    assert sum(inst.jobs[j].weight for j in late) <= tl.misses


def test_hand_overs_overlap_where_the_short_jobs_still_fit(monkeypatch):
    # heavy 4 s: the lane hands over between the GPU's prefill and the NPU's decode; with the
    # overlaps every frame and hand still meets its deadline
    inst, roles = heavy(4), lanes.roles(heavy(4))
    win = windows(inst)
    tl = timeline.simulate(inst, roles, win=win, batch="chunk")
    lane = sorted((s, e, p) for p, s, e in tl.placed.values() if p in ("gpu", "npu"))
    overlaps = [a[1] - b[0] for a, b in itertools.pairwise(lane) if b[0] < a[1]]
    assert len(overlaps) >= 5 and _lane_overlaps(inst, tl, roles) == []  # 8, up to 9 ms
    schedule = timeline.schedule(inst, MISSES, tl, win)
    assert validate(inst, schedule) == [] and MISSES.values(inst, schedule) == (0.0,)
    # without them the lane never runs on both at once
    monkeypatch.setattr(timeline, "OVERLAP", False)
    strict = timeline.simulate(inst, roles, win=win, batch="chunk")
    lane = sorted((s, e, p) for p, s, e in strict.placed.values() if p in ("gpu", "npu"))
    assert all(b[0] >= a[1] for a, b in itertools.pairwise(lane))


def test_the_search_is_never_worse_than_its_first_simulations_and_sheds_under_load():
    inst, roles = heavy(15), lanes.roles(heavy(15))
    win = windows(inst)
    first = min(
        timeline.simulate(inst, roles, win=win, lead=x, batch=b).misses
        for x in timeline.LEADS
        for b in timeline.BATCHES
    )
    scores = []
    found = timeline.search(
        inst,
        MISSES,
        roles,
        win=win,
        until=time.perf_counter() + 20,
        on_score=lambda n, best: scores.append(best),
    )
    assert validate(inst, found.schedule) == []
    assert found.simulated > len(timeline.LEADS) * len(timeline.BATCHES)
    assert scores == sorted(scores, reverse=True)  # the best so far never rises
    # shedding whole requests pays on heavy 15 s (first: 62 misses at the best lead and batch)
    assert scores[-1] < first
    assert found.values[0] <= scores[-1]


def test_the_search_returns_at_once_when_stopped():
    inst, roles = heavy(15), lanes.roles(heavy(15))
    stop = threading.Event()
    stop.set()
    found = timeline.search(inst, MISSES, roles, stop=stop)
    assert found.simulated == len(timeline.LEADS) * len(timeline.BATCHES)
    assert validate(inst, found.schedule) == []


def test_the_front_door_starts_from_it_and_proves_heavy_4s_without_a_model():
    import rtgen_opt
    from rtgen_opt.exact.result import SolveStatus

    r = rtgen_opt.solve(heavy(4), time_limit=30, workers=1)
    assert r.stats["method"] == "decompose" and r.stats["start"] == "lane-timeline"
    assert r.status is SolveStatus.OPTIMAL and r.objective == r.bound == (0.0,)
    assert not r.stats["model_built"] and r.stats["timeline"]["value"] == (0.0,)
    # it replaces the affinity and deferral searches
    assert "affinity" not in r.stats and "deferral" not in r.stats
    assert validate(heavy(4), r.schedule) == []
