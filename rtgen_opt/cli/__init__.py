"""The ``rtgen-opt`` command line: thin wrappers that parse arguments, call the library, print.

Each command lives in its own module of this package and is registered on :data:`main` when the
module is imported below. Every :class:`~rtgen_opt.errors.RtgenError` becomes one line on stderr
per error it holds, and every click usage error (a bad option value, checked by the shared types
of :mod:`rtgen_opt.cli.params`) one line, with exit status 2. Every command runs under
:func:`rtgen_opt.stopping.on_signals`: SIGINT and SIGTERM stop it at any moment; it keeps
(prints, writes) the best result found so far, says "interrupted" and exits 130 or 143
(``128 + signal``). A closed output pipe exits 141 (``128 + SIGPIPE``) without a word.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from importlib import import_module
from pathlib import Path
from typing import NoReturn

import click

from rtgen_opt import stopping
from rtgen_opt.errors import ArgumentError, Interrupted, RtgenError


class _Group(click.Group):
    """A click group that turns every error of the input into one line and exit status 2, never
    a traceback: our :class:`~rtgen_opt.errors.RtgenError` (one line per error it holds) and
    click's usage errors (an unknown option, a missing argument, a bad value such as
    ``--time-limit -1``). A closed output pipe (``rtgen-opt ... | head``) ends the command
    quietly with ``128 + SIGPIPE`` = 141, as the shell reports for coreutils."""

    def make_context(self, info_name, args, parent=None, **extra):  # type: ignore[override]
        try:
            return super().make_context(info_name, args, parent, **extra)
        except _HELP:  # `rtgen-opt` alone: click prints the help, as before
            raise
        except click.UsageError as exc:  # an option of the group itself: rtgen-opt --bogus
            _usage_error(exc)

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        stopping.clear()
        try:
            with stopping.on_signals():
                result = super().invoke(ctx)
                sys.stdout.flush()  # a closed pipe shows here, not at exit
        except BrokenPipeError:
            _quiet_pipe()
            sys.exit(EXIT_PIPE)
        except _HELP:  # `rtgen-opt import` alone: click prints its help
            raise
        except click.UsageError as exc:
            _usage_error(exc)
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


#: A command group called without a command, which click answers with its help (click >= 8.2).
_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())

#: Exit status when the reader of our output went away: 128 + SIGPIPE.
EXIT_PIPE = 141


def _usage_error(exc: click.UsageError) -> NoReturn:
    """Print a click usage error as one line, ``rtgen-opt: error: --workers: expected ...``."""
    param = getattr(exc, "param", None)
    if isinstance(exc, click.BadParameter) and param is not None and exc.message:
        # an option by its first long name (--out, not its alias --output)
        longs = [o for o in param.opts if o.startswith("--")] or param.opts
        name = longs[0] if isinstance(param, click.Option) else param.human_readable_name
        line = f"{name}: {exc.message}"
    else:
        line = exc.format_message()
    where = exc.ctx.command_path if exc.ctx is not None else "rtgen-opt"
    click.echo(f"rtgen-opt: error: {line} (see '{where} -h')", err=True)
    sys.exit(2)


def _quiet_pipe() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush at exit finds no closed
    pipe and prints nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass  # not a real file (a test runner's buffer): nothing will flush at exit


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


def save_schedule(schedule, out: str) -> None:
    """Write a finished schedule to ``out``; if that fails after all (the folder went away, the
    disk is full), keep it in a temporary file and say where, so the result is never lost."""
    try:
        schedule.save(out)
    except OSError as exc:
        fd, kept = tempfile.mkstemp(prefix="rtgen-opt-", suffix=Path(out).suffix or ".json")
        os.close(fd)
        schedule.save(kept)
        raise ArgumentError(
            "--out", f"cannot write {out} ({exc.strerror}); the schedule is kept in {kept}"
        ) from None


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
