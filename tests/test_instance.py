"""Instance: generic JSON round trip (hypothesis), from_networkx errors, compiled-instance files."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rtgen_opt
from rtgen_opt.errors import SpecError
from rtgen_opt.instance import Instance, Link, Platform, Processor, Request, Stream

SMALL = Path(__file__).resolve().parent.parent / "instances" / "scenarios" / "video_call_small.yaml"

PLATFORM = Platform(
    name="p",
    processors=(Processor("c0", "cpu", 3.0, 0.5), Processor("c1", "cpu"), Processor("g", "gpu")),
    default_link=Link(0.2, 4e7),
    links={("cpu", "cpu"): Link(0.0), ("cpu", "gpu"): Link(0.1, 1e6)},
)
PROCS = [p.name for p in PLATFORM.processors]
ms = st.floats(0, 1000, allow_nan=False, allow_infinity=False)


@st.composite
def instances(draw):
    n = draw(st.integers(1, 10))
    g = nx.DiGraph()
    for i in range(n):
        procs = draw(st.lists(st.sampled_from(PROCS), min_size=1, max_size=3, unique=True))
        release = draw(ms)
        g.add_node(
            f"t{i}",
            durations={p: draw(ms) for p in procs},
            release=release,
            deadline=draw(st.none() | st.floats(0, 500)) if draw(st.booleans()) else None,
            job=f"j{draw(st.integers(0, n - 1))}" if draw(st.booleans()) else f"t{i}",
            stream=draw(st.sampled_from(["a", "b", "default"])),
            weight=draw(st.sampled_from([0.0, 1.0, 2.5])),
            phase=draw(st.sampled_from(["frame", "prefill", "decode", "task"])),
            tokens=draw(st.integers(0, 64)),
            droppable=draw(st.booleans()),
        )
    for i in range(n):
        for j in range(i + 1, n):
            if draw(st.integers(0, 3)) == 0:
                delay = draw(
                    st.none()
                    | ms
                    | st.dictionaries(st.tuples(st.sampled_from(PROCS), st.sampled_from(PROCS)), ms)
                )
                g.add_edge(f"t{i}", f"t{j}", bytes=draw(st.floats(0, 1e9)), delay=delay)
    # a job's tasks share its deadline (Instance.jobs insists)
    deadlines: dict[str, float | None] = {}
    for t in g:
        job = g.nodes[t]["job"]
        g.nodes[t]["deadline"] = deadlines.setdefault(job, g.nodes[t]["deadline"])
    return Instance.from_networkx(
        g,
        PLATFORM,
        miss_mode=draw(st.sampled_from(["late", "drop"])),
        name=draw(st.text(min_size=1, max_size=8)),
        horizon=draw(st.none() | ms),
        streams={"a": Stream("a", "periodic", "m", period_ms=33.3)},
        requests={
            "r": Request("r", "b", 1.0, 10, 3, 100.0, 10.0, ("t0",), ())
        },  # ids are data here
        resolution=draw(st.sampled_from([0.001, 0.01, 0.5, 1.0])),
    )


@settings(max_examples=60, deadline=None)
@given(instances())
def test_json_round_trip(inst):
    data = inst.to_dict()
    again = Instance.from_dict(json.loads(json.dumps(data)))
    assert again.to_dict() == data
    assert again.tasks == inst.tasks and again.jobs == inst.jobs
    for u, v in inst.graph.edges:
        for p in PROCS:
            for q in PROCS:
                assert again.transfer_ticks(u, v, p, q) == inst.transfer_ticks(u, v, p, q)


def test_save_load_compiled_instance(tmp_path):
    inst = rtgen_opt.compile(SMALL)
    inst.save(tmp_path / "i.json")
    loaded = Instance.load(tmp_path / "i.json")
    assert loaded.to_dict() == inst.to_dict()
    assert loaded.requests == inst.requests and loaded.streams == inst.streams
    assert loaded.platform.to_dict() == inst.platform.to_dict()
    assert rtgen_opt.inputs.load_instance(tmp_path / "i.json").to_dict() == inst.to_dict()


def _graph(**node):
    g = nx.DiGraph()
    g.add_node("a", **{"durations": {"c0": 1.0}, **node})
    return g


@pytest.mark.parametrize(
    "graph, field",
    [
        (_graph(durations={}), "tasks[a].durations"),
        (_graph(durations={"x9": 1.0}), "tasks[a].durations.x9"),
        (_graph(durations={"c0": -1.0}), "tasks[a].durations.c0"),
        (_graph(durations={"c0": float("inf")}), "tasks[a].durations.c0"),
        (_graph(release=-5.0), "tasks[a].release"),
        (_graph(phase="warmup"), "tasks[a].phase"),
    ],
)
def test_from_networkx_errors(graph, field):
    with pytest.raises(SpecError) as err:
        Instance.from_networkx(graph, PLATFORM)
    assert err.value.field == field


def test_from_networkx_cycle_and_bytes():
    g = nx.DiGraph()
    g.add_node("a", durations={"c0": 1.0})
    g.add_node("b", durations={"c0": 1.0})
    g.add_edge("a", "b", bytes=-1)
    with pytest.raises(SpecError, match="bytes"):
        Instance.from_networkx(g, PLATFORM)
    g.add_edge("a", "b", bytes=0)
    g.add_edge("b", "a")
    with pytest.raises(SpecError, match="cycle"):
        Instance.from_networkx(g, PLATFORM)


def test_from_networkx_defaults():
    g = nx.DiGraph()
    g.add_node(1, durations={"g": 2.0004})
    g.add_node(2, durations={"c0": 1.0})
    g.add_edge(1, 2)
    inst = Instance.from_networkx(g, PLATFORM)
    a = inst.graph.nodes["1"]
    assert (a["release"], a["deadline"], a["job"], a["stream"], a["weight"], a["phase"]) == (
        0.0, None, "1", "default", 1.0, "task"
    )  # fmt: skip
    assert a["durations"] == {"g": 2.0}  # rounded to the 0.001 ms grid
    assert inst.graph.edges["1", "2"]["bytes"] == 0.0
    # cpu -> gpu link: 0.1 ms + 0 bytes; rounded up to the grid
    assert inst.transfer_ms("1", "2", "g", "c0") == pytest.approx(0.2)


def test_load_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SpecError, match="invalid JSON"):
        Instance.load(bad)
    bad.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(SpecError) as err:
        Instance.load(bad)
    assert err.value.field == "format"
    data = rtgen_opt.compile(SMALL).to_dict()
    data["edges"][0]["dst"] = "nope"
    bad.write_text(json.dumps(data))
    with pytest.raises(SpecError) as err:
        Instance.load(bad)
    assert err.value.field == "edges[0].dst"


def test_droppable_is_closure_aware_and_empty_in_late_mode():
    # a -> b -> c (a cascade), c an LLM milestone that may not be dropped; d alone.
    g = nx.DiGraph()
    for j in "abcd":
        g.add_node(j, durations={"m": 1.0}, deadline=5.0, droppable=j != "c")
    g.add_edges_from([("a", "b"), ("b", "c")])
    platform = Platform.homogeneous(["m"])
    drop = Instance.from_networkx(g, platform, miss_mode="drop")
    # dropping a or b would drop c: only d may be dropped in effect
    assert drop.droppable == {"d"}
    assert Instance.from_networkx(g, platform, miss_mode="late").droppable == frozenset()
    g.nodes["c"]["droppable"] = True
    assert Instance.from_networkx(g, platform, miss_mode="drop").droppable == set("abcd")


@pytest.mark.parametrize("mode", ["dorp", "", None])
def test_from_networkx_refuses_an_unknown_miss_mode(mode):
    g = nx.DiGraph()
    g.add_node("a", durations={"m": 1.0})
    with pytest.raises(SpecError, match="miss_mode: expected one of late, drop"):
        Instance.from_networkx(g, Platform.homogeneous(["m"]), miss_mode=mode)
