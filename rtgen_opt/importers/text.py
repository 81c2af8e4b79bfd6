"""Shared pieces of the line-based benchmark readers (:mod:`.fjsp`, :mod:`.stg`)."""

from __future__ import annotations

from rtgen_opt.errors import SpecError


def ints(path: str, lineno: int, line: str) -> list[int]:
    """The integers of one line, or a :class:`SpecError` naming the file and line."""
    try:
        return [int(x) for x in line.split()]
    except ValueError:
        raise SpecError(
            path, f"line {lineno}", f"expected integers, got {line.strip()!r}"
        ) from None
