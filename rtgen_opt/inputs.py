"""The one front door for instance files: a suffix -> reader table that the library, the report
and the CLI share.

=============== ============================================================================
suffix          read as
=============== ============================================================================
``.json``       a generic instance file (:meth:`Instance.load`)
``.yaml/.yml``  a scenario, compiled (:func:`rtgen_opt.compile`, with the overrides given)
``.m``          an XRBench MAESTRO usage scenario (:mod:`rtgen_opt.importers.xrbench`), compiled
``.fjs/.txt``   a flexible job shop instance (:mod:`rtgen_opt.importers.fjsp`)
``.stg``        a Kasahara STG task graph on identical processors (:mod:`rtgen_opt.importers.stg`;
                ``processors=m``, default 4)
=============== ============================================================================

It sits above :mod:`rtgen_opt.spec`, :mod:`rtgen_opt.compile` and :mod:`rtgen_opt.importers`,
so none of them imports another to find its readers. ``rtgen-opt report FOLDER`` takes every
file of a folder whose suffix is in :data:`INSTANCE_SUFFIXES`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rtgen_opt.compile import compile
from rtgen_opt.errors import SpecError
from rtgen_opt.importers.fjsp import read_fjsp
from rtgen_opt.importers.stg import DEFAULT_PROCESSORS, read_stg
from rtgen_opt.importers.xrbench import read_scenario
from rtgen_opt.instance import Instance
from rtgen_opt.spec import ScenarioSpec, load


def _json(path: Path, **overrides: Any) -> Instance:
    if overrides:
        raise SpecError(str(path), None, f"{', '.join(overrides)}: only a scenario compiles")
    return Instance.load(path)


def _scenario(path: Path, **overrides: Any) -> Instance:
    spec = load(path)
    if not isinstance(spec, ScenarioSpec):
        raise SpecError(
            str(path),
            "kind",
            f"a {spec.kind} file is not an instance; give a scenario that uses it",
        )
    return compile(spec, **overrides)


def _xrbench(path: Path, **overrides: Any) -> Instance:
    return compile(read_scenario(path), **overrides)


def _fjsp(path: Path, **overrides: Any) -> Instance:
    if overrides:
        raise SpecError(str(path), None, f"{', '.join(overrides)}: only a scenario compiles")
    return read_fjsp(path)


def _stg(path: Path, processors: int = DEFAULT_PROCESSORS, **overrides: Any) -> Instance:
    if overrides:
        raise SpecError(str(path), None, f"{', '.join(overrides)}: only a scenario compiles")
    return read_stg(path, processors=processors)


#: Instance file suffix -> reader ``(path, **compile overrides) -> Instance``.
READERS: dict[str, Callable[..., Instance]] = {
    ".json": _json,
    ".yaml": _scenario,
    ".yml": _scenario,
    ".m": _xrbench,
    ".fjs": _fjsp,
    ".txt": _fjsp,
    ".stg": _stg,
}
INSTANCE_SUFFIXES = tuple(READERS)


def is_instance_file(path: str | os.PathLike[str]) -> bool:
    """Whether the suffix of ``path`` names an instance format (a folder's files are filtered
    with this)."""
    return Path(path).suffix.lower() in READERS


def load_instance(path: str | os.PathLike[str], **overrides: Any) -> Instance:
    """Any instance-like file as an :class:`~rtgen_opt.instance.Instance` (see the module
    docstring for the formats).

    ``overrides`` (``seed``, ``granularity``, ``miss_mode``, ``horizon_ms``) go to
    :func:`rtgen_opt.compile` for the formats that compile a scenario; an STG file takes
    ``processors``.

    Raises
    ------
    SpecError
        For a platform or profiles file (not an instance), an unknown suffix, or any error in
        the file.
    """
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise SpecError(
            str(path), None, f"unknown file type; expected one of {', '.join(INSTANCE_SUFFIXES)}"
        )
    return reader(path, **overrides)
