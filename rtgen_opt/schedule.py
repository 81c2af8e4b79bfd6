"""Schedules: where and when every task runs, which jobs were dropped, and who said so.

A :class:`Schedule` is plain data. It says nothing about whether it is feasible: that is the
validator's job (:func:`rtgen_opt.validate`), and every schedule rtgen_opt prints, writes or
reports has passed it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rtgen_opt.errors import SpecError
from rtgen_opt.files import read_text, write_atomic

SCHEDULE_FORMAT = "rtgen-opt-schedule"
CSV_COLUMNS = ("record", "id", "processor", "start", "end")


@dataclass(frozen=True, slots=True)
class Placement:
    """A task's processor and its start and end times (ms)."""

    processor: str
    start: float
    end: float


@dataclass(frozen=True)
class Schedule:
    """For every task that runs: processor, start, end; the dropped jobs; provenance.

    ``provenance`` records who made the schedule: ``method`` (solver or policy name), and for
    solvers ``status``, ``objective``, ``bound``; it is informational, never trusted by metrics.
    """

    placements: Mapping[str, Placement]
    dropped: frozenset[str] = frozenset()
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        rows: Iterable[tuple[str, str, float, float]],
        dropped: Iterable[str] = (),
        **provenance: Any,
    ) -> Schedule:
        """A schedule from ``(task, processor, start, end)`` rows, sorted by (start, task).

        Provenance keys named ``rows`` or ``dropped`` cannot be passed here; add them with
        :meth:`with_provenance`, which takes any key.
        """
        return cls._from_rows(rows, dropped, provenance)

    @classmethod
    def _from_rows(
        cls,
        rows: Iterable[tuple[str, str, float, float]],
        dropped: Iterable[str],
        provenance: Mapping[str, Any],
    ) -> Schedule:
        # Provenance is passed as a mapping here: its keys are arbitrary (a file may hold a key
        # named "rows" or "dropped"), so they must not meet build()'s own parameter names.
        ordered = sorted(rows, key=lambda r: (r[2], r[0]))
        return cls(
            placements={t: Placement(p, float(s), float(e)) for t, p, s, e in ordered},
            dropped=frozenset(dropped),
            provenance=dict(provenance),
        )

    def rows(self) -> list[tuple[str, str, float, float]]:
        return [(t, pl.processor, pl.start, pl.end) for t, pl in self.placements.items()]

    @property
    def makespan(self) -> float:
        return max((pl.end for pl in self.placements.values()), default=0.0)

    def with_provenance(self, /, **provenance: Any) -> Schedule:
        return Schedule(self.placements, self.dropped, {**self.provenance, **provenance})

    # ----------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SCHEDULE_FORMAT,
            "version": 1,
            "provenance": _jsonable(self.provenance),
            "tasks": [
                {"task": t, "processor": p, "start": s, "end": e} for t, p, s, e in self.rows()
            ],
            "dropped": sorted(self.dropped),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], file: str | None = None) -> Schedule:
        if not isinstance(data, Mapping):
            raise SpecError(file, None, f"expected a JSON object with format {SCHEDULE_FORMAT!r}")
        if data.get("format") != SCHEDULE_FORMAT:
            raise SpecError(
                file, "format", f"expected {SCHEDULE_FORMAT!r}, got {data.get('format')!r}"
            )
        for key, kind, name in (
            ("tasks", list, "list"),
            ("dropped", list, "list"),
            ("provenance", Mapping, "object"),
        ):
            if key in data and not isinstance(data[key], kind):
                raise SpecError(file, key, f"expected a JSON {name}")
        rows = []
        for i, r in enumerate(data.get("tasks", [])):
            try:
                rows.append(
                    (str(r["task"]), str(r["processor"]), float(r["start"]), float(r["end"]))
                )
            except (KeyError, TypeError, ValueError):
                raise SpecError(
                    file, f"tasks[{i}]", "expected task, processor, start, end"
                ) from None
        dropped = [str(j) for j in data.get("dropped", [])]
        return cls._from_rows(rows, dropped, data.get("provenance", {}))

    # ----------------------------------------------------------------- CSV
    def to_csv(self) -> str:
        buf = io.StringIO()
        buf.write(f"# provenance: {json.dumps(_jsonable(self.provenance), sort_keys=True)}\n")
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(CSV_COLUMNS)
        for t, p, s, e in self.rows():
            w.writerow(("task", t, p, repr(s), repr(e)))
        for j in sorted(self.dropped):
            w.writerow(("dropped", j, "", "", ""))
        return buf.getvalue()

    @classmethod
    def from_csv(cls, text: str, file: str | None = None) -> Schedule:
        provenance: dict[str, Any] = {}
        lines = text.splitlines()
        if lines and lines[0].startswith("# provenance:"):
            try:
                provenance = json.loads(lines[0].split(":", 1)[1])
            except json.JSONDecodeError as exc:
                raise SpecError(file, "line 1", f"invalid provenance JSON: {exc.msg}") from None
            if not isinstance(provenance, dict):
                raise SpecError(file, "line 1", "expected a JSON object after '# provenance:'")
            lines = lines[1:]
        reader = csv.DictReader(lines)
        if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
            raise SpecError(file, "header", f"expected columns {','.join(CSV_COLUMNS)}")
        rows, dropped = [], []
        for i, r in enumerate(reader, start=2):
            try:
                if r["record"] == "task":
                    rows.append((r["id"], r["processor"], float(r["start"]), float(r["end"])))
                elif r["record"] == "dropped":
                    dropped.append(r["id"])
                else:
                    raise ValueError(r["record"])
            except (TypeError, ValueError):
                raise SpecError(
                    file, f"line {i}", "expected record 'task' with start/end, or 'dropped'"
                ) from None
        return cls._from_rows(rows, dropped, provenance)

    # ----------------------------------------------------------------- files
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write ``.json`` or ``.csv`` (by suffix) atomically."""
        path = Path(path)
        if path.suffix.lower() == ".csv":
            write_atomic(path, self.to_csv())
        else:
            write_atomic(path, json.dumps(self.to_dict(), indent=1, allow_nan=False))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Schedule:
        path = Path(path)
        text = read_text(path, "a schedule .json or .csv file")
        if path.suffix.lower() == ".csv":
            return cls.from_csv(text, file=str(path))
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(
                str(path), None, f"invalid JSON at line {exc.lineno}: {exc.msg}"
            ) from None
        return cls.from_dict(data, file=str(path))


def _jsonable(value: Any) -> Any:
    """Provenance values made JSON-safe: infinities and NaN become None, tuples lists."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _jsonable(value.item())
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
