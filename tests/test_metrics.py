"""Metrics and the XRBench score, checked by hand on small schedules."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtgen_opt.errors import InvalidScheduleError
from rtgen_opt.instance import Instance, Platform, Processor, Request, Stream
from rtgen_opt.metrics import (
    FrameRecord,
    evaluate,
    realtime_score,
    xrbench_score,
    xrbench_score_of,
)
from rtgen_opt.schedule import Schedule


def _instance(miss_mode: str = "late", horizon: float = 20.0) -> Instance:
    """Camera frames F0 (release 0, deadline 10) and F1 (10, 20) on the npu; one LLM request R
    (arrival 2, 5 output tokens, TTFT SLO 5 ms, TPOT SLO 2 ms): two prefill chunks, then two
    decode blocks of 2 tokens, with milestone deadlines 7, 11, 15."""
    platform = Platform(
        "p", (Processor("cpu", "cpu", 10.0, 2.0), Processor("npu", "npu", 3.0, 1.0))
    )
    g = nx.DiGraph()
    for k in (0, 1):
        g.add_node(
            f"f{k}",
            durations={"npu": 4.0},
            job=f"F{k}",
            stream="cam",
            release=10.0 * k,
            deadline=10.0 * (k + 1),
            phase="frame",
        )
    llm = dict(stream="llm", release=2.0, request="R", droppable=False)
    g.add_node("p0", durations={"cpu": 3.0}, job="R/ttft", deadline=7.0, phase="prefill", **llm)
    g.add_node("p1", durations={"cpu": 2.0}, job="R/ttft", deadline=7.0, phase="prefill", **llm)
    g.add_node("d0", durations={"cpu": 2.0}, job="R/d0", deadline=11.0, phase="decode", **llm)
    g.add_node("d1", durations={"cpu": 2.0}, job="R/d1", deadline=15.0, phase="decode", **llm)
    nx.add_path(g, ["p0", "p1", "d0", "d1"])
    streams = {
        "cam": Stream("cam", "periodic", "seg", period_ms=10.0),
        "llm": Stream("llm", "llm", "llama", ttft_slo_ms=5.0, tpot_slo_ms=2.0),
    }
    req = Request("R", "llm", 2.0, 8, 5, 5.0, 2.0, ("p0", "p1"), ("d0", "d1"))
    return Instance.from_networkx(
        g, platform, miss_mode=miss_mode, horizon=horizon, streams=streams, requests={"R": req}
    )


LLM_ROWS = [("p0", "cpu", 2, 5), ("p1", "cpu", 5, 7), ("d0", "cpu", 7, 9), ("d1", "cpu", 9, 11)]


def test_stream_table_by_hand():
    m = evaluate(
        _instance(), Schedule.build([("f0", "npu", 0, 4), ("f1", "npu", 17, 21)] + LLM_ROWS)
    )
    s = m.streams
    assert list(s.index) == ["cam", "llm", "overall"]
    assert s.loc["cam"].to_dict() == pytest.approx(
        {"jobs": 2, "misses": 1, "dvr": 0.5, "latency_mean_ms": 7.5, "latency_p99_ms": 10.93}
    )  # latencies 4 and 11; p99 = 4 + 0.99 x 7
    assert s.loc["llm"].to_dict() == pytest.approx(
        {"jobs": 3, "misses": 0, "dvr": 0.0, "latency_mean_ms": 7.0, "latency_p99_ms": 8.96}
    )  # milestones end 7, 9, 11 after arrival 2: 5, 7, 9; p99 = 7 + 0.98 x 2
    assert s.loc["overall"].to_dict() == pytest.approx(
        {"jobs": 5, "misses": 1, "dvr": 0.2, "latency_mean_ms": 7.2, "latency_p99_ms": 10.92}
    )  # [4, 5, 7, 9, 11]: rank 3.96 -> 9 + 0.96 x 2


def test_request_processor_and_summary_by_hand():
    inst = _instance()
    sched = Schedule.build([("f0", "npu", 0, 4), ("f1", "npu", 17, 21)] + LLM_ROWS)
    m = evaluate(inst, sched)
    r = m.requests.loc["R"]
    assert r["stream"] == "llm"
    assert r["ttft_ms"] == pytest.approx(5.0)  # last prefill ends 7, arrival 2
    assert bool(r["ttft_slo_met"]) is True  # exactly on the SLO
    assert r["tpot_ms"] == pytest.approx((11 - 7) / 4)
    assert r["tokens_per_s"] == pytest.approx(5 / 0.009)

    p = m.processors
    # makespan 21 > horizon 20, so the energy window is 21 ms
    assert p.loc["npu"].to_dict() == pytest.approx(
        {"kind": "npu", "busy_ms": 8.0, "utilisation": 8 / 21, "energy_mj": 3 * 8 + 1 * 13}
    )
    assert p.loc["cpu", "energy_mj"] == pytest.approx(10 * 9 + 2 * 12)

    s = m.summary
    assert (s["jobs"], s["misses"], s["dvr"]) == (5, 1, 0.2)
    assert s["makespan_ms"] == 21.0
    assert s["energy_mj"] == pytest.approx(37 + 114)
    assert s["ttft_p50_ms"] == s["ttft_p99_ms"] == pytest.approx(5.0)
    assert s["ttft_attainment"] == 1.0
    assert s["tpot_mean_ms"] == pytest.approx(1.0)
    # objectives come from rtgen_opt.objectives: energy above idle = total - idle floor
    assert s["objective_energy"] == pytest.approx(151 - (1 + 2) * 21)
    assert s["objective_misses"] == 1.0
    assert s["objective_tardiness"] == pytest.approx(1.0)
    assert s["objective_ttft"] == pytest.approx(5.0)
    assert s["objective_makespan"] == 21.0


def test_dropped_frame_is_a_miss_without_latency():
    inst = _instance("drop")
    m = evaluate(inst, Schedule.build([("f0", "npu", 0, 4)] + LLM_ROWS, dropped=["F1"]))
    cam = m.streams.loc["cam"]
    assert (cam["jobs"], cam["misses"]) == (2, 1)
    assert cam["latency_mean_ms"] == cam["latency_p99_ms"] == 4.0
    # makespan 11 < horizon 20: idle power is paid over the horizon
    assert m.processors.loc["npu", "energy_mj"] == pytest.approx(3 * 4 + 1 * 16)
    assert m.processors.loc["npu", "utilisation"] == pytest.approx(4 / 11)


def test_missed_ttft_and_one_token_request():
    inst = _instance()
    late = [("p0", "cpu", 3, 6), ("p1", "cpu", 6, 8), ("d0", "cpu", 8, 10), ("d1", "cpu", 10, 12)]
    m = evaluate(inst, Schedule.build([("f0", "npu", 0, 4), ("f1", "npu", 10, 14)] + late))
    assert m.requests.loc["R", "ttft_ms"] == pytest.approx(6.0)
    assert not m.requests.loc["R", "ttft_slo_met"]
    assert m.summary["ttft_attainment"] == 0.0

    platform = Platform.homogeneous(["m"])
    g = nx.DiGraph()
    g.add_node("q", durations={"m": 2.0}, job="Q", stream="llm", release=1.0, phase="prefill")
    req = Request("Q", "llm", 1.0, 4, 1, 10.0, 1.0, ("q",), ())
    one = Instance.from_networkx(g, platform, requests={"Q": req})
    row = evaluate(one, Schedule.build([("q", "m", 1.0, 3.0)])).requests.loc["Q"]
    assert math.isnan(row["tpot_ms"])
    assert row["tokens_per_s"] == pytest.approx(1 / 0.002)


def test_no_requests_and_table():
    g = nx.DiGraph()
    g.add_node("a", durations={"m": 2.0}, deadline=1.0, stream="s")
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    m = evaluate(inst, Schedule.build([("a", "m", 0.0, 2.0)]))
    assert m.requests.empty and math.isnan(m.summary["ttft_p50_ms"])
    text = m.table()
    assert "Streams" in text and "LLM requests" not in text and "overall" in text

    full = evaluate(
        _instance(), Schedule.build([("f0", "npu", 0, 4), ("f1", "npu", 17, 21)] + LLM_ROWS)
    ).table()
    for needle in ("cam", "llm", "LLM requests (1)", "npu", "DVR 20.0%", "energy 151.000 mJ"):
        assert needle in full


def test_invalid_schedule_has_no_metrics():
    with pytest.raises(InvalidScheduleError):
        evaluate(_instance(), Schedule.build([("f0", "npu", 0, 5)] + LLM_ROWS))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=30))
def test_latency_stats_match_numpy(latencies):
    """One single-task job per latency, run back to back at its release: the stream's mean and
    p99 are numpy's mean and linear percentile of the latencies."""
    g = nx.DiGraph()
    rows = []
    for i, lat in enumerate(latencies):
        release = 200.0 * i
        lat = round(lat, 3)
        g.add_node(f"t{i}", durations={"m": lat}, release=release, stream="s", deadline=None)
        rows.append((f"t{i}", "m", release, release + lat))
    inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    s = evaluate(inst, Schedule.build(rows)).streams.loc["s"]
    lats = [round(x, 3) for x in latencies]
    assert s["latency_mean_ms"] == pytest.approx(np.mean(lats), abs=1e-9)
    assert s["latency_p99_ms"] == pytest.approx(np.percentile(lats, 99), abs=1e-9)
    assert s["misses"] == 0


