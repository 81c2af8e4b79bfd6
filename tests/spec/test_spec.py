"""Spec files: loading, references, and one field-precise SpecError per kind of malformed input."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import yaml

from rtgen_opt.errors import ArgumentError, SpecError
from rtgen_opt.inputs import load_instance
from rtgen_opt.spec import (
    ModelSpec,
    PlatformSpec,
    ProfilesSpec,
    ScenarioSpec,
    load,
    parse_granularity,
    schema,
)

INSTANCES = Path(__file__).resolve().parents[2] / "instances"

PLATFORM = {
    "kind": "platform",
    "name": "toy",
    "processors": [
        {"name": "cpu", "kind": "cpu", "count": 2, "active_w": 5.0},
        {"name": "gpu", "kind": "gpu"},
        {"name": "npu", "kind": "npu"},
    ],
    "transfers": {
        "default": {"sync_ms": 0.1, "bandwidth_gb_s": 50},
        "pairs": [{"src": "cpu", "dst": "cpu", "sync_ms": 0.0}],
    },
}
PROFILES = {
    "kind": "profiles",
    "models": [
        {
            "name": "seg",
            "layers": [
                {"name": "enc", "latency_ms": {"npu": 2, "gpu": 3}, "output_bytes": 1000},
                {"name": "dec", "latency_ms": {"npu": 1, "gpu": 1, "cpu": 4}, "output_bytes": 500},
            ],
        }
    ],
    "llms": [
        {
            "name": "tiny",
            "prefill_ms_per_token": {"npu": 0.5, "gpu": 0.8},
            "decode_ms_per_token": {"gpu": {"base_ms": 20, "per_context_token_ms": 0.01}},
            "kv_bytes_per_token": 1000,
        }
    ],
}
SCENARIO = {
    "kind": "scenario",
    "name": "toy",
    "horizon_ms": 100,
    "platform": "platform.yaml",
    "profiles": ["profiles.yaml"],
    "streams": [
        {"type": "periodic", "name": "s", "model": "seg", "fps": 30},
        {"type": "periodic", "name": "c", "model": "seg", "fps": 30, "cascade": {"from": "s"}},
        {
            "type": "llm",
            "name": "chat",
            "model": "tiny",
            "requests": [{"arrival_ms": 5}],
            "prompt_tokens": 100,
            "output_tokens": 10,
            "ttft_slo_ms": 500,
            "tpot_slo_ms": 50,
            "prefill_chunk": 64,
            "decode_block": 4,
        },
    ],
}


def write_files(
    directory: Path, scenario=None, platform=None, profiles=None
) -> tuple[Path, Path, Path]:
    """The toy platform, profiles and scenario written to ``directory`` (paths returned)."""
    paths = directory / "scenario.yaml", directory / "platform.yaml", directory / "profiles.yaml"
    for path, data in zip(paths, (scenario, platform, profiles), strict=True):
        default = {"scenario": SCENARIO, "platform": PLATFORM, "profiles": PROFILES}
        path.write_text(yaml.safe_dump(data if data is not None else default[path.stem]))
    return paths


def _set(data: dict, path: tuple, value) -> dict:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


_DELETE = object()

# (id, which file to break, where, new value, the file the error names, the field it names)
MALFORMED = [
    ("fps-string", "scenario", ("streams", 0, "fps"), "thirty", "scenario", "streams[0].fps"),
    ("fps-negative", "scenario", ("streams", 0, "fps"), -3, "scenario", "streams[0].fps"),
    ("fps-zero", "scenario", ("streams", 0, "fps"), 0, "scenario", "streams[0].fps"),
    ("horizon-list", "scenario", ("horizon_ms",), [1], "scenario", "horizon_ms"),
    ("unknown-field", "scenario", ("streams", 2, "colour"), "red", "scenario", "streams[2].colour"),
    (
        "missing-field",
        "scenario",
        ("streams", 2, "ttft_slo_ms"),
        _DELETE,
        "scenario",
        "streams[2].ttft_slo_ms",
    ),
    ("bad-type-tag", "scenario", ("streams", 1, "type"), "sporadic", "scenario", "streams[1]"),
    (
        "cascade-unknown",
        "scenario",
        ("streams", 1, "cascade"),
        {"from": "nope"},
        "scenario",
        "streams[1].cascade.from",
    ),
    (
        "cascade-cycle",
        "scenario",
        ("streams", 0, "cascade"),
        {"from": "c"},
        "scenario",
        "streams[0].cascade.from",
    ),
    (
        "cascade-self",
        "scenario",
        ("streams", 1, "cascade"),
        {"from": "c"},
        "scenario",
        "streams[1].cascade.from",
    ),
    (
        "cascade-p",
        "scenario",
        ("streams", 1, "cascade"),
        {"from": "s", "p": 1.5},
        "scenario",
        "streams[1].cascade.p",
    ),
    ("unknown-model", "scenario", ("streams", 0, "model"), "nope", "scenario", "streams[0].model"),
    ("llm-as-model", "scenario", ("streams", 0, "model"), "tiny", "scenario", "streams[0].model"),
    ("bad-granularity", "scenario", ("granularity",), "groups:0", "scenario", "granularity"),
    ("bad-miss-mode", "scenario", ("miss_mode",), "skip", "scenario", "miss_mode"),
    ("stream-name", "scenario", ("streams", 0, "name"), "a/b", "scenario", "streams[0].name"),
    ("duplicate-stream", "scenario", ("streams", 1, "name"), "s", "scenario", "streams[1].name"),
    ("missing-platform", "scenario", ("platform",), "nowhere.yaml", "scenario", "platform"),
    (
        "zero-chunk",
        "scenario",
        ("streams", 2, "prefill_chunk"),
        0,
        "scenario",
        "streams[2].prefill_chunk",
    ),
    (
        "unknown-kind-in-profile",
        "profiles",
        ("models", 0, "layers", 0, "latency_ms"),
        {"dsp": 1.0},
        "profiles",
        "models[0].layers[0].latency_ms.dsp",
    ),
    (
        "unknown-kind-in-llm",
        "profiles",
        ("llms", 0, "prefill_ms_per_token"),
        {"tpu": 1.0},
        "profiles",
        "llms[0].prefill_ms_per_token.tpu",
    ),
    (
        "negative-latency",
        "profiles",
        ("models", 0, "layers", 1, "latency_ms", "cpu"),
        -1,
        "profiles",
        "models[0].layers[1].latency_ms.cpu",
    ),
    (
        "edge-unknown-layer",
        "profiles",
        ("models", 0, "edges"),
        [["enc", "zzz"]],
        "profiles",
        "models[0].edges[0][1]",
    ),
    (
        "edge-backwards",
        "profiles",
        ("models", 0, "edges"),
        [["dec", "enc"]],
        "profiles",
        "models[0].edges[0]",
    ),
    (
        "platform-count",
        "platform",
        ("processors", 0, "count"),
        0,
        "platform",
        "processors[0].count",
    ),
    (
        "platform-pair-kind",
        "platform",
        ("transfers", "pairs", 0, "src"),
        "dsp",
        "platform",
        "transfers.pairs[0].src",
    ),
    (
        "platform-bandwidth",
        "platform",
        ("transfers", "default", "bandwidth_gb_s"),
        -1,
        "platform",
        "transfers.default.bandwidth_gb_s",
    ),
]
# a model with no runnable kind: at granularity `model` no kind runs both layers
NO_RUNNABLE = _set(PROFILES, ("models", 0, "layers", 0, "latency_ms"), {"npu": 2.0})
NO_RUNNABLE = _set(NO_RUNNABLE, ("models", 0, "layers", 1, "latency_ms"), {"cpu": 4.0})
MALFORMED_FILES = {
    "no-runnable-kind": (
        {"profiles": NO_RUNNABLE},
        "scenario",
        "streams[0].model",
    ),
    "fps-and-period": (
        {"scenario": _set(SCENARIO, ("streams", 0, "period_ms"), 33.3)},
        "scenario",
        "streams[0]",
    ),
}


def malformed_files(tmp_path: Path, case: tuple) -> tuple[Path, str, str]:
    """Write the toy files with one field broken; return (scenario path, file, field) expected."""
    _, part, where, value, file_stem, field = case
    broken = {
        part: _set(
            {"scenario": SCENARIO, "platform": PLATFORM, "profiles": PROFILES}[part], where, value
        )
    }
    scenario, _, _ = write_files(tmp_path, **broken)
    return scenario, str(tmp_path / f"{file_stem}.yaml"), field


def test_toy_files_load(tmp_path):
    scenario_path, platform_path, profiles_path = write_files(tmp_path)
    spec = load(scenario_path)
    assert isinstance(spec, ScenarioSpec)
    assert isinstance(load(platform_path), PlatformSpec)
    assert isinstance(load(profiles_path), ProfilesSpec)
    assert spec.streams[1].cascade.from_ == "s" and spec.streams[1].cascade.p == 1.0
    assert spec.seed == 0 and spec.miss_mode == "late" and spec.granularity == "model"
    platform = spec.platform.to_platform()
    assert [p.name for p in platform.processors] == ["cpu0", "cpu1", "gpu", "npu"]
    assert platform.by_name["cpu1"].active_w == 5.0
    # 50 GB/s = 5e7 bytes/ms; cpu->cpu has no bandwidth: zero-copy, only the sync
    assert math.isclose(platform.transfer_ms(5e7, "cpu0", "gpu"), 0.1 + 1.0)
    assert platform.transfer_ms(5e9, "cpu0", "cpu1") == 0.0
    assert platform.transfer_ms(5e9, "gpu", "gpu") == 0.0


def test_inline_platform_and_profiles(tmp_path):
    inline = {**SCENARIO, "platform": PLATFORM, "profiles": [PROFILES]}
    path = tmp_path / "inline.yaml"
    path.write_text(yaml.safe_dump(inline))
    spec = load(path)
    assert spec.platform.name == "toy" and spec.profiles[0].models[0].name == "seg"
    # an error inside the inline part names the scenario file and the nested field
    bad = _set(inline, ("profiles", 0, "models", 0, "layers", 0, "latency_ms"), {"dsp": 1.0})
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(SpecError) as err:
        load(path)
    assert err.value.file == str(path)
    assert err.value.field == "profiles[0].models[0].layers[0].latency_ms.dsp"


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_field_is_named(tmp_path, case):
    scenario, file, field = malformed_files(tmp_path, case)
    with pytest.raises(SpecError) as err:
        load(scenario)
    assert (err.value.file, err.value.field) == (file, field), err.value.line()
    assert err.value.message and "\n" not in err.value.line()


@pytest.mark.parametrize("name", sorted(MALFORMED_FILES))
def test_malformed_files(tmp_path, name):
    files, stem, field = MALFORMED_FILES[name]
    scenario, _, _ = write_files(tmp_path, **files)
    with pytest.raises(SpecError) as err:
        load(scenario)
    assert (err.value.file, err.value.field) == (str(tmp_path / f"{stem}.yaml"), field)


def test_messages_say_what_was_expected(tmp_path):
    cases = {c[0]: c for c in MALFORMED}
    expected = {
        "fps-negative": "expected a number > 0, got -3",
        "fps-string": "expected a finite number, got 'thirty'",
        "cascade-cycle": "cascade cycle",
        "unknown-kind-in-profile": "processor kind 'dsp' is not on platform 'toy'",
        "unknown-field": "unknown field",
    }
    for name, text in expected.items():
        scenario, _, _ = malformed_files(tmp_path, cases[name])
        with pytest.raises(SpecError, match=text):
            load(scenario)


def test_poisson_needs_stream_level_tokens(tmp_path):
    data = _set(SCENARIO, ("streams", 2, "requests"), _DELETE)
    data = _set(data, ("streams", 2, "poisson"), {"rate_per_s": 2.0})
    data = _set(data, ("streams", 2, "prompt_tokens"), _DELETE)
    scenario, _, _ = write_files(tmp_path, scenario=data)
    with pytest.raises(SpecError) as err:
        load(scenario)
    assert err.value.field == "streams[2].prompt_tokens"


def test_request_tokens_default_from_stream(tmp_path):
    data = _set(SCENARIO, ("streams", 2, "output_tokens"), _DELETE)
    scenario, _, _ = write_files(tmp_path, scenario=data)
    with pytest.raises(SpecError) as err:
        load(scenario)
    assert err.value.field == "streams[2].requests[0].output_tokens"


def test_file_level_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: scenario\nname: [unclosed\n")
    with pytest.raises(SpecError, match="invalid YAML at line"):
        load(bad)
    bad.write_text("- just a list\n")
    with pytest.raises(SpecError, match="mapping"):
        load(bad)
    bad.write_text("kind: recipe\n")
    with pytest.raises(SpecError) as err:
        load(bad)
    assert err.value.field == "kind"
    with pytest.raises(SpecError, match="cannot read"):
        load(tmp_path / "absent.yaml")
    # a scenario naming a profiles file as its platform
    _, _, profiles = write_files(tmp_path)
    scenario = tmp_path / "wrong.yaml"
    scenario.write_text(yaml.safe_dump({**SCENARIO, "platform": profiles.name}))
    with pytest.raises(SpecError, match="is a profiles file") as err:
        load(scenario)
    assert err.value.field == "platform"


def test_load_instance_refuses_non_instances(tmp_path):
    _, platform, profiles = write_files(tmp_path)
    for path in (platform, profiles):
        with pytest.raises(SpecError, match="not an instance"):
            load_instance(path)
    other = tmp_path / "x.csv"
    other.write_text("a,b\n")
    with pytest.raises(SpecError, match="unknown file type"):
        load_instance(other)


def test_parse_granularity():
    assert parse_granularity("model") == ("model", 1)
    assert parse_granularity("layer") == ("layer", 0)
    assert parse_granularity("groups:12") == ("groups", 12)
    for bad in ("groups:0", "groups:", "Model", "groups:-1", "layers"):
        with pytest.raises(ValueError):
            parse_granularity(bad)


def test_groups_are_contiguous_and_balanced():
    m = ModelSpec(
        name="m", layers=[{"name": f"l{i}", "latency_ms": {"cpu": 1.0}} for i in range(7)]
    )
    assert m.groups("model") == [tuple(range(7))]
    assert m.groups("layer") == [(i,) for i in range(7)]
    assert m.groups("groups:3") == [(0, 1, 2), (3, 4), (5, 6)]
    assert m.groups("groups:10") == [(i,) for i in range(7)]  # at most one group per layer


def test_schema_per_kind():
    for kind in ("platform", "profiles", "scenario"):
        s = schema(kind)
        assert s["type"] == "object" and "kind" in s["properties"]
    scenario = schema("scenario")
    assert {"type": "string", "description": "path relative to the scenario file"} in scenario[
        "properties"
    ]["platform"]["anyOf"]
    assert "horizon_ms" in scenario["required"]
    assert set(scenario["$defs"]["CascadeSpec"]["properties"]) == {"from", "p"}
    with pytest.raises(ArgumentError):
        schema("recipe")


@pytest.mark.parametrize(
    "path", sorted(INSTANCES.rglob("*.yaml")), ids=lambda p: str(p.relative_to(INSTANCES))
)
def test_every_library_file_loads(path):
    spec = load(path)
    kinds = {"platforms": "platform", "profiles": "profiles", "scenarios": "scenario"}
    assert spec.kind == kinds[path.parent.name]


def test_yaml_1_2_floats_are_numbers(tmp_path):
    """PyYAML follows YAML 1.1, where 1e12 (no dot) and 1.5e3 (no exponent sign) are strings."""
    scenario, _, _ = write_files(tmp_path)
    text = scenario.read_text().replace("horizon_ms: 100", "horizon_ms: 1e2")
    scenario.write_text(text.replace("fps: 30", "fps: 3.0e1", 1))
    spec = load(scenario)
    assert spec.horizon_ms == 100.0 and spec.streams[0].fps == 30.0


def test_every_error_one_line_each_in_our_words(tmp_path):
    broken = _set(PLATFORM, ("processors", 0, "count"), 0)
    broken = _set(broken, ("processors", 1, "kind"), _DELETE)
    broken = _set(broken, ("processors", 2, "active_w"), -1)
    _, platform, _ = write_files(tmp_path, platform=broken)
    with pytest.raises(SpecError) as err:
        load(platform)
    assert str(err.value).splitlines() == [
        f"{platform}: processors[0].count: expected a number >= 1, got 0",
        f"{platform}: processors[1].kind: required field is missing",
        f"{platform}: processors[2].active_w: expected a number >= 0, got -1",
    ]
    assert err.value.field == "processors[0].count"  # the first error is the error's own
    empty = _set(PROFILES, ("models", 0, "layers", 0, "latency_ms"), {})
    _, _, profiles = write_files(tmp_path, profiles=empty)
    with pytest.raises(SpecError) as err:
        load(profiles)
    assert err.value.line() == (
        f"{profiles}: models[0].layers[0].latency_ms: expected at least 1 entry, got {{}}"
    )
    no_layers = _set(PROFILES, ("models", 0, "layers"), [])
    _, _, profiles = write_files(tmp_path, profiles=no_layers)
    with pytest.raises(SpecError, match=r"models\[0\].layers: expected at least 1 item, got \[\]$"):
        load(profiles)
