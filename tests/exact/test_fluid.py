"""The fluid window bound: by hand, against brute force, and never above a proven optimum."""

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rtgen_opt.exact.fluid import _best_disjoint, _rhythm, fluid_bound, window_loss
from rtgen_opt.exact.result import SolveStatus
from rtgen_opt.exact.solve import bounds, solve
from rtgen_opt.instance import Instance, Link, Platform, Processor

CHIP = Platform("chip", (Processor("npu", "npu", 1.0, 0.1), Processor("cpu", "cpu", 4.0, 0.5)))


def _burst(g: nx.DiGraph, at: float, n: int = 3) -> None:
    """``n`` one-task jobs released at ``at``, due 4 ms later: 2 ms on the NPU, 3 ms on the CPU."""
    for k in range(n):
        g.add_node(
            f"b{at:g}_{k}", durations={"npu": 2.0, "cpu": 3.0}, release=at, deadline=at + 4.0
        )


def test_heterogeneous_window_beats_the_fastest_duration_bound():
    # Work at the fastest speed is 3 x 2 = 6 <= 2 processors x 4, so the solver-free bound sees
    # no miss. But the CPU can do one job (3 ms) and the NPU two: the fourth must miss.
    g = nx.DiGraph()
    _burst(g, 0.0, n=4)
    inst = Instance.from_networkx(g, CHIP)
    assert bounds(inst, "misses")["bound"] == 0.0
    fluid = fluid_bound(inst)
    assert fluid.bound == 1.0
    assert solve(inst, "misses", time_limit=5).objective == (1.0,)


def test_windows_apart_in_time_add_up():
    g = nx.DiGraph()
    for at in (0.0, 10.0, 20.0):
        _burst(g, at, n=4)
    fluid = fluid_bound(Instance.from_networkx(g, CHIP))
    assert fluid.bound == 3.0
    assert len(fluid.windows) == 3


def test_a_deadline_in_the_past_keeps_the_sure_misses_only():
    g = nx.DiGraph()
    _burst(g, 0.0, n=4)
    g.add_node("late", durations={"npu": 9.0}, deadline=5.0, weight=2.0)
    inst = Instance.from_networkx(g, CHIP)
    assert fluid_bound(inst, until=0.0).bound == 2.0  # no window tried; the sure miss holds
    assert fluid_bound(inst).bound == 3.0


def test_window_loss_by_hand():
    frame = (2.0, ((("gpu", 4), ("npu", 3)),))
    assert window_loss([frame], [3], 12) == 0.0  # 3 on the NPU in 9
    # In 4: 1 frame on the GPU and 4/3 on the NPU; 2/3 of a frame of weight 2 is late.
    assert window_loss([frame], [3], 4) == pytest.approx(4 / 3)


@given(
    st.lists(
        st.tuples(st.integers(0, 20), st.integers(1, 10), st.integers(1, 5)), min_size=0, max_size=8
    )
)
def test_best_disjoint_is_the_best_subset(raw):
    found = [(a, a + length, float(loss)) for a, length, loss in raw]
    total, chosen = _best_disjoint(found)
    best = 0.0
    for r in range(len(found) + 1):
        for subset in itertools.combinations(found, r):
            spans = sorted((a, b) for a, b, _ in subset)
            if all(spans[i][1] <= spans[i + 1][0] for i in range(len(spans) - 1)):
                best = max(best, sum(loss for *_, loss in subset))
    assert total == best
    assert sum(loss for *_, loss in chosen) == total


def _chained(draw, g, procs, longest, name, previous, release, deadline, weight):
    """Add task ``name`` (job: ``name`` up to its last ``/``) on some of ``procs``, 1 to
    ``longest`` ms on each, after ``previous``; return its name."""
    elig = draw(st.lists(st.sampled_from(procs), min_size=1, max_size=len(procs), unique=True))
    g.add_node(
        name,
        durations={p: float(draw(st.integers(1, longest))) for p in elig},
        release=release,
        deadline=deadline,
        weight=weight,
        job=name.rsplit("/", 1)[0],
    )
    if previous is not None:
        g.add_edge(previous, name)
    return name


@st.composite
def chains(draw):
    """Jobs of one to three chained tasks on up to three processors of different speeds."""
    procs = ["p0", "p1", "p2"][: draw(st.integers(1, 3))]
    platform = Platform(
        "p",
        tuple(Processor(p, f"k{i}", 1.0, 0.1) for i, p in enumerate(procs)),
        default_link=Link(sync_ms=draw(st.sampled_from([0.0, 1.0]))),
    )
    g = nx.DiGraph()
    for j in range(draw(st.integers(1, 5))):
        release = float(draw(st.integers(0, 6)))
        deadline = release + float(draw(st.integers(2, 12)))
        weight = float(draw(st.sampled_from([1, 2])))
        previous = None
        for k in range(draw(st.integers(1, 3))):
            previous = _chained(draw, g, procs, 6, f"J{j}/{k}", previous, release, deadline, weight)
    mode = draw(st.sampled_from(["late", "drop"]))
    return Instance.from_networkx(g, platform, miss_mode=mode)