# --------------------------------------------------------------------------- XRBench score
def test_realtime_score():
    assert realtime_score(5.0, 5.0) == 0.5
    assert realtime_score(0.0, 1.0) == pytest.approx(1 / (1 + math.exp(-15)))
    assert realtime_score(1e6, 0.0) == 0.0  # no overflow far past the deadline
    assert realtime_score(0.0, 1e6) == 1.0


def test_xrbench_score_by_hand():
    records = [
        FrameRecord("a", 10.0, 10.0, 150.0),  # RT 0.5, EN 0.9
        FrameRecord("a", 20.0, 0.0, 0.0),  # RT ~1, EN 1
        FrameRecord("a", 30.0, None, 0.0),  # dropped
        FrameRecord("b", 10.0, 5.0, 750.0),  # RT ~1, EN 0.5
    ]
    s = xrbench_score(records)
    assert list(s.models.index) == ["a", "b"]
    a = s.models.loc["a"]
    rt1 = 1 / (1 + math.exp(-300))
    assert (a["frames"], a["dropped"]) == (3, 1)
    assert a["rt"] == pytest.approx((0.5 + rt1) / 2)
    assert a["en"] == pytest.approx((0.9 + 1.0) / 2)
    assert a["ux"] == pytest.approx(2 / 3)
    assert a["score"] == pytest.approx((0.45 + rt1) / 3 * (2 / 3))
    assert s.models.loc["b", "score"] == pytest.approx(0.5)
    assert s.overall == pytest.approx(100 * (a["score"] + 0.5) / 2)


