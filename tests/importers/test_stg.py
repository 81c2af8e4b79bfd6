"""The Kasahara STG reader, on a hand-written file and on copies of two public graphs
(tests/data/stg, CC0, with their listed optima in optima.csv)."""

from pathlib import Path

import pytest

from rtgen_opt.errors import SpecError
from rtgen_opt.exact.result import SolveStatus
from rtgen_opt.exact.solve import solve
from rtgen_opt.importers.stg import DEFAULT_PROCESSORS, read_stg
from rtgen_opt.inputs import is_instance_file, load_instance
from rtgen_opt.validate import validate

DATA = Path(__file__).parents[1] / "data" / "stg"

#: 4 real tasks: 1 -> 3, 2 -> 3, 2 -> 4; dummies 0 (entry) and 5 (exit); a comment at the end.
TINY = """4
   0   0   0
   1   3   1   0
   2   2   1   0
   3   4   2   1   2
   4   5   1   2
   5   0   2   3   4
# Tasks : 4
"""


def _listed() -> dict[tuple[str, int], float]:
    rows = (line.split(",") for line in (DATA / "optima.csv").read_text().splitlines())
    return {(Path(path).stem, int(m)): float(opt) for path, m, opt in rows}


def test_tiny_file(tmp_path):
    p = tmp_path / "tiny.stg"
    p.write_text(TINY)
    inst = read_stg(p, processors=2)
    assert sorted(inst.tasks) == ["t1", "t2", "t3", "t4"]  # the dummies are left out
    assert sorted(inst.graph.edges) == [("t1", "t3"), ("t2", "t3"), ("t2", "t4")]
    assert inst.processors == ("p0", "p1") and inst.durations("t4") == {"p0": 5.0, "p1": 5.0}
    assert inst.resolution == 1.0 and len(inst.jobs) == 4
    assert all(j.deadline is None and not j.droppable for j in inst.jobs.values())
    # By hand: t1 || t2 (ends 3 and 2), t4 at 2-7, t3 at 3-7: makespan 7 (the critical path).
    r = solve(inst, "makespan", time_limit=5)
    assert r.status is SolveStatus.OPTIMAL and r.objective == (7.0,)
    # One processor: all the work, 14.
    assert solve(read_stg(p, processors=1), "makespan", time_limit=5).objective == (14.0,)


def test_suffix_is_registered(tmp_path):
    p = tmp_path / "tiny.stg"
    p.write_text(TINY)
    assert is_instance_file(p)
    assert len(load_instance(p).processors) == DEFAULT_PROCESSORS
    assert len(load_instance(p, processors=3).processors) == 3
    with pytest.raises(SpecError, match="only a scenario compiles"):
        load_instance(p, seed=1)


def test_real_graph_has_its_tasks_and_edges():
    inst = read_stg(DATA / "rand0000.stg", processors=8)
    # The file's own summary: 50 tasks, 96 edges (+ 23 to and from the dummies).
    assert len(inst.tasks) == 50 and inst.graph.number_of_edges() == 96
    assert inst.durations("t1") == dict.fromkeys([f"p{k}" for k in range(8)], 9.0)
    assert ("t10", "t20") in inst.graph.edges  # line "20 8 5 10 12 14 16 19"


@pytest.mark.parametrize(("graph", "m"), [("rand0000", 2), ("rand0000", 4), ("rand0001", 4)])
def test_listed_optimum_is_reproduced(graph, m):
    inst = read_stg(DATA / f"{graph}.stg", processors=m)
    r = solve(inst, "makespan", time_limit=20)
    assert r.status is SolveStatus.OPTIMAL
    assert r.objective == (_listed()[graph, m],)
    assert validate(inst, r.schedule) == []
    assert r.stats["pools"] == [[f"p{k}" for k in range(m)]]  # solved as one cumulative


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", None),
        ("x\n", "line 1"),
        ("2\n0 0 0\n1 3 1 0\n", None),  # too few task lines
        ("1\n0 0 0\n2 3 1 0\n2 0 1 1\n", "line 3"),  # ids out of order
        ("1\n0 0 0\n1 3 1 2\n2 0 1 1\n", "line 3"),  # a predecessor that comes later
        ("1\n0 0 0\n1 -3 1 0\n2 0 1 1\n", "line 3"),  # negative time
        ("1\n0 0 0\n1 3 2 0\n2 0 1 1\n", "line 3"),  # npred disagrees with the list
        ("1\n0 1 0\n1 3 1 0\n2 0 1 1\n", "line 2"),  # a dummy with time
    ],
)
def test_malformed_files_name_the_line(tmp_path, text, where):
    p = tmp_path / "bad.stg"
    p.write_text(text)
    with pytest.raises(SpecError) as err:
        read_stg(p)
    assert err.value.field == where


def test_processors_must_be_positive(tmp_path):
    p = tmp_path / "tiny.stg"
    p.write_text(TINY)
    with pytest.raises(SpecError, match="positive integer"):
        read_stg(p, processors=0)
