"""The one validator catches each kind of violation: every test breaks a valid schedule one way."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rtgen_opt.errors import InvalidScheduleError
from rtgen_opt.instance import Instance, Link, Platform, Processor
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import VIOLATION_KINDS, check, validate

# Transfers between different processors: 0.5 ms sync + 1000 bytes/ms.
LINK = Link(sync_ms=0.5, bytes_per_ms=1000.0)


def _instance(miss_mode: str = "drop") -> Instance:
    """Two camera frames F0, F1 (two tasks each) with a cascaded gaze frame G0, G1 hanging off
    each, and one non-droppable LLM task L, on cpu/gpu/npu."""
    platform = Platform(
        "soc",
        (Processor("cpu", "cpu"), Processor("gpu", "gpu"), Processor("npu", "npu")),
        default_link=LINK,
    )
    g = nx.DiGraph()
    for k, release in ((0, 0.0), (1, 5.0)):
        deadline = release + 10.0
        frame = dict(job=f"F{k}", stream="cam", release=release, deadline=deadline)
        g.add_node(f"f{k}a", durations={"cpu": 2.0, "npu": 1.0}, **frame)
        g.add_node(f"f{k}b", durations={"gpu": 2.0, "cpu": 3.0}, **frame)
        g.add_node(
            f"g{k}",
            durations={"npu": 1.5, "cpu": 2.0, "gpu": 1.0},
            job=f"G{k}",
            stream="gaze",
            release=release,
            deadline=deadline,
        )
        g.add_edge(f"f{k}a", f"f{k}b", bytes=1000.0)  # npu -> gpu: 0.5 + 1.0 ms
        g.add_edge(f"f{k}b", f"g{k}", bytes=500.0)  # gpu -> npu: 0.5 + 0.5 ms
    g.add_node(
        "l",
        durations={"gpu": 3.0, "cpu": 4.0},
        job="L",
        stream="llm",
        release=1.0,
        deadline=20.0,
        phase="prefill",
        droppable=False,
    )
    return Instance.from_networkx(g, platform, miss_mode=miss_mode)


ROWS = {
    "f0a": ("npu", 0.0, 1.0),
    "f0b": ("gpu", 2.5, 4.5),  # f0a ends 1.0 + transfer 1.5
    "g0": ("npu", 5.5, 7.0),  # f0b ends 4.5 + transfer 1.0
    "l": ("cpu", 1.0, 5.0),
    "f1a": ("npu", 7.0, 8.0),
    "f1b": ("gpu", 9.5, 11.5),
    "g1": ("npu", 12.5, 14.0),
}


def _schedule(dropped=(), **changes) -> Schedule:
    """The valid schedule ROWS with some rows changed (a value of None removes the row)."""
    rows = {**ROWS, **changes}
    return Schedule.build(
        [(t, *r) for t, r in rows.items() if r is not None], dropped=dropped, method="test"
    )


def _only(violations, kind, tasks):
    assert [(v.kind, v.tasks) for v in violations] == [(kind, tasks)], violations


def test_base_schedules_are_valid():
    inst = _instance()
    assert validate(inst, _schedule()) == []
    assert validate(inst, _schedule(dropped=["F1", "G1"], f1a=None, f1b=None, g1=None)) == []
    assert validate(_instance("late"), _schedule()) == []
    assert check(inst, _schedule()) == _schedule()


def test_every_kind_has_a_test():
    covered = {
        "unknown_task",
        "missing_task",
        "wrong_processor",
        "wrong_duration",
        "early_start",
        "overlap",
        "precedence",
        "drop",
    }
    assert covered == set(VIOLATION_KINDS)


def test_unknown_task():
    _only(validate(_instance(), _schedule(ghost=("cpu", 20.0, 21.0))), "unknown_task", ("ghost",))


def test_missing_task():
    _only(validate(_instance(), _schedule(g0=None)), "missing_task", ("g0",))


def test_wrong_processor():
    # l cannot run on the npu; the npu is free over [1, 4]
    _only(validate(_instance(), _schedule(l=("npu", 1.0, 4.0))), "wrong_processor", ("l",))


def test_wrong_duration():
    _only(validate(_instance(), _schedule(l=("cpu", 1.0, 5.5))), "wrong_duration", ("l",))
    # shorter than its duration is wrong too
    _only(validate(_instance(), _schedule(f1b=("gpu", 9.5, 11.0))), "wrong_duration", ("f1b",))


def test_early_start():
    _only(validate(_instance(), _schedule(l=("cpu", 0.5, 4.5))), "early_start", ("l",))


def test_overlap():
    # l on the gpu over [3, 6] overlaps f0b over [2.5, 4.5]
    _only(validate(_instance(), _schedule(l=("gpu", 3.0, 6.0))), "overlap", ("f0b", "l"))


def test_precedence_before_predecessor_ends():
    _only(
        validate(_instance(), _schedule(f0b=("gpu", 0.5, 2.5))),
        "precedence",
        ("f0a", "f0b"),
    )


def test_precedence_transfer_delay():
    # g0 starts after f0b ends (4.5) but before the transfer gpu -> npu is done (5.5)
    _only(validate(_instance(), _schedule(g0=("npu", 5.0, 6.5))), "precedence", ("f0b", "g0"))
    # on the same processor as f0b the transfer is free, so 4.5 is fine there
    assert validate(_instance(), _schedule(g0=("gpu", 4.5, 5.5))) == []


def test_drop_in_late_mode():
    gone = dict(f1a=None, f1b=None, g1=None)
    v = validate(_instance("late"), _schedule(dropped=["F1", "G1"], **gone))
    assert [(x.kind, x.tasks) for x in v] == [("drop", ("f1a", "f1b")), ("drop", ("g1",))]


def test_drop_of_a_non_droppable_job():
    _only(validate(_instance(), _schedule(dropped=["L"], l=None)), "drop", ("l",))


def test_drop_with_placed_tasks():
    _only(
        validate(_instance(), _schedule(dropped=["F1", "G1"], g1=None)),
        "drop",
        ("f1a", "f1b"),
    )


def test_drop_breaks_cascade():
    # F1 dropped, its cascaded gaze frame G1 still runs: G1 must be dropped too
    _only(validate(_instance(), _schedule(dropped=["F1"], f1a=None, f1b=None)), "drop", ("g1",))


def test_drop_of_an_unknown_job():
    _only(validate(_instance(), _schedule(dropped=["nope"])), "drop", ())


def test_check_raises_with_every_violation():
    bad = _schedule(l=("cpu", 0.5, 4.5), ghost=("cpu", 20.0, 21.0))
    with pytest.raises(InvalidScheduleError) as info:
        check(_instance(), bad)
    assert sorted(v.kind for v in info.value.violations) == ["early_start", "unknown_task"]


def test_tolerance_accepts_float_noise():
    noisy = _schedule(g0=("npu", 5.5 - 1e-9, 7.0 - 1e-9))
    assert validate(_instance(), noisy) == []


# --------------------------------------------------------------------------- properties
@st.composite
def _random_case(draw):
    """A random task DAG on three processors of two kinds, drop mode, and a random drop set."""
    n = draw(st.integers(2, 12))
    procs = ("c0", "c1", "g0")
    platform = Platform(
        "rand",
        (Processor("c0", "cpu"), Processor("c1", "cpu"), Processor("g0", "gpu")),
        default_link=Link(0.25, 100.0),
        links={("cpu", "cpu"): Link(0.0, 1000.0)},
    )
    g = nx.DiGraph()
    for i in range(n):
        eligible = draw(st.lists(st.sampled_from(procs), min_size=1, max_size=3, unique=True))
        durations = {p: draw(st.integers(1, 20)) / 4 for p in eligible}
        g.add_node(
            f"t{i}",
            durations=durations,
            release=draw(st.integers(0, 20)) / 2,
            job=f"j{draw(st.integers(0, max(0, i // 2)))}",
            deadline=None,
        )
    for j in range(1, n):
        for i in draw(st.sets(st.integers(0, j - 1), max_size=2)):
            g.add_edge(f"t{i}", f"t{j}", bytes=float(draw(st.integers(0, 200))))
    inst = Instance.from_networkx(g, platform, miss_mode="drop")
    seed_drops = draw(st.sets(st.sampled_from(sorted(inst.jobs)), max_size=2))
    return inst, inst.drop_closure(seed_drops), draw(st.randoms(use_true_random=False))


def _serial_schedule(inst: Instance, dropped, rng) -> Schedule:
    """Tasks in topological order, each on a random eligible processor as early as allowed, plus
    a random slack: always valid by construction."""
    free: dict[str, float] = {}
    placed: dict[str, tuple[str, float, float]] = {}
    for t in inst.tasks:
        attrs = inst.graph.nodes[t]
        if attrs["job"] in dropped:
            continue
        proc = rng.choice(sorted(attrs["durations"]))
        ready = max(
            [attrs["release"], free.get(proc, 0.0)]
            + [
                placed[u][2] + inst.transfer_ms(u, t, placed[u][0], proc)
                for u in inst.graph.predecessors(t)
            ]
        )
        start = ready + rng.choice([0.0, 0.0, 0.5, 1.25])
        end = start + attrs["durations"][proc]
        placed[t] = (proc, start, end)
        free[proc] = end
    return Schedule.build([(t, *r) for t, r in placed.items()], dropped=dropped)


@settings(max_examples=60, deadline=None)
@given(_random_case())
def test_serial_schedules_validate(case):
    inst, dropped, rng = case
    assert validate(inst, _serial_schedule(inst, dropped, rng)) == []


@settings(max_examples=60, deadline=None)
@given(_random_case(), st.integers(1, 8))
def test_moving_a_task_before_its_release_or_predecessor_is_caught(case, quarter_ms):
    inst, dropped, rng = case
    schedule = _serial_schedule(inst, dropped, rng)
    assume(schedule.placements)
    task = rng.choice(sorted(schedule.placements))
    pl = schedule.placements[task]
    attrs = inst.graph.nodes[task]
    earliest = max(
        [attrs["release"]]
        + [
            schedule.placements[u].end
            + inst.transfer_ms(u, task, schedule.placements[u].processor, pl.processor)
            for u in inst.graph.predecessors(task)
        ]
    )
    start = earliest - quarter_ms / 4
    rows = [r for r in schedule.rows() if r[0] != task]
    rows.append((task, pl.processor, start, start + (pl.end - pl.start)))
    violations = validate(inst, Schedule.build(rows, dropped=dropped))
    kinds = {v.kind for v in violations if task in v.tasks}
    assert kinds & {"early_start", "precedence"}, violations
