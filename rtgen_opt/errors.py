"""The exception tree of rtgen_opt.

Every error a user can cause derives from :class:`RtgenError`; the CLI turns it into one line
on standard error and exit status 2, never a traceback.
"""

from __future__ import annotations


class RtgenError(Exception):
    """Base class of every error rtgen_opt raises on purpose."""


class SpecError(RtgenError):
    """An input file (or in-memory spec) is malformed.

    Parameters
    ----------
    file
        The file the error is in, or ``None`` for an in-memory object.
    field
        The path of the offending field, e.g. ``streams[2].fps``; ``None`` for the file itself.
    message
        What was expected.
    """

    def __init__(self, file: str | None, field: str | None, message: str) -> None:
        self.file = file
        self.field = field
        self.message = message
        super().__init__(self.line())

    def line(self) -> str:
        where = ": ".join(part for part in (self.file, self.field) if part)
        return f"{where}: {self.message}" if where else self.message


class InfeasibleError(RtgenError):
    """The instance has no feasible schedule (e.g. a mandatory task that no processor can run)."""


class SolverUnavailableError(RtgenError):
    """A requested solver backend is not installed or cannot be loaded."""


class InvalidScheduleError(RtgenError):
    """A schedule broke the validator; ``violations`` lists every problem found."""

    def __init__(self, violations: list) -> None:  # list[Violation]; typed loosely to avoid a cycle
        self.violations = violations
        head = "; ".join(str(v) for v in violations[:3])
        more = f" (+{len(violations) - 3} more)" if len(violations) > 3 else ""
        super().__init__(f"invalid schedule: {head}{more}")
