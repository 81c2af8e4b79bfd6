"""Flexible job shop (FJSP) benchmark files as instances.

Two formats are read:

- the *PyJobShop experiments* format (``.txt``, e.g. ``../shared/external/fjsp``): line 1 the
  number of jobs ``n``, line 2 the number of machines ``m``, line 3 the number of operations of
  each job, then one line per operation (jobs in order) with ``m`` durations, ``0`` meaning the
  machine cannot run it;
- the standard *Brandimarte* format (``.fjs``): a first line ``n m [average]``, then one line per
  job: the number of operations, and for each operation the number ``k`` of eligible machines
  followed by ``k`` pairs ``machine duration`` (machines numbered from 1).

Either becomes an instance with one processor per machine (``m0``, ``m1``, ... of kind
``machine``), one task per operation (``j{job}.{op}``, job ``j{job}``), chain edges without
transfers, resolution 1 (integer time units), no deadlines; the FJSP objective is the makespan.
"""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx

from rtgen_opt.errors import SpecError
from rtgen_opt.files import read_text
from rtgen_opt.importers.text import ints
from rtgen_opt.instance import Instance, Platform


def _build(name: str, m: int, jobs: list[list[dict[int, int]]]) -> Instance:
    g = nx.DiGraph()
    for j, ops in enumerate(jobs):
        prev = None
        for o, durations in enumerate(ops):
            task = f"j{j}.{o}"
            g.add_node(
                task,
                durations={f"m{k}": float(d) for k, d in sorted(durations.items())},
                job=f"j{j}",
                stream="fjsp",
            )
            if prev is not None:
                g.add_edge(prev, task)
            prev = task
    platform = Platform.homogeneous([f"m{k}" for k in range(m)])
    return Instance.from_networkx(g, platform, name=name, resolution=1.0, droppable=False)


def _read_txt(path: str, lines: list[tuple[int, str]]) -> Instance:
    if len(lines) < 3:
        raise SpecError(path, None, "expected n jobs, m machines and operations per job")
    (ln, n_line), (lm, m_line), (lo, ops_line) = lines[:3]
    n, m = ints(path, ln, n_line), ints(path, lm, m_line)
    if len(n) != 1 or len(m) != 1 or n[0] <= 0 or m[0] <= 0:
        raise SpecError(path, "line 1-2", "expected one positive job count and machine count")
    n, m = n[0], m[0]
    ops = ints(path, lo, ops_line)
    if len(ops) != n or any(k <= 0 for k in ops):
        raise SpecError(path, f"line {lo}", f"expected {n} positive operation counts")
    rows = lines[3:]
    if len(rows) != sum(ops):
        raise SpecError(path, None, f"expected {sum(ops)} operation lines, got {len(rows)}")
    jobs: list[list[dict[int, int]]] = []
    it = iter(rows)
    for count in ops:
        job = []
        for _ in range(count):
            lineno, line = next(it)
            durs = ints(path, lineno, line)
            if len(durs) != m or any(d < 0 for d in durs):
                raise SpecError(path, f"line {lineno}", f"expected {m} durations >= 0")
            eligible = {k: d for k, d in enumerate(durs) if d > 0}
            if not eligible:
                raise SpecError(path, f"line {lineno}", "no machine can run this operation")
            job.append(eligible)
        jobs.append(job)
    return _build(Path(path).stem, m, jobs)


def _read_fjs(path: str, lines: list[tuple[int, str]]) -> Instance:
    head = lines[0][1].split()
    try:
        n, m = int(head[0]), int(head[1])  # a third value, the average flexibility, is ignored
    except (IndexError, ValueError):
        raise SpecError(path, "line 1", "expected 'jobs machines [flexibility]'") from None
    if len(lines) - 1 < n:
        raise SpecError(path, None, f"expected {n} job lines, got {len(lines) - 1}")
    jobs = []
    for lineno, line in lines[1 : n + 1]:
        vals = ints(path, lineno, line)
        pos, job = 1, []
        try:
            for _ in range(vals[0]):
                k = vals[pos]
                pairs = vals[pos + 1 : pos + 1 + 2 * k]
                if len(pairs) != 2 * k:
                    raise IndexError
                eligible = {mach - 1: d for mach, d in zip(pairs[::2], pairs[1::2], strict=True)}
                if any(not 0 <= mach < m for mach in eligible):
                    raise SpecError(path, f"line {lineno}", f"machine outside 1..{m}")
                job.append(eligible)
                pos += 1 + 2 * k
        except IndexError:
            raise SpecError(path, f"line {lineno}", "truncated operation list") from None
        jobs.append(job)
    return _build(Path(path).stem, m, jobs)


def read_fjsp(path: str | os.PathLike[str]) -> Instance:
    """Read a flexible job shop file (``.txt`` PyJobShop experiments format or ``.fjs``).

    The format is recognised from the content: a first line with a single number is the
    ``.txt`` format, otherwise the Brandimarte format.

    Raises
    ------
    SpecError
        Naming the file and line of the first malformed value.

    Examples
    --------
    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> p = os.path.join(d, "tiny.txt")
    >>> _ = open(p, "w").write("1\\n2\\n2\\n3 0\\n2 4\\n")
    >>> inst = read_fjsp(p)
    >>> inst.tasks, inst.durations("j0.1")
    (('j0.0', 'j0.1'), {'m0': 2.0, 'm1': 4.0})
    """
    path = str(path)
    text = read_text(path, "a flexible job shop text file")
    lines = [(i, line) for i, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise SpecError(path, None, "empty file")
    if len(lines[0][1].split()) == 1:
        return _read_txt(path, lines)
    return _read_fjs(path, lines)
