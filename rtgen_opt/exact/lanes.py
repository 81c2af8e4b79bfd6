"""Lane plans: a pinning that changes over time, as LLM requests come and go.

On a chip where the LLM's prefill is fastest on one accelerator and its decode on another (on
the Ryzen AI HX 370: prefill on the GPU, 123 ms a request; decode on the NPU, 60 ms a block
against 82 ms on the GPU), the short periodic streams (frames due 8 ms after release, hand
tracking due in 11 ms) must run on one of the two while the other runs a long LLM task: a 60 ms
decode block leaves no room for an 8 ms frame beside it. A fixed pinning gives one of the two
accelerators to the short streams for good, and the LLM loses the other's speed at the phase it
is good at. A *lane plan* trades the roles over time. The prefill processor serves the requests
in turn: each request has a *prefill window* that opens at its arrival or when the window
before it closes, whichever is later, and lasts the plan's length. Short jobs released inside a
window run on the decode processor, and the prefill processor is left to the prefill; short
jobs released outside run on the prefill processor, and the decode processor decodes. Prefill
runs on the prefill processor only, decode anywhere but there.

The lengths tried (:func:`lengths`) are the longest prefill on the prefill processor plus
:data:`SLACKS` times the longest short job there: a short job released just before a window
opens still runs into it (on game_npc_heavy: 123 ms of prefill, 4 ms frames; 127 and 131 ms).
A window much longer than the prefill leaves the prefill processor idle and the decode
processor hosting the short streams: under load the windows cover most of the time, and the
decode processor decodes little. The deferral search on heavy 60 s ends at 428 and 421 misses on
the plans of 127 and 131 ms, 515 at 135 ms and 518 at 145 ms, where windows of 230 ms from each
arrival (not queued) ended at 511 and the affinity's fixed pinning ends at 483; on heavy 15 s at
89 and 97 (139 on a fixed pinning, 107 on 230 ms from each arrival), and 107 at 126 ms, less
than the prefill and a frame.

A plan only removes options (:meth:`~rtgen_opt.instance.Instance.with_processors`), so a schedule
of the planned instance is a schedule of the instance. The front door (:mod:`rtgen_opt.optimise`)
runs the deferral search (:mod:`rtgen_opt.exact.deferral`) on each plan before the affinity
search's fixed pinning and keeps the best (``bench/results/lanes.md``), where the lane timeline
(:mod:`rtgen_opt.exact.timeline`, which decides the roles as it goes instead of from a plan) does
not run: for objectives other than ``misses``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass

from rtgen_opt.exact.affinity import task_class
from rtgen_opt.instance import Instance

#: A plan's window is the longest prefill plus this many times the longest short job, both
#: on the prefill processor (:func:`lengths`).
SLACKS = (1.0, 2.0)


@dataclass(frozen=True)
class Roles:
    """The processor where a request's prefill is fastest, the one where its decode is, and
    the classes (:func:`~rtgen_opt.exact.affinity.task_class`) of short jobs that can run on
    both and fit beside no LLM task there."""

    prefill: str
    decode: str
    short: frozenset[str]


def roles(instance: Instance) -> Roles | None:
    """The :class:`Roles` of ``instance``; ``None`` when it has no LLM request, when prefill
    and decode are fastest on the same processor, or when no short stream can move."""
    if not instance.requests:
        return None
    nodes = instance.graph.nodes
    req = next(iter(instance.requests.values()))
    if not req.prefill_tasks or not req.decode_tasks:
        return None

    def fastest(tasks: tuple[str, ...]) -> str:
        options = set.intersection(*(set(nodes[t]["durations"]) for t in tasks))
        return min(sorted(options), key=lambda p: sum(nodes[t]["durations"][p] for t in tasks))

    prefill, decode = fastest(req.prefill_tasks), fastest(req.decode_tasks)
    if prefill == decode:
        return None
    llm = {t for r in instance.requests.values() for t in (*r.prefill_tasks, *r.decode_tasks)}
    shortest = min(
        nodes[t]["durations"][p]
        for t in llm
        for p in (prefill, decode)
        if p in nodes[t]["durations"]
    )
    spans: dict[str, float] = {}
    for j in instance.jobs.values():
        if j.deadline is None or j.tasks[0] in llm:
            continue
        cls = task_class(nodes[j.tasks[0]])
        on_both = all({prefill, decode} <= set(nodes[t]["durations"]) for t in j.tasks)
        span = j.deadline - j.release if on_both else float("inf")
        spans[cls] = max(spans.get(cls, 0.0), span)
    short = frozenset(c for c, span in spans.items() if span < shortest)
    return Roles(prefill, decode, short) if short else None


def lengths(instance: Instance, lanes: Roles) -> tuple[float, ...]:
    """The plan lengths of the module docstring: the longest prefill on ``lanes.prefill``
    plus each of :data:`SLACKS` times the longest short job there."""
    nodes = instance.graph.nodes

    def work(tasks: tuple[str, ...]) -> float:
        return sum(nodes[t]["durations"].get(lanes.prefill, 0.0) for t in tasks)

    prefill = max(work(r.prefill_tasks) for r in instance.requests.values())
    short = max(
        work(j.tasks)
        for j in instance.jobs.values()
        if task_class(nodes[j.tasks[0]]) in lanes.short
    )
    return tuple(prefill + k * short for k in SLACKS)


def _busy(instance: Instance, length: float) -> Iterator[tuple[float, float]]:
    """The prefill windows of the module docstring, those that touch merged, in order: each
    opens at its request's arrival or when the one before closes, and lasts ``length``."""
    start = end = None
    for arrival in sorted(r.arrival for r in instance.requests.values()):
        if end is not None and arrival <= end:
            end += length  # queued behind the window before
            continue
        if start is not None:
            yield start, end
        start, end = arrival, arrival + length
    if start is not None:
        yield start, end


def planned(instance: Instance, length: float, lanes: Roles | None = None) -> Instance | None:
    """``instance`` under the lane plan of ``length`` ms (the module docstring); ``None``
    where it has no :func:`roles`."""
    lanes = lanes or roles(instance)
    if lanes is None:
        return None
    busy = list(_busy(instance, length))
    starts = [a for a, _ in busy]

    def prefilling(t: float) -> bool:
        k = bisect.bisect_right(starts, t) - 1
        return k >= 0 and t < busy[k][1]

    nodes = instance.graph.nodes
    allowed: dict[str, list[str]] = {}
    for t in instance.tasks:
        options = list(nodes[t]["durations"])
        phase = nodes[t].get("phase")
        if phase == "prefill" and lanes.prefill in options:
            allowed[t] = [lanes.prefill]
        elif phase == "decode":
            allowed[t] = [p for p in options if p != lanes.prefill] or options
        elif task_class(nodes[t]) in lanes.short:
            allowed[t] = [lanes.decode if prefilling(nodes[t]["release"]) else lanes.prefill]
    return instance.with_processors(allowed, name=f"{instance.name} lanes {length:g} ms")
