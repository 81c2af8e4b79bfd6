"""Tags of the numbers in profiles files (``rtgen-opt tags``), and the shipped ones all tagged."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rtgen_opt.cli import main
from rtgen_opt.provenance import profile_numbers, tag_counts, tag_of

PROFILES = sorted((Path(__file__).resolve().parents[2] / "instances" / "profiles").glob("*.yaml"))


@pytest.mark.parametrize(
    "comment, kind, word, tag",
    [
        ("npu [M] AI Hub; gpu 1.5x [E]; cpu 3x [E]", "npu", None, "M"),
        ("npu [M] AI Hub; gpu 1.5x [E]; cpu 3x [E]", "cpu", None, "E"),
        ("[E] 55% of 4.59 [M]; gpu 2x, cpu 5.4x", "npu", None, "E"),
        ("cpu [M] ORT; gpu, npu [E] roofline", "npu", None, "E"),
        ("cpu [M] ORT; gpu, npu [E] roofline", "cpu", None, "M"),
        ("[M->E fit] FLM 64.5 tok/s", "npu", "base", "E"),
        ("base [M] 1000 / 18.4 tok/s; slope [E] KV reads", "npu", "slope", "E"),
        ("base [M] 1000 / 18.4 tok/s; slope [E] KV reads", "npu", "base", "M"),
        ("[V] vendor", None, None, "V"),
        ("as above", "npu", None, None),
    ],
)
def test_tag_of(comment, kind, word, tag):
    assert tag_of(comment, kind, word) == tag


def test_counts_by_hand(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(
        "kind: profiles\n"
        "models:\n"
        "  - name: m\n"
        "    layers:\n"
        "      - name: a\n"
        "        latency_ms: {npu: 1, gpu: 2}  # npu [M] x; gpu [E] y\n"
        "        output_bytes: 10  # [E]\n"
        "llms:\n"
        "  - name: l\n"
        "    prefill_ms_per_token: {npu: 1.0}  # [M] z\n"
        "    decode_ms_per_token:\n"
        "      npu: {base_ms: 5, per_context_token_ms: 0.1}  # base [M]; slope [E]\n"
        "    kv_bytes_per_token: 4\n"
    )
    numbers = profile_numbers(f)
    assert [(n.field, n.tag) for n in numbers] == [
        ("models[0].layers[0].latency_ms.npu", "M"),
        ("models[0].layers[0].latency_ms.gpu", "E"),
        ("models[0].layers[0].output_bytes", "E"),
        ("llms[0].prefill_ms_per_token.npu", "M"),
        ("llms[0].decode_ms_per_token.npu.base_ms", "M"),
        ("llms[0].decode_ms_per_token.npu.per_context_token_ms", "E"),
        ("llms[0].kv_bytes_per_token", None),
    ]
    result = CliRunner().invoke(main, ["tags", str(f), "--untagged"])
    assert result.exit_code == 0
    assert "untagged: " in result.output and "kv_bytes_per_token" in result.output
    assert "50% of 6" in result.output  # 3 E of the 6 tagged


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_every_shipped_number_is_tagged(path):
    untagged = [f"{n.line}: {n.field}" for n in profile_numbers(path) if n.tag is None]
    assert not untagged, untagged


def test_xelite_profiles_measure_their_npu():
    """The X Elite profiles' NPU latencies of the AI Hub models are [M]; CPU and GPU are [E]."""
    numbers = profile_numbers(next(p for p in PROFILES if p.name == "vision_audio_xelite.yaml"))
    npu = [n for n in numbers if n.field.endswith("latency_ms.npu")]
    assert sum(n.tag == "M" for n in npu) == 10
    assert all(
        n.tag == "E" for n in numbers if n.field.endswith(("latency_ms.cpu", "latency_ms.gpu"))
    )
    assert tag_counts(PROFILES)[None] == 0