def _at_most_the_proven_optimum(inst):
    r = solve(inst, "misses", time_limit=5, workers=1)
    assert r.status is SolveStatus.OPTIMAL
    assert fluid_bound(inst).bound <= r.objective[0] + 1e-6


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=chains())
def test_never_above_the_proven_optimum(inst):
    _at_most_the_proven_optimum(inst)


def _beat(
    g: nx.DiGraph,
    period: int,
    count: int,
    durations: dict,
    weight: float = 1.0,
    phase: int = 0,
) -> None:
    """``count`` one-task jobs released every ``period`` ms from ``phase``, each due one
    period later."""
    for k in range(count):
        g.add_node(
            f"f{k}",
            durations=durations,
            release=float(phase + k * period),
            deadline=float(phase + (k + 1) * period),
            weight=weight,
        )


def test_a_long_task_blocks_the_short_jobs_released_while_it_runs():
    # Ten 1 ms frames every 4 ms and a 20 ms task, all due by 40 ms, on one processor: 30 ms of
    # work in 40, so the plain programme keeps them all. But while the long task runs, the
    # frames released in its first 16 ms cannot run at all: the long task, or frames, miss.
    g = nx.DiGraph()
    _beat(g, 4, 10, {"m": 1.0})
    g.add_node("long", durations={"m": 20.0}, deadline=40.0)
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    assert window_loss(*_plain(inst)) == 0.0
    assert fluid_bound(inst).bound == 1.0
    assert solve(inst, "misses", time_limit=5).objective == (1.0,)


def test_the_edged_count_sees_the_jobs_a_long_task_leaves_no_room_for():
    # Fifty 2 ms frames every 8 ms and four 31 ms tasks (weight 10) on one processor, all due by
    # 400 ms. Wherever a long task runs, the frames released from 2 ms before it to 25 ms after
    # its start find no 2 ms free in their span: 3 of them at least, 12 for the four. The classic
    # count (spans wholly inside a task) sees 2 per task, 8 in all; the edged count 3 per task,
    # less one frame at each edge of the window: 10.
    g = nx.DiGraph()
    _beat(g, 8, 50, {"m": 2.0})
    for i in range(4):
        g.add_node(f"L{i}", durations={"m": 31.0}, deadline=400.0, weight=10.0)
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    found = solve(inst, "misses", time_limit=5, workers=1)  # 12, unproven: its bound is weak
    assert fluid_bound(inst).bound == 10.0 <= found.objective[0]


def test_the_edged_count_pays_for_a_window_that_starts_before_the_first_release():
    # A 12 ms task at [0, 12] and 3 ms frames every 8 ms from 8: the task keeps none of them
    # off (the first frame runs at [12, 15]), though its edged interval (-3, 7) is 10 long;
    # the window starts at 0, where no frame is released yet, and the row pays for that edge.
    g = nx.DiGraph()
    _beat(g, 8, 4, {"m": 3.0}, phase=8)
    g.add_node("long", durations={"m": 12.0}, deadline=12.0)
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    assert solve(inst, "misses", time_limit=5).objective == (0.0,)
    assert fluid_bound(inst).bound == 0.0


def test_a_job_on_time_needs_its_predecessor_job_run_even_late():
    # On one processor, all in [0, 8]: job A (6 ms, due 6, weight 1) precedes job B (2 ms, due
    # 8, weight 2); job C (6 ms, due 8, weight 2) competes. A and B on time miss C: 2. Without
    # the chain rows the programme gives up A alone (1), as if B could run without it; with
    # them, B on time needs A's 6 ms run too, and the bound is the optimum, 2.
    g = nx.DiGraph()
    g.add_node("a", durations={"m": 6.0}, deadline=6.0, weight=1.0, job="A")
    g.add_node("b", durations={"m": 2.0}, deadline=8.0, weight=2.0, job="B")
    g.add_node("c", durations={"m": 6.0}, deadline=8.0, weight=2.0, job="C")
    g.add_edge("a", "b")
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    assert window_loss(*_plain(inst)) == 1.0
    assert solve(inst, "misses", time_limit=5, workers=1).objective == (2.0,)
    assert fluid_bound(inst).bound == 2.0


@st.composite
def requests(draw):
    """LLM-like requests: chains of tasks cut into jobs (each job's last task precedes the next
    job's first), beside one-task jobs, on up to three processors of different speeds."""
    procs = ["p0", "p1", "p2"][: draw(st.integers(1, 3))]
    platform = Platform("p", tuple(Processor(p, f"k{i}", 1.0, 0.1) for i, p in enumerate(procs)))
    g = nx.DiGraph()
    for r in range(draw(st.integers(1, 2))):
        release = float(draw(st.integers(0, 4)))
        previous, due = None, release
        for j in range(draw(st.integers(2, 3))):
            due += float(draw(st.integers(2, 6)))
            # the first job long (a prefill), the others short (decode blocks)
            most = 6 if j == 0 else 3
            weight = float(draw(st.sampled_from([1, 2])))
            for k in range(draw(st.integers(1, 2))):
                name = f"R{r}/{j}/{k}"
                previous = _chained(draw, g, procs, most, name, previous, release, due, weight)
    for i in range(draw(st.integers(1, 4))):
        release = float(draw(st.integers(0, 8)))
        g.add_node(
            f"S{i}",
            durations={p: float(draw(st.integers(1, 4))) for p in procs},
            release=release,
            deadline=release + float(draw(st.integers(2, 8))),
            weight=float(draw(st.sampled_from([1, 2]))),
        )
    mode = draw(st.sampled_from(["late", "drop"]))
    return Instance.from_networkx(g, platform, miss_mode=mode)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=requests())
