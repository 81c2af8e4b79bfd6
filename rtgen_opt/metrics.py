"""Metrics recomputed from a validated schedule, and the XRBench score.

Every number here is derived from the schedule and the instance alone, after the one validator
(:func:`rtgen_opt.validate.check`) has accepted the schedule; nothing is taken from a solver's
objective value. Objective values come from :mod:`rtgen_opt.objectives`, never re-defined here.

Definitions
-----------
job latency
    completion (end of the job's last task) - release of the job, over jobs that ran. A dropped
    job counts as a miss and has no latency.
miss, DVR
    As :func:`rtgen_opt.objectives.missed_jobs` (dropped, or ended after the deadline);
    DVR = missed jobs / jobs, unweighted, per stream and overall.
p50, p99
    ``numpy.percentile`` with linear interpolation between the closest ranks (numpy's default
    ``method="linear"``), so the p99 of fewer than 100 values lies between the two largest.
TTFT
    end of the request's last prefill task - arrival; the SLO is met when TTFT <= ``ttft_slo_ms``
    (within :data:`~rtgen_opt.grid.TOLERANCE`).
TPOT
    time per output token after the first: (end of the last decode task - end of the last prefill
    task) / (output_tokens - 1); NaN for a one-token request.
tokens/s
    output_tokens / (end of the last decode task - arrival), in seconds.
utilisation
    busy time of a processor / makespan.
energy
    per processor, mJ: ``active_w x busy + idle_w x (window - busy)`` with
    ``window = max(instance.horizon or 0, makespan)``.

XRBench score (Kwon et al., MLSys 2023; ``HET_scoring-module.hpp``)
--------------------------------------------------------------------
For each completed frame, real-time score ``RT = 1 / (1 + exp(k (completion - deadline)))``
(ms, k = 15) and energy score ``EN = (E_max - E) / E_max`` (E in mJ, E_max = 1500). Per model:
``UX = 1 - dropped / frames`` and ``score = sum(RT x EN over completed frames) / frames x UX``,
where *frames* counts dropped frames too. Overall = 100 x the mean of the model scores.
XRBench's summary reports, per model, the mean RT and mean EN over completed frames (0 when
none completed) and UX.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rtgen_opt import grid
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import CRITERIA, job_completions, missed_jobs
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import check

#: Percentile method for p50/p99 (numpy's linear interpolation between closest ranks).
PERCENTILE_METHOD = "linear"

XRBENCH_K = 15.0
XRBENCH_E_MAX_MJ = 1500.0

STREAM_COLUMNS = ("jobs", "misses", "dvr", "latency_mean_ms", "latency_p99_ms")
REQUEST_COLUMNS = ("stream", "arrival_ms", "ttft_ms", "ttft_slo_met", "tpot_ms", "tokens_per_s")
PROCESSOR_COLUMNS = ("kind", "busy_ms", "utilisation", "energy_mj")


def _percentile(values: Iterable[float], q: float) -> float:
    arr = np.asarray(list(values), dtype=float)
    arr = arr[~np.isnan(arr)]
    if arr.size == 0:
        return math.nan
    return float(np.percentile(arr, q, method=PERCENTILE_METHOD))


def _mean(values: Iterable[float]) -> float:
    arr = np.asarray(list(values), dtype=float)
    arr = arr[~np.isnan(arr)]
    return float(arr.mean()) if arr.size else math.nan


@dataclass(frozen=True, eq=False)
class Metrics:
    """Metrics of one validated schedule (see the module docstring for every definition).

    Attributes
    ----------
    streams
        Index ``stream`` (each stream, then ``"overall"``); columns jobs, misses, dvr,
        latency_mean_ms, latency_p99_ms.
    requests
        Index ``request`` (LLM requests); columns stream, arrival_ms, ttft_ms, ttft_slo_met,
        tpot_ms, tokens_per_s. Empty when the instance has no LLM request.
    processors
        Index ``processor``; columns kind, busy_ms, utilisation, energy_mj.
    summary
        jobs, misses, dvr, makespan_ms, energy_mj, ttft_p50_ms, ttft_p99_ms, ttft_attainment,
        tpot_mean_ms, tokens_per_s (mean over requests), and ``objective_<name>`` for every
        objective of :mod:`rtgen_opt.objectives` (misses is weighted there, a count here).
    """

    streams: pd.DataFrame
    requests: pd.DataFrame
    processors: pd.DataFrame
    summary: Mapping[str, float] = field(default_factory=dict)

    def table(self) -> str:
        """A readable text table: per stream, LLM requests, per processor, then the summary."""
        fmt = "{:.3f}".format
        s = self.summary
        parts = ["Streams", self.streams.to_string(float_format=fmt), ""]
        if len(self.requests):
            parts += [
                f"LLM requests ({len(self.requests)})",
                self.requests.to_string(float_format=fmt),
                f"TTFT p50 {s['ttft_p50_ms']:.3f} ms, p99 {s['ttft_p99_ms']:.3f} ms, "
                f"SLO attainment {s['ttft_attainment']:.1%}; TPOT mean {s['tpot_mean_ms']:.3f} ms;"
                f" {s['tokens_per_s']:.1f} tokens/s per request",
                "",
            ]
        parts += ["Processors", self.processors.to_string(float_format=fmt), ""]
        parts.append(
            f"jobs {s['jobs']}, misses {s['misses']}, DVR {s['dvr']:.1%}, "
            f"makespan {s['makespan_ms']:.3f} ms, energy {s['energy_mj']:.3f} mJ"
        )
        objectives = ", ".join(f"{n} {s[f'objective_{n}']:.6g}" for n in CRITERIA)
        parts.append(f"objectives: {objectives}")
        return "\n".join(parts)


def evaluate(instance: Instance, schedule: Schedule) -> Metrics:
    """Metrics of ``schedule`` on ``instance``, after validating it.

    Raises
    ------
    InvalidScheduleError
        When the schedule breaks the instance (metrics only come from valid schedules).

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> g.add_node("a", durations={"m0": 2.0}, deadline=1.0)
    >>> inst = Instance.from_networkx(g, Platform.homogeneous(["m0"]))
    >>> m = evaluate(inst, Schedule.build([("a", "m0", 0.0, 2.0)]))
    >>> m.summary["misses"], m.summary["makespan_ms"]
    (1, 2.0)
    """
    check(instance, schedule)
    streams = _stream_table(instance, schedule)
    requests = _request_table(instance, schedule)
    processors = _processor_table(instance, schedule)
    overall = streams.loc["overall"]
    ttft = requests["ttft_ms"] if len(requests) else pd.Series(dtype=float)
    summary: dict[str, Any] = {
        "jobs": int(overall["jobs"]),
        "misses": int(overall["misses"]),
        "dvr": float(overall["dvr"]),
        "makespan_ms": schedule.makespan,
        "energy_mj": float(processors["energy_mj"].sum()),
        "ttft_p50_ms": _percentile(ttft, 50),
        "ttft_p99_ms": _percentile(ttft, 99),
        "ttft_attainment": (float(requests["ttft_slo_met"].mean()) if len(requests) else math.nan),
        "tpot_mean_ms": _mean(requests["tpot_ms"]) if len(requests) else math.nan,
        "tokens_per_s": _mean(requests["tokens_per_s"]) if len(requests) else math.nan,
    }
    for name, criterion in CRITERIA.items():
        summary[f"objective_{name}"] = criterion.evaluate(instance, schedule)
    return Metrics(streams, requests, processors, summary)


def _stream_names(instance: Instance) -> list[str]:
    """Declared streams in declaration order, then any other stream of a job, sorted."""
    seen = [s for s in instance.streams]
    rest = sorted({j.stream for j in instance.jobs.values()} - set(seen))
    return seen + rest


def _stream_table(instance: Instance, schedule: Schedule) -> pd.DataFrame:
    completions = job_completions(instance, schedule)
    missed = missed_jobs(instance, schedule)
    latencies: dict[str, list[float]] = {s: [] for s in _stream_names(instance)}
    counts = {s: [0, 0] for s in latencies}
    for jid, job in instance.jobs.items():
        counts[job.stream][0] += 1
        counts[job.stream][1] += jid in missed
        end = completions[jid]
        if end is not None:
            latencies[job.stream].append(end - job.release)

    def row(jobs: int, misses: int, lat: list[float]) -> dict[str, Any]:
        return {
            "jobs": jobs,
            "misses": misses,
            "dvr": misses / jobs if jobs else math.nan,
            "latency_mean_ms": _mean(lat),
            "latency_p99_ms": _percentile(lat, 99),
        }

    rows = {s: row(*counts[s], latencies[s]) for s in latencies}
    rows["overall"] = row(
        sum(c[0] for c in counts.values()),
        sum(c[1] for c in counts.values()),
        [x for lat in latencies.values() for x in lat],
    )
    df = pd.DataFrame.from_dict(rows, orient="index", columns=list(STREAM_COLUMNS))
    df.index.name = "stream"
    return df.astype({"jobs": int, "misses": int})


def _last_end(schedule: Schedule, tasks: Iterable[str]) -> float | None:
    ends = [schedule.placements[t].end for t in tasks if t in schedule.placements]
    return max(ends) if ends else None


def _request_table(instance: Instance, schedule: Schedule) -> pd.DataFrame:
    rows = {}
    for rid, req in instance.requests.items():
        first = _last_end(schedule, req.prefill_tasks)
        last = _last_end(schedule, req.decode_tasks)
        if last is None:
            last = first  # a request whose only token comes from prefill
        ttft = math.nan if first is None else first - req.arrival
        tpot = (
            (last - first) / (req.output_tokens - 1)
            if first is not None and req.output_tokens > 1
            else math.nan
        )
        span = math.nan if last is None else last - req.arrival
        rows[rid] = {
            "stream": req.stream,
            "arrival_ms": req.arrival,
            "ttft_ms": ttft,
            "ttft_slo_met": bool(ttft <= req.ttft_slo_ms + grid.TOLERANCE),
            "tpot_ms": tpot,
            "tokens_per_s": req.output_tokens / (span / 1000.0) if span > 0 else math.nan,
        }
    df = pd.DataFrame.from_dict(rows, orient="index", columns=list(REQUEST_COLUMNS))
    df.index.name = "request"
    return df.astype({"ttft_slo_met": bool, "arrival_ms": float, "ttft_ms": float})


def _processor_table(instance: Instance, schedule: Schedule) -> pd.DataFrame:
    makespan = schedule.makespan
    window = max(instance.horizon or 0.0, makespan)
    busy = dict.fromkeys(instance.processors, 0.0)
    for pl in schedule.placements.values():
        busy[pl.processor] += pl.end - pl.start
    rows = {}
    for p in instance.platform.processors:
        b = busy[p.name]
        rows[p.name] = {
            "kind": p.kind,
            "busy_ms": b,
            "utilisation": b / makespan if makespan > 0 else 0.0,
            "energy_mj": p.active_w * b + p.idle_w * (window - b),
        }
    df = pd.DataFrame.from_dict(rows, orient="index", columns=list(PROCESSOR_COLUMNS))
    df.index.name = "processor"
    return df


# --------------------------------------------------------------------------- XRBench score
@dataclass(frozen=True, slots=True)
class FrameRecord:
    """One frame (inference) of one model, as XRBench scores it.

    ``completion`` is ``None`` for a dropped frame; ``energy_mj`` is its inference energy.
    """

    model: str
    deadline: float
    completion: float | None
    energy_mj: float


@dataclass(frozen=True, eq=False)
class XRBenchScore:
    """XRBench's scores: per model (index ``model``, sorted) and overall.

    ``models`` columns: frames, dropped, rt (mean real-time score over completed frames), en
    (mean energy score over completed frames), ux (1 - drop rate), score (the model score).
    """

    models: pd.DataFrame
    overall: float


def realtime_score(completion: float, deadline: float, k: float = XRBENCH_K) -> float:
    """``1 / (1 + exp(k (completion - deadline)))``, computed without overflow.

    Examples
    --------
    >>> realtime_score(10.0, 10.0)
    0.5
    """
    # 1/(1+e^x) = (1 - tanh(x/2))/2: the same value, finite for every x
    return 0.5 * (1.0 - math.tanh(0.5 * k * (completion - deadline)))


def xrbench_score(
    records: Iterable[FrameRecord], *, k: float = XRBENCH_K, e_max_mj: float = XRBENCH_E_MAX_MJ
) -> XRBenchScore:
    """XRBench's score of per-frame records (see the module docstring).

    Examples
    --------
    >>> s = xrbench_score([FrameRecord("m", 10.0, 10.0, 0.0), FrameRecord("m", 20.0, None, 0.0)])
    >>> s.models.loc["m", ["rt", "ux", "score"]].tolist(), s.overall
    ([0.5, 0.5, 0.125], 12.5)
    """
    by_model: dict[str, list[FrameRecord]] = {}
    for r in records:
        by_model.setdefault(r.model, []).append(r)
    rows = {}
    for model in sorted(by_model):
        frames = by_model[model]
        done = [r for r in frames if r.completion is not None]
        rt = [realtime_score(r.completion, r.deadline, k) for r in done]
        en = [(e_max_mj - r.energy_mj) / e_max_mj for r in done]
        ux = len(done) / len(frames)
        rows[model] = {
            "frames": len(frames),
            "dropped": len(frames) - len(done),
            "rt": float(np.mean(rt)) if done else 0.0,
            "en": float(np.mean(en)) if done else 0.0,
            "ux": ux,
            "score": sum(a * b for a, b in zip(rt, en, strict=True)) / len(frames) * ux,
        }
    columns = ["frames", "dropped", "rt", "en", "ux", "score"]
    df = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    df.index.name = "model"
    overall = 100.0 * float(df["score"].mean()) if len(df) else math.nan
    return XRBenchScore(df, overall)


def xrbench_records(instance: Instance, schedule: Schedule) -> list[FrameRecord]:
    """Per-frame records of a schedule: one per job of a periodic stream (model = stream name).

    A frame's energy is the sum over its tasks of ``active_w`` of their processor x duration
    (XRBench's per-inference energy has no idle share). The schedule is not validated here.
    """
    periodic = {s for s, st in instance.streams.items() if st.kind == "periodic"}
    procs = instance.platform.by_name
    completions = job_completions(instance, schedule)
    out = []
    for jid, job in instance.jobs.items():
        if job.stream not in periodic:
            continue
        placed = [schedule.placements[t] for t in job.tasks if t in schedule.placements]
        energy = sum(procs[pl.processor].active_w * (pl.end - pl.start) for pl in placed)
        deadline = math.inf if job.deadline is None else job.deadline
        out.append(FrameRecord(job.stream, deadline, completions[jid], energy))
    return out


def xrbench_score_of(
    instance: Instance,
    schedule: Schedule,
    *,
    k: float = XRBENCH_K,
    e_max_mj: float = XRBENCH_E_MAX_MJ,
) -> XRBenchScore:
    """XRBench's score of a validated schedule: frames are the jobs of periodic streams.

    Raises
    ------
    InvalidScheduleError
        When the schedule breaks the instance.
    """
    check(instance, schedule)
    return xrbench_score(xrbench_records(instance, schedule), k=k, e_max_mj=e_max_mj)


# --------------------------------------------------------------------------- why it misses
@dataclass(frozen=True, eq=False)
class Placement:
    """Where a schedule put the work, and what it left idle (see :func:`placement`).

    Attributes
    ----------
    work
        Index ``stream``, one column per processor: the share of the stream's busy time that ran
        on it (each row sums to 1).
    transfers
        Index ``stream``: ``transfers`` (edges into the stream's tasks whose ends ran on two
        different processors and paid a delay) and ``transfer_ms`` (their total delay).
    idle
        Index ``processor``: ``idle_waiting_ms``, the time the processor ran nothing while a
        task it could run was ready (released, its predecessors ended) and had not started.
    """

    work: pd.DataFrame
    transfers: pd.DataFrame
    idle: pd.DataFrame


def placement(instance: Instance, schedule: Schedule) -> Placement:
    """Why a schedule misses, in three tables: which processors each stream's work went to, the
    transfers it paid, and the idle time of each processor while work that could run there was
    waiting (a policy that leaves the NPU idle while frames queue for the GPU shows it here).

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> g.add_node("a", durations={"m0": 2.0, "m1": 2.0})
    >>> g.add_node("b", durations={"m0": 2.0, "m1": 2.0})
    >>> inst = Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"]))
    >>> p = placement(inst, Schedule.build([("a", "m0", 0.0, 2.0), ("b", "m0", 2.0, 4.0)]))
    >>> float(p.idle.loc["m1", "idle_waiting_ms"])  # b was ready at 0 while m1 stayed idle
    2.0
    """
    check(instance, schedule)
    g = instance.graph
    procs = list(instance.processors)
    pl = schedule.placements
    busy: dict[str, dict[str, float]] = {
        s: dict.fromkeys(procs, 0.0) for s in _stream_names(instance)
    }
    for t, p in pl.items():
        busy[g.nodes[t]["stream"]][p.processor] += p.end - p.start
    work = pd.DataFrame.from_dict(busy, orient="index", columns=procs)
    totals = work.sum(axis=1).replace(0.0, math.nan)
    work = work.div(totals, axis=0).fillna(0.0)
    work.index.name = "stream"

    paid: dict[str, list[float]] = {s: [0, 0.0] for s in busy}
    for u, v in g.edges:
        if u in pl and v in pl and pl[u].processor != pl[v].processor:
            delay = instance.transfer_ms(u, v, pl[u].processor, pl[v].processor)
            if delay > 0:
                row = paid[g.nodes[v]["stream"]]
                row[0] += 1
                row[1] += delay
    transfers = pd.DataFrame.from_dict(paid, orient="index", columns=["transfers", "transfer_ms"])
    transfers.index.name = "stream"
    transfers["transfers"] = transfers["transfers"].astype(int)

    waiting: dict[str, list[tuple[float, float]]] = {p: [] for p in procs}
    for t, p in pl.items():
        ready = max([g.nodes[t]["release"], *(pl[u].end for u in g.predecessors(t) if u in pl)])
        if p.start > ready:
            for q in g.nodes[t]["durations"]:
                waiting[q].append((ready, p.start))
    runs: dict[str, list[tuple[float, float]]] = {p: [] for p in procs}
    for p in pl.values():
        runs[p.processor].append((p.start, p.end))
    idle = {
        p: _length(_union(waiting[p])) - _overlap(_union(waiting[p]), _union(runs[p]))
        for p in procs
    }
    idle_df = pd.DataFrame({"idle_waiting_ms": idle})
    idle_df.index.name = "processor"
    return Placement(work, transfers, idle_df)


def worst_stretch(
    instance: Instance, schedule: Schedule, width_ms: float | None = None
) -> tuple[float, float] | None:
    """The window of the schedule with the most missed jobs (by deadline), ``(start, end)`` in
    ms, or ``None`` when nothing misses.

    ``width_ms`` (default: four times the median job window, deadline minus release, and at
    least an eighth of the instance's span) is the span of deadlines counted together; the window returned runs from the earliest release of
    the jobs it counts to their latest deadline, so it frames their whole story.

    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> for i in range(4):  # four 2 ms tasks due 1 ms after release, one processor
    ...     g.add_node(f"t{i}", durations={"m": 2.0}, release=10.0 * i, deadline=10.0 * i + 1)
    >>> inst = Instance.from_networkx(g, Platform.homogeneous(["m"]))
    >>> rows = [(f"t{i}", "m", 10.0 * i, 10.0 * i + 2) for i in range(4)]
    >>> worst_stretch(inst, Schedule.build(rows), width_ms=5.0)
    (0.0, 1.0)
    """
    missed = missed_jobs(instance, schedule)
    jobs = [instance.jobs[j] for j in sorted(missed) if instance.jobs[j].deadline is not None]
    if not jobs:
        return None
    if width_ms is None:
        windows = [j.deadline - j.release for j in instance.jobs.values() if j.deadline is not None]
        width_ms = 4.0 * float(np.median(windows))
    jobs.sort(key=lambda j: j.deadline)
    deadlines = np.array([j.deadline for j in jobs])
    ends = np.searchsorted(deadlines, deadlines + width_ms, side="right")
    first = int(np.argmax(ends - np.arange(len(jobs))))  # the first of the most crowded span
    counted = jobs[first : int(ends[first])]
    return (min(j.release for j in counted), max(j.deadline for j in counted))


def _union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _length(intervals: list[tuple[float, float]]) -> float:
    return sum(b - a for a, b in intervals)


def _overlap(xs: list[tuple[float, float]], ys: list[tuple[float, float]]) -> float:
    """Total length of the intersection of two sorted disjoint interval lists."""
    total, i, j = 0.0, 0, 0
    while i < len(xs) and j < len(ys):
        lo, hi = max(xs[i][0], ys[j][0]), min(xs[i][1], ys[j][1])
        if hi > lo:
            total += hi - lo
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return total
