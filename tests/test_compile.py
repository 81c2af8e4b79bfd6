"""The compiler: hand-checked toy scenarios, cascade and LLM semantics, and a property test that
random scenarios give acyclic graphs whose job and task counts match the streams' arithmetic."""

from __future__ import annotations

import json
import math
import zlib
from fractions import Fraction
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import rtgen_opt
from rtgen_opt.compile import frame_releases, model_groups, stream_rng
from rtgen_opt.errors import ArgumentError, SpecError
from rtgen_opt.spec import ModelSpec, ScenarioSpec, parse
from tests.spec.test_spec import PLATFORM, PROFILES, SCENARIO, write_files

SCENARIOS = Path(__file__).resolve().parent.parent / "instances" / "scenarios"


def scenario(streams, **fields) -> ScenarioSpec:
    """An in-memory scenario on the toy platform and profiles."""
    data = {
        **SCENARIO,
        "platform": PLATFORM,
        "profiles": [PROFILES],
        "streams": streams,
        **fields,
    }
    return parse(data)


def periodic(name, **kw):
    return {"type": "periodic", "name": name, "model": "seg", **kw}


def test_toy_scenario_by_hand(tmp_path):
    path, _, _ = write_files(tmp_path)
    inst = rtgen_opt.compile(path)
    nodes = inst.graph.nodes
    # 30 FPS over 100 ms: releases 0, 33.333, 66.667; `c` cascades from `s` with p = 1
    assert sorted(j for j in inst.jobs if "#r" not in j) == [
        "c#0", "c#1", "c#2", "s#0", "s#1", "s#2"
    ]  # fmt: skip
    # granularity model: enc runs on npu/gpu only, so the whole model does (npu 2+1, gpu 3+1)
    assert nodes["s#1/model"]["durations"] == {"gpu": 4.0, "npu": 3.0}
    assert nodes["s#1/model"]["release"] == 33.333
    assert nodes["s#1/model"]["deadline"] == 66.667
    assert nodes["c#2/model"]["droppable"] is True
    assert inst.graph.edges["s#2/model", "c#2/model"]["bytes"] == 500.0  # seg's output
    # LLM: prompt 100, chunk 64 -> chunks of 64 and 36 tokens
    assert nodes["chat#r0/p0"]["durations"] == {"npu": 32.0, "gpu": 51.2}
    assert nodes["chat#r0/p1"]["tokens"] == 36
    assert nodes["chat#r0/p1"]["durations"] == {"npu": 18.0, "gpu": 28.8}
    # 9 tokens to decode in blocks of 4: tokens 1-4, 5-8, 9; token i costs 20 + 0.01 (100 + i)
    assert math.isclose(nodes["chat#r0/d0"]["durations"]["gpu"], 80 + 0.01 * (400 + 10))
    assert math.isclose(nodes["chat#r0/d2"]["durations"]["gpu"], 20 + 0.01 * 109)
    assert [nodes[f"chat#r0/d{j}"]["tokens"] for j in range(3)] == [4, 4, 1]
    # milestones: arrival 5 + TTFT 500 + tokens decoded so far x TPOT 50
    assert nodes["chat#r0/p0"]["deadline"] == 505.0
    assert [inst.jobs[f"chat#r0/d{j}"].deadline for j in range(3)] == [705.0, 905.0, 955.0]
    assert inst.jobs["chat#r0/ttft"].tasks == ("chat#r0/p0", "chat#r0/p1")
    # KV bytes: 1000 per token of context at each hand-over
    kv = {(u, v): a["bytes"] for u, v, a in inst.graph.edges(data=True) if "chat" in u}
    assert kv == {
        ("chat#r0/p0", "chat#r0/p1"): 64_000.0,
        ("chat#r0/p1", "chat#r0/d0"): 100_000.0,
        ("chat#r0/d0", "chat#r0/d1"): 104_000.0,
        ("chat#r0/d1", "chat#r0/d2"): 108_000.0,
    }
    assert not any(nodes[t]["droppable"] for t in nodes if t.startswith("chat"))
    req = inst.requests["chat#r0"]
    assert (req.arrival, req.prompt_tokens, req.output_tokens) == (5.0, 100, 10)
    assert req.decode_tasks == ("chat#r0/d0", "chat#r0/d1", "chat#r0/d2")
    assert inst.streams["s"].period_ms == pytest.approx(1000 / 30)
    assert inst.streams["chat"].kind == "llm" and inst.streams["chat"].ttft_slo_ms == 500.0
    assert inst.horizon == 100.0 and inst.miss_mode == "late"


