"""Interchangeable jobs: the symmetry an exact model may break (formulations/cpsat.md, C12).

Two jobs are *interchangeable* when swapping them (task ``i`` of one with task ``i`` of the
other, in ``Job.tasks`` order) maps the instance onto itself: the same job fields apart from
the id (stream, release, deadline, weight, droppable), the same task attributes (durations per
processor, release, phase, ...), the same edges inside the job, and no edge to or from another
job; a job of an LLM request is never interchangeable (TTFT is counted per request). Swapping
two such jobs in a schedule gives a valid schedule with the same value of every objective, so
an exact model may keep only the schedules in which each class of interchangeable jobs starts
its first tasks in a fixed order, as the CP-SAT feasibility probes do (C12).

>>> import networkx as nx
>>> from rtgen_opt.instance import Instance, Platform
>>> g = nx.DiGraph()
>>> for j in ("a", "b", "c"):
...     g.add_node(f"{j}0", job=j, durations={"m0": 2.0, "m1": 3.0})
...     g.add_node(f"{j}1", job=j, durations={"m1": 4.0 if j == "c" else 1.0})
...     g.add_edge(f"{j}0", f"{j}1")
>>> interchangeable_jobs(Instance.from_networkx(g, Platform.homogeneous(["m0", "m1"])))
[('a', 'b')]
"""

from __future__ import annotations

from dataclasses import asdict
from itertools import pairwise

from rtgen_opt.instance import Instance


def _signature(instance: Instance, job_id: str) -> object:
    """What must be equal for two jobs to be interchangeable (jobs without edges to or from
    other jobs, outside any LLM request)."""
    g = instance.graph
    job = instance.jobs[job_id]
    index = {t: i for i, t in enumerate(job.tasks)}
    tasks = [{k: v for k, v in g.nodes[t].items() if k != "job"} for t in job.tasks]
    edges = sorted(
        _canon((index[t], index[v], g.edges[t, v])) for t in job.tasks for v in g.successors(t)
    )
    fields = {k: v for k, v in asdict(job).items() if k not in ("id", "tasks")}
    return _canon([fields, tasks, edges])


def _canon(value: object) -> object:
    """A hashable, order-independent form of attribute values (dicts with any keys)."""
    if isinstance(value, dict):
        return tuple(sorted((repr(k), _canon(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_canon(v) for v in value)
    return repr(value)


def interchangeable_jobs(instance: Instance) -> list[tuple[str, ...]]:
    """Classes (two jobs or more) of interchangeable jobs, each in the instance's job order."""
    g = instance.graph
    linked = {k for succ in instance.job_successors.values() for k in succ}
    linked |= {j for j, succ in instance.job_successors.items() if succ}
    groups: dict[object, list[str]] = {}
    for j, job in instance.jobs.items():
        if j in linked or any(g.nodes[t].get("request") is not None for t in job.tasks):
            continue
        groups.setdefault(_signature(instance, j), []).append(j)
    return [tuple(js) for js in groups.values() if len(js) > 1]


def symmetric_pairs(instance: Instance) -> list[tuple[str, str]]:
    """Consecutive jobs of each class: (C12) orders each pair's first tasks."""
    return [(a, b) for c in interchangeable_jobs(instance) for a, b in pairwise(c)]
