"""Gantt charts of a schedule: one lane per processor, tasks coloured by stream, misses marked.

Drawn with matplotlib's object API on a figure that is never registered with pyplot, so drawing
is thread-safe enough for the report's workers and leaves no global state behind. The picture is
made from a *validated* schedule: :func:`draw_gantt` checks it first.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from rtgen_opt.errors import SpecError
from rtgen_opt.files import write_atomic
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import job_completions, missed_jobs
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import check

#: Colours of streams, in sorted stream-name order (tab10 without red, kept for misses).
STREAM_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
)
MISS_COLOUR = "#d62728"
FORMATS = ("png", "svg", "pdf")


def stream_colours(instance: Instance) -> dict[str, str]:
    """Stream name -> colour, assigned in sorted name order so every chart of an instance agrees."""
    streams = sorted({instance.graph.nodes[t]["stream"] for t in instance.tasks})
    return {s: STREAM_COLOURS[i % len(STREAM_COLOURS)] for i, s in enumerate(streams)}


def draw_gantt(
    instance: Instance,
    schedule: Schedule,
    *,
    title: str | None = None,
    width: float = 10.0,
    xlim: tuple[float, float] | None = None,
) -> Figure:
    """A Gantt chart of ``schedule`` on ``instance``.

    One horizontal lane per processor (platform order, top to bottom, labelled ``name (kind)``);
    each placed task is a bar coloured by its stream. The last task of every job that misses its
    deadline gets a red outline, and a red tick marks that job's deadline on the same lane.
    Dropped jobs are counted in the title.

    Parameters
    ----------
    instance, schedule
        The schedule must pass :func:`rtgen_opt.validate.check` on the instance.
    title
        Figure title; the schedule's provenance ``method`` when omitted.
    width
        Figure width in inches; the height follows the number of processors.
    xlim
        Time axis range in ms (default: 0 to the latest end or deadline), so charts of several
        schedules of one instance can share an axis.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InvalidScheduleError
        When the schedule is not valid for the instance.

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Platform
    >>> g = nx.DiGraph()
    >>> g.add_node("a", durations={"m0": 2.0}, deadline=1.0)
    >>> inst = Instance.from_networkx(g, Platform.homogeneous(["m0"]))
    >>> fig = draw_gantt(inst, Schedule.build([("a", "m0", 0.0, 2.0)]))
    >>> fig.axes[0].get_yticklabels()[0].get_text()
    'm0 (machine)'
    """
    check(instance, schedule)
    nodes = instance.graph.nodes
    procs = instance.platform.processors
    lane = {p.name: i for i, p in enumerate(procs)}
    colours = stream_colours(instance)
    missed = missed_jobs(instance, schedule)
    completions = job_completions(instance, schedule)

    fig = Figure(figsize=(width, 0.9 + 0.55 * len(procs)), layout="constrained")
    ax = fig.add_subplot()
    bars: dict[str, list[tuple[float, float]]] = {p.name: [] for p in procs}
    bar_colours: dict[str, list[str]] = {p.name: [] for p in procs}
    for task, pl in schedule.placements.items():
        bars[pl.processor].append((pl.start, pl.end - pl.start))
        bar_colours[pl.processor].append(colours[nodes[task]["stream"]])
    for p in procs:
        if bars[p.name]:
            ax.broken_barh(
                bars[p.name],
                (lane[p.name] - 0.38, 0.76),
                facecolors=bar_colours[p.name],
                edgecolor="white",
                linewidth=0.3,
            )

    # Misses: outline the job's last task and tick its deadline on that task's lane.
    jobs = instance.jobs
    for jid in sorted(missed - schedule.dropped):
        job = jobs[jid]
        last = max(
            (t for t in job.tasks if t in schedule.placements),
            key=lambda t: (schedule.placements[t].end, t),
        )
        pl = schedule.placements[last]
        y = lane[pl.processor]
        ax.broken_barh(
            [(pl.start, pl.end - pl.start)],
            (y - 0.38, 0.76),
            facecolors="none",
            edgecolor=MISS_COLOUR,
            linewidth=1.2,
        )
        ax.plot([job.deadline, job.deadline], [y - 0.45, y + 0.45], color=MISS_COLOUR, lw=1.0)
        ax.plot([job.deadline, completions[jid]], [y, y], color=MISS_COLOUR, lw=0.6, ls=":")

    ax.set_yticks(range(len(procs)), [f"{p.name} ({p.kind})" for p in procs])
    ax.set_ylim(len(procs) - 0.5, -0.5)
    deadlines = [j.deadline for j in jobs.values() if j.deadline is not None]
    right = max([schedule.makespan, *deadlines], default=1.0) or 1.0
    ax.set_xlim(*(xlim or (0.0, right * 1.01)))
    ax.set_xlabel("time (ms)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)

    n_late = len(missed - schedule.dropped)
    head = title if title is not None else str(schedule.provenance.get("method", "schedule"))
    parts = [f"{len(missed)} missed job{'s' if len(missed) != 1 else ''}"]
    if schedule.dropped:
        parts.append(f"{len(schedule.dropped)} dropped")
    ax.set_title(f"{head} — {', '.join(parts)}", fontsize=10, loc="left")
    handles = [Patch(facecolor=c, label=s) for s, c in colours.items()]
    if n_late:
        handles.append(
            Patch(facecolor="none", edgecolor=MISS_COLOUR, label="late job (deadline |)")
        )
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=8,
        frameon=False,
    )
    return fig


def picture_format(path: str | os.PathLike[str]) -> str:
    """``"png"``, ``"svg"`` or ``"pdf"`` from the suffix of ``path``; :class:`SpecError` otherwise."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise SpecError(str(path), None, f"unknown picture format; expected .{', .'.join(FORMATS)}")
    return fmt


def save_figure(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as PNG, SVG or PDF (by suffix) atomically, without a timestamp.

    The metadata that would change between runs (creation dates) is left out, so the same
    schedule gives the same file bytes.
    """
    import io

    path = Path(path)
    fmt = picture_format(path)
    metadata: Mapping[str, object] = {
        "png": {"Software": None},
        "svg": {"Date": None, "Creator": None},
        "pdf": {"CreationDate": None, "Creator": None, "Producer": None},
    }[fmt]
    buf = io.BytesIO()
    kwargs: dict[str, object] = {"format": fmt, "metadata": dict(metadata)}
    if fmt == "png":
        kwargs["dpi"] = 110
    if fmt == "svg":
        # Fixed ids so the same figure always gives the same SVG text.
        import matplotlib

        with matplotlib.rc_context({"svg.hashsalt": "rtgen-opt"}):
            fig.savefig(buf, **kwargs)
    else:
        fig.savefig(buf, **kwargs)
    write_atomic(path, buf.getvalue())
    return path


def save_gantt(
    instance: Instance, schedule: Schedule, path: str | os.PathLike[str], **kwargs: object
) -> Path:
    """Draw :func:`draw_gantt` and write it to ``path`` (``.png``, ``.svg`` or ``.pdf``)."""
    picture_format(path)  # a bad suffix fails before the drawing
    return save_figure(draw_gantt(instance, schedule, **kwargs), path)  # type: ignore[arg-type]
