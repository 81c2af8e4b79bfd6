"""Each policy's decision rule on a small hand-checked instance; the registry and plug-ins."""

from __future__ import annotations

import sys
import textwrap

import networkx as nx
import pytest

from rtgen_opt.errors import ArgumentError
from rtgen_opt.instance import Instance, Link, Platform, Processor
from rtgen_opt.online import POLICIES, Policy, make_policy, policy_names, register, replay

SOC = Platform(
    "soc",
    (Processor("cpu", "cpu"), Processor("gpu", "gpu"), Processor("npu", "npu")),
    default_link=Link(sync_ms=0.0, bytes_per_ms=100.0),
)


def build(nodes: dict[str, dict], edges=(), platform=SOC, mode="late") -> Instance:
    g = nx.DiGraph()
    for n, attrs in nodes.items():
        g.add_node(n, **attrs)
    for u, v, *rest in edges:
        g.add_edge(u, v, **(rest[0] if rest else {}))
    return Instance.from_networkx(g, platform, miss_mode=mode)


def where(s, task):
    pl = s.placements[task]
    return pl.processor, pl.start


def test_all_eight_policies_are_registered():
    assert policy_names() == sorted(
        [
            "fcfs-fixed",
            "round-robin",
            "edf-fixed",
            "edf-eft",
            "llf-eft",
            "heft",
            "xrbench-greedy",
            "llm-hybrid",
        ]
    )
    for name, cls in POLICIES.items():
        assert cls.name == name
        assert cls.__doc__ and len(cls.__doc__.split(".")) >= 3  # states its rule


def test_fcfs_fixed_waits_for_the_fastest_processor_in_arrival_order():
    inst = build(
        {
            "a": {"durations": {"cpu": 9.0, "npu": 2.0}, "release": 0.0, "deadline": 50.0},
            "b": {"durations": {"cpu": 3.0, "npu": 2.0}, "release": 1.0, "deadline": 4.0},
            "c": {"durations": {"cpu": 3.0, "npu": 2.0}, "release": 0.5, "deadline": 40.0},
        }
    )
    s = replay(inst, "fcfs-fixed")
    # all pinned to the npu although the cpu is idle; c (released 0.5) before b (1.0)
    assert [where(s, t) for t in "acb"] == [("npu", 0.0), ("npu", 2.0), ("npu", 4.0)]


def test_fixed_policies_share_tied_fastest_processors():
    plat = Platform.homogeneous(["core0", "core1"], kind="cpu")
    inst = build({t: {"durations": {"core0": 2.0, "core1": 2.0}} for t in "abc"}, platform=plat)
    s = replay(inst, "fcfs-fixed")
    assert [where(s, t) for t in "abc"] == [("core0", 0.0), ("core1", 0.0), ("core0", 2.0)]


def test_edf_fixed_serves_the_earliest_deadline_on_the_pinned_processor():
    inst = build(
        {
            "a": {"durations": {"npu": 2.0}, "deadline": 50.0},
            "b": {"durations": {"npu": 2.0, "cpu": 3.0}, "release": 0.5, "deadline": 5.0},
            "c": {"durations": {"npu": 2.0}, "release": 0.5, "deadline": 30.0},
        }
    )
    s = replay(inst, "edf-fixed")
    assert [where(s, t) for t in "abc"] == [("npu", 0.0), ("npu", 2.0), ("npu", 4.0)]


def test_round_robin_deals_tasks_to_processors_in_rotation():
    inst = build(
        {
            "a": {"durations": {"cpu": 1.0, "gpu": 1.0, "npu": 1.0}},
            "b": {"durations": {"cpu": 1.0, "gpu": 1.0, "npu": 1.0}},
            "c": {"durations": {"cpu": 1.0, "npu": 1.0}},  # the gpu cannot: skipped to npu
            "d": {"durations": {"cpu": 1.0, "gpu": 1.0, "npu": 1.0}},
        }
    )
    s = replay(inst, "round-robin")
    assert [s.placements[t].processor for t in "abcd"] == ["cpu", "gpu", "npu", "cpu"]
    assert s.placements["d"].start == 1.0  # FIFO behind a on the cpu