def test_layer_groups_on_a_dag():
    #   a -> b -> d,  a -> c -> d; groups:2 = [a, b] [c, d]
    model = ModelSpec(
        name="m",
        layers=[
            {"name": n, "latency_ms": lat, "output_bytes": out}
            for n, lat, out in [
                ("a", {"cpu": 1.0, "gpu": 2.0}, 10.0),
                ("b", {"cpu": 1.0}, 20.0),
                ("c", {"cpu": 3.0, "gpu": 1.0}, 40.0),
                ("d", {"cpu": 1.0, "gpu": 1.0}, 80.0),
            ]
        ],
        edges=[["a", "b"], ["a", "c"], ["b", "d"], ["c", "d"]],
    )
    cut = model_groups(model, "groups:2", ("cpu", "gpu"))
    assert [g.name for g in cut.groups] == ["g0", "g1"]
    assert [g.latency_ms for g in cut.groups] == [{"cpu": 2.0}, {"cpu": 4.0, "gpu": 2.0}]
    # a->c and b->d cross the cut: a's and b's output bytes
    assert cut.edges == ((0, 1, 30.0),)
    assert (cut.sources, cut.sinks, cut.sink_bytes) == ((0,), (1,), (80.0,))
    layer = model_groups(model, "layer", ("cpu", "gpu"))
    assert sorted(layer.edges) == [(0, 1, 10.0), (0, 2, 10.0), (1, 3, 20.0), (2, 3, 40.0)]
    whole = model_groups(model, "model", ("cpu", "gpu"))
    assert whole.groups[0].latency_ms == {"cpu": 6.0} and whole.edges == ()


def test_cascade_follows_upstream_release_and_existence():
    spec = scenario(
        [
            periodic("a", period_ms=50),
            periodic("b", period_ms=20, cascade={"from": "a", "p": 1.0}),
            periodic("x", period_ms=50, cascade={"from": "a", "p": 0.5}),
            periodic("y", period_ms=50, cascade={"from": "x", "p": 1.0}),
        ],
        horizon_ms=200,
    )
    inst = rtgen_opt.compile(spec)
    g = inst.graph
    # b#k (released at 20k) hangs on a's frame released latest at or before it: floor(20k / 50)
    for k in range(10):
        assert list(g.predecessors(f"b#{k}/model")) == [f"a#{(20 * k) // 50}/model"]
    # y exists exactly where x does (p = 1), and x where its seeded draw said so
    draws = np.random.default_rng([0, zlib.crc32(b"x")]).random(4) < 0.5
    x_frames = {k for k in range(4) if f"x#{k}" in inst.jobs}
    assert x_frames == {k for k in range(4) if draws[k]}
    assert {k for k in range(4) if f"y#{k}" in inst.jobs} == x_frames


def test_cascade_draws_do_not_depend_on_other_streams():
    base = [periodic("a", fps=100), periodic("b", fps=100, cascade={"from": "a", "p": 0.5})]
    alone = rtgen_opt.compile(scenario(base, horizon_ms=300))
    more = rtgen_opt.compile(
        scenario([periodic("z", fps=7), *base[::-1], periodic("w", fps=9)], horizon_ms=300)
    )
    frames = {j for j in alone.jobs if j.startswith("b#")}
    assert 0 < len(frames) < 30
    assert frames == {j for j in more.jobs if j.startswith("b#")}
    other_seed = rtgen_opt.compile(scenario(base, horizon_ms=300, seed=1))
    assert frames != {j for j in other_seed.jobs if j.startswith("b#")}


def test_compile_is_deterministic(tmp_path):
    path, _, _ = write_files(tmp_path)
    first = json.dumps(rtgen_opt.compile(path, seed=3).to_dict())
    assert first == json.dumps(rtgen_opt.compile(path, seed=3).to_dict())


def test_overrides(tmp_path):
    path, _, _ = write_files(tmp_path)
    inst = rtgen_opt.compile(path, granularity="layer", horizon_ms=50, miss_mode="drop")
    assert inst.miss_mode == "drop" and inst.horizon == 50.0
    assert sorted(t for t in inst.tasks if t.startswith("s#")) == [
        "s#0/dec", "s#0/enc", "s#1/dec", "s#1/enc"
    ]  # fmt: skip
    # at layer granularity the cpu can run `dec`
    assert set(inst.graph.nodes["s#0/dec"]["durations"]) == {"cpu0", "cpu1", "gpu", "npu"}
    for kw, field in [
        ({"granularity": "groups:x"}, "granularity"),
        ({"miss_mode": "skip"}, "miss_mode"),
        ({"horizon_ms": -1}, "horizon_ms"),
        ({"seed": -2}, "seed"),
    ]:
        with pytest.raises(ArgumentError) as err:
            rtgen_opt.compile(path, **kw)
        assert err.value.name == field


