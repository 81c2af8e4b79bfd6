"""Gap reports: sweeps of instances x policies x exact solvers, their tables, HTML pages with
Gantt charts, and Chrome traces of schedules.

The entry point is :func:`run` (``rtgen-opt report`` on the command line). The pieces, each
importing only those above it in this list:

- :mod:`~rtgen_opt.report.suite` -- which instances, under which names;
- :mod:`~rtgen_opt.report.units` -- one (instance, method) each, its settings and cache key, and
  the function that computes it;
- :mod:`~rtgen_opt.report.executor` -- running units (in-process, local processes, Dask), the
  cache, progress bars;
- :mod:`~rtgen_opt.report.records` -- validated outcomes, best schedule and bound, the sweep;
- :mod:`~rtgen_opt.report.tables` -- rows, the gap definition, Markdown;
- :mod:`~rtgen_opt.report.gantt`, :mod:`~rtgen_opt.report.trace` -- pictures and Chrome traces;
- :mod:`~rtgen_opt.report.html` -- the output folder;
- :mod:`~rtgen_opt.report.run` -- the sweep itself and :func:`run`.
"""

from __future__ import annotations

from rtgen_opt.report.run import run

__all__ = ["run"]
