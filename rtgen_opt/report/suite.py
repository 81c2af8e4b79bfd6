"""The suite of a report: which instances it runs, and the name each has in the report.

``None`` is the embedded suite (the small and stress scenarios of the repository's
``instances/scenarios``); otherwise folders, instance files (any format of the input front door,
:mod:`rtgen_opt.inputs`) and in-memory instances.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import rtgen_opt
from rtgen_opt.errors import ArgumentError, SpecError
from rtgen_opt.inputs import INSTANCE_SUFFIXES, is_instance_file, load_instance
from rtgen_opt.instance import Instance


@dataclass(frozen=True)
class SuiteEntry:
    """One instance of a suite and the name it has in the report (unique, file-name safe)."""

    name: str
    instance: Instance
    source: str | None = None


def embedded_suite_dir() -> Path:
    """``instances/scenarios`` of the repository the package is installed from.

    Raises
    ------
    SpecError
        When it does not exist (e.g. a wheel install without the repository).
    """
    folder = Path(rtgen_opt.__file__).resolve().parents[1] / "instances" / "scenarios"
    if not folder.is_dir():
        raise SpecError(
            str(folder),
            None,
            "the embedded suite is not here (installed without the repository?); "
            "pass a folder or instance files",
        )
    return folder


def embedded_suite() -> list[Path]:
    """The small and stress scenarios of the embedded suite, sorted by file name.

    A scenario is in the default report when its file name contains ``_small`` / ``-small``
    (lightly loaded; most policies optimal) or ``_stress`` / ``-stress`` (a small scenario at two
    to four times its rates: still proven in seconds, and no policy optimal), or starts with
    ``small``; the medium and heavy ones are for benchmarks.
    """
    folder = embedded_suite_dir()
    files = sorted(p for p in folder.iterdir() if is_instance_file(p))
    small = [p for p in files if _is_small(p)]
    if not small:
        raise SpecError(str(folder), None, "no small scenario (small*.yaml) in the embedded suite")
    return small


def _is_small(path: Path) -> bool:
    stem = path.stem.lower()
    return stem.startswith("small") or any(
        f"{c}{tier}" in stem for c in "-_" for tier in ("small", "stress")
    )


def resolve_suite(
    suite: str
    | os.PathLike[str]
    | Instance
    | Iterable[str | os.PathLike[str] | Instance | SuiteEntry]
    | None,
    *,
    load: float | dict[str, float] | None = None,
) -> list[SuiteEntry]:
    """Suite entries from ``None`` (the embedded suite), a folder, files or instances.

    ``load`` compiles every scenario file at that load (:func:`rtgen_opt.compile`); a file that
    is not a scenario is then an error, as an in-memory instance is.

    A folder contributes its instance files (every suffix of
    :data:`rtgen_opt.inputs.INSTANCE_SUFFIXES`) in sorted order. Names are file
    stems (instance names for in-memory instances), made unique with ``-2``, ``-3``, ...
    Sources are shown as given, and relative to the repository for the embedded suite, so a
    report names them the same on every machine.
    """
    items: list[tuple[Path | Instance, str | None]] = []  # (what to load, source shown)
    ready: list[SuiteEntry] = []  # entries given as they are (a load sweep's points)
    if suite is None:
        root = embedded_suite_dir().parents[1]
        items = [(p, p.relative_to(root).as_posix()) for p in embedded_suite()]
    else:
        given = [suite] if isinstance(suite, (str, os.PathLike, Instance)) else list(suite)
        for item in given:
            if isinstance(item, SuiteEntry):
                ready.append(item)
                continue
            if isinstance(item, Instance):
                items.append((item, None))
                continue
            p = Path(item)
            if p.is_dir():
                found = sorted(q for q in p.iterdir() if q.is_file() and is_instance_file(q))
                if not found:
                    kinds = ", ".join(INSTANCE_SUFFIXES)
                    raise SpecError(str(p), None, f"no instance file ({kinds}) in folder")
                items.extend((q, q.as_posix()) for q in found)
            elif p.exists():
                items.append((p, p.as_posix()))
            else:
                raise SpecError(str(p), None, "no such file or folder")
    if not items and not ready:
        raise ArgumentError("suite", "the suite is empty")
    entries: list[SuiteEntry] = list(ready)
    used: set[str] = {e.name for e in ready}
    for item, source in items:
        if isinstance(item, Instance):
            if load is not None:
                raise ArgumentError("load", f"{item.name} is an instance: only a scenario compiles")
            inst, base = item, item.name
        else:
            inst = load_instance(item, **({} if load is None else {"load": load}))
            base = item.stem
        base = _safe_name(base)
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base}-{k}"
        used.add(name)
        entries.append(SuiteEntry(name, inst, source))
    return entries


def method_file(method: str) -> str:
    """The part of a file name that stands for a method: the method itself (``edf-eft``,
    ``mypkg.mod:Mine``), except that a plug-in named by its path (``./mine.py:Mine``) loses
    its path separators and leading dots (``_mine.py:Mine``), so no file lands outside its
    folder.

    >>> method_file("edf-eft"), method_file("../x/mine.py:Mine")
    ('edf-eft', '_x_mine.py:Mine')
    """
    out = "".join(c if c.isalnum() or c in "-_.:" else "_" for c in method).lstrip(".")
    return out or "method"


def _safe_name(name: str) -> str:
    """A name usable as a file name: anything but letters, digits, ``-_.`` becomes ``_``."""
    out = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
    return out or "instance"
