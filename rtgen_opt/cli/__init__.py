"""The ``rtgen-opt`` command line: thin wrappers that parse arguments, call the library, print.

Each command lives in its own module of this package and is registered on :data:`main` when the
module is imported below. Every :class:`~rtgen_opt.errors.RtgenError` becomes one line on stderr
and exit status 2. Every command runs under :func:`rtgen_opt.stopping.on_signals`: SIGINT and
SIGTERM stop it at any moment; it keeps (prints, writes) the best result found so far, says
"interrupted" and exits 130 or 143 (``128 + signal``).
"""

from __future__ import annotations

import sys
from importlib import import_module

import click

from rtgen_opt import stopping
from rtgen_opt.errors import Interrupted, RtgenError


class _Group(click.Group):
    """A click group that turns our errors into one line and exit status 2, never a traceback."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        stopping.clear()
        try:
            with stopping.on_signals():
                result = super().invoke(ctx)
        except RtgenError as exc:
            for line in str(exc).splitlines() or [type(exc).__name__]:
                click.echo(f"rtgen-opt: error: {line}", err=True)
            sys.exit(2)
        except Interrupted as exc:
            click.echo(f"rtgen-opt: interrupted: {exc}", err=True)
            sys.exit(stopping.exit_status() or 130)
        if stopping.received() is not None:
            click.echo(f"rtgen-opt: interrupted by {_signal_name()}", err=True)
            sys.exit(stopping.exit_status())
        return result


def load_option(command):
    """``--load 1.5`` or ``--load npc=2,frame=1.5``: compile the scenario at that load (every
    periodic stream's rate and every LLM stream's arrival rate scaled; see rtgen_opt.compile)."""

    def parse(ctx: click.Context, param: click.Parameter, value: str | None):
        if value is None:
            return None
        from rtgen_opt.compile import parse_load

        return parse_load(value)

    return click.option(
        "--load",
        default=None,
        callback=parse,
        metavar="F|STREAM=F,...",
        help="Compile the scenario at this load: rates x F (all streams, or the ones named).",
    )(command)


def load_kwargs(load: float | dict[str, float] | None) -> dict[str, object]:
    """The compile overrides of a ``--load`` value (none without one)."""
    return {} if load is None else {"load": load}


def _signal_name() -> str:
    import signal

    return signal.Signals(stopping.received()).name


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@click.version_option(package_name="rtgen-opt")
def main() -> None:
    """Plan real-time generative-AI workloads on heterogeneous SoCs: exact schedules, replayed
    online policies, and how far each policy is from optimal."""


# Command modules register themselves on `main`; a module that is not written yet is skipped.
for _name in (
    "inspect",
    "validate",
    "solve",
    "replay",
    "report",
    "sweep",
    "import",
    "profile",
    "tags",
):
    try:
        import_module(f"rtgen_opt.cli.{_name}_cmd")
    except ModuleNotFoundError as _exc:  # pragma: no cover - only while a command is missing
        if _exc.name != f"rtgen_opt.cli.{_name}_cmd":
            raise
