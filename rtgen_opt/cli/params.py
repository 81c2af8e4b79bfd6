"""The option types every command shares, so that ``--time-limit -1``, ``--workers 0``, ``--noise
nan`` or an ``--out`` that cannot be written is refused the same way everywhere: one line naming
the option and what was expected, exit status 2 (see :class:`rtgen_opt.cli._Group`), before any
file is read or anything is solved.

>>> SECONDS.convert("2.5", None, None), COUNT.convert("3", None, None)
(2.5, 3)
>>> SECONDS.convert("nan", None, None)
Traceback (most recent call last):
...
click.exceptions.BadParameter: expected seconds > 0, got nan
"""

from __future__ import annotations

import math
import operator
import os
import tempfile
from pathlib import Path
from typing import Any

import click

_OPS = {"gt": (operator.gt, ">"), "ge": (operator.ge, ">="), "lt": (operator.lt, "<")}


class Number(click.ParamType):
    """A finite number (or an integer) within bounds.

    Parameters
    ----------
    what
        The words of the error: ``expected {what} > 0, got ...``.
    integer
        Whole numbers only (``"1.5"`` is refused, not truncated).
    gt, ge, lt
        The bounds the value must satisfy (any of them).
    """

    def __init__(
        self,
        what: str,
        *,
        integer: bool = False,
        gt: float | None = None,
        ge: float | None = None,
        lt: float | None = None,
    ) -> None:
        self.what = what
        self.integer = integer
        self.name = "integer" if integer else "number"
        self.bounds = [(k, v) for k, v in (("gt", gt), ("ge", ge), ("lt", lt)) if v is not None]

    def expected(self) -> str:
        return " and ".join(f"{_OPS[k][1]} {v:g}" for k, v in self.bounds)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        expected = f"expected {self.what} {self.expected()}".rstrip()
        try:
            number = int(value) if self.integer else float(value)
        except (TypeError, ValueError):
            self.fail(f"{expected}, got {value}", param, ctx)
        if not math.isfinite(number) or not all(_OPS[k][0](number, v) for k, v in self.bounds):
            self.fail(f"{expected}, got {value}", param, ctx)
        return number


#: Seconds of a time limit.
SECONDS = Number("seconds", gt=0)
#: A count of things that must exist: workers, threads, seeds, groups, repeats.
COUNT = Number("an integer", integer=True, ge=1)
#: A count that may be zero (warm-up runs).
COUNT0 = Number("an integer", integer=True, ge=0)
#: A random seed.
SEED = Number("an integer", integer=True, ge=0)
#: A positive size, rate or length (FPS, milliseconds, inches, bytes per element).
POSITIVE = Number("a number", gt=0)
#: A non-negative amount (bytes).
NONNEGATIVE = Number("a number", ge=0)
#: The sigma of the lognormal duration noise.
SIGMA = Number("a sigma", ge=0)
#: A deadline violation rate used as a threshold.
RATE = Number("a rate", ge=0, lt=1)


class OutPath(click.Path):
    """An output file (or folder) that can be written: checked when the option is parsed, so a
    long solve never ends in a destination it cannot write.

    The path must not be a folder (a file) or a file (a folder); its nearest existing ancestor
    must be a folder we may write in (missing folders are created when the output is written).
    """

    def __init__(self, *, folder: bool = False) -> None:
        super().__init__(dir_okay=folder, file_okay=not folder)
        self.folder = folder

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None):
        out = super().convert(value, param, ctx)
        problem = writable(Path(os.fsdecode(out)), folder=self.folder)
        if problem:
            self.fail(f"cannot write {value}: {problem}", param, ctx)
        return out


def writable(path: Path, *, folder: bool = False) -> str | None:
    """Why ``path`` cannot be written as an output file (or folder), or None if it can."""
    if path.exists():
        if folder and not path.is_dir():
            return "it is a file, expected a folder"
        if not folder and path.is_dir():
            return "it is a folder, expected a file"
    ancestor = path if folder else path.parent
    ancestor = ancestor if str(ancestor) else Path(".")
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{ancestor} is not a folder"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"no permission to write in {ancestor}"
    try:  # what the permission bits do not say: a read-only file system, say
        with tempfile.TemporaryFile(dir=ancestor):
            pass
    except OSError as exc:
        return f"cannot create a file in {ancestor} ({exc.strerror})"
    return None


#: An output file, checked for writing before the command runs.
OUT_FILE = OutPath()
#: An output folder, checked for writing before the command runs.
OUT_FOLDER = OutPath(folder=True)
