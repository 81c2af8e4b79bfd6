"""Units of a report: one (instance, method) each -- a policy replay or an exact solve -- with
the settings that can change its answer, its cache key, and the function that computes it.

A unit's ``spec`` is plain JSON (the instance as its JSON dict, the method, the settings), so it
runs the same in this process, a worker process or on a Dask worker. Its cache key is the
SHA-256 of the spec, the package version and a fingerprint of the package's own source code, so
a changed policy or backend is recomputed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rtgen_opt
from rtgen_opt import __version__
from rtgen_opt.errors import RtgenError
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import DEFAULT_OBJECTIVE, Objective
from rtgen_opt.online import replay
from rtgen_opt.optimise import solve
from rtgen_opt.validate import check

DEFAULT_SOLVERS = ("cpsat",)
#: Seconds per exact solve: small instances are solved to optimality well within it on one
#: thread, and the whole embedded suite finishes in a few minutes on 2 cores.
DEFAULT_TIME_LIMIT = 10.0
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Settings:
    """What can change a unit's answer (and so is part of its cache key)."""

    objective: Objective = Objective.parse(DEFAULT_OBJECTIVE)
    time_limit: float = DEFAULT_TIME_LIMIT
    solver_threads: int = 1
    seed: int = DEFAULT_SEED


@dataclass(frozen=True)
class Unit:
    """One (instance, method) to compute: a policy replay or an exact solve."""

    instance: str
    method: str
    kind: str  # "policy" or "exact"
    spec: Mapping[str, Any] = field(repr=False)  # what compute_unit needs; picklable, JSON-able
    key: str = ""


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 of every Python source file of the package (path and content, in sorted order)."""
    root = Path(rtgen_opt.__file__).resolve().parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def plugin_fingerprint(method: str) -> str | None:
    """SHA-256 of the source file of a plug-in policy (``module:Class``, ``path.py:Class``), so
    that editing a plug-in invalidates its cached runs; ``None`` for a built-in policy."""
    if ":" not in method:
        return None
    import inspect

    from rtgen_opt.online import make_policy

    source = inspect.getsourcefile(type(make_policy(method)))
    if source is None:  # pragma: no cover - a policy defined without a source file
        return None
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def make_unit(
    entry_name: str,
    instance_dict: Mapping[str, Any],
    method: str,
    kind: str,
    settings: Settings,
    *,
    noise: float = 0.0,
) -> Unit:
    """A unit and its cache key (see the module docstring); a policy unit may replay with
    duration ``noise`` (seeded by ``settings.seed``)."""
    spec = {
        "instance": instance_dict,
        "method": method,
        "kind": kind,
        "objective": list(settings.objective.names),
        "seed": settings.seed,
    }
    if noise:
        spec["noise"] = noise
    if kind == "exact":
        spec |= {
            "time_limit": settings.time_limit,
            "threads": settings.solver_threads,
        }
    code = {"version": __version__, "code": code_fingerprint()}
    if kind == "policy" and (plugin := plugin_fingerprint(method)) is not None:
        code["plugin"] = plugin
    key = _digest({**spec, **code})
    return Unit(entry_name, method, kind, spec, key)


def compute_unit(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Run one unit (in a worker process, a Dask worker or in-process); JSON in, JSON out.

    Returns the schedule (validated here, and again by the caller), the status, the solver's
    proven bound (exact units) and the wall time. :class:`~rtgen_opt.errors.RtgenError` (e.g. a
    policy's invalid schedule, an infeasible instance) is returned as ``status="error"`` so one
    bad unit does not stop a sweep; anything else is a bug and propagates.
    """
    instance = Instance.from_dict(spec["instance"])
    started = time.perf_counter()
    out: dict[str, Any] = {"method": spec["method"], "kind": spec["kind"], "bound": None}
    try:
        if spec["kind"] == "policy":
            schedule = replay(
                instance, spec["method"], noise=spec.get("noise", 0.0), seed=spec["seed"]
            )
            if "method" not in schedule.provenance:
                schedule = schedule.with_provenance(method=spec["method"])
            if not spec.get("noise"):  # a noisy replay is valid for its perturbed instance
                check(instance, schedule)
            out["status"] = "feasible"
        else:
            # The solve front door starts from the best of every built-in policy and the list
            # schedule itself, so the answer does not depend on the policies of this report.
            result = solve(
                instance,
                spec["objective"],
                spec["method"],
                time_limit=spec["time_limit"],
                workers=spec["threads"],
                seed=spec["seed"],
            )
            schedule = result.schedule
            out["status"] = str(result.status)
            out["bound"] = None if result.bound is None else [float(b) for b in result.bound]
            if schedule is not None:
                check(instance, schedule)
    except RtgenError as exc:
        out |= {"status": "error", "error": f"{type(exc).__name__}: {exc}", "schedule": None}
        out["wall_s"] = time.perf_counter() - started
        return out
    out["wall_s"] = time.perf_counter() - started
    out["schedule"] = None if schedule is None else schedule.to_dict()
    return out
