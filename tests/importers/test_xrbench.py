"""XRBench: conformance with its published scores, and the MAESTRO scenario importer.

The data in tests/data/xrbench/ is XRBench's (MIT licence, see LICENSE there): the VR-gaming
schedule its simulator produced, the summary scores it computed from it, and the usage
scenarios.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import networkx as nx
import pytest

from rtgen_opt.compile import compile
from rtgen_opt.costs import ConvLayer, kind_rooflines, layer_ms
from rtgen_opt.errors import SpecError
from rtgen_opt.importers.xrbench import (
    DEFAULT_HORIZON_MS,
    default_platform,
    parse_networks,
    read_networks,
    read_scenario,
    read_schedule_csv,
)
from rtgen_opt.inputs import load_instance
from rtgen_opt.instance import Instance, Platform, Processor, Stream
from rtgen_opt.metrics import xrbench_score, xrbench_score_of
from rtgen_opt.schedule import Schedule

DATA = Path(__file__).parents[1] / "data" / "xrbench"
SCHEDULE_CSV = DATA / "schedule_VR_gaming__Single_4K__WS.csv"
SUMMARY_CSV = DATA / "summary_VR_gaming__Single_4K__WS.csv"
SCENARIOS = sorted((DATA / "usage_scenarios").glob("*.m"))
SWEEP = sorted((DATA / "probability_sweep").glob("*.m"))


def _summary() -> tuple[dict[str, tuple[float, float, float]], float]:
    models, overall = {}, math.nan
    with SUMMARY_CSV.open() as fh:
        rows = list(csv.reader(fh))
    for row in rows[1:]:
        if row[0] == "Overall Score":
            overall = float(row[1])
        else:
            models[row[0]] = tuple(float(x) for x in row[1:4])
    return models, overall


# --------------------------------------------------------------------------- conformance
def test_summary_fixture_is_what_xrbench_published():
    models, overall = _summary()
    assert sorted(models) == ["ES_RITNet", "GE_FBNet_C", "HT_hand_graph_cnn_half"]
    assert overall == 86.466141


def test_xrbench_score_reproduces_the_summary_csv():
    records = read_schedule_csv(SCHEDULE_CSV)
    assert len(records) == 115
    score = xrbench_score(records)
    models, overall = _summary()
    assert sorted(score.models.index) == sorted(models)
    for model, (rt, en, ux) in models.items():
        row = score.models.loc[model]
        # the CSV's scores are printed to 6 decimals
        assert row["rt"] == pytest.approx(rt, abs=1e-6), model
        assert row["en"] == pytest.approx(en, abs=1e-6), model
        assert row["ux"] == pytest.approx(ux, abs=1e-6), model
    # XRBench sums in float32; in double the overall differs by 2e-5
    assert score.overall == pytest.approx(overall, abs=1e-4)
    assert score.models.loc["HT_hand_graph_cnn_half", "frames"] == 31
    assert score.models.loc["ES_RITNet", "frames"] == 42


def test_xrbench_score_of_the_same_schedule_as_an_instance():
    """XRBench's schedule as an rtgen_opt instance and schedule: one job per frame released at
    its injection with XRBench's deadline; one processor per model whose active power gives the
    frame's energy; GE frames depend on ES frames. The validated schedule scores the same."""
    with SCHEDULE_CSV.open() as fh:
        rows = list(csv.DictReader(fh))
    duration, energy = {}, {}
    for r in rows:
        model = r["Model Name"]
        duration.setdefault(
            model, float(r["Completion Time (ms)"]) - float(r["Dispatch Time (ms)"])
        )
        energy.setdefault(model, float(r["Energy (mJ)"]))
    platform = Platform(
        "xrbench-single-4k",
        tuple(Processor(f"acc_{m}", "acc", energy[m] / duration[m]) for m in sorted(duration)),
    )
    g = nx.DiGraph()
    placements = []
    for r in rows:
        model, k = r["Model Name"], int(r["Frame ID"])
        start, end = float(r["Dispatch Time (ms)"]), float(r["Completion Time (ms)"])
        g.add_node(
            f"{model}#{k}",
            durations={f"acc_{model}": end - start},
            release=float(r["Injection Time (ms)"]),
            deadline=float(r["Deadline Time (ms)"]),
            job=f"{model}#{k}",
            stream=model,
        )
        placements.append((f"{model}#{k}", f"acc_{model}", start, end))
    for k in range(42):
        g.add_edge(f"ES_RITNet#{k}", f"GE_FBNet_C#{k}")
    streams = {m: Stream(m, "periodic", m) for m in sorted(duration)}
    inst = Instance.from_networkx(g, platform, streams=streams, resolution=1e-6)
    score = xrbench_score_of(inst, Schedule.build(placements))
    models, overall = _summary()
    for model, (rt, en, ux) in models.items():
        assert score.models.loc[model, ["rt", "en", "ux"]].tolist() == pytest.approx(
            [rt, en, ux], abs=1e-5
        )
    assert score.overall == pytest.approx(overall, abs=1e-4)


