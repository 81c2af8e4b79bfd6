"""``rtgen-opt validate``: check a schedule against its instance; print violations or metrics."""

from __future__ import annotations

import sys

import click

from rtgen_opt.cli import load_kwargs, load_option, main


@main.command()
@click.argument("schedule", type=click.Path(dir_okay=False))
@click.option(
    "--instance",
    "-i",
    "instance_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="The instance: instance JSON, scenario YAML, XRBench .m or flexible job shop file.",
)
@click.option(
    "--xrbench", is_flag=True, help="Also print XRBench's score (frames = periodic jobs)."
)
@load_option
def validate(
    schedule: str, instance_file: str, xrbench: bool, load: float | dict[str, float] | None
) -> None:
    """Validate SCHEDULE (.json or .csv) against an instance.

    Prints every violation (kind, tasks, what is wrong) and exits with status 1 if there is
    any; otherwise prints the metrics table and exits with 0. Unreadable or malformed files
    exit with status 2.
    """
    from rtgen_opt.inputs import load_instance
    from rtgen_opt.metrics import evaluate, xrbench_score_of
    from rtgen_opt.schedule import Schedule
    from rtgen_opt.validate import validate as find_violations

    instance = load_instance(instance_file, **load_kwargs(load))
    sched = Schedule.load(schedule)
    violations = find_violations(instance, sched)
    if violations:
        for v in violations:
            click.echo(f"{v.kind}\t{','.join(v.tasks)}\t{v.message}")
        click.echo(
            f"{schedule}: INVALID: {len(violations)} violation(s) against {instance_file}",
            err=True,
        )
        sys.exit(1)
    metrics = evaluate(instance, sched)
    click.echo(f"{schedule}: valid schedule of {instance.name} ({len(sched.placements)} tasks)")
    click.echo(metrics.table())
    if xrbench:
        score = xrbench_score_of(instance, sched)
        click.echo("")
        click.echo("XRBench score")
        click.echo(score.models.to_string(float_format="{:.6f}".format))
        click.echo(f"overall {score.overall:.6f}")
