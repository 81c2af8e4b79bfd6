"""``rtgen-opt import aihub``: AI Hub perf.yaml files (trimmed real copies in data/) -> profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rtgen_opt.cli import main
from rtgen_opt.errors import SpecError
from rtgen_opt.importers.aihub import import_perf
from rtgen_opt.spec import load

DATA = Path(__file__).parent / "data"
XELITE = "Snapdragon X Elite CRD"


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_components_become_layers_with_measured_npu_latency(tmp_path):
    out = tmp_path / "hand.yaml"
    result = cli(
        "import",
        "aihub",
        DATA / "mediapipe_hand" / "perf.yaml",
        "--device",
        XELITE,
        "-o",
        out,
        "--version",
        "v0.46.1",
    )
    assert result.exit_code == 0, result.output
    (model,) = load(out).models
    assert model.name == "mediapipe_hand"
    assert [layer.name for layer in model.layers] == ["HandDetector", "HandLandmarkDetector"]
    # the published figures of v0.46.1: qnn_dlc, float, on the X Elite's NPU
    assert model.layers[0].latency_ms == {"npu": 0.895}
    assert model.layers[1].latency_ms == {"npu": 1.265}
    text = out.read_text()
    assert "npu [M] qnn_dlc 0.895 ms, NPU (197 layers), job jpevvy1v5" in text
    assert "mediapipe_hand/perf.yaml (v0.46.1)" in text


def test_runtime_preference(tmp_path):
    res = import_perf(DATA / "mediapipe_hand" / "perf.yaml", device=XELITE, runtimes=["onnx"])
    assert res.models[0].layers[0].latency_ms == {"npu": 0.97}


def test_cpu_fallback_is_refused_and_said(tmp_path):
    result = cli(
        "import",
        "aihub",
        DATA / "eyegaze" / "perf.yaml",
        "--device",
        XELITE,
        "-o",
        tmp_path / "e.yaml",
    )
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "EyeGaze has no accelerator measurement" in line
    assert "qnn_dlc: it ran on the CPU (482 of 482 layers)" in line
    assert not (tmp_path / "e.yaml").exists()


def test_partial_fallback_is_not_an_npu_latency(tmp_path):
    entry = {
        "job_status": "Passed",
        "inference_time_milliseconds": 51.865,
        "primary_compute_unit": "NPU",
        "layer_counts": {"total": 715, "npu": 623, "cpu": 92},
    }
    perf = tmp_path / "seg" / "perf.yaml"
    perf.parent.mkdir()
    perf.write_text(
        yaml.safe_dump(
            {
                "precisions": {
                    "w8a16": {
                        "components": {
                            "Segformer": {"performance_metrics": {XELITE: {"onnx": entry}}}
                        }
                    }
                }
            }
        )
    )
    with pytest.raises(SpecError, match="92 of 715 layers fell back to the CPU"):
        import_perf(perf, device=XELITE, precision="w8a16")
    # a clean job beside it is taken, and the fallback is named as not used
    clean = dict(entry, layer_counts={"total": 715, "npu": 715}, inference_time_milliseconds=60.0)
    perf.write_text(
        yaml.safe_dump(
            {
                "precisions": {
                    "w8a16": {
                        "components": {
                            "Segformer": {
                                "performance_metrics": {XELITE: {"onnx": entry, "qnn_dlc": clean}}
                            }
                        }
                    }
                }
            }
        )
    )
    res = import_perf(perf, device=XELITE, precision="w8a16")
    layer = res.models[0].layers[0]
    assert layer.latency_ms == {"npu": 60.0}
    assert "not used: onnx: 92 of 715 layers fell back to the CPU" in layer.latency_comment


def test_missing_device_or_precision_one_line(tmp_path):
    perf = DATA / "mediapipe_hand" / "perf.yaml"
    for args, match in (
        (("--device", "Nokia 3310"), "no device 'Nokia 3310' for HandDetector; the file has"),
        (("--device", XELITE, "--precision", "w2a2"), "no precision 'w2a2'; the file has 'float'"),
    ):
        result = cli("import", "aihub", perf, "-o", tmp_path / "x.yaml", *args)
        assert result.exit_code == 2
        (line,) = result.output.strip().splitlines()
        assert match in line


def test_not_a_perf_yaml(tmp_path):
    bad = tmp_path / "perf.yaml"
    bad.write_text("models: []\n")
    result = cli("import", "aihub", bad, "--device", XELITE, "-o", tmp_path / "x.yaml")
    assert result.exit_code == 2 and "expected AI Hub's perf.yaml layout" in result.output


def test_llm_ttft_range_gives_prefill_and_decode(tmp_path):
    out = tmp_path / "llm.yaml"
    perf = DATA / "llama_v3_2_3b_instruct" / "perf.yaml"
    result = cli("import", "aihub", perf, "--device", XELITE, "--precision", "w4a16", "-o", out)
    assert result.exit_code == 2 and "--kv-bytes-per-token" in result.output
    result = cli(
        "import",
        "aihub",
        perf,
        "--device",
        XELITE,
        "--precision",
        "w4a16",
        "-o",
        out,
        "--kv-bytes-per-token",
        "114688",
    )
    assert result.exit_code == 0, result.output
    (llm,) = load(out).llms
    # TTFT 125.936 ms at one 128-token chunk, 4029.952 ms at 4096 tokens; 18.4176 tok/s
    slope = (4029.952 - 125.936) / (4096 - 128)
    assert llm.prefill_ms_per_token["npu"] == pytest.approx(slope, rel=1e-5)
    assert llm.prefill_chunk_overhead_ms["npu"] == pytest.approx(
        max(0.0, 125.936 - 128 * slope), abs=1e-3
    )
    assert llm.decode_ms_per_token["npu"].base_ms == pytest.approx(1000 / 18.4176, rel=1e-5)
    assert llm.kv_bytes_per_token == 114688


def test_shipped_xelite_profile_agrees_with_the_importer():
    """The X Elite hand-tracking NPU figures are what `import aihub` reads from the file."""
    shipped = Path(__file__).resolve().parents[2] / "instances" / "profiles"
    hand = next(
        m for m in load(shipped / "vision_audio_xelite.yaml").models if m.name == "hand_tracking"
    )
    imported = import_perf(DATA / "mediapipe_hand" / "perf.yaml", device=XELITE).models[0]
    assert [layer.latency_ms["npu"] for layer in hand.layers] == [
        layer.latency_ms["npu"] for layer in imported.layers
    ]
    llm = next(m for m in load(shipped / "llms_xelite.yaml").llms if m.name == "llama_3_2_3b")
    res = import_perf(
        DATA / "llama_v3_2_3b_instruct" / "perf.yaml",
        device=XELITE,
        precision="w4a16",
        kv_bytes_per_token=llm.kv_bytes_per_token,
    )
    imported_llm = res.llms[0]
    assert llm.prefill_ms_per_token["npu"] == pytest.approx(
        imported_llm.prefill_ms_per_token["npu"][0], rel=1e-4
    )
    assert llm.decode_ms_per_token["npu"].base_ms == pytest.approx(
        imported_llm.decode_ms_per_token["npu"].base_ms, rel=1e-4
    )