def test_edf_eft_counts_transfers_when_choosing_the_processor():
    inst = build(
        {
            "a": {"durations": {"npu": 1.0}, "deadline": 10.0},
            # the gpu is faster for b, but a's output takes 5 ms to reach it; the npu wins
            "b": {"durations": {"gpu": 1.0, "npu": 3.0}, "deadline": 10.0},
        },
        edges=[("a", "b", {"bytes": 500.0})],
    )
    s = replay(inst, "edf-eft")
    assert where(s, "b") == ("npu", 1.0)
    # with a cheap transfer the gpu wins, and b starts when the data arrives
    inst2 = build(dict(inst.graph.nodes(data=True)), edges=[("a", "b", {"bytes": 50.0})])
    s2 = replay(inst2, "edf-eft")
    assert where(s2, "b") == ("gpu", 1.5)


def test_edf_eft_uses_an_idle_slower_processor_when_waiting_would_finish_later():
    inst = build(
        {
            "a": {"durations": {"cpu": 4.0, "npu": 4.0}, "deadline": 5.0},
            "b": {"durations": {"cpu": 3.0, "npu": 1.0}, "deadline": 6.0},
        }
    )
    s = replay(inst, "edf-eft")
    assert where(s, "a") == ("cpu", 0.0)  # tie on finish 4: sorted name
    assert where(s, "b") == ("npu", 0.0)


def test_llf_eft_prefers_least_laxity_over_earliest_deadline():
    inst = build(
        {
            "x": {"durations": {"npu": 1.0}, "deadline": 5.0, "job": "x"},
            "y1": {"durations": {"npu": 3.0}, "deadline": 8.0, "job": "y"},
            "y2": {"durations": {"npu": 3.0}, "deadline": 8.0, "job": "y"},
        },
        edges=[("y1", "y2")],
    )
    # laxity at 0: x 5 - 1 = 4; y1 8 - 6 = 2: y first (EDF would run x first)
    s = replay(inst, "llf-eft")
    assert where(s, "y1") == ("npu", 0.0) and where(s, "x") == ("npu", 3.0)
    assert where(replay(inst, "edf-eft"), "x") == ("npu", 0.0)


def test_heft_plans_a_job_on_arrival_by_upward_rank_and_earliest_finish():
    # fork-join job; ranks: a 7, b 4 (mean of 3 and 5), c 2, d 1 -> order a, b, c, d
    job = {"job": "j", "deadline": 100.0}
    inst = build(
        {
            "a": {"durations": {"cpu": 2.0, "npu": 2.0}, **job},
            "b": {"durations": {"cpu": 5.0, "npu": 3.0}, **job},
            "c": {"durations": {"cpu": 2.0, "npu": 2.0}, **job},
            "d": {"durations": {"cpu": 1.0, "npu": 1.0}, **job},
        },
        edges=[("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")],
        platform=Platform.homogeneous(["cpu", "npu"]),
    )
    s = replay(inst, "heft")
    # a: cpu (tie, name); b: npu finish 5 < cpu 7; c: cpu 2..4; d: finish 6 on both, cpu
    assert [where(s, t) for t in "abcd"] == [("cpu", 0.0), ("npu", 2.0), ("cpu", 2.0), ("cpu", 5.0)]


def test_heft_plans_against_the_current_availability():
    plat = Platform.homogeneous(["cpu", "npu"])
    inst = build(
        {
            "first": {"durations": {"cpu": 9.0, "npu": 4.0}, "job": "f"},
            "second": {"durations": {"cpu": 5.0, "npu": 4.0}, "release": 1.0, "job": "s"},
        },
        platform=plat,
    )
    s = replay(inst, "heft")
    # at 1 the npu is busy until 4 (finish 8 there) so second goes to the cpu (finish 6)
    assert where(s, "first") == ("npu", 0.0) and where(s, "second") == ("cpu", 1.0)


