"""An --out that cannot be written is refused before anything runs; a finished result whose
write fails all the same is kept in a temporary file, never lost."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from rtgen_opt.cli import main
from rtgen_opt.instance import Instance
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import validate

FT06 = str(Path(__file__).parents[1] / "data" / "ft06.json")


@pytest.mark.parametrize(
    "args",
    [
        ["solve", FT06, "--out", "{file}/s.json"],
        ["solve", FT06, "--write-lp", "{file}/m.lp"],
        ["replay", FT06, "--out", "{file}/s.json"],
        ["report", FT06, "--out", "{file}/report"],
        ["report", FT06, "--out", "{file}"],
        ["gantt", FT06, "-i", FT06, "--out", "{file}/g.png"],
        ["import", "csv", "m.csv", "--out", "{file}/p.yaml"],
    ],
)
def test_an_unwritable_out_is_refused_before_running(tmp_path, args):
    file = tmp_path / "a-file"
    file.write_text("not a folder")
    res = CliRunner().invoke(main, [a.format(file=file) for a in args])
    assert res.exit_code == 2, res.output
    (line,) = res.stderr.splitlines()
    assert line.startswith("rtgen-opt: error: --") and "a-file" in line
    assert "solving" not in res.stderr and res.stdout == ""  # nothing ran


def test_a_write_that_fails_after_the_solve_keeps_the_schedule(tmp_path, monkeypatch):
    import rtgen_opt.cli.params as params

    monkeypatch.setattr(params, "writable", lambda path, folder=False: None)  # slips through
    file = tmp_path / "a-file"
    file.write_text("not a folder")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    res = CliRunner().invoke(
        main, ["solve", FT06, "--objective", "makespan", "-q", "--out", f"{file}/s.json"]
    )
    assert res.exit_code == 2, res.output
    assert "status     optimal" in res.stdout  # the result was printed
    (line,) = res.stderr.splitlines()
    assert line.startswith(f"rtgen-opt: error: --out: cannot write {file}/s.json (")
    kept = Path(line.split("the schedule is kept in ")[1])
    assert kept.parent == tmp_path and kept.suffix == ".json"
    assert validate(Instance.load(FT06), Schedule.load(kept)) == []
