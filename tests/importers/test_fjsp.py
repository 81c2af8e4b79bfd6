"""The flexible job shop reader, on copies of the public benchmark files (tests/data/fjsp)."""

from pathlib import Path

import pytest

from rtgen_opt.errors import SpecError
from rtgen_opt.exact.result import SolveStatus
from rtgen_opt.exact.solve import solve
from rtgen_opt.importers.fjsp import read_fjsp

DATA = Path(__file__).parents[1] / "data" / "fjsp"


def test_reads_kacem1():
    inst = read_fjsp(DATA / "179.txt")  # Kacem 1: 4 jobs, 5 machines, 3+3+4+2 operations
    assert len(inst.processors) == 5 and len(inst.jobs) == 4 and len(inst.tasks) == 12
    assert inst.durations("j0.0") == {"m0": 2.0, "m1": 5.0, "m2": 4.0, "m3": 1.0, "m4": 2.0}
    assert ("j0.0", "j0.1") in inst.graph.edges and inst.resolution == 1.0
    assert all(j.deadline is None for j in inst.jobs.values())


@pytest.mark.parametrize(("name", "best"), [("179.txt", 11), ("182.txt", 7), ("184.txt", 468)])
def test_small_benchmarks_reach_the_known_optimum(name, best):
    inst = read_fjsp(DATA / name)
    r = solve(inst, "makespan", time_limit=10)
    assert r.status is SolveStatus.OPTIMAL and r.objective == (float(best),)


def test_brandimarte_fjs_format(tmp_path):
    p = tmp_path / "tiny.fjs"
    # 2 jobs, 2 machines; job 0: op (m1:3 | m2:5), op (m2:2); job 1: op (m1:4)
    p.write_text("2 2 1.5\n2 2 1 3 2 5 1 2 2\n1 1 1 4\n")
    inst = read_fjsp(p)
    assert inst.durations("j0.0") == {"m0": 3.0, "m1": 5.0}
    assert inst.durations("j0.1") == {"m1": 2.0} and inst.durations("j1.0") == {"m0": 4.0}
    assert solve(inst, "makespan", time_limit=5).objective == (7.0,)


@pytest.mark.parametrize(
    ("text", "field"),
    [("2\n2\n1 1\n3 0\n", None), ("1\n2\n1\n0 0\n", "line 4"), ("1\nx\n1\n1 1\n", "line 2")],
)
def test_malformed_files_name_file_and_line(tmp_path, text, field):
    p = tmp_path / "bad.txt"
    p.write_text(text)
    with pytest.raises(SpecError) as err:
        read_fjsp(p)
    assert err.value.file == str(p) and err.value.field == field
