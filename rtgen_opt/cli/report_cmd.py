"""``rtgen-opt report``, ``rtgen-opt gantt`` and ``rtgen-opt trace``: gap reports over a suite,
and pictures and Chrome traces of single schedules."""

from __future__ import annotations

import click

from rtgen_opt.cli import load_option, main
from rtgen_opt.cli.params import COUNT, OUT_FILE, OUT_FOLDER, POSITIVE, SECONDS, SEED
from rtgen_opt.errors import ArgumentError
from rtgen_opt.exact import solver_names
from rtgen_opt.objectives import OBJECTIVES


def _names(value: str | None, what: str) -> tuple[str, ...] | None:
    """``"a,b"`` -> ``("a", "b")``; ``"none"`` or ``""`` -> ``()``; ``None`` stays ``None``."""
    if value is None:
        return None
    if value.strip().lower() in ("", "none"):
        return ()
    names = tuple(n.strip() for n in value.split(","))
    if any(not n for n in names):
        raise ArgumentError(what, f"empty name in {value!r}")
    return names


@main.command()
@click.argument("suite", nargs=-1, type=click.Path(exists=True))
@click.option(
    "--out",
    "-o",
    required=True,
    type=OUT_FOLDER,
    help="Output folder: results.csv, report.md, report.html, schedules/, figures/, traces/, "
    "cache/ (a rerun resumes from the cache).",
)
@click.option(
    "--objective",
    default="misses",
    show_default=True,
    help=f"{', '.join(OBJECTIVES)}, or a lexicographic list (misses,tardiness).",
)
@click.option(
    "--policies",
    default=None,
    help="Comma-separated online policies (default: the eight built-in ones; your own as "
    "path/to/file.py:Class or module:Class); 'none' for none.",
)
@click.option(
    "--solvers",
    default="cpsat",
    show_default=True,
    help=f"Comma-separated exact solvers ({', '.join(solver_names())}); 'none' to measure gaps "
    "against the solver-free bounds only.",
)
@click.option(
    "--time-limit",
    "-t",
    type=SECONDS,
    default=None,
    help="Seconds per exact solve.  [default: 10]",
)
@click.option(
    "--workers",
    "-j",
    type=COUNT,
    default=None,
    help="Units run at once in local processes (default: cores // solver threads; 1 = in this "
    "process). Ignored with --scheduler.",
)
@click.option(
    "--solver-threads",
    type=COUNT,
    default=1,
    show_default=True,
    help="Threads per exact solve. 1 keeps CP-SAT deterministic; processes x threads <= cores.",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="Solver and policy seed.")
@click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Run on this Dask cluster instead of local processes (needs dask[distributed]).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@load_option
@click.option(
    "--force", is_flag=True, help="Recompute every run instead of reading the cache in --out."
)
def report(
    suite: tuple[str, ...],
    out: str,
    objective: str,
    policies: str | None,
    solvers: str,
    time_limit: float | None,
    workers: int | None,
    solver_threads: int,
    seed: int,
    scheduler: str | None,
    quiet: bool,
    force: bool,
    load: float | dict[str, float] | None,
) -> None:
    """Optimality-gap report: run every exact solver and every online policy on each instance
    of SUITE (folders and instance files: scenario .yaml, instance .json; default: the small
    scenarios of the embedded suite in instances/scenarios), and write the tables, the HTML page
    with Gantt charts, and every schedule to --out."""
    from pathlib import Path

    from rtgen_opt.objectives import Objective
    from rtgen_opt.report import run
    from rtgen_opt.report.tables import aggregate_rows
    from rtgen_opt.report.units import DEFAULT_TIME_LIMIT

    df = run(
        list(suite) if suite else None,
        out=out,
        objective=objective,
        policies=_names(policies, "--policies"),
        solvers=_names(solvers, "--solvers") or (),
        time_limit=DEFAULT_TIME_LIMIT if time_limit is None else time_limit,
        workers=workers,
        scheduler=scheduler,
        solver_threads=solver_threads,
        seed=seed,
        quiet=quiet,
        force=force,
        load=load,
    )
    instances = df["instance"].nunique()
    click.echo(
        f"{instances} instance(s), {len(df)} runs "
        f"({df.attrs.get('computed', 0)} computed, {df.attrs.get('cached', 0)} from the cache)"
    )
    if (df["kind"] == "policy").any():
        from rtgen_opt.report.tables import markdown_table

        click.echo(markdown_table(aggregate_rows(df, Objective.parse(objective))))
    exact = df[df["kind"] == "exact"]
    if len(exact):
        counts = exact["status"].value_counts()
        click.echo("exact: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    click.echo(f"wrote {Path(out) / 'report.html'}")


def _load(schedule: str, instance: str):  # -> tuple[Instance, Schedule]
    from rtgen_opt.inputs import load_instance
    from rtgen_opt.schedule import Schedule

    return load_instance(instance), Schedule.load(schedule)


def _schedule_and_instance(command):
    """The SCHEDULE argument and --instance option that gantt and trace share."""
    command = click.option(
        "--instance",
        "-i",
        "instance_file",
        required=True,
        type=click.Path(exists=True, dir_okay=False),
        help="The instance the schedule is for (instance .json or scenario .yaml).",
    )(command)
    return click.argument("schedule", type=click.Path(exists=True, dir_okay=False))(command)


@main.command()
@_schedule_and_instance
@click.option(
    "--out",
    "-o",
    "--output",
    "output",
    required=True,
    type=OUT_FILE,
    help="Picture to write: .png, .svg or .pdf.",
)
@click.option("--title", default=None, help="Chart title (default: the schedule's method).")
@click.option("--width", type=POSITIVE, default=10.0, show_default=True, help="Width in inches.")
def gantt(schedule: str, instance_file: str, output: str, title: str | None, width: float) -> None:
    """Draw SCHEDULE (.json or .csv) as a Gantt chart: one lane per processor, tasks coloured by
    stream, late jobs outlined in red with their deadline marked. The schedule is validated
    first."""
    from rtgen_opt.report.gantt import picture_format, save_gantt

    picture_format(output)
    inst, sched = _load(schedule, instance_file)
    save_gantt(inst, sched, output, title=title, width=width)
    click.echo(f"wrote {output}")


@main.command()
@_schedule_and_instance
@click.option(
    "--out",
    "-o",
    "--output",
    "output",
    required=True,
    type=OUT_FILE,
    help="Chrome trace JSON to write.",
)
def trace(schedule: str, instance_file: str, output: str) -> None:
    """Export SCHEDULE (.json or .csv) in the Chrome trace event format: one track per
    processor, a flow arrow per transfer between processors, an instant event per deadline miss.
    Open it in https://ui.perfetto.dev or chrome://tracing. The schedule is validated first."""
    from rtgen_opt.report.trace import save_trace

    inst, sched = _load(schedule, instance_file)
    save_trace(inst, sched, output)
    click.echo(f"wrote {output}")
