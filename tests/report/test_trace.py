"""Chrome trace export: the JSON follows the trace event format and says what the schedule says."""

import json
from collections import Counter, defaultdict

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtgen_opt.errors import InvalidScheduleError
from rtgen_opt.instance import Instance, Platform, Processor
from rtgen_opt.report.trace import chrome_trace, save_trace
from rtgen_opt.schedule import Schedule


def _instance(miss_mode="late"):
    platform = Platform("p", (Processor("cpu", "cpu"), Processor("npu", "npu")))
    g = nx.DiGraph()
    g.add_node("a", durations={"cpu": 2.0, "npu": 1.0}, job="A", stream="cam", deadline=4.0)
    g.add_node("b", durations={"cpu": 2.0, "npu": 3.0}, job="A", stream="cam", deadline=4.0)
    g.add_node("c", durations={"npu": 1.0}, job="C", stream="mic", deadline=2.0)
    g.add_node("d", durations={"cpu": 1.0}, job="D", stream="mic", deadline=9.0)
    g.add_edge("a", "b", bytes=100.0, delay=0.5)
    g.add_edge("c", "d", delay=0.25)
    return Instance.from_networkx(g, platform, miss_mode=miss_mode, name="tiny")


# a on npu, b on cpu (transfer 0.5), c late on npu, d on cpu (transfer 0.25): C misses.
SCHEDULE = Schedule.build(
    [("a", "npu", 0, 1), ("b", "cpu", 1.5, 3.5), ("c", "npu", 1.5, 2.5), ("d", "cpu", 3.5, 4.5)],
    method="hand",
)

PHASE_FIELDS = {
    "X": {"name", "ph", "ts", "dur", "pid", "tid"},
    "M": {"name", "ph", "pid", "args"},
    "s": {"name", "cat", "ph", "id", "ts", "pid", "tid"},
    "f": {"name", "cat", "ph", "id", "ts", "pid", "tid"},
    "i": {"name", "ph", "ts", "pid", "tid", "s"},
}


def check_trace_format(trace):
    """The structural rules of the Chrome trace event format (JSON object form) we rely on."""
    text = json.dumps(trace, allow_nan=False)  # NaN/inf are not JSON
    trace = json.loads(text)
    assert set(trace) >= {"traceEvents"} and trace["displayTimeUnit"] in ("ms", "ns")
    events = trace["traceEvents"]
    slices = defaultdict(list)
    for e in events:
        assert e["ph"] in PHASE_FIELDS, e
        assert PHASE_FIELDS[e["ph"]] <= set(e), e
        assert isinstance(e["pid"], int) and isinstance(e.get("tid", 0), int)
        if "ts" in e:
            assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0
        if e["ph"] == "X":
            assert e["dur"] >= 0
            slices[(e["pid"], e["tid"])].append((e["ts"], e["ts"] + e["dur"], e["name"]))
        if e["ph"] == "M":
            assert e["name"] in (
                "process_name",
                "thread_name",
                "thread_sort_index",
                "process_sort_index",
            )
        if e["ph"] == "i":
            assert e["s"] in ("g", "p", "t")
    # slices on one thread never overlap (a processor runs one task at a time)
    for spans in slices.values():
        spans.sort()
        for (_s0, e0, _), (s1, _e1, _) in zip(spans, spans[1:], strict=False):
            assert s1 >= e0 - 1e-6
    # every flow: exactly one start and one end with the same id, cat and name; each binds to a
    # slice that strictly encloses it on its own thread ("enclosing slice" binding)
    flows = defaultdict(dict)
    for e in events:
        if e["ph"] in "sf":
            assert e["ph"] not in flows[e["id"]], f"duplicate flow event {e}"
            flows[e["id"]][e["ph"]] = e
    bound = {}
    for fid, pair in flows.items():
        assert set(pair) == {"s", "f"}, fid
        s, f = pair["s"], pair["f"]
        assert (s["cat"], s["name"]) == (f["cat"], f["name"])
        assert f.get("bp") == "e"
        ends = []
        for e in (s, f):
            inside = [sl for sl in slices[(e["pid"], e["tid"])] if sl[0] <= e["ts"] <= sl[1]]
            assert len(inside) == 1, (e, inside)
            ends.append(inside[0])
        assert ends[0][1] <= ends[1][0] + 1e-6  # the producer ends before the consumer starts
        bound[fid] = (ends[0][2], ends[1][2])
    return trace, bound