def test_xrbench_greedy_visits_streams_in_name_order_and_takes_the_fastest_idle():
    inst = build(
        {
            "z": {"durations": {"cpu": 2.0, "npu": 1.0}, "stream": "zz", "release": 0.0},
            "a": {"durations": {"cpu": 2.0, "npu": 1.0}, "stream": "aa", "release": 0.0},
        },
        platform=Platform.homogeneous(["cpu", "npu"]),
    )
    s = replay(inst, "xrbench-greedy")
    assert where(s, "a") == ("npu", 0.0)  # stream aa first, fastest idle
    assert where(s, "z") == ("cpu", 0.0)  # the npu is taken: the fastest *idle* one


def test_llm_hybrid_frames_first_prefill_on_npu_decode_on_gpu():
    inst = build(
        {
            "pre": {
                "durations": {"cpu": 1.0, "gpu": 1.0, "npu": 2.0},
                "phase": "prefill",
                "job": "r0",
                "deadline": 3.0,
            },
            "dec": {
                "durations": {"cpu": 1.0, "gpu": 3.0, "npu": 1.0},
                "phase": "decode",
                "job": "r1",
                "deadline": 9.0,
            },
            "frame": {
                "durations": {"cpu": 5.0, "gpu": 5.0, "npu": 1.0},
                "phase": "frame",
                "job": "f",
                "deadline": 20.0,
            },
        },
        edges=[("pre", "dec")],
    )
    s = replay(inst, "llm-hybrid")
    # the frame (later deadline) still goes first, to its fastest processor, the npu;
    # prefill waits for the npu although cpu and gpu are idle and faster; decode on the gpu
    assert where(s, "frame") == ("npu", 0.0)
    assert where(s, "pre") == ("npu", 1.0)
    assert where(s, "dec") == ("gpu", 3.0)


def test_llm_hybrid_falls_back_when_the_platform_lacks_the_kind():
    plat = Platform.homogeneous(["c0", "c1"], kind="cpu")
    inst = build(
        {
            "pre": {"durations": {"c0": 2.0, "c1": 2.0}, "phase": "prefill"},
            "dec": {"durations": {"c0": 1.0, "c1": 1.0}, "phase": "decode"},
        },
        edges=[("pre", "dec")],
        platform=plat,
    )
    s = replay(inst, "llm-hybrid")
    assert where(s, "pre") == ("c0", 0.0) and where(s, "dec") == ("c0", 2.0)


# --------------------------------------------------------------------------- registry, plug-ins
def test_registry_refuses_duplicate_and_empty_names():
    class Again(Policy):
        name = "edf-eft"

    with pytest.raises(ValueError, match="already registered"):
        register(Again)

    class Nameless(Policy):
        pass

    with pytest.raises(ValueError, match="no name"):
        register(Nameless)


def test_unknown_policy_is_a_spec_error():
    with pytest.raises(ArgumentError, match="unknown policy 'nope'.*edf-eft"):
        make_policy("nope")
    with pytest.raises(ArgumentError, match="cannot import"):
        make_policy("no_such_module_xyz:Thing")
    with pytest.raises(ArgumentError, match="not a subclass"):
        make_policy("math:pi")


PLUGIN = textwrap.dedent(
    """
    from rtgen_opt.online import Policy

    class LastFirst(Policy):
        '''Starts the ready task with the largest index on the first idle processor.'''

        name = "last-first"

        def reset(self, sim):
            self.pool = set()

        def decide(self, sim, now, ready):
            self.pool |= set(ready)
            self.pool = {i for i in self.pool if sim.status[i] == 1}
            out = []
            for p in range(sim.n_procs):
                cands = [i for i in self.pool if sim.dur[i][p] is not None]
                if sim.running[p] == -1 and cands:
                    i = max(cands)
                    self.pool.discard(i)
                    out.append((i, p))
            return out
    """
)


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    (tmp_path / "my_policies_mod.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_policies_mod"
    sys.modules.pop("my_policies_mod", None)


def test_a_user_policy_runs_by_module_and_class_name(plugin_module):
    inst = build({t: {"durations": {"npu": 1.0}} for t in "abc"})
    s = replay(inst, f"{plugin_module}:LastFirst")
    assert [where(s, t) for t in "cba"] == [("npu", 0.0), ("npu", 1.0), ("npu", 2.0)]
    assert s.provenance["method"] == "last-first"
    assert "last-first" not in POLICIES  # a plug-in is not registered globally
