"""``rtgen-opt import csv``: your own measurements -> profiles, repeated rows -> their median."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from rtgen_opt.cli import main
from rtgen_opt.importers.csv_profiles import import_csv
from rtgen_opt.spec import load


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_csv_to_profiles(tmp_path):
    src = tmp_path / "mine.csv"
    src.write_text(
        "model,layer,kind,latency_ms,output_bytes,source\n"
        "det,backbone,npu,1.9,716800,bench run 1\n"
        "det,backbone,npu,2.3,716800,bench run 2\n"
        "det,backbone,npu,2.0,716800,bench run 3\n"
        "det,backbone,gpu,2.4,,\n"
        "det,head,npu,0.5,1411200,\n"
        "asr,enc,cpu,19.2,51200,\n"
    )
    out = tmp_path / "p.yaml"
    result = cli("import", "csv", src, "-o", out)
    assert result.exit_code == 0, result.output
    spec = load(out)
    det, asr = spec.models
    assert [layer.name for layer in det.layers] == ["backbone", "head"]
    assert det.layers[0].latency_ms == {"npu": 2.0, "gpu": 2.4}  # median of three rows
    assert det.layers[0].output_bytes == 716800
    assert asr.layers[0].latency_ms == {"cpu": 19.2}
    text = out.read_text()
    assert "npu [M] mine.csv median of 3 rows 2,3,4 (bench run 1; bench run 2; bench run 3)" in text


def test_bad_csv_one_line_exit_2(tmp_path):
    cases = {
        "model,layer,kind\nd,l,npu\n": "missing columns latency_ms",
        "model,layer,kind,latency_ms\nd,l,npu,fast\n": "line 2: latency_ms: expected a number",
        "model,layer,kind,latency_ms\nd,,npu,1\n": "line 2: layer: expected a name",
        "model,layer,kind,latency_ms,tag\nd,l,npu,1,X\n": "line 2: tag: expected one of M, E, V",
        "model,layer,kind,latency_ms,colour\n": "unknown columns colour",
        "model,layer,kind,latency_ms\n": "no data row",
    }
    for i, (text, match) in enumerate(cases.items()):
        src = tmp_path / f"bad{i}.csv"
        src.write_text(text)
        result = cli("import", "csv", src, "-o", tmp_path / "o.yaml")
        assert result.exit_code == 2, text
        (line,) = result.output.strip().splitlines()
        assert match in line, line


@settings(max_examples=25)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.sampled_from(["l1", "l2", "l3"]),
            st.sampled_from(["cpu", "gpu", "npu"]),
            st.floats(0, 1e3, allow_nan=False),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_every_row_lands_in_its_layer(tmp_path_factory, rows):
    import statistics

    d = tmp_path_factory.mktemp("csv")
    (d / "m.csv").write_text(
        "model,layer,kind,latency_ms\n" + "".join(f"{m},{ly},{k},{v!r}\n" for m, ly, k, v in rows)
    )
    spec = import_csv(d / "m.csv", d / "m.yaml")
    got = {(m.name, layer.name): layer.latency_ms for m in spec.models for layer in m.layers}
    for m, ly, k, _ in rows:
        values = [v for m2, l2, k2, v in rows if (m2, l2, k2) == (m, ly, k)]
        assert got[(m, ly)][k] == pytest.approx(statistics.median(values), rel=1e-5, abs=1e-9)
    # layer order is the order of first appearance
    for m in spec.models:
        first = list(dict.fromkeys(ly for m2, ly, _, _ in rows if m2 == m.name))
        assert [layer.name for layer in m.layers] == first
