"""Integer time and windows: exact scaling, heads, tails, a safe horizon."""

import networkx as nx

from rtgen_opt.exact.list_schedule import list_schedule
from rtgen_opt.exact.windows import windows
from rtgen_opt.instance import Instance, Link, Platform, Processor
from rtgen_opt.validate import validate


def _instance(miss_mode="late"):
    platform = Platform(
        "p", (Processor("cpu", "cpu"), Processor("gpu", "gpu")), default_link=Link(sync_ms=0.5)
    )
    g = nx.DiGraph()
    g.add_node("a", durations={"cpu": 1.5, "gpu": 1.0}, release=0.5, job="A")
    g.add_node("b", durations={"cpu": 2.0}, job="B", deadline=9.0)
    g.add_edge("a", "b")
    return Instance.from_networkx(g, platform, miss_mode=miss_mode)


def test_scale_is_the_gcd_of_all_times():
    w = windows(_instance())
    assert w.scale.unit_ms == 0.5
    assert w.duration["a", "cpu"] == 3 and w.duration["a", "gpu"] == 2
    assert w.transfer("a", "b", "gpu", "cpu") == 1 and w.transfer("a", "b", "cpu", "cpu") == 0
    assert w.deadline["B"] == 18


def test_heads_and_tails_use_cheapest_options_and_transfers():
    w = windows(_instance())
    # b on cpu: a on cpu ends 0.5 + 1.5 = 2.0; a on gpu ends 1.5 + 0.5 transfer = 2.0
    assert w.to_ms(w.est["b", "cpu"]) == 2.0
    # a's tail: b on cpu (2 ms) plus the transfer when a is on the gpu
    assert w.to_ms(w.tail["a", "cpu"]) == 2.0 and w.to_ms(w.tail["a", "gpu"]) == 2.5
    assert w.to_ms(w.critical_path) == 4.0


def test_drop_mode_tails_ignore_droppable_successors():
    w = windows(_instance("drop"))
    assert w.tail["a", "cpu"] == 0 and not w.always_present["a", "b"]


def test_safe_horizon_contains_list_schedules():
    inst = _instance()
    w = windows(inst)
    s = list_schedule(inst)
    assert validate(inst, s) == []
    for t, pl in s.placements.items():
        assert w.scale.from_ms(pl.end) <= w.lct(t, pl.processor)
    tight = windows(inst, makespan_upper=s.makespan)
    assert tight.horizon == w.scale.from_ms(s.makespan) <= w.horizon
