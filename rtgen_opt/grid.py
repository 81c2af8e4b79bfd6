"""The time grid and the one tolerance: how milliseconds become integers, and when two numbers
are equal.

Every instance has a *resolution* (ms, default 0.001 = 1 us). Durations, releases and deadlines
lie on its grid (:func:`on_grid`, applied when an instance is built), transfer delays are
rounded *up* to it (:func:`ticks_up`), and the simulator and the exact models count time in
whole steps of it (:func:`ticks`). So "ends by the deadline" is an integer comparison wherever
it is decided, and a float comparison with :data:`TOLERANCE` everywhere else.

>>> ticks(33.3334, 0.001), on_grid(33.3334, 0.001), ticks_up(0.0004, 0.001)
(33333, 33.333, 1)
>>> leq(1.0 + 1e-9, 1.0), leq(1.01, 1.0)
(True, False)
"""

from __future__ import annotations

import math

#: The one tolerance: absolute ms when the validator and the miss test compare times, relative
#: (scaled by ``max(1, |b|)``) when an objective value is compared with a bound. Solvers work on
#: the integer grid and convert back, so smaller differences are float noise, never a violation.
TOLERANCE = 1e-6

#: Slack of float -> int rounding (:func:`ticks_up`, :func:`ceil`, :func:`floor`): a delay of
#: 2.0000000001 steps is 2 steps, a solver bound of 4.9999999999 is 5.
_ROUND_SLACK = 1e-9
#: Smallest denominator of a relative gap (an objective of 0).
_GAP_FLOOR = 1e-9


def ticks(ms: float, resolution: float) -> int:
    """``ms`` as the nearest whole number of ``resolution`` steps."""
    return round(ms / resolution)


def ticks_up(ms: float, resolution: float) -> int:
    """``ms`` rounded *up* to whole steps (never below 0): transfer delays."""
    return max(0, ceil(ms / resolution))


def ceil(x: float) -> int:
    """The least integer ``>= x``, ignoring float noise below it."""
    return math.ceil(x - _ROUND_SLACK)


def floor(x: float) -> int:
    """The greatest integer ``<= x``, ignoring float noise above it."""
    return math.floor(x + _ROUND_SLACK)


def on_grid(ms: float, resolution: float) -> float:
    """``ms`` rounded to the nearest multiple of ``resolution``."""
    return round(ms / resolution) * resolution


def leq(a: float, b: float) -> bool:
    """``a <= b`` up to :data:`TOLERANCE` relative to ``max(1, |b|)``."""
    return a <= b + TOLERANCE * max(1.0, abs(b))


def close(a: float, b: float) -> bool:
    """``a == b`` up to :data:`TOLERANCE` (both ways of :func:`leq`)."""
    return leq(a, b) and leq(b, a)


def relative_gap(value: float, bound: float) -> float:
    """``(value - bound) / |value|``: the relative gap of an objective value to a lower bound.

    >>> relative_gap(8.0, 6.0), relative_gap(0.0, 0.0)
    (0.25, 0.0)
    """
    return (value - bound) / max(abs(value), _GAP_FLOOR)