def test_granularity_override_can_make_a_model_unrunnable():
    profiles = json.loads(json.dumps(PROFILES))
    profiles["models"][0]["layers"][0]["latency_ms"] = {"npu": 2.0}
    profiles["models"][0]["layers"][1]["latency_ms"] = {"cpu": 4.0}
    spec = parse(
        {**SCENARIO, "platform": PLATFORM, "profiles": [profiles], "horizon_ms": 1000,
         "streams": [periodic("s", fps=10, granularity="layer")]}
    )  # fmt: skip
    assert len(rtgen_opt.compile(spec).tasks) == 2 * 10
    with pytest.raises(SpecError) as err:
        rtgen_opt.compile(spec, granularity="model")
    assert err.value.field == "streams[0].model"


def llm(name, **kw):
    return {
        "type": "llm",
        "name": name,
        "model": "tiny",
        "prompt_tokens": 10,
        "output_tokens": 3,
        "ttft_slo_ms": 100,
        "tpot_slo_ms": 10,
        "prefill_chunk": 8,
        "decode_block": 1,
        **kw,
    }


def test_poisson_arrivals():
    spec = scenario([llm("q", poisson={"rate_per_s": 50})], horizon_ms=1000)
    inst = rtgen_opt.compile(spec)
    arrivals = [r.arrival for r in inst.requests.values()]
    assert arrivals == sorted(arrivals) and all(0 < a < 1000 for a in arrivals)
    assert 25 <= len(arrivals) <= 80  # 50/s over 1 s
    # reproducible from the stream's own generator
    rng = stream_rng(0, "q")
    t, expected = 0.0, []
    while (t := t + rng.exponential(20.0)) < 1000:
        expected.append(round(t, 3))
    assert [round(a, 3) for a in arrivals] == expected
    capped = rtgen_opt.compile(scenario([llm("q", poisson={"rate_per_s": 50, "count": 4})]))
    assert [r.arrival for r in capped.requests.values()] == arrivals[:4]


def test_llm_requests_after_horizon_are_outside():
    spec = scenario(
        [llm("q", requests=[{"arrival_ms": 10}, {"arrival_ms": 100}, {"arrival_ms": 50}])],
        horizon_ms=100,
    )
    inst = rtgen_opt.compile(spec)
    assert sorted(inst.requests) == ["q#r0", "q#r2"]  # requests[1] arrives at the horizon
    # one output token: the prefill makes it, no decode task
    one = rtgen_opt.compile(scenario([llm("q", requests=[{"arrival_ms": 0}], output_tokens=1)]))
    assert sorted(one.jobs) == ["q#r0/ttft"]


def test_frame_releases_on_the_grid():
    assert frame_releases(0.0, 1000 / 30, 100.0, 0.001) == [0, 33333, 66667]
    assert frame_releases(5.0, 10.0, 25.0, 0.001) == [5000, 15000]
    assert frame_releases(30.0, 10.0, 25.0, 0.001) == []


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_library_scenarios_sizes(path):
    inst = rtgen_opt.compile(path)
    assert nx.is_directed_acyclic_graph(inst.graph)
    n = inst.graph.number_of_nodes()
    if "_small" in path.stem or "_stress" in path.stem:  # video_call_small, ..._xelite, ...
        assert 20 <= n <= 150
    elif "_heavy_" in path.stem:  # game_npc_heavy_4s: about 600 tasks per second of play
        seconds = inst.horizon / 1000
        assert 550 * seconds <= n <= 650 * seconds
    else:
        assert 1000 <= n <= 2000
    kinds = {inst.platform.by_name[p].kind for t in inst.tasks for p in inst.durations(t)}
    assert kinds == {"cpu", "gpu", "npu"}
    assert inst.requests, "every library scenario has an LLM"


# --------------------------------------------------------------------------- property test
RES = Fraction(1, 1000)
LAYERS = [
    {"name": f"l{i}", "latency_ms": {"cpu": 1.0 + i, "gpu": 0.5, "npu": 0.25}, "output_bytes": 8}
    for i in range(5)
]


