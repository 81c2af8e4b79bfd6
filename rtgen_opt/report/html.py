"""The files of a gap report: results.csv, report.md, report.html, the schedules as JSON, the
pictures (Gantt charts, gap bars) and Chrome traces of the pictured schedules.

Layout of the output folder::

    results.csv                         one row per instance x method (see tables.COLUMNS)
    timings.csv                         the wall time of each run (tables.RUN_COLUMNS)
    report.md                           tables per instance and the aggregate
    report.html                         the same, with the pictures
    schedules/<instance>/<method>.json  every schedule
    figures/gaps.png                    mean and max gap per policy over the suite
    figures/<instance>/gaps.png         gap per method on one instance
    figures/<instance>/gantt-<method>.png   the optimal schedule, the best and the worst policy
    traces/<instance>/<method>.json     Chrome traces of the pictured schedules (Perfetto)
    cache/<key>.json                    finished units, for resuming (see executor.py)

Every file is written atomically, and the same sweep writes the same bytes, except timings.csv
(and cache/), which are git-ignored in the committed example.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from rtgen_opt import __version__
from rtgen_opt.errors import InternalError
from rtgen_opt.files import write_atomic
from rtgen_opt.metrics import worst_stretch
from rtgen_opt.report import tables
from rtgen_opt.report.executor import progress_bar
from rtgen_opt.report.gantt import draw_gantt, save_figure
from rtgen_opt.report.records import Outcome, Sweep, lex_key
from rtgen_opt.report.suite import SuiteEntry, method_file
from rtgen_opt.report.tables import RUN_COLUMNS
from rtgen_opt.report.trace import save_trace
from rtgen_opt.schedule import Schedule

HEADLINE = (
    "The RTGen study (Ryzen AI) found that the choice of policy moves the deadline violation "
    "rate by 41.7% on average. Here: per instance, the DVR of the best and the worst policy, "
    "their spread, and how far the best policy is from the optimum."
)

OPTIMAL_COLOUR = "#2ca02c"
GAP_COLOUR = "#ff7f0e"
EXACT_COLOUR = "#1f77b4"


# --------------------------------------------------------------------------- what to picture
def featured(sweep: Sweep, instance: str) -> list[tuple[str, str]]:
    """``(role, method)`` pairs pictured for an instance: the best exact schedule ("optimal"
    when proven), the best and the worst policy (ties broken by method name), without repeats."""

    def ok(methods: Sequence[str]) -> list[Outcome]:
        return [
            sweep.outcomes[(instance, m)]
            for m in methods
            if sweep.outcomes[(instance, m)].schedule is not None
        ]

    out: list[tuple[str, str]] = []
    exact = ok(sweep.solvers)
    if exact:
        best = min(exact, key=lambda o: (lex_key(o.values), sweep.solvers.index(o.method)))
        out.append(("optimal" if best.status == "optimal" else "best exact", best.method))
    pols = ok(sweep.policies)
    if pols:
        best_p = min(pols, key=lambda o: (lex_key(o.values), o.method))
        worst_p = min(pols, key=lambda o: (tuple(-v for v in lex_key(o.values)), o.method))
        out.append(("best policy", best_p.method))
        if worst_p.method != best_p.method:
            out.append(("worst policy", worst_p.method))
    return out


# --------------------------------------------------------------------------- pictures
def gap_figure(sweep: Sweep, instance: str) -> Figure:
    """Horizontal bars: the gap of every method on one instance (green = optimal)."""
    t = sweep.table[sweep.table["instance"] == instance]
    objective = sweep.settings.objective
    count = objective.first.counts_jobs
    methods = list(t["method"])
    # the bars are of the first component (the axis says which); a lexicographic gap on a later
    # component is written beside its bar with that component's name
    first = t["first_gap"] if "first_gap" in t.columns else t["gap"]
    gaps = [0.0 if math.isnan(g) else (g if count else 100 * g) for g in first]
    later = [
        f"{of} +{tables.fmt_gap(g, objective, of)}" if of and of != objective.first.name else ""
        for of, g in zip(t.get("gap_of", [""] * len(t)), t["gap"], strict=True)
    ]
    colours = [
        OPTIMAL_COLOUR if opt else (EXACT_COLOUR if kind == "exact" else GAP_COLOUR)
        for opt, kind in zip(t["optimal"], t["kind"], strict=True)
    ]
    fig = Figure(figsize=(6.0, 0.6 + 0.28 * len(methods)), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(range(len(methods)), gaps, color=colours)
    right = max(gaps, default=0) or 1.0
    # A gap of 0 is no bar: mark every optimal method, and write each value beside its bar.
    rows = range(len(methods))
    optimal = [i for i, opt in zip(rows, t["optimal"], strict=True) if opt]
    ax.scatter([0.0] * len(optimal), optimal, marker="D", s=30, color=OPTIMAL_COLOUR, zorder=3)
    for i, (g, opt, note) in enumerate(zip(gaps, t["optimal"], later, strict=True)):
        label = "optimal" if opt else note or (f"{g:g}" if count else f"{g:.1f}%")
        ax.text(g + 0.015 * right, i, label, va="center", fontsize=7)
    ax.set_yticks(range(len(methods)), methods)
    ax.invert_yaxis()
    ax.set_xlabel(_gap_axis(objective))
    ax.set_title(f"{instance}: gap per method (green = optimal)", fontsize=10, loc="left")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    ax.set_xlim(0, right * 1.15)
    return fig


def _gap_axis(objective) -> str:
    """The gap axis label, naming the component for a lexicographic objective."""
    count = objective.first.counts_jobs
    text = "gap (missed jobs above the best bound)" if count else "gap to the bound (%)"
    return text if len(objective) == 1 else f"{text}, on {objective.first.name}"


def aggregate_gap_figure(sweep: Sweep) -> Figure:
    """Mean (bar) and max (tick) gap per policy over the suite."""
    agg = tables.aggregate(sweep.table)
    objective = sweep.settings.objective
    count = objective.first.counts_jobs
    scale = 1.0 if count else 100.0
    names = list(agg["policy"])
    mean = [0.0 if math.isnan(v) else scale * v for v in agg["mean_gap"]]
    worst = [0.0 if math.isnan(v) else scale * v for v in agg["max_gap"]]
    fig = Figure(figsize=(7.0, 0.8 + 0.32 * max(1, len(names))), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(range(len(names)), mean, color=GAP_COLOUR, label="mean over instances")
    ax.scatter(worst, range(len(names)), marker="|", s=200, color="black", label="max")
    ax.set_yticks(range(len(names)), names)
    ax.invert_yaxis()
    ax.set_xlabel(_gap_axis(objective))
    ax.set_title(f"Gap per policy over {len(sweep.entries)} instance(s)", fontsize=10, loc="left")
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    if max(worst, default=0) == 0:
        ax.set_xlim(0, 1)
    return fig


def write_figures(
    sweep: Sweep, out: Path, progress: object = None
) -> dict[str, list[tuple[str, str, str]]]:
    """Draw every picture; return instance -> ``(role, method, gantt path)`` (relative)."""
    pictures: dict[str, list[tuple[str, str, str]]] = {}
    save_figure(aggregate_gap_figure(sweep), out / "figures" / "gaps.png")
    by_name = {e.name: e for e in sweep.entries}
    for e in sweep.entries:
        save_figure(gap_figure(sweep, e.name), out / "figures" / e.name / "gaps.png")
        roles = featured(sweep, e.name)
        schedules = [sweep.outcomes[(e.name, m)].schedule for _, m in roles]
        # The busy part of the schedules, not the far deadlines of LLM milestones.
        right = max([s.makespan for s in schedules if s is not None], default=1.0)
        pictures[e.name] = []
        for (role, method), schedule in zip(roles, schedules, strict=True):
            if schedule is None:
                raise InternalError(f"{e.name}: featured {method} has no schedule")
            rel = f"figures/{e.name}/gantt-{method_file(method)}.png"
            fig = draw_gantt(
                by_name[e.name].instance,
                schedule,
                title=f"{e.name}: {method} ({role})",
                xlim=(0.0, (right or 1.0) * 1.01),
            )
            save_figure(fig, out / rel)
            save_trace(
                e.instance, schedule, out / "traces" / e.name / f"{method_file(method)}.json"
            )
            pictures[e.name].append((role, method, rel))
        pictures[e.name] += _stretch_figures(e, roles, schedules, out)
        if progress is not None:
            progress.update(1)  # type: ignore[attr-defined]
    return pictures


def _stretch_figures(
    entry: SuiteEntry,
    roles: list[tuple[str, str]],
    schedules: list[Schedule | None],
    out: Path,
) -> list[tuple[str, str, str]]:
    """The worst policy's worst stretch (the window with the most misses,
    :func:`rtgen_opt.metrics.worst_stretch`), and the best exact schedule on the same window."""
    by_role = dict(zip((r for r, _ in roles), zip(roles, schedules, strict=True), strict=True))
    worst = by_role.get("worst policy") or by_role.get("best policy")
    if worst is None or worst[1] is None:
        return []
    window = worst_stretch(entry.instance, worst[1])
    if window is None:
        return []
    lo, hi = window
    margin = 0.05 * (hi - lo) or 1.0
    xlim = (max(0.0, lo - margin), hi + margin)
    shown = [(f"worst stretch of {worst[0][1]}", worst[0][1], worst[1])]
    exact = by_role.get("optimal") or by_role.get("best exact")
    if exact is not None and exact[1] is not None:
        shown.append((f"{exact[0][0]}, same stretch", exact[0][1], exact[1]))
    pictures = []
    for role, method, schedule in shown:
        rel = f"figures/{entry.name}/stretch-{method_file(method)}.png"
        title = f"{entry.name}: {method}, {xlim[0]:.0f}-{xlim[1]:.0f} ms ({role})"
        save_figure(draw_gantt(entry.instance, schedule, title=title, xlim=xlim), out / rel)
        pictures.append((role, method, rel))
    return pictures


def write_schedules(sweep: Sweep, out: Path) -> None:
    for (instance, method), o in sorted(sweep.outcomes.items()):
        if o.schedule is not None:
            o.schedule.save(out / "schedules" / instance / f"{method_file(method)}.json")


# --------------------------------------------------------------------------- documents
def _header(sweep: Sweep) -> list[tuple[str, str]]:
    s = sweep.settings
    return [
        ("instances", str(len(sweep.entries))),
        ("policies", ", ".join(sweep.policies) or "none"),
        ("exact solvers", ", ".join(sweep.solvers) or "none (combinatorial bounds only)"),
        ("objective", str(s.objective)),
        ("time limit per solve", f"{s.time_limit:g} s"),
        ("solver threads", str(s.solver_threads)),
        ("seed", str(s.seed)),
    ]


def _instance_caption(sweep: Sweep, name: str) -> str:
    e = next(x for x in sweep.entries if x.name == name)
    inst = e.instance
    procs = ", ".join(f"{p.name} ({p.kind})" for p in inst.platform.processors)
    bound = tables.fmt_num(sweep.bounds[name][0])
    proven = [m for m in sweep.solvers if sweep.outcomes[(name, m)].status == "optimal"]
    what = (
        f"optimum {bound} (proven by {', '.join(proven)})"
        if proven
        else f"best lower bound {bound}"
    )
    return (
        f"{len(inst.tasks)} tasks, {len(inst.jobs)} jobs, miss mode `{inst.miss_mode}`, "
        f"processors {procs}; {what}" + (f" (source: `{e.source}`)" if e.source else "")
    )


def _error_lines(sweep: Sweep, name: str) -> list[str]:
    """One line per method that failed on the instance (then a blank line), or nothing."""
    out = [
        f"*{m} failed*: {sweep.outcomes[(name, m)].error}"
        for m in (*sweep.solvers, *sweep.policies)
        if sweep.outcomes[(name, m)].error
    ]
    return [*out, ""] if out else []


def markdown_report(sweep: Sweep, pictures: dict[str, list[tuple[str, str, str]]] | None) -> str:
    """report.md: settings, the aggregate, which streams miss, then a section per instance."""
    objective = sweep.settings.objective
    lines = ["# Optimality-gap report", ""]
    lines += [f"- **{k}**: {v}" for k, v in _header(sweep)]
    lines += ["", tables.gap_definition(objective), ""]
    if sweep.policies:
        lines += ["## Policies over the suite", ""]
        lines += [tables.markdown_table(tables.aggregate_rows(sweep.table, objective)), ""]
        if pictures is not None:
            lines += ["![gap per policy](figures/gaps.png)", ""]
        lines += ["### Which streams miss", ""]
        lines += [tables.markdown_table(tables.miss_rows(sweep.table)), ""]
        lines += ["### How much the policy choice matters", "", HEADLINE, ""]
        lines += [tables.markdown_table(tables.headline_rows(sweep.table, objective)), ""]
    for e in sweep.entries:
        lines += [f"## {e.name}", "", _instance_caption(sweep, e.name), ""]
        lines += [tables.markdown_table(tables.instance_rows(sweep.table, e.name, objective)), ""]
        lines += _error_lines(sweep, e.name)
        lines += ["Misses per stream (missed/jobs):", ""]
        methods = (*sweep.solvers, *sweep.policies)
        lines += [tables.markdown_table(tables.stream_rows(sweep.outcomes, e.name, methods)), ""]
        lines += ["Where the work ran (share of each stream's busy time), and why it waited:", ""]
        rows = tables.placement_rows(e.instance, sweep.outcomes, e.name, methods)
        lines += [tables.markdown_table(rows), ""]
        if pictures is not None:
            for role, method, rel in pictures[e.name]:
                lines += [f"![{e.name}: {method} ({role})]({rel})", ""]
    lines.append("Every number is deterministic; the wall times are in timings.csv.")
    return "\n".join(lines) + "\n"


CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.optimal td:first-child { border-left: 4px solid #2ca02c; }
tr.exact { background: #f4f8fc; }
.gantts { display: flex; flex-direction: column; gap: 0.6em; }
figure { margin: 0; }
figcaption { font-size: 0.85em; color: #555; }
img { max-width: 100%; height: auto; }
img[data-state="missing"] { outline: 3px dashed #d62728; min-height: 2em; }
code { background: #f3f3f3; padding: 0 0.2em; }
"""


