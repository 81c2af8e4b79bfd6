"""The built-in list scheduler: valid schedules, insertion, the best rule per objective."""

from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtgen_opt.errors import ArgumentError
from rtgen_opt.exact.affinity import restricted
from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.partition import units_of
from rtgen_opt.inputs import load_instance
from rtgen_opt.instance import Instance, Link, Platform, Processor
from rtgen_opt.objectives import Objective, missed_jobs, objective_values
from rtgen_opt.validate import validate

DATA = Path(__file__).parents[1] / "data"


def test_ft06_list_schedule_is_valid_and_not_better_than_optimum():
    inst = Instance.load(DATA / "ft06.json")
    s = list_schedule(inst, "makespan")
    assert validate(inst, s) == []
    assert s.makespan >= 55
    assert s.provenance["method"].startswith("list-")


def test_drop_mode_drops_only_hopeless_cascades():
    g = nx.DiGraph()
    g.add_node("a", durations={"m": 5.0}, job="A", deadline=1.0)
    g.add_node("b", durations={"m": 1.0}, job="B", deadline=100.0)
    g.add_edge("a", "b")
    g.add_node("c", durations={"m": 5.0}, job="C", deadline=2.0)
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]), miss_mode="drop")
    s = list_schedule(inst, "misses")
    assert validate(inst, s) == []
    assert "A" not in s.dropped  # dropping A would drop B, which is on time
    assert "C" in s.dropped  # C misses either way
    assert objective_values(inst, s, "misses") == (2.0,)


@settings(max_examples=30, deadline=None)
@given(
    durations=st.lists(st.tuples(st.integers(0, 4), st.integers(1, 4)), min_size=1, max_size=9),
    edges=st.lists(st.tuples(st.integers(0, 8), st.integers(0, 8)), max_size=10),
    sync=st.sampled_from([0.0, 0.7]),
)
def test_list_schedules_always_validate(durations, edges, sync):
    platform = Platform(
        "p", (Processor("c", "cpu"), Processor("g", "gpu")), default_link=Link(sync_ms=sync)
    )
    g = nx.DiGraph()
    for i, (dc, dg) in enumerate(durations):
        d = {"g": float(dg)} if dc == 0 else {"c": float(dc), "g": float(dg)}
        g.add_node(i, durations=d, release=float(i % 3), deadline=float(3 + i))
    for u, v in edges:
        if u < v < len(durations):
            g.add_edge(u, v)
    inst = Instance.from_networkx(g, platform)
    for objective in ("misses", "makespan", "energy"):
        assert validate(inst, list_schedule(inst, objective)) == []


def _earliest_by_scan(intervals, at, d):
    """The definition: scan every busy interval (the reference for the blocked structure)."""
    start = at
    for s, e in sorted(intervals):
        if e <= start:
            continue
        if s >= start + d and (d > 0 or s > start):
            return start
        start = max(start, e)
    return start


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 12)), min_size=1, max_size=200))
def test_blocked_busy_intervals_find_the_same_gaps_as_a_full_scan(requests):
    # Place slots one after another where the structure says, as the list schedule does; every
    # answer must be the full scan's, and the blocks must stay sorted and disjoint.
    from rtgen_opt.exact.list_schedule import _Busy

    busy, placed = _Busy(block=2), []  # tiny blocks: splits and skips within a few placements
    for at, d in requests:
        start = busy.earliest(at, d)
        assert start == _earliest_by_scan(placed, at, d)
        busy.add(start, start + d)
        placed.append((start, start + d))
        flat = [iv for block in busy.blocks for iv in block]
        assert flat == sorted(placed)
        assert all(e <= s for (_, e), (s, _) in zip(flat, flat[1:], strict=False))
        # The bookkeeping the search trusts: each block's longest inner gap, and the segment
        # tree of rooms (gap before a block or inside it) with every node the max of its two.
        for b, block in enumerate(busy.blocks):
            inner = [block[k][0] - block[k - 1][1] for k in range(1, len(block))]
            assert busy.gaps[b] == max(inner, default=0)
            assert (busy.firsts[b], busy.lasts[b]) == (block[0][0], block[-1][1])
            assert busy.tree[busy.size + b] == busy._room(b)
        assert all(
            busy.tree[i] == max(busy.tree[2 * i], busy.tree[2 * i + 1]) for i in range(1, busy.size)
        )


