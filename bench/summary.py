"""What the bench scripts share: the median and range of a quantity measured over seeds."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable
from typing import Any


def median_range(values: Iterable[Any], fmt: str | Callable[[float], str] = "{:g}") -> str:
    """``"median [min–max]"`` of the values (``None`` and ``""`` left out); one value, or equal
    values, alone; ``"–"`` for none. ``fmt`` is a format string or a function of a number.

    >>> median_range([3, 1, 2]), median_range([2.0, 2.0]), median_range([]), median_range(["7"])
    ('2 [1–3]', '2', '–', '7')
    """
    show = fmt.format if isinstance(fmt, str) else fmt
    xs = [float(v) for v in values if v is not None and v != ""]
    if not xs:
        return "–"
    med = show(statistics.median(xs))
    if min(xs) == max(xs):
        return med
    return f"{med} [{show(min(xs))}–{show(max(xs))}]"