def _html_table(rows: Sequence[Sequence[str]], row_classes: Sequence[str] | None = None) -> str:
    head, *body = rows
    out = ["<table>", "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for i, r in enumerate(body):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        cells = "".join(
            f'<td class="num">{html.escape(c)}</td>'
            if tables._looks_numeric(c)
            else f"<td>{html.escape(c)}</td>"
            for c in r
        )
        out.append(f"<tr{cls}>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)


def _img(src: str, alt: str) -> str:
    """An ``<img>`` that flags itself: ``data-state`` becomes ``loaded`` or ``missing`` (shown
    with a red outline), so a broken picture is visible in the page and checkable headless."""
    return (
        f'<img src="{html.escape(src)}" alt="{html.escape(alt)}" data-state="pending" '
        "onload=\"this.dataset.state='loaded'\" onerror=\"this.dataset.state='missing'\">"
    )


def _md_inline(text: str) -> str:
    """Escape text, then turn `code` and *emphasis* of our own sentences into HTML."""
    import re

    t = html.escape(text)
    t = re.sub(r"`([^`]+)`", r"<code>\1</code>", t)
    return re.sub(r"\*([^*]+)\*", r"<em>\1</em>", t)


def html_report(sweep: Sweep, pictures: dict[str, list[tuple[str, str, str]]]) -> str:
    """report.html: the Markdown report's content, with the Gantt charts and gap bars."""
    objective = sweep.settings.objective
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>rtgen-opt optimality-gap report</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Optimality-gap report</h1>",
        "<ul>"
        + "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in _header(sweep))
        + "</ul>",
        f"<p>{_md_inline(tables.gap_definition(objective))}</p>",
    ]
    if sweep.policies:
        parts += [
            "<h2>Policies over the suite</h2>",
            _html_table(tables.aggregate_rows(sweep.table, objective)),
            _img("figures/gaps.png", "gap per policy over the suite"),
            "<h3>Which streams miss</h3>",
            _html_table(tables.miss_rows(sweep.table)),
            "<h3>How much the policy choice matters</h3>",
            f"<p>{_md_inline(HEADLINE)}</p>",
            _html_table(tables.headline_rows(sweep.table, objective)),
        ]
    parts.append(
        "<nav><b>Instances</b>: "
        + ", ".join(
            f'<a href="#{html.escape(e.name)}">{html.escape(e.name)}</a>' for e in sweep.entries
        )
        + "</nav>"
    )
    for e in sweep.entries:
        t = sweep.table[sweep.table["instance"] == e.name]
        classes = [
            " ".join(c for c in ("exact" if k == "exact" else "", "optimal" if o else "") if c)
            for k, o in zip(t["kind"], t["optimal"], strict=True)
        ]
        methods = (*sweep.solvers, *sweep.policies)
        parts += [
            f'<h2 id="{html.escape(e.name)}">{html.escape(e.name)}</h2>',
            f"<p>{_md_inline(_instance_caption(sweep, e.name))}</p>",
            _html_table(tables.instance_rows(sweep.table, e.name, objective), classes),
            *(f"<p>{_md_inline(line)}</p>" for line in _error_lines(sweep, e.name) if line),
            "<p>Misses per stream (missed/jobs):</p>",
            _html_table(tables.stream_rows(sweep.outcomes, e.name, methods)),
            "<p>Where the work ran (share of each stream's busy time), and why it waited:</p>",
            _html_table(tables.placement_rows(e.instance, sweep.outcomes, e.name, methods)),
            _img(f"figures/{e.name}/gaps.png", f"gap per method on {e.name}"),
            '<div class="gantts">',
        ]
        for role, method, rel in pictures[e.name]:
            trace = f"traces/{e.name}/{method_file(method)}.json"
            parts.append(
                f"<figure>{_img(rel, f'{e.name}: {method} ({role})')}"
                f"<figcaption>{html.escape(role)}: <b>{html.escape(method)}</b> — "
                f'<a href="{html.escape(trace)}">Chrome trace</a> (open in Perfetto), '
                f'<a href="schedules/{html.escape(e.name)}/{html.escape(method)}.json">schedule</a>'
                "</figcaption></figure>"
            )
        parts.append("</div>")
    parts += [
        "<p><small>Every number is deterministic; the wall times are in timings.csv. "
        'All rows: <a href="results.csv">results.csv</a>.</small></p>',
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _versions() -> dict[str, str]:
    """Versions that can change a report's numbers (pinned by the package, so stable)."""
    out = {"rtgen-opt": __version__}
    for dist in ("ortools", "highspy", "pulp"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:  # pragma: no cover - optional backends
            out[dist] = "absent"
    return out


def write_results(table: pd.DataFrame, out: Path) -> None:
    """results.csv (the same bytes for the same inputs) and timings.csv (the wall times)."""
    write_atomic(
        out / "results.csv",
        table.drop(columns=list(RUN_COLUMNS)).to_csv(index=False, float_format="%.10g"),
    )
    keys = [c for c in ("load", "instance", "method", "kind") if c in table.columns]
    write_atomic(
        out / "timings.csv",
        table[keys + list(RUN_COLUMNS)].to_csv(index=False, float_format="%.4g"),
    )


def write_report(sweep: Sweep, out: Path, *, quiet: bool = True) -> None:
    """Write every file of the report into ``out`` (see the module docstring)."""
    out.mkdir(parents=True, exist_ok=True)
    write_results(sweep.table, out)
    write_schedules(sweep, out)
    with progress_bar(len(sweep.entries), "report", quiet) as bar:
        pictures = write_figures(sweep, out, bar)
    write_atomic(out / "report.md", markdown_report(sweep, pictures))
    write_atomic(out / "report.html", html_report(sweep, pictures))
    write_atomic(
        out / "settings.json",
        json.dumps(
            {
                "objective": list(sweep.settings.objective.names),
                "time_limit": sweep.settings.time_limit,
                "solver_threads": sweep.settings.solver_threads,
                "seed": sweep.settings.seed,
                "policies": list(sweep.policies),
                "solvers": list(sweep.solvers),
                "instances": [{"name": e.name, "source": e.source} for e in sweep.entries],
                "versions": _versions(),
            },
            indent=1,
        ),
    )