# --- edf-shed: EDF serving the rest of a late LLM request in the background -----------------

SCENARIOS = Path(__file__).resolve().parents[2] / "instances" / "scenarios"


def _shed_tasks(instance, schedule):
    """What shedding must have sent back: per request, the tasks after its first late
    milestone (read off the schedule, independently of how the rule does it)."""
    missed = missed_jobs(instance, schedule)
    nodes, jobs = instance.graph.nodes, instance.jobs
    out = []
    for req in instance.requests.values():
        chain = (*req.prefill_tasks, *req.decode_tasks)
        for k, t in enumerate(chain):
            job = nodes[t]["job"]
            if jobs[job].tasks[-1] == t and job in missed:
                out.extend(chain[k + 1 :])
                break
    return out


HEAVY_1S = load_instance(SCENARIOS / "game_npc_heavy_1s.yaml")
MISSES = Objective.parse("misses")


@settings(max_examples=20, deadline=None)
@given(st.data())
def test_shedding_is_edf_with_the_rest_of_each_late_request_deferred(data):
    """A milestone's end is fixed once placed and the rest of its request is placed after it,
    so shedding must equal EDF with, from the start, every task after each request's first
    late milestone deferred."""
    units = units_of(HEAVY_1S)
    first = data.draw(st.integers(0, len(units) - 2))
    last = data.draw(st.integers(first + 1, len(units)))
    inst = HEAVY_1S.restrict([j for u in units[first:last] for j in u.jobs])
    shed = list_schedule(inst, MISSES, rules=("edf-shed",))
    assert validate(inst, shed) == []
    again = list_schedule(inst, MISSES, rules=("edf",), defer=_shed_tasks(inst, shed))
    assert again.rows() == shed.rows()


def test_shedding_sends_back_late_requests_and_stops_the_domino_effect():
    shed = list_schedule(HEAVY_1S, MISSES, rules=("edf-shed",))
    assert _shed_tasks(HEAVY_1S, shed), "the loaded second has late LLM milestones"
    assert shed.rows() != list_schedule(HEAVY_1S, MISSES, rules=("edf",)).rows()
    # game_npc_heavy_15s with frames and hands on the GPU, LLM decode on the CPUs and the NPU:
    # EDF falls into the domino effect (343 weighted misses), shedding stops it (201).
    heavy = load_instance(SCENARIOS / "game_npc_heavy_15s.yaml")
    lanes = {"asr": {"cpu"}, "frame": {"gpu"}, "hands": {"gpu"}}
    lanes |= {"npc/decode": {"cpu", "npu"}, "npc/prefill": {"npu"}}
    pinned = restricted(heavy, lanes)
    plain = MISSES.values(heavy, list_schedule(pinned, MISSES, rules=("edf",)))[0]
    shed = list_schedule(pinned, MISSES, rules=("edf-shed",))
    assert validate(heavy, shed) == []
    assert MISSES.values(heavy, shed)[0] < 0.7 * plain


def test_without_llm_requests_shedding_is_edf():
    inst = HEAVY_1S.restrict([j for j, job in HEAVY_1S.jobs.items() if job.stream != "npc"])
    assert not inst.requests
    edf = list_schedule(inst, MISSES, rules=("edf",))
    assert list_schedule(inst, MISSES, rules=("edf-shed",)).rows() == edf.rows()


def test_an_unknown_rule_is_one_clear_error():
    with pytest.raises(ArgumentError, match="edf-shed"):
        list_schedule(HEAVY_1S, MISSES, rules=("nope",))
