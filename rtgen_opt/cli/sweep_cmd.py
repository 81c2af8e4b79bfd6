"""``rtgen-opt sweep``: every policy and the exact solver over a range of loads of a scenario."""

from __future__ import annotations

import click

from rtgen_opt.cli import main
from rtgen_opt.cli.params import COUNT, OUT_FOLDER, RATE, SECONDS, SEED, SIGMA
from rtgen_opt.cli.report_cmd import _names
from rtgen_opt.exact import solver_names
from rtgen_opt.objectives import OBJECTIVES


@main.command()
@click.argument("scenario", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--load",
    "loads",
    required=True,
    help="Load points: START:STOP:STEP (0.25:3:0.25, stop included) or a list (0.5,1,2); a "
    "load multiplies every stream's rate.",
)
@click.option("--out", "-o", required=True, type=OUT_FOLDER, help="Output folder.")
@click.option("--objective", default="misses", show_default=True, help=", ".join(OBJECTIVES))
@click.option("--policies", default=None, help="Comma-separated policies (default: all built-in).")
@click.option(
    "--solvers",
    default="cpsat",
    show_default=True,
    help=f"Comma-separated exact solvers ({', '.join(solver_names())}) or 'none'.",
)
@click.option(
    "--time-limit", "-t", type=SECONDS, default=10.0, show_default=True, help="Seconds per solve."
)
@click.option(
    "--streams",
    default=None,
    metavar="NAME,...",
    help="Load only these streams; the others keep their rates (default: every stream).",
)
@click.option(
    "--threshold",
    type=RATE,
    default=0.01,
    show_default=True,
    help=(
        "A method holds at a load while its DVR beyond the sure misses (jobs no schedule "
        "saves) is at most this."
    ),
)
@click.option("--noise", type=SIGMA, default=0.0, show_default=True, help="Duration noise sigma.")
@click.option(
    "--seeds", type=COUNT, default=5, show_default=True, help="Noise seeds (with --noise)."
)
@click.option("--workers", "-j", type=COUNT, default=None, help="Local processes (default: cores).")
@click.option(
    "--solver-threads", type=COUNT, default=1, show_default=True, help="Threads per solve."
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Solver and policy seed.")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT", help="A Dask cluster.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.option(
    "--force", is_flag=True, help="Recompute every run instead of reading the cache in --out."
)
def sweep(
    scenario: str,
    loads: str,
    out: str,
    objective: str,
    policies: str | None,
    solvers: str,
    time_limit: float,
    streams: str | None,
    threshold: float,
    noise: float,
    seeds: int,
    workers: int | None,
    solver_threads: int,
    seed: int,
    scheduler: str | None,
    quiet: bool,
    force: bool,
) -> None:
    """Load sweep of SCENARIO: the frontier of DVR (and TTFT-SLO attainment) against load for
    every policy beside the exact optimum, each method's breaking load and the headroom it
    wastes; writes results.csv, figures/frontier.png, report.md and report.html to --out (a rerun
    resumes from its cache)."""
    from pathlib import Path

    from rtgen_opt.report import frontier
    from rtgen_opt.report.tables import markdown_table

    result = frontier.run(
        scenario,
        frontier.parse_loads(loads),
        out=out,
        threshold=threshold,
        streams=_names(streams, "--streams"),
        noise=noise,
        seeds=seeds if noise > 0 else 1,
        objective=objective,
        policies=_names(policies, "--policies"),
        solvers=_names(solvers, "--solvers") or (),
        time_limit=time_limit,
        workers=workers,
        solver_threads=solver_threads,
        seed=seed,
        scheduler=scheduler,
        quiet=quiet,
        force=force,
    )
    stats = result.report.stats
    click.echo(
        f"{len(result.loads)} load points, {len(result.table)} runs "
        f"({stats.get('computed', 0)} computed, {stats.get('cached', 0)} from the cache)"
    )
    click.echo(markdown_table(frontier.breaking_rows(result)))
    click.echo(f"wrote {Path(out) / 'report.html'}")
