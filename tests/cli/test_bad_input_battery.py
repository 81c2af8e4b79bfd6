"""Every kind of bad input, through the command line: exit status 2, one line on stderr that
names the file or the option at fault, and never a traceback.

Each case is ``(id, command line, what the line must name)``; ``{d}`` is a scratch folder
holding the files of :func:`_files`, ``{data}`` the test data.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from rtgen_opt.cli import main
from tests.spec.test_spec import SCENARIO, write_files

DATA = Path(__file__).parents[1] / "data"
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\xfd"


def _files(d: Path) -> None:
    write_files(d)  # scenario.yaml, platform.yaml, profiles.yaml: a valid toy scenario
    for suffix in ("yaml", "json", "fjs", "m", "txt", "csv"):
        (d / f"binary.{suffix}").write_bytes(BINARY)
    (d / "nul.yaml").write_bytes(b"kind: scenario\x00\x01\n")  # UTF-8, but not text
    (d / "latin1.yaml").write_bytes("kind: scenario\nname: caf\xe9\n".encode("latin-1"))
    (d / "syntax.yaml").write_text("kind: scenario\nname: [unclosed\n")
    (d / "syntax.json").write_text('{"tasks": [1, 2,,]}')
    (d / "fps.yaml").write_text(
        yaml.safe_dump({**SCENARIO, "streams": [{**SCENARIO["streams"][0], "fps": -3}]})
    )
    huge = {**SCENARIO, "horizon_ms": "HORIZON"}
    (d / "huge.yaml").write_text(yaml.safe_dump(huge).replace("HORIZON", "1e12"))
    (d / "huge_int.yaml").write_text(yaml.safe_dump({**SCENARIO, "horizon_ms": 10**12}))
    (d / "recipe.yaml").write_text("kind: recipe\n")
    (d / "empty.txt").write_text("\n")
    (d / "unknown.xyz").write_text("?")
    (d / "a-file").write_text("not a folder")
    (d / "folder.json").mkdir()


CASES = [
    # files
    ("missing-file", "solve {d}/none.json", "{d}/none.json"),
    ("missing-scenario", "inspect {d}/none.yaml", "{d}/none.yaml"),
    ("missing-schedule", "validate {d}/none.csv -i {data}/ft06.json", "{d}/none.csv"),
    ("missing-suite", "report {d}/none.yaml --out {d}/out", "{d}/none.yaml"),
    ("folder-as-file", "inspect {d}/folder.json", "{d}/folder.json"),
    ("binary-yaml", "inspect {d}/binary.yaml", "{d}/binary.yaml: not UTF-8 text"),
    ("binary-json", "solve {d}/binary.json", "{d}/binary.json: not UTF-8 text"),
    ("binary-fjs", "replay {d}/binary.fjs", "{d}/binary.fjs: not UTF-8 text"),
    ("binary-m", "inspect {d}/binary.m", "{d}/binary.m: not UTF-8 text"),
    ("binary-txt", "solve {d}/binary.txt", "{d}/binary.txt: not UTF-8 text"),
    ("binary-schedule", "validate {d}/binary.csv -i {data}/ft06.json", "{d}/binary.csv"),
    ("binary-profiles", "tags {d}/binary.yaml", "{d}/binary.yaml: not UTF-8 text"),
    ("binary-import-csv", "import csv {d}/binary.csv -o {d}/p.yaml", "{d}/binary.csv"),
    (
        "nul-yaml",
        "inspect {d}/nul.yaml",
        "{d}/nul.yaml: not a text file: control character U+0000 at position 14",
    ),
    ("latin-1", "inspect {d}/latin1.yaml", "{d}/latin1.yaml: not UTF-8 text"),
    ("yaml-syntax", "inspect {d}/syntax.yaml", "{d}/syntax.yaml: invalid YAML at line"),
    ("json-syntax", "solve {d}/syntax.json", "{d}/syntax.json: invalid JSON at line 1"),
    ("bad-field", "inspect {d}/fps.yaml", "{d}/fps.yaml: streams[0].fps: expected a number > 0"),
    ("unknown-kind", "inspect {d}/recipe.yaml", "{d}/recipe.yaml: kind"),
    ("platform-as-instance", "solve {d}/platform.yaml", "{d}/platform.yaml: kind"),
    ("empty-fjsp", "solve {d}/empty.txt", "{d}/empty.txt: empty file"),
    ("unknown-suffix", "solve {d}/unknown.xyz", "{d}/unknown.xyz: unknown file type"),
    ("task-cap-1e12", "inspect {d}/huge.yaml", "{d}/huge.yaml: horizon_ms: the scenario would"),
    ("task-cap-int", "replay {d}/huge_int.yaml", "{d}/huge_int.yaml: horizon_ms: the scenario"),
    ("load-on-json", "solve {data}/ft06.json --load 2", "only a scenario compiles"),
    # names
    ("unknown-policy", "replay {d}/scenario.yaml --policy nope", "policy: unknown policy 'nope'"),
    ("plugin-file", "replay {d}/scenario.yaml --policy {d}/none.py:P", "no such file: {d}/none.py"),
    ("plugin-module", "replay {d}/scenario.yaml --policy nomod:P", "cannot import 'nomod'"),
    ("unknown-objective", "solve {data}/ft06.json --objective speed", "unknown objective"),
    ("unknown-solver", "solve {data}/ft06.json --solver gurobi", "unknown solver 'gurobi'"),
    ("unknown-settings", "solve {data}/ft06.json --settings nope", "unknown settings 'nope'"),
    ("report-policy", "report {data}/ft06.json --out {d}/o --policies nope", "unknown policy"),
    ("schema-kind", "schema recipe", "KIND"),
    ("unknown-command", "frobnicate", "No such command 'frobnicate'"),
    # options
    ("time-limit-negative", "solve {data}/ft06.json --time-limit -1", "--time-limit: expected"),
    ("time-limit-zero", "solve {data}/ft06.json -t 0", "--time-limit: expected seconds > 0"),
    ("time-limit-nan", "solve {data}/ft06.json -t nan", "--time-limit: expected seconds > 0"),
    ("workers-zero", "solve {data}/ft06.json --workers 0", "--workers: expected an integer >= 1"),
    ("workers-negative", "solve {data}/ft06.json -w -3", "--workers: expected an integer >= 1"),
    ("workers-text", "solve {data}/ft06.json -w many", "--workers: expected an integer >= 1"),
    ("report-time-limit", "report {data}/ft06.json -o {d}/o -t 0", "--time-limit: expected"),
    ("replay-seeds", "replay {data}/ft06.json --seeds 0", "--seeds: expected an integer >= 1"),
    ("replay-noise", "replay {data}/ft06.json --noise -1", "--noise: expected a sigma >= 0"),
    ("bad-load", "inspect {d}/scenario.yaml --load -1", "--load: expected a factor > 0"),
    ("unknown-option", "solve {data}/ft06.json --bogus", "No such option '--bogus'"),
    ("missing-argument", "solve", "Missing argument 'FILE'"),
    ("missing-option", "validate {data}/ft06.json", "Missing option '--instance'"),
    # outputs
    ("out-under-a-file", "solve {data}/ft06.json --out {d}/a-file/s.json", "--out: cannot write"),
    ("out-is-a-folder", "replay {data}/ft06.json --out {d}", "--out"),
    ("report-out-a-file", "report {data}/ft06.json --out {d}/a-file", "--out"),
    ("lp-under-a-file", "solve {data}/ft06.json --write-lp {d}/a-file/m.lp", "--write-lp"),
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bad")
    _files(d)
    return d


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_exit_2_no_traceback(scratch, case):
    _, command, names = case
    fill = {"d": scratch, "data": DATA}
    args = [a.format(**fill) for a in command.split()]
    res = CliRunner().invoke(main, args)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert res.exit_code == 2, (res.exit_code, res.output)
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("rtgen-opt: error: "), lines[0]
    assert names.format(**fill) in lines[0], lines[0]
    assert "Traceback" not in res.output and res.stdout == ""


def test_every_error_of_a_file_is_a_line_of_its_own(scratch):
    bad = scratch / "several.yaml"
    streams = [{**SCENARIO["streams"][0], "fps": -3, "colour": "red"}]
    bad.write_text(yaml.safe_dump({**SCENARIO, "streams": streams, "seed": -1}))
    res = CliRunner().invoke(main, ["inspect", str(bad)])
    assert res.exit_code == 2
    assert res.stderr.splitlines() == [
        f"rtgen-opt: error: {bad}: seed: expected a number >= 0, got -1",
        f"rtgen-opt: error: {bad}: streams[0].fps: expected a number > 0, got -3",
        f"rtgen-opt: error: {bad}: streams[0].colour: unknown field",
    ]
    assert "more errors" not in res.stderr


@pytest.mark.parametrize("suffix", ["yaml", "json", "fjs", "m", "txt"])
def test_binary_input_in_a_real_process(scratch, suffix):
    path = scratch / f"binary.{suffix}"
    out = subprocess.run(
        [sys.executable, "-m", "rtgen_opt", "inspect", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and out.stdout == ""
    (line,) = out.stderr.splitlines()
    assert line.startswith(f"rtgen-opt: error: {path}: not UTF-8 text (byte 0); expected ")