def test_xrbench_score_all_dropped_model():
    s = xrbench_score([FrameRecord("a", 1.0, None, 0.0)])
    assert s.models.loc["a", ["rt", "en", "ux", "score"]].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert s.overall == 0.0


def test_xrbench_score_of_schedule():
    inst = _instance()
    sched = Schedule.build([("f0", "npu", 0, 4), ("f1", "npu", 17, 21)] + LLM_ROWS)
    s = xrbench_score_of(inst, sched)
    assert list(s.models.index) == ["cam"]  # only periodic streams are XRBench frames
    en = (1500 - 3 * 4) / 1500  # active_w 3 W x 4 ms
    rts = [1 / (1 + math.exp(15 * (4 - 10))), 1 / (1 + math.exp(15 * (21 - 20)))]
    assert s.models.loc["cam", "score"] == pytest.approx(sum(rts) * en / 2)
    assert s.overall == pytest.approx(100 * sum(rts) * en / 2)

    dropped = xrbench_score_of(
        _instance("drop"), Schedule.build([("f0", "npu", 0, 4)] + LLM_ROWS, dropped=["F1"])
    )
    assert dropped.models.loc["cam", "ux"] == 0.5
    assert dropped.models.loc["cam", "score"] == pytest.approx(rts[0] * en / 2 * 0.5)
