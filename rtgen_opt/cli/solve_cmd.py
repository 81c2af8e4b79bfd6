"""``rtgen-opt solve``: solve an instance exactly, print a summary, write the schedule."""

from __future__ import annotations

import math
import time

import click

from rtgen_opt.cli import load_kwargs, load_option, main, save_schedule
from rtgen_opt.cli.params import COUNT, COUNT0, OUT_FILE, SECONDS, SEED
from rtgen_opt.errors import ArgumentError
from rtgen_opt.exact import check_solver, solver_names
from rtgen_opt.grid import relative_gap
from rtgen_opt.objectives import OBJECTIVES, Objective

#: Progress lines start after this many seconds, at most one per PROGRESS_EVERY_S.
PROGRESS_AFTER_S = 2.0
PROGRESS_EVERY_S = 1.0


class _ProgressPrinter:
    """Periodic ``elapsed incumbent bound gap`` lines on stderr once a solve takes a while."""

    def __init__(self) -> None:
        self.last = -math.inf
        self.started = time.perf_counter()

    def __call__(self, elapsed: float, objective: float, bound: float, note: str = "") -> None:
        now = time.perf_counter() - self.started
        if now < PROGRESS_AFTER_S or now - self.last < PROGRESS_EVERY_S:
            return
        self.last = now
        gap = relative_gap(objective, bound) if math.isfinite(bound) else math.nan
        tail = f"  ({note})" if note else ""
        click.echo(
            f"[{now:7.1f} s] incumbent {objective:.6g}  bound {bound:.6g}  gap {gap:.2%}{tail}",
            err=True,
        )


def _write_milp(instance, objective: str, lp: str | None, mps: str | None, max_pairs) -> None:
    """``--write-lp`` / ``--write-mps``: the MILP of formulations/milp.md, for any solver.

    The file minimises the first objective component (a lexicographic objective is solved in
    stages; the later ones add a constraint per earlier component).
    """
    from rtgen_opt.exact.milp import build_model, write_model

    model = build_model(instance, objective, max_pairs=max_pairs, solver="--write-lp/--write-mps")
    for path, fmt in ((lp, "lp"), (mps, "mps")):
        if path:
            write_model(model, path, fmt)
            click.echo(f"wrote {path} (MILP, {model.size()['variables']} variables)", err=True)


def _method_line(stats) -> str:
    """``decompose (24 groups, 20 proven alone; started from list-edf)``; from the affinity
    search, with its pinning (``...; started from affinity; pinning hands on npu``), and the
    deferral search's requests (``...; 13 LLM requests deferred (edf)``), on a lane plan
    (``...; lane plan 127 ms; ...``), or the lane timeline's shed requests (``...; started
    from lane-timeline; 31 LLM requests shed``); with the fluid window bound where it counts
    (``...; fluid bound 59 over 2 windows``)."""
    method = stats.get("method", "monolithic")
    parts = []
    if method == "decompose" and stats.get("groups"):  # none: the start was proven at once
        parts.append(
            f"{stats.get('groups', 0)} groups, {stats.get('groups_proven', 0)} proven alone"
        )
    if "start" in stats:
        parts.append(f"started from {stats['start']}")
    pinned = (stats.get("affinity") or {}).get("pinned", {})
    deferred = stats.get("deferral") or {}
    plan = deferred.get("pinning", "affinity") if stats.get("start") == "deferral" else None
    if plan not in (None, "affinity"):
        parts.append(plan.replace("lanes", "lane plan"))  # a lane plan, not the affinity's
    elif stats.get("start") in ("affinity", "deferral") and pinned:
        parts.append("pinning " + ", ".join(f"{c} on {'+'.join(k)}" for c, k in pinned.items()))
    if stats.get("start") == "deferral":
        parts.append(f"{deferred['requests']} LLM requests deferred ({deferred['rule']})")
    shed = (stats.get("timeline") or {}).get("shed")
    if stats.get("start") == "lane-timeline" and shed:
        parts.append(f"{shed} LLM requests shed")
    fluid = stats.get("fluid") or {}
    if fluid.get("bound"):
        parts.append(f"fluid bound {fluid['bound']:g} over {fluid['windows']} windows")
    return f"{method} ({'; '.join(parts)})" if parts else method


