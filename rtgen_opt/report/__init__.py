"""Gap reports: sweeps of instances x policies x exact solvers, their tables, HTML pages with
Gantt charts, and Chrome traces of schedules.

The entry point is :func:`run` (``rtgen-opt report`` on the command line); the pieces are
:mod:`~rtgen_opt.report.sweep` (running, parallelism, cache), :mod:`~rtgen_opt.report.tables`
(rows, the gap definition, Markdown), :mod:`~rtgen_opt.report.html` (the output folder),
:mod:`~rtgen_opt.report.gantt` and :mod:`~rtgen_opt.report.trace`.
"""

from __future__ import annotations

from rtgen_opt.report.sweep import run

__all__ = ["run"]
