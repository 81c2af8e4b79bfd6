"""``rtgen-opt ... | head``: a closed output pipe ends the command quietly with 141 (128 +
SIGPIPE, what the shell reports for coreutils), in a real subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

FT06 = str(Path(__file__).parents[1] / "data" / "ft06.json")


@pytest.mark.parametrize("args", [["schema"], ["replay", FT06, "--policy", "all"]])
def test_a_closed_pipe_exits_141_without_a_word(args):
    proc = subprocess.Popen(
        [sys.executable, "-m", "rtgen_opt", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert err == ""


def test_head_reads_the_first_line_and_the_pipeline_ends():
    out = subprocess.run(
        f"{sys.executable} -m rtgen_opt schema scenario | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout == "{\n" and out.stderr == ""