def _count_releases(phase: Fraction, period: Fraction, horizon: Fraction) -> list[Fraction]:
    """Exact releases before the horizon; assumes none within 2 ticks of it (checked)."""
    n = max(0, math.ceil((horizon - phase) / period))
    releases = [phase + k * period for k in range(n)]
    assume(all(abs(r - horizon) > 2 * RES for r in [*releases, phase + n * period]))
    return releases


@st.composite
def random_scenarios(draw):
    horizon = draw(st.integers(10, 300))
    models = [{"name": f"m{i}", "layers": LAYERS[: draw(st.integers(1, 5))]} for i in range(2)]
    streams = []
    for i in range(draw(st.integers(1, 4))):
        s = {"type": "periodic", "name": f"s{i}", "model": f"m{draw(st.integers(0, 1))}",
             "phase_ms": draw(st.sampled_from([0, 0, 3, 12.5, 40]))}  # fmt: skip
        if draw(st.booleans()):
            s["fps"] = draw(st.sampled_from([7, 15, 24, 30, 60, 90, 144]))
        else:
            s["period_ms"] = draw(st.sampled_from([5, 8.5, 20, 33.3, 50, 100]))
        if i and draw(st.booleans()):
            s["cascade"] = {"from": f"s{draw(st.integers(0, i - 1))}",
                            "p": draw(st.sampled_from([0.0, 0.3, 0.8, 1.0]))}  # fmt: skip
        if draw(st.booleans()):
            s["granularity"] = draw(st.sampled_from(["model", "layer", "groups:2", "groups:7"]))
        streams.append(s)
    for i in range(draw(st.integers(0, 2))):
        requests = [
            {"arrival_ms": draw(st.sampled_from([0, 1.5, 9, 77, 150, 299, 500]))}
            for _ in range(draw(st.integers(0, 3)))
        ]
        streams.append(
            llm(
                f"q{i}",
                requests=requests,
                prompt_tokens=draw(st.integers(1, 300)),
                output_tokens=draw(st.integers(1, 40)),
                prefill_chunk=draw(st.integers(1, 128)),
                decode_block=draw(st.integers(1, 16)),
            )
        )
    return {
        "kind": "scenario",
        "name": "random",
        "horizon_ms": horizon,
        "seed": draw(st.integers(0, 5)),
        "granularity": draw(st.sampled_from(["model", "layer", "groups:3"])),
        "platform": PLATFORM,
        "profiles": [{"kind": "profiles", "models": models, "llms": PROFILES["llms"]}],
        "streams": streams,
    }


def _expected(data):
    """(jobs, tasks) per stream, from the scenario's arithmetic alone."""
    horizon = Fraction(data["horizon_ms"])
    layers = {m["name"]: len(m["layers"]) for m in data["profiles"][0]["models"]}
    releases, exists, out = {}, {}, {}
    for s in data["streams"]:
        name = s["name"]
        if s["type"] == "llm":
            jobs = tasks = 0
            for r in s["requests"]:
                if Fraction(r["arrival_ms"]) < horizon:
                    decode = math.ceil((s["output_tokens"] - 1) / s["decode_block"])
                    jobs += 1 + decode
                    tasks += math.ceil(s["prompt_tokens"] / s["prefill_chunk"]) + decode
            out[name] = (jobs, tasks)
            continue
        period = Fraction(s["period_ms"]) if "period_ms" in s else Fraction(1000) / s["fps"]
        rel = _count_releases(Fraction(s["phase_ms"]), period, horizon)
        releases[name] = rel
        ok = [True] * len(rel)
        if "cascade" in s:
            up = s["cascade"]["from"]
            draws = np.random.default_rng([data["seed"], zlib.crc32(name.encode())]).random(
                len(rel)
            )
            ok = []
            for k, t in enumerate(rel):
                before = [j for j, u in enumerate(releases[up]) if u <= t]
                ok.append(bool(before) and exists[up][before[-1]] and draws[k] < s["cascade"]["p"])
        exists[name] = ok
        mode = s.get("granularity", data["granularity"])
        n_layers = layers[s["model"]]
        groups = {"model": 1, "layer": n_layers}.get(mode) or min(int(mode[7:]), n_layers)
        out[name] = (sum(ok), sum(ok) * groups)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(random_scenarios())
def test_random_scenarios_compile_to_the_streams_arithmetic(data):
    expected = _expected(data)
    inst = rtgen_opt.compile(parse(data))
    g = inst.graph
    assert nx.is_directed_acyclic_graph(g)
    for name, (jobs, tasks) in expected.items():
        assert sum(1 for j in inst.jobs.values() if j.stream == name) == jobs, name
        assert sum(1 for t in g if g.nodes[t]["stream"] == name) == tasks, name
    assert len(inst.jobs) == sum(j for j, _ in expected.values())
    for u, v in g.edges:
        # data only flows forward in time: a cascade's upstream frame is released no later
        assert g.nodes[u]["release"] <= g.nodes[v]["release"]
    for t in g:
        a = g.nodes[t]
        assert a["durations"] and a["deadline"] is not None and a["deadline"] >= a["release"]


