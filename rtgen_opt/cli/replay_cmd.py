"""``rtgen-opt replay``: replay online policies on an instance and print their metrics."""

from __future__ import annotations

import math
from pathlib import Path

import click
import pandas as pd

from rtgen_opt.cli import load_kwargs, load_option, main, save_schedule
from rtgen_opt.cli.params import COUNT, OUT_FILE, SEED, SIGMA
from rtgen_opt.online.registry import builtin_policies

#: Summary metrics shown when several policies are compared (``--policy all``).
COMPARE_COLUMNS = (
    "misses",
    "dvr",
    "objective_tardiness",
    "makespan_ms",
    "energy_mj",
    "ttft_p99_ms",
    "tokens_per_s",
)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--policy",
    "-p",
    default="edf-eft",
    show_default=True,
    help=f"A registered policy ({', '.join(builtin_policies())}), 'all' to compare them, or "
    "path/to/file.py:Class or module:Class for your own.",
)
@click.option(
    "--noise",
    type=SIGMA,
    default=0.0,
    show_default=True,
    help="Sigma of the mean-one lognormal noise on durations (0: nominal durations).",
)
@click.option(
    "--seeds",
    type=COUNT,
    default=None,
    help="Noise seeds to run (default 1; 5 when --noise > 0).",
)
@click.option("--seed", type=SEED, default=0, show_default=True, help="First noise seed.")
@click.option(
    "--out",
    "-o",
    type=OUT_FILE,
    help="Write the (first seed's) schedule here, .json or .csv; with --policy all, one file "
    "per policy: OUT's name with the policy before the suffix (s.json -> s.edf-eft.json).",
)
@load_option
def replay(
    file: str,
    policy: str,
    noise: float,
    seeds: int | None,
    seed: int,
    out: str | None,
    load: float | dict[str, float] | None,
) -> None:
    """Replay an online policy on FILE (instance JSON, scenario YAML, XRBench .m, FJSP) in the
    discrete-event simulator, and print the metrics of its validated schedule: the full table
    without noise, the mean and spread over seeds with noise."""
    from rtgen_opt.inputs import load_instance
    from rtgen_opt.metrics import evaluate
    from rtgen_opt.online import policy_names, simulate

    if seeds is None:
        seeds = 5 if noise > 0 else 1
    instance = load_instance(file, **load_kwargs(load))
    names = policy_names() if policy == "all" else [policy]
    summaries: dict[str, pd.DataFrame] = {}
    for name in names:
        rows = {}
        for s in range(seed, seed + seeds):
            run = simulate(instance, name, noise=noise, seed=s)
            metrics = evaluate(run.instance, run.schedule)
            rows[s] = dict(metrics.summary)
            if s == seed:
                if out is not None:
                    save_schedule(run.schedule, out if len(names) == 1 else policy_out(out, name))
                if len(names) == 1 and seeds == 1:
                    click.echo(_header(instance, run.policy, noise, [s]))
                    click.echo(metrics.table())
                    return
        summaries[run.policy] = pd.DataFrame.from_dict(rows, orient="index")
    seed_list = list(range(seed, seed + seeds))
    if len(names) == 1:
        ((pol, df),) = summaries.items()
        click.echo(_header(instance, pol, noise, seed_list))
        click.echo(_spread(df).to_string(float_format="{:.4g}".format))
        return
    if out is not None:
        click.echo(f"wrote {len(names)} schedules: {policy_out(out, '<policy>')}", err=True)
    click.echo(_header(instance, "all", noise, seed_list))
    table = pd.DataFrame({pol: df[list(COMPARE_COLUMNS)].mean() for pol, df in summaries.items()}).T
    table.index.name = "policy" if seeds == 1 else "policy (mean over seeds)"
    table = table.dropna(axis=1, how="all")
    click.echo(table.to_string(float_format="{:.4g}".format))


def policy_out(out: str, policy: str) -> str:
    """The file of one policy's schedule when several are replayed: ``s.json`` ->
    ``s.edf-eft.json``.

    >>> policy_out("out/s.json", "edf-eft")
    'out/s.edf-eft.json'
    """
    path = Path(out)
    return str(path.with_name(f"{path.stem}.{policy}{path.suffix}"))


def _header(instance, policy: str, noise: float, seeds: list[int]) -> str:
    what = f"{instance.name}: {len(instance.tasks)} tasks, {len(instance.jobs)} jobs"
    if noise > 0:
        span = f"{seeds[0]}" if len(seeds) == 1 else f"{seeds[0]}..{seeds[-1]}"
        return f"replay {policy} on {what}; noise sigma {noise:g}, seeds {span}"
    return f"replay {policy} on {what}"


def _spread(df: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation, min and max of each summary metric over the seeds."""
    df = df.apply(pd.to_numeric, errors="coerce").dropna(axis=1, how="all")
    out = pd.DataFrame(
        {
            "mean": df.mean(),
            "std": df.std(ddof=1) if len(df) > 1 else math.nan,
            "min": df.min(),
            "max": df.max(),
        }
    )
    out.index.name = f"metric (over {len(df)} seeds)"
    return out
