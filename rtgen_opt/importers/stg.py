"""Kasahara Standard Task Graph (STG) files as instances (``P|prec|Cmax``).

Format (``../shared/external/stg``, from the Kasahara laboratory's STG archive): line 1 the
number ``n`` of real tasks; then one line per task ``0 .. n+1``: ``id time npred pred...``.
Task 0 and task ``n+1`` are dummies of time 0 (entry and exit); lines after the last task
start with ``#`` (generator, seeds, critical-path length, parallelism).

A graph becomes an instance with ``processors`` identical processors (``p0``, ``p1``, ... of
kind ``proc``), one task per real task (``t{id}``, its own job) eligible on every processor
with its time as duration, an edge without transfer per precedence between real tasks (the
dummies and their edges are left out: they take no time), resolution 1 (integer time units),
no deadlines; the STG objective is the makespan.
"""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx

from rtgen_opt.errors import SpecError
from rtgen_opt.files import read_text
from rtgen_opt.importers.text import ints
from rtgen_opt.instance import Instance, Platform

#: Processors when none are given (``rtgen-opt solve FILE.stg``).
DEFAULT_PROCESSORS = 4


def read_stg(path: str | os.PathLike[str], processors: int = DEFAULT_PROCESSORS) -> Instance:
    """Read a Kasahara STG file as an instance on ``processors`` identical processors.

    Raises
    ------
    SpecError
        Naming the file and line of the first malformed value: a task line out of order, a
        predecessor that is not an earlier task, a negative time, a missing task line.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> p = os.path.join(d, "tiny.stg")
    >>> _ = open(p, "w").write("2\\n0 0 0\\n1 3 1 0\\n2 4 1 1\\n3 0 1 2\\n# end\\n")
    >>> inst = read_stg(p, processors=2)
    >>> inst.tasks, inst.durations("t2"), list(inst.graph.edges)
    (('t1', 't2'), {'p0': 4.0, 'p1': 4.0}, [('t1', 't2')])
    """
    path = str(path)
    if not isinstance(processors, int) or isinstance(processors, bool) or processors < 1:
        raise SpecError(path, "processors", f"expected a positive integer, got {processors!r}")
    text = read_text(path, "a Kasahara STG file")
    lines = [
        (i, line)
        for i, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise SpecError(path, None, "empty file")
    head = ints(path, *lines[0])
    if len(head) != 1 or head[0] < 0:
        raise SpecError(path, f"line {lines[0][0]}", "expected the number of tasks")
    n = head[0]
    rows = lines[1:]
    if len(rows) != n + 2:
        raise SpecError(
            path, None, f"expected {n + 2} task lines (with 2 dummies), got {len(rows)}"
        )
    names = [f"p{k}" for k in range(processors)]
    g = nx.DiGraph()
    for expected, (lineno, line) in enumerate(rows):
        vals = ints(path, lineno, line)
        if len(vals) < 3 or vals[0] != expected or len(vals) != 3 + vals[2]:
            raise SpecError(
                path, f"line {lineno}", f"expected 'id time npred pred...' for task {expected}"
            )
        task, time, preds = vals[0], vals[1], vals[3:]
        if time < 0:
            raise SpecError(path, f"line {lineno}", f"negative time {time}")
        if any(not 0 <= q < task for q in preds):
            raise SpecError(path, f"line {lineno}", "a predecessor is not an earlier task")
        if task in (0, n + 1):
            if time:
                raise SpecError(path, f"line {lineno}", "the dummy tasks take time 0")
            continue
        g.add_node(f"t{task}", durations=dict.fromkeys(names, float(time)), stream="stg")
        for q in preds:
            if q != 0:
                g.add_edge(f"t{q}", f"t{task}")
    platform = Platform.homogeneous(names, kind="proc")
    return Instance.from_networkx(
        g, platform, name=Path(path).stem, resolution=1.0, droppable=False
    )