def test_trace_layout_by_hand(tmp_path):
    inst = _instance()
    trace, flows = check_trace_format(chrome_trace(inst, SCHEDULE))
    events = trace["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert names == {1: "cpu (cpu)", 2: "npu (npu)"}
    x = {e["name"]: e for e in events if e["ph"] == "X"}
    assert set(x) == {"a", "b", "c", "d"}
    assert (x["b"]["ts"], x["b"]["dur"], x["b"]["tid"]) == (1500.0, 2000.0, 1)  # microseconds
    assert x["c"]["args"] == {
        "job": "C",
        "stream": "mic",
        "phase": "task",
        "deadline_ms": 2.0,
        "start_ms": 1.5,
        "end_ms": 2.5,
        "missed": True,
    }
    # two transfers: a(npu) -> b(cpu) and c(npu) -> d(cpu); bound to the right slices
    assert sorted(flows.values()) == [("a", "b"), ("c", "d")]
    s_ab = next(e for e in events if e["ph"] == "s" and e["name"] == "a -> b")
    assert s_ab["args"]["delay_ms"] == pytest.approx(0.5)
    # one miss, C, marked at its deadline on the lane of its last task (npu)
    misses = [e for e in events if e["ph"] == "i"]
    assert [(m["args"]["job"], m["ts"], m["tid"]) for m in misses] == [("C", 2000.0, 2)]
    assert misses[0]["args"]["lateness_ms"] == pytest.approx(0.5)
    path = save_trace(inst, SCHEDULE, tmp_path / "t.json")
    assert json.loads(path.read_text()) == json.loads(json.dumps(trace))


def test_no_flow_between_tasks_on_one_processor():
    inst = _instance()
    s = Schedule.build(
        [("a", "cpu", 0, 2), ("b", "cpu", 2, 4), ("c", "npu", 0, 1), ("d", "cpu", 4, 5)]
    )
    trace, flows = check_trace_format(chrome_trace(inst, s))
    assert list(flows.values()) == [("c", "d")]  # a -> b stays on the cpu: no transfer
    assert not [e for e in trace["traceEvents"] if e["ph"] == "i"]


def test_dropped_jobs_get_their_own_track():
    inst = _instance("drop")
    s = Schedule.build([("a", "npu", 0, 1), ("b", "cpu", 1.5, 3.5)], dropped=["C", "D"])
    trace, flows = check_trace_format(chrome_trace(inst, s))
    events = trace["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert names[3] == "dropped jobs"
    misses = sorted(
        (e["args"]["job"], e["tid"], e["args"]["dropped"]) for e in events if e["ph"] == "i"
    )
    assert misses == [("C", 3, True), ("D", 3, True)]
    assert trace["otherData"]["dropped_jobs"] == 2


def test_invalid_schedule_is_refused():
    with pytest.raises(InvalidScheduleError):
        chrome_trace(_instance(), Schedule.build([("a", "npu", 0, 5)]))


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_random_chains_give_well_formed_traces(data):
    """Random chains greedily placed on random processors: the trace is always well formed and
    has one flow per cross-processor edge and one slice per task."""
    n = data.draw(st.integers(1, 8))
    procs = ["p0", "p1", "p2"]
    g = nx.DiGraph()
    for i in range(n):
        g.add_node(
            f"t{i}",
            durations={p: data.draw(st.sampled_from([0.5, 1.0, 2.0])) for p in procs},
            deadline=data.draw(st.sampled_from([2.0, 5.0, 50.0])),
            job=f"t{i}",
        )
        if i:
            g.add_edge(f"t{i - 1}", f"t{i}", delay=0.125)
    inst = Instance.from_networkx(g, Platform.homogeneous(procs))
    rows, t, prev = [], 0.0, None
    for i in range(n):
        p = data.draw(st.sampled_from(procs))
        if prev is not None and prev != p:
            t += 0.125
        d = inst.durations(f"t{i}")[p]
        rows.append((f"t{i}", p, t, t + d))
        t, prev = t + d, p
    sched = Schedule.build(rows)
    trace, flows = check_trace_format(chrome_trace(inst, sched))
    crossings = sum(1 for a, b in zip(rows, rows[1:], strict=False) if a[1] != b[1])
    assert len(flows) == crossings
    assert Counter(e["ph"] for e in trace["traceEvents"])["X"] == n