def test_with_jobs_in_chains_never_above_the_proven_optimum(inst):
    _at_most_the_proven_optimum(inst)


def _plain(inst):
    """The programme of the whole instance as one window, without the blocking cut."""
    from rtgen_opt.exact.fluid import job_kinds
    from rtgen_opt.exact.windows import windows

    win = windows(inst)
    kinds, of, _ = job_kinds(inst, win)
    counts = np.bincount(list(of.values()), minlength=len(kinds))
    return kinds, counts.tolist(), max(win.deadline.values())


def test_rhythm_counts_releases_from_the_window_start_to_the_last_start_that_fits():
    releases, spans = np.array([10, 18, 26]), np.array([8, 8, 8])
    # [0, 34]: nothing released in [0, 10), so the gap is 10
    assert _rhythm(releases, spans, 0, 42) == (10, 8, 0)
    # [10, 26]: 8 apart, the last at the end (gap 1 after it)
    assert _rhythm(releases, spans, 10, 34) == (8, 8, 0)
    assert _rhythm(releases, spans, 27, 60) is None
    # [10, 92]: the releases stop at 26, long before 92: the rhythm (8) holds to 33, and the
    # 59 after it are a tail the rows pay for, not a gap of 67
    assert _rhythm(releases, spans, 10, 100) == (8, 8, 59)


@st.composite
def beats(draw):
    """A periodic stream of short jobs beside a few long tasks, on one or two processors."""
    procs = ["p0", "p1"][: draw(st.integers(1, 2))]
    platform = Platform("p", tuple(Processor(p, f"k{i}", 1.0, 0.1) for i, p in enumerate(procs)))
    g = nx.DiGraph()
    period = draw(st.integers(2, 5))
    short = {p: float(draw(st.integers(1, period))) for p in procs}
    weight = float(draw(st.sampled_from([1, 2])))
    # a phase: the beat may start after a long task (a window's first release is then late)
    _beat(g, period, draw(st.integers(2, 8)), short, weight, phase=draw(st.integers(0, period)))
    for i in range(draw(st.integers(1, 3))):
        release = float(draw(st.integers(0, 10)))
        g.add_node(
            f"L{i}",
            durations={p: float(draw(st.integers(period, 4 * period))) for p in procs},
            release=release,
            deadline=release + float(draw(st.integers(4 * period, 8 * period))),
        )
    mode = draw(st.sampled_from(["late", "drop"]))
    return Instance.from_networkx(g, platform, miss_mode=mode)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inst=beats())
def test_with_long_tasks_beside_a_beat_never_above_the_proven_optimum(inst):
    _at_most_the_proven_optimum(inst)


def test_the_front_door_proves_with_it_where_no_start_meets_the_solver_free_bound(monkeypatch):
    import rtgen_opt
    import rtgen_opt.optimise as optimise

    g = nx.DiGraph()
    _burst(g, 0.0, n=4)
    inst = Instance.from_networkx(g, CHIP)
    monkeypatch.setattr(optimise, "MONOLITHIC_TASKS", 1)  # the decomposition's front door
    r = rtgen_opt.solve(inst, time_limit=10, workers=1)
    # Every start misses one job; the solver-free bound is 0, the fluid bound 1: proven.
    assert r.stats["method"] == "decompose" and r.stats["fluid"]["bound"] == 1.0
    assert r.status is SolveStatus.OPTIMAL and r.objective == r.bound == (1.0,)
    assert not r.stats["model_built"]
    monkeypatch.setattr(optimise, "FLUID_SHARE", 0)
    r = rtgen_opt.solve(inst, time_limit=10, workers=1)
    assert "fluid" not in r.stats


def test_rtgen_opt_bounds_gives_it_when_asked():
    import rtgen_opt
    from rtgen_opt.errors import ArgumentError

    g = nx.DiGraph()
    _burst(g, 0.0, n=4)
    inst = Instance.from_networkx(g, CHIP)
    assert "fluid" not in rtgen_opt.bounds(inst, "misses")
    b = rtgen_opt.bounds(inst, "misses", fluid=True)
    assert b["fluid"] == 1.0 and b["bound"] == 1.0 and b["window_misses"] == 0.0
    with pytest.raises(ArgumentError, match="fluid window bound is on misses"):
        rtgen_opt.bounds(inst, "makespan", fluid=True)
