"""Lane plans: the roles they find, the pinning they make, and what it is worth under load."""

from __future__ import annotations

import functools

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtgen_opt.exact import deferral, lanes
from rtgen_opt.exact.affinity import restricted
from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.inputs import load_instance
from rtgen_opt.instance import Instance, Platform
from rtgen_opt.objectives import Objective
from rtgen_opt.validate import validate


@functools.cache
def heavy(seconds: int) -> Instance:
    return load_instance(f"instances/scenarios/game_npc_heavy_{seconds}s.yaml")


def test_roles_of_the_heavy_game_scenario():
    # prefill 123 ms on the GPU (160 on the NPU), decode 60 ms a block on the NPU (82 on the
    # GPU); frames (8 ms) and hands (11 ms) fit beside no LLM task, asr (300 ms) does
    assert lanes.roles(heavy(1)) == lanes.Roles("gpu", "npu", frozenset({"frame", "hands"}))


def test_no_roles_without_llm_requests():
    g = nx.DiGraph()
    g.add_node("a", durations={"m0": 1.0, "m1": 2.0}, deadline=5.0)
    assert lanes.roles(Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"]))) is None
    assert lanes.planned(Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"])), 9) is None


def test_the_lengths_are_the_prefill_and_a_short_job_or_two():
    # 4 prefill chunks of 30.76 ms on the GPU; a frame's three layers take 4 ms there
    assert lanes.lengths(heavy(1), lanes.roles(heavy(1))) == pytest.approx((127.04, 131.04))


def _windows(arrivals, length):
    """The prefill windows, computed apart: each opens at its arrival or at the close of the
    one before, whichever is later."""
    out, close = [], -float("inf")
    for a in sorted(arrivals):
        close = max(a, close) + length
        out.append((close - length, close))
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(length=st.floats(0.0, 2000.0))
def test_the_plan_gives_the_prefill_processor_to_each_request_in_turn(length):
    inst = heavy(1)
    plan = lanes.planned(inst, length)
    windows = _windows([r.arrival for r in inst.requests.values()], length)
    for t in inst.tasks:
        attrs, options = inst.graph.nodes[t], plan.graph.nodes[t]["durations"]
        assert set(options) <= set(attrs["durations"])  # a plan only removes options
        phase, stream = attrs["phase"], attrs["stream"]
        if phase == "prefill":
            assert set(options) == {"gpu"}
        elif phase == "decode":
            assert set(options) == {"cpu0", "cpu1", "npu"}
        elif stream in ("frame", "hands"):
            prefilling = any(a <= attrs["release"] < b for a, b in windows)
            assert set(options) == {"npu" if prefilling else "gpu"}
        else:
            assert options == attrs["durations"]


def test_a_schedule_of_the_plan_is_a_schedule_of_the_instance():
    inst = heavy(1)
    schedule = list_schedule(lanes.planned(inst, 127.04), "misses")
    validate(inst, schedule)


@pytest.mark.slow
def test_under_load_a_plan_beats_the_fixed_pinning_it_trades_roles_with():
    # heavy 15 s, the deferral search with shedding: frames and hands fixed on the NPU (prefill
    # and decode on the GPU beside the CPUs) end at 139 misses; the plan of 127 ms at 89
    inst, objective = heavy(15), Objective.parse("misses")
    fixed = restricted(
        inst,
        {"frame": {"npu"}, "hands": {"npu"}, "npc/prefill": {"gpu"}, "npc/decode": {"cpu", "gpu"}},
    )
    on_fixed = deferral.search(fixed, objective, rule="edf-shed")
    short, _ = lanes.lengths(inst, lanes.roles(inst))
    on_plan = deferral.search(lanes.planned(inst, short), objective, rule="edf-shed")
    validate(inst, on_plan.schedule)
    assert on_plan.values[0] < 0.75 * on_fixed.values[0]
