"""The exception tree of rtgen_opt.

Every error a user can cause derives from :class:`RtgenError`; the CLI turns it into one line
on standard error and exit status 2, never a traceback:

- :class:`SpecError` -- an input file (or an in-memory graph or spec) is malformed; it names
  the file and the field;
- :class:`ArgumentError` -- a bad argument or option value that no file holds (an unknown
  objective, policy or solver name, a negative time limit, ...);
- :class:`SolverUnavailableError` -- an optional solver backend cannot be loaded;
- :class:`InvalidScheduleError` -- a schedule given to rtgen_opt breaks the validator;
- :class:`PolicyError` -- an online policy made an illegal decision;
- :class:`LimitError` -- a model would be too large to build within the limits (the MILP's
  ``max_pairs`` cap); it says how large, the cap, and what to use instead.

:class:`Interrupted` is not an error of the input: a SIGINT or SIGTERM stopped a run that could
not keep a partial result (a report keeps its finished runs in its cache); the CLI prints its
line and exits ``128 + signal`` (:func:`rtgen_opt.stopping.exit_status`).

:class:`InternalError` is not an :class:`RtgenError`: it reports a broken internal contract (a
solver's value that disagrees with its own schedule, a bound above an objective), that is a bug
in rtgen_opt and never the user's input. Contract checks raise it instead of ``assert``, so they
hold under ``python -O`` too.

There is no "infeasible instance" error: deadlines are soft (a late or dropped job is a miss),
so every instance has a schedule -- the list schedule of :mod:`rtgen_opt.exact.list_schedule` is
one -- and a backend claiming otherwise raises :class:`InternalError`.
"""

from __future__ import annotations


class RtgenError(Exception):
    """Base class of every error rtgen_opt raises on purpose."""


class SpecError(RtgenError):
    """An input file (or in-memory spec or graph) is malformed.

    Parameters
    ----------
    file
        The file the error is in, or ``None`` for an in-memory object (a caller that knows the
        file re-raises it with the file set).
    field
        The path of the offending field, e.g. ``streams[2].fps``; ``None`` for the file itself.
    message
        What was expected.
    more
        Further errors found in the same input (pydantic reports every field at once); ``str``
        of the error is one line per error, the first one first.

    Examples
    --------
    >>> err = SpecError("s.yaml", "fps", "expected a number > 0, got -3",
    ...                 more=[SpecError("s.yaml", "name", "required field is missing")])
    >>> print(err)
    s.yaml: fps: expected a number > 0, got -3
    s.yaml: name: required field is missing
    """

    def __init__(
        self,
        file: str | None,
        field: str | None,
        message: str,
        *,
        more: list[SpecError] | tuple[SpecError, ...] = (),
    ) -> None:
        self.file = file
        self.field = field
        self.message = message
        self.more = tuple(more)
        super().__init__("\n".join(self.lines()))

    def line(self) -> str:
        """The first error as one line: ``file: field: message``."""
        where = ": ".join(part for part in (self.file, self.field) if part)
        return f"{where}: {self.message}" if where else self.message

    def lines(self) -> list[str]:
        """Every error, one line each."""
        return [self.line()] + [line for e in self.more for line in e.lines()]


class ArgumentError(RtgenError):
    """A bad argument or option value that does not come from a file.

    Parameters
    ----------
    name
        The argument or option, e.g. ``objective`` or ``--time-limit``.
    message
        What was expected.

    Examples
    --------
    >>> str(ArgumentError("time_limit", "expected seconds > 0, got -1"))
    'time_limit: expected seconds > 0, got -1'
    """

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}")


class SolverUnavailableError(RtgenError):
    """A requested solver backend is not installed or cannot be loaded."""


class PolicyError(RtgenError):
    """An online policy made an illegal decision, or left ready tasks unscheduled at the end."""


class LimitError(RtgenError):
    """A model too large to build within the limits, refused before it is built.

    Parameters
    ----------
    what
        What would be too large, e.g. ``the MILP of video_call_medium``.
    size, cap, unit
        Its size, the cap, and what they count (``disjunctive pairs``).
    advice
        What to use instead.

    Examples
    --------
    >>> str(LimitError("the MILP of m", 12, 10, "disjunctive pairs", "use cpsat"))
    'the MILP of m would have 12 disjunctive pairs, over the cap of 10; use cpsat'
    """

    def __init__(self, what: str, size: int, cap: int, unit: str, advice: str) -> None:
        self.size = size
        self.cap = cap
        super().__init__(f"{what} would have {size:,} {unit}, over the cap of {cap:,}; {advice}")


class InvalidScheduleError(RtgenError):
    """A schedule broke the validator; ``violations`` lists every problem found."""

    def __init__(self, violations: list) -> None:  # list[Violation]; typed loosely to avoid a cycle
        self.violations = violations
        head = "; ".join(str(v) for v in violations[:3])
        more = f" (+{len(violations) - 3} more)" if len(violations) > 3 else ""
        super().__init__(f"invalid schedule: {head}{more}")


class Interrupted(Exception):
    """A stop request (SIGINT, SIGTERM) ended a run before it could finish."""


class InternalError(RuntimeError):
    """A broken internal contract: a bug in rtgen_opt, never the user's input."""