# --------------------------------------------------------------------------- the load knob
@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from([0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0]),
    st.sampled_from(["frame", "hands", "npc", None]),
)
def test_load_scales_each_stream_by_its_factor(factor, only):
    path = SCENARIOS / "game_npc_medium.yaml"
    base = rtgen_opt.compile(path, horizon_ms=1000)
    load = factor if only is None else {only: factor}
    loaded = rtgen_opt.compile(path, horizon_ms=1000, load=load)
    spec = rtgen_opt.load(path)
    for s in spec.streams:
        f = factor if only in (None, s.name) else 1.0
        jobs = [j for j in loaded.jobs.values() if j.stream == s.name]
        if s.type == "periodic":
            # frame k exists when phase + k * period / f < horizon
            period = (1000.0 / s.fps if s.fps else s.period_ms) / f
            expected = math.ceil((1000 - s.phase_ms) / period - 1e-9)
            assert len(jobs) == expected, (s.name, f)
            if s.deadline_ms is None:  # one period of the loaded rate
                assert all(j.deadline - j.release == pytest.approx(period, abs=1e-3) for j in jobs)
        else:
            # the same exponential draws, compressed by the factor
            before = sorted(r.arrival for r in base.requests.values() if r.stream == s.name)
            after = sorted(r.arrival for r in loaded.requests.values() if r.stream == s.name)
            scaled = [a / f for a in before if a / f < 1000]
            assert after[: len(scaled)] == pytest.approx(scaled, abs=1e-3)
            assert all(a < 1000 for a in after)


def test_load_refuses_unknown_streams_and_bad_factors():
    path = SCENARIOS / "game_npc_small.yaml"
    with pytest.raises(ArgumentError, match="unknown stream 'nope'"):
        rtgen_opt.compile(path, load={"nope": 2})
    for bad in (0, -1, float("inf"), "2"):
        with pytest.raises(ArgumentError, match="expected a factor"):
            rtgen_opt.compile(path, load=bad)


def test_task_cap_refuses_before_expanding_frames(tmp_path, monkeypatch):
    """A horizon of 1e12 ms (written as YAML 1.2 float) is refused at once with the count it
    would have made, instead of a MemoryError after a minute."""
    data = {**SCENARIO, "horizon_ms": "HORIZON"}
    scenario_path, _, _ = write_files(tmp_path, scenario=data)
    scenario_path.write_text(scenario_path.read_text().replace("HORIZON", "1e12"))
    with pytest.raises(SpecError) as err:
        rtgen_opt.compile(scenario_path)
    assert err.value.file == str(scenario_path) and err.value.field == "horizon_ms"
    # 1e12 ms at 30 FPS: 30,000,000,000 frames of one task for each of the two periodic
    # streams, and the request's 2 prefill and 3 decode tasks
    assert "would make about 60,000,000,005 tasks" in err.value.message
    assert "cap of 200,000" in err.value.message
    # the cap is configurable: by argument and by environment
    small = rtgen_opt.compile(write_files(tmp_path)[0])
    n = len(small.tasks)
    assert len(rtgen_opt.compile(write_files(tmp_path)[0], max_tasks=n).tasks) == n
    with pytest.raises(SpecError, match=f"would make about {n} tasks"):
        rtgen_opt.compile(write_files(tmp_path)[0], max_tasks=n - 1)
    monkeypatch.setenv("RTGEN_OPT_MAX_TASKS", str(n - 1))
    with pytest.raises(SpecError, match=f"more than the cap of {n - 1}"):
        rtgen_opt.compile(write_files(tmp_path)[0])
    monkeypatch.setenv("RTGEN_OPT_MAX_TASKS", "lots")
    with pytest.raises(ArgumentError, match="RTGEN_OPT_MAX_TASKS"):
        rtgen_opt.compile(write_files(tmp_path)[0])


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*_small*.yaml")), ids=lambda p: p.stem)
def test_task_count_is_the_compiled_count_for_listed_streams(path):
    from rtgen_opt.compile import task_count
    from rtgen_opt.spec import load

    spec = load(path)
    assert sum(task_count(spec).values()) == len(rtgen_opt.compile(spec).tasks)