def _fmt(values) -> str:
    if values is None:
        return "-"
    return ", ".join("-" if not math.isfinite(v) else f"{v:.6g}" for v in values)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--objective",
    default="misses",
    show_default=True,
    help=f"{', '.join(OBJECTIVES)}, or a lexicographic list 'misses,tardiness'.",
)
@click.option(
    "--settings",
    default="default",
    show_default=True,
    help="Named solver settings (solvers/NAME.toml) or a .toml path.",
)
@click.option(
    "--solver", default=None, help=f"One of {', '.join(solver_names())} [settings: cpsat]."
)
@click.option("--time-limit", "-t", type=SECONDS, default=None, help="Seconds [settings: 10].")
@click.option("--workers", "-w", type=COUNT, default=None, help="Solver threads [settings: 2].")
@click.option("--seed", type=SEED, default=None, help="Solver random seed [settings: 0].")
@click.option(
    "--method",
    type=click.Choice(["auto", "monolithic", "decompose"]),
    default="auto",
    show_default=True,
    help="monolithic: one exact model; decompose: window search for the schedule and groups of "
    "jobs solved alone for the bound; auto picks by size.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Run the decomposition's group bounds on this Dask cluster (needs dask[distributed]).",
)
@click.option(
    "--out",
    "-o",
    type=OUT_FILE,
    default=None,
    help="Write the schedule (.json or .csv).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@load_option
@click.option(
    "--max-pairs",
    type=COUNT0,
    default=None,
    help="MILP solvers: refuse a model with more disjunctive pairs than this (it grows with "
    "them: about 1.1 kB and 9 us a row, eight rows a pair)  [default: 200000].",
)
@click.option(
    "--write-lp",
    type=OUT_FILE,
    default=None,
    help="Also write the MILP model (first objective component) as an LP file.",
)
@click.option(
    "--write-mps",
    type=OUT_FILE,
    default=None,
    help="Also write the MILP model (first objective component) as an MPS file.",
)
def solve(
    file: str,
    objective: str,
    settings: str,
    solver: str | None,
    time_limit: float | None,
    workers: int | None,
    seed: int | None,
    method: str,
    scheduler: str | None,
    out: str | None,
    quiet: bool,
    write_lp: str | None,
    write_mps: str | None,
    load: float | dict[str, float] | None,
    max_pairs: int | None,
) -> None:
    """Solve FILE (instance JSON, scenario YAML, XRBench .m, flexible job shop .txt/.fjs).

    Prints status, objective, bound, gap, time and the schedule's metrics. Long solves print
    progress on stderr; Ctrl-C stops the search and keeps the best schedule found so far.
    """
    from rtgen_opt.exact.solve import load_settings
    from rtgen_opt.inputs import load_instance
    from rtgen_opt.optimise import solve as run_solve

    opts = load_settings(settings)
    for key, value in (
        ("solver", solver),
        ("time_limit", time_limit),
        ("workers", workers),
        ("seed", seed),
    ):
        if value is not None:
            opts[key] = value
    solver_name = check_solver(opts.pop("solver", "cpsat"))
    parsed = Objective.parse(objective)  # names checked before the instance is read
    milp = solver_name.startswith("milp-")
    if max_pairs is not None and not (milp or write_lp or write_mps):
        raise ArgumentError(
            "--max-pairs", f"caps the MILP (milp-cbc, milp-highs, --write-lp), not {solver_name}"
        )
    from rtgen_opt.exact.milp import DEFAULT_MAX_PAIRS

    cap = DEFAULT_MAX_PAIRS if max_pairs is None else max_pairs
    if milp:
        # Above the cap the backend refuses before it builds anything (and not at all when the
        # starting schedule meets the solver-free bound: then no model is needed).
        opts["max_pairs"] = cap
    instance = load_instance(file, **load_kwargs(load))
    if write_lp or write_mps:
        _write_milp(instance, objective, write_lp, write_mps, cap)
    if not quiet:
        from rtgen_opt.optimise import choose_method

        chosen = choose_method(instance, parsed, solver_name, method)
        click.echo(
            f"solving {instance.name} ({len(instance.tasks)} tasks) with {solver_name}, {chosen},"
            f" at most {opts.get('time_limit', 10)} s; Ctrl-C stops and keeps the best so far",
            err=True,
        )
    result = run_solve(
        instance,
        objective,
        solver_name,
        method=method,
        scheduler=scheduler,
        progress=None if quiet else _ProgressPrinter(),
        **opts,
    )
    if result.stats.get("interrupted"):
        click.echo("interrupted: the best schedule found so far, with its bound", err=True)
    gap = result.gap
    rows = [
        (
            "instance",
            f"{instance.name} ({len(instance.tasks)} tasks, {len(instance.jobs)} jobs,"
            f" {len(instance.processors)} processors, miss mode {instance.miss_mode})",
        ),
        ("solver", result.solver),
        ("method", _method_line(result.stats)),
        ("objective", ",".join(result.objective_name)),
        ("status", str(result.status)),
        ("value", _fmt(result.objective)),
        ("bound", _fmt(result.bound)),
        ("gap", "-" if gap is None else f"{gap:.2%}"),
        ("time", f"{result.runtime:.2f} s"),
    ]
    if "lexicographic" in result.stats:
        rows.append(("note", result.stats["lexicographic"]))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key:<{width}}  {value}")
    if result.schedule is not None:
        from rtgen_opt.metrics import evaluate

        click.echo("")
        click.echo(evaluate(instance, result.schedule).table())
        if out:
            save_schedule(result.schedule, out)
            click.echo(f"\nwrote {out}")
