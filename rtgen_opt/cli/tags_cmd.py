"""``rtgen-opt tags FILE...``: how many numbers of profiles files are measured or estimated."""

from __future__ import annotations

import click

from rtgen_opt.cli import main


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--untagged", is_flag=True, help="List the numbers that carry no tag.")
def tags(files: tuple[str, ...], untagged: bool) -> None:
    """Count the [M] measured, [V] vendor and [E] estimated numbers in profiles FILES (every
    latency, cost and size; see rtgen_opt.provenance) and the share of estimates."""
    from collections import Counter

    from rtgen_opt.provenance import profile_numbers

    total: Counter = Counter()
    missing = []
    per_file = [(f, profile_numbers(f)) for f in files]  # every file read before a line is out
    click.echo(f"{'file':<48} {'M':>5} {'V':>5} {'E':>5} {'none':>5}  E share")
    for f, numbers in per_file:
        c = Counter(n.tag for n in numbers)
        total += c
        missing += [n for n in numbers if n.tag is None]
        click.echo(_row(f, c))
    if len(files) > 1:
        click.echo(_row("all", total))
    if untagged:
        for n in missing:
            click.echo(f"untagged: {n.file}:{n.line} {n.field}")


def _row(name: str, c) -> str:
    tagged = c["M"] + c["V"] + c["E"]
    share = f"{c['E'] / tagged:.0%} of {tagged}" if tagged else "-"
    return f"{name:<48} {c['M']:>5} {c['V']:>5} {c['E']:>5} {c[None]:>5}  {share}"
