"""Schedules in the Chrome trace event format, so any schedule opens in Perfetto (ui.perfetto.dev)
or chrome://tracing.

The layout (JSON object format, times in microseconds):

- one process (``pid`` 1) named after the instance, one thread (``tid``) per processor in
  platform order, named ``name (kind)`` and sorted in that order;
- one complete event (``"ph": "X"``) per placed task, named by its task id, category = its
  stream, with ``args`` job, stream, phase, deadline_ms, start_ms, end_ms, missed;
- one flow (a ``"s"`` event inside the producer's slice, a ``"f"`` event with ``"bp": "e"``
  inside the consumer's slice) for every precedence edge whose two tasks run on *different*
  processors, i.e. every data transfer, with the bytes and the transfer delay in ``args``;
- one thread-scoped instant event (``"ph": "i"``) at the deadline of every job that misses it,
  on the lane of the job's last task; dropped jobs get theirs on an extra "dropped jobs" track.

Flow events sit strictly inside their slices (at the midpoint) rather than on a slice edge, so the
viewer's "enclosing slice" binding can never pick the neighbouring slice that touches it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from rtgen_opt.files import write_atomic
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import job_completions, missed_jobs
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import check

PID = 1
TRANSFER_CATEGORY = "transfer"


def _us(ms: float) -> float:
    """Milliseconds -> microseconds, rounded to the nanosecond so the JSON stays short."""
    return round(ms * 1000.0, 3)


def chrome_trace(instance: Instance, schedule: Schedule) -> dict[str, Any]:
    """The Chrome trace (JSON object format) of a validated schedule; see the module docstring.

    Raises
    ------
    InvalidScheduleError
        When the schedule is not valid for the instance.

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> g.add_node("a", durations={"m0": 2.0, "m1": 2.0})
    >>> g.add_node("b", durations={"m1": 1.0})
    >>> g.add_edge("a", "b", delay=0.5)
    >>> inst = Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"]))
    >>> trace = chrome_trace(inst, Schedule.build([("a", "m0", 0, 2), ("b", "m1", 2.5, 3.5)]))
    >>> sorted({e["ph"] for e in trace["traceEvents"]})
    ['M', 'X', 'f', 's']
    """
    check(instance, schedule)
    nodes = instance.graph.nodes
    placements = schedule.placements
    jobs = instance.jobs
    missed = missed_jobs(instance, schedule)
    completions = job_completions(instance, schedule)
    tids = {p.name: i + 1 for i, p in enumerate(instance.platform.processors)}
    method = str(schedule.provenance.get("method", "schedule"))

    events: list[dict[str, Any]] = [
        {
            "name": "process_name",
            "ph": "M",
            "pid": PID,
            "tid": 0,
            "args": {"name": f"{instance.name} — {method}"},
        }
    ]
    for p in instance.platform.processors:
        tid = tids[p.name]
        events.append(
            {
                "name": "thread_name",
                "ph": "M",
                "pid": PID,
                "tid": tid,
                "args": {"name": f"{p.name} ({p.kind})"},
            }
        )
        events.append(
            {
                "name": "thread_sort_index",
                "ph": "M",
                "pid": PID,
                "tid": tid,
                "args": {"sort_index": tid},
            }
        )

    for task, pl in placements.items():
        a = nodes[task]
        events.append(
            {
                "name": task,
                "cat": a["stream"],
                "ph": "X",
                "ts": _us(pl.start),
                "dur": _us(pl.end - pl.start),
                "pid": PID,
                "tid": tids[pl.processor],
                "args": {
                    "job": a["job"],
                    "stream": a["stream"],
                    "phase": a["phase"],
                    "deadline_ms": a["deadline"],
                    "start_ms": pl.start,
                    "end_ms": pl.end,
                    "missed": a["job"] in missed,
                },
            }
        )

    flow_id = 0
    for u, v in sorted(instance.graph.edges):
        pu, pv = placements.get(u), placements.get(v)
        if pu is None or pv is None or pu.processor == pv.processor:
            continue
        flow_id += 1
        delay = instance.transfer_ms(u, v, pu.processor, pv.processor)
        common = {"name": f"{u} -> {v}", "cat": TRANSFER_CATEGORY, "id": flow_id, "pid": PID}
        events.append(
            {
                **common,
                "ph": "s",
                "ts": _us((pu.start + pu.end) / 2),
                "tid": tids[pu.processor],
                "args": {
                    "bytes": instance.graph.edges[u, v].get("bytes", 0.0),
                    "delay_ms": delay,
                    "from": pu.processor,
                    "to": pv.processor,
                },
            }
        )
        events.append(
            {
                **common,
                "ph": "f",
                "bp": "e",
                "ts": _us((pv.start + pv.end) / 2),
                "tid": tids[pv.processor],
            }
        )

    dropped_tid = len(tids) + 1
    for jid in sorted(missed, key=lambda j: (jobs[j].deadline, j)):
        job = jobs[jid]
        args = {
            "job": jid,
            "stream": job.stream,
            "deadline_ms": job.deadline,
            "completion_ms": completions[jid],
            "dropped": jid in schedule.dropped,
        }
        if jid in schedule.dropped:
            tid = dropped_tid
        else:
            last = max(
                (t for t in job.tasks if t in placements), key=lambda t: (placements[t].end, t)
            )
            tid = tids[placements[last].processor]
            args["lateness_ms"] = completions[jid] - job.deadline
        events.append(
            {
                "name": f"deadline miss {jid}",
                "cat": "miss",
                "ph": "i",
                "s": "t",
                "ts": _us(job.deadline),
                "pid": PID,
                "tid": tid,
                "args": args,
            }
        )
    if schedule.dropped:
        events.append(
            {
                "name": "thread_name",
                "ph": "M",
                "pid": PID,
                "tid": dropped_tid,
                "args": {"name": "dropped jobs"},
            }
        )
        events.append(
            {
                "name": "thread_sort_index",
                "ph": "M",
                "pid": PID,
                "tid": dropped_tid,
                "args": {"sort_index": dropped_tid},
            }
        )

    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "instance": instance.name,
            "method": method,
            "missed_jobs": len(missed),
            "dropped_jobs": len(schedule.dropped),
        },
    }


def save_trace(instance: Instance, schedule: Schedule, path: str | os.PathLike[str]) -> Path:
    """Write :func:`chrome_trace` as JSON, atomically."""
    path = Path(path)
    write_atomic(path, json.dumps(chrome_trace(instance, schedule), allow_nan=False))
    return path