def test_read_schedule_csv_infers_drops(tmp_path):
    lines = SCHEDULE_CSV.read_text().splitlines()
    header, body = lines[0], lines[1:]
    # remove ES frame 3 (a gap) and the last HT frame (a trailing drop, known only from frames=)
    kept = [
        line
        for line in body
        if not line.startswith("0,ES_RITNet,3,")
        and not line.startswith("0,HT_hand_graph_cnn_half,30,")
    ]
    path = tmp_path / "s.csv"
    path.write_text("\n".join([header, *kept]) + "\n")
    records = read_schedule_csv(path, frames={"HT_hand_graph_cnn_half": 31})
    score = xrbench_score(records)
    assert score.models.loc["ES_RITNet", "dropped"] == 1
    assert score.models.loc["ES_RITNet", "ux"] == pytest.approx(41 / 42)
    assert score.models.loc["HT_hand_graph_cnn_half", ["frames", "dropped"]].tolist() == [31, 1]
    assert (
        xrbench_score(read_schedule_csv(path)).models.loc["HT_hand_graph_cnn_half", "frames"] == 30
    )


def test_read_schedule_csv_errors(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Model Name,Frame ID\nES,0\n")
    with pytest.raises(SpecError, match="header: missing columns"):
        read_schedule_csv(bad)
    lines = SCHEDULE_CSV.read_text().splitlines()
    bad.write_text("\n".join([lines[0], lines[1].replace("1.503136", "soon")]))
    with pytest.raises(SpecError, match="line 2"):
        read_schedule_csv(bad)


# --------------------------------------------------------------------------- importer
def test_every_xrbench_scenario_loads_and_compiles():
    assert len(SCENARIOS) == 7 and len(SWEEP) == 4
    for path in SCENARIOS + SWEEP:
        networks = read_networks(path)
        spec = read_scenario(path)
        assert [s.name for s in spec.streams] == [n.name for n in networks]
        inst = compile(spec)
        assert nx.is_directed_acyclic_graph(inst.graph)
        assert inst.miss_mode == "drop" and inst.horizon == DEFAULT_HORIZON_MS
        for task in inst.tasks:
            assert set(inst.durations(task)) == {"cpu0", "cpu1", "gpu", "npu"}


def test_vr_gaming_frames_match_xrbench_run():
    inst = compile(read_scenario(DATA / "usage_scenarios" / "VR_gaming.m"))
    counts = {}
    for job in inst.jobs.values():
        counts[job.stream] = counts.get(job.stream, 0) + 1
    # the frame counts of XRBench's own schedule CSV
    assert counts == {"ES_RITNet": 42, "GE_FBNet_C": 42, "HT_hand_graph_cnn_half": 31}
    ht = inst.jobs["HT_hand_graph_cnn_half#5"]
    assert (ht.release, ht.deadline) == (110.0, 132.0)  # period 1000 // 45 = 22 ms
    es = inst.jobs["ES_RITNet#41"]
    assert (es.release, es.deadline) == (656.0, 672.0)  # as in XRBench's CSV
    # GE (Dependency: ES_RITNet, Probability 1.0) depends on the ES frame of the same index
    assert inst.job_successors["ES_RITNet#7"] == ("GE_FBNet_C#7",)


def test_probability_sweep_triggers_monotonically():
    counts = []
    for pct in (25, 50, 75, 100):
        inst = compile(read_scenario(DATA / "probability_sweep" / f"VR_gaming_{pct}p.m"))
        counts.append(sum(j.stream == "GE_FBNet_C" for j in inst.jobs.values()))
    # the same seeded draws for every file: a higher probability never triggers fewer frames
    assert counts == sorted(counts) and counts[-1] == 42 and 0 < counts[0] < 42
    assert counts[1] == pytest.approx(21, abs=8)
    again = compile(read_scenario(DATA / "probability_sweep" / "VR_gaming_50p.m", seed=0))
    assert sum(j.stream == "GE_FBNet_C" for j in again.jobs.values()) == counts[1]


def test_latencies_come_from_the_roofline_model():
    path = DATA / "usage_scenarios" / "social_interactionB.m"
    spec = read_scenario(path)
    rooflines = kind_rooflines(default_platform())
    net = {n.name: n for n in read_networks(path)}["AS_ED_TCN"]
    model = {m.name: m for m in spec.profiles[0].models}["AS_ED_TCN"]
    for layer, layer_spec in zip(net.layers, model.layers, strict=True):
        for kind, roofline in rooflines.items():
            assert layer_spec.latency_ms[kind] == pytest.approx(layer_ms(layer, roofline))
        assert layer_spec.output_bytes == layer.k * layer.y * layer.x  # int8, N = 1
    inst = compile(spec)
    task = inst.jobs["AS_ED_TCN#0"].tasks[0]
    total = sum(layer_ms(layer, rooflines["npu"]) for layer in net.layers)
    assert inst.durations(task)["npu"] == pytest.approx(total, abs=1e-3)
    # 2 bytes per element: the memory roof can only grow
    fp16 = read_scenario(path, bytes_per_element=2.0)
    fp16_model = {m.name: m for m in fp16.profiles[0].models}["AS_ED_TCN"]
    for a, b in zip(model.layers, fp16_model.layers, strict=True):
        assert all(b.latency_ms[k] >= a.latency_ms[k] for k in a.latency_ms)


def test_layer_granularity_and_custom_platform(tmp_path):
    platform = tmp_path / "npu_only.yaml"
    platform.write_text(
        "kind: platform\nname: tiny\nprocessors:\n"
        "  - {name: cpu, kind: cpu}\n"
        "  - name: npu\n    kind: npu\n    count: 2\n"
        "    roofline: {peak_gflops: 1000, mem_bandwidth_gb_s: 10}\n"
    )
    path = DATA / "usage_scenarios" / "social_interactionB.m"
    spec = read_scenario(path, platform, granularity="layer", horizon_ms=40.0)
    inst = compile(spec)
    layers = sum(len(n.layers) for n in read_networks(path))
    # ES, GE at 16 ms: 3 frames each in 40 ms; AS at 33 ms: 2 frames
    assert len(inst.jobs) == 3 + 3 + 2
    assert len(inst.tasks) == 3 * 42 + 3 * 63 + 2 * 4 and layers == 42 + 63 + 4
    assert {p for t in inst.tasks for p in inst.durations(t)} == {"npu0", "npu1"}


def test_load_instance_reads_m_files():
    inst = load_instance(DATA / "usage_scenarios" / "AR_gaming.m")
    assert {j.stream for j in inst.jobs.values()} == {
        "HT_hand_graph_cnn_half",
        "DE_midas_v21_small",
        "PD_Plane_RCNN_Quarter",
    }


# --------------------------------------------------------------------------- the .m format
LAYER = "Layer l1 { Type: CONV Dimensions: { N: 1, K: 8, C: 3, Y: 32, X: 32, R: 3, S: 3 } }"


def test_format_variations():
    text = (
        "// a comment\nNetwork up {\n\tFPS:30\n" + LAYER + "\n}\n"
        "Network down{FPS :30\nDependency: {\n\tup\t\n}\nProbability:0.5\n" + LAYER + "}\n"
        "Network late { Probability: 0.25 Dependency: { up, } FPS: 7 " + LAYER + " }"
    )
    nets = parse_networks(text)
    assert [(n.name, n.fps, n.probability, n.dependencies) for n in nets] == [
        ("up", 30, 1.0, ()),
        ("down", 30, 0.5, ("up",)),
        ("late", 7, 0.25, ("up",)),
    ]
    assert nets[2].period_ms == 142  # 1000 // 7
    assert nets[0].layers[0] == ConvLayer("l1", 1, 8, 3, 32, 32, 3, 3)


def test_repeated_layer_names_are_made_unique():
    nets = parse_networks("Network a { FPS: 10 " + LAYER + " " + LAYER + " }")
    assert [layer.name for layer in nets[0].layers] == ["l1", "l1~2"]


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("Network a { " + LAYER + " }", "networks[0].FPS", "no FPS"),
        ("Network a { FPS: 0 " + LAYER + " }", "networks[0].FPS", "1..1000"),
        ("Network a { FPS: fast " + LAYER + " }", "networks[0].FPS", "an integer"),
        ("Network a { FPS: 30 }", "networks[0].layers", "no layer"),
        ("Network a { FPS: 30 Speed: 3 " + LAYER + " }", "networks[0]", "unknown key 'Speed'"),
        ("Network a { FPS: 30 Probability: 2 " + LAYER + " }", "networks[0].Probability", "[0, 1]"),
        (
            "Network a { FPS: 30 Layer l { Type: POOL Dimensions: { N: 1 } } }",
            "networks[0].layers[0].Type",
            "unsupported layer type 'POOL'",
        ),
        (
            "Network a { FPS: 30 Layer l { Type: CONV Dimensions: { N: 1, K: 0 } } }",
            "networks[0].layers[0].Dimensions.K",
            ">= 1",
        ),
        (
            "Network a { FPS: 30 Layer l { Type: CONV Dimensions: { N: 1, Q: 2 } } }",
            "networks[0].layers[0].Dimensions",
            "unknown dimension 'Q'",
        ),
        (
            "Network a { FPS: 30 Layer l { Type: CONV Dimensions: { N: 1, K: 2 } } }",
            "networks[0].layers[0].Dimensions",
            "lacks C, Y, X, R, S",
        ),
        ("Network a { FPS: 30 Dependency: { b } " + LAYER + " }", "networks[0].Dependency", "'b'"),
        ("Network a { FPS: 30 " + LAYER, "networks[0]", "unexpected end of file"),
        ("Layer x { }", "networks[0]", "expected 'Network'"),
        ("", None, "no 'Network' block"),
        (
            "Network a { FPS: 30 " + LAYER + " } Network a { FPS: 30 " + LAYER + " }",
            "networks[1]",
            "duplicate network 'a'",
        ),
    ],
)
def test_malformed_files_name_the_field(tmp_path, text, field, message):
    path = tmp_path / "bad.m"
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        read_scenario(path)
    err = info.value
    assert err.file == str(path) and err.field == field
    assert message in err.message


def test_probability_without_dependency_and_platform_without_roofline(tmp_path):
    path = tmp_path / "p.m"
    path.write_text("Network a { FPS: 30 Probability: 0.5 " + LAYER + " }")
    with pytest.raises(SpecError, match="no Dependency"):
        read_scenario(path)
    path.write_text("Network a { FPS: 30 " + LAYER + " }")
    bare = tmp_path / "bare.yaml"
    bare.write_text("kind: platform\nname: bare\nprocessors: [{name: cpu, kind: cpu}]\n")
    with pytest.raises(SpecError, match="no processor with a roofline"):
        read_scenario(path, bare)
    with pytest.raises(SpecError, match="cannot read"):
        read_scenario(tmp_path / "missing.m")
