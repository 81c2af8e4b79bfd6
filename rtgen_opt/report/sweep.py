"""Sweeps: every instance of a suite x every online policy and every exact solver, run in
parallel (local processes or a Dask cluster), cached on disk, and turned into one table.

How a sweep runs
----------------
1. **policies** -- each policy is replayed on each instance (noise 0).
2. **exact** -- each exact solver solves each instance, hinted with the best policy schedule
   of that instance (so the exact answer is never worse than a policy's, even when stopped by
   the time limit).
3. **report** -- tables, pictures and files (:mod:`rtgen_opt.report.tables`, ``html``).

A *unit* is one (instance, method). Units are independent within a phase and run on an
executor: in-process when ``workers <= 1``, a :class:`~concurrent.futures.ProcessPoolExecutor`
by default, or a ``dask.distributed`` cluster when ``scheduler`` is given. A unit returns only
what is expensive to recompute -- the schedule and, for a solver, its status and proven bound.
Every number of the report (objective, DVR, TTFT, ...) is then recomputed in the calling process
from the validated schedule with :func:`rtgen_opt.metrics.evaluate`.

Threads
-------
Each exact solve uses ``solver_threads`` threads (default 1) and at most
``cores // solver_threads`` units run at once, so threads never exceed the cores. The default
spends the cores on independent solves rather than on threads inside one solve: a suite has
many small instances, independent solves scale perfectly, and a single-threaded CP-SAT search
with a fixed seed is deterministic, so the report does not depend on ``workers`` or on where it
ran (local or Dask). ``solver_threads`` is part of the cache key; ``workers`` is not.

Cache and resume
----------------
With an output folder, each finished unit is written at once (atomically) to
``OUT/cache/<key>.json`` where ``key`` is the SHA-256 of the instance's JSON, the method and the
settings that can change its answer (objective, time limit, solver threads, seed, the hint, and a
fingerprint of the package's own source code, so a changed policy or backend is recomputed). A later run with the same inputs loads it instead of recomputing, so an
interrupted report resumes where it stopped.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from rtgen_opt.errors import RtgenError, SpecError
from rtgen_opt.files import write_atomic
from rtgen_opt.instance import Instance
from rtgen_opt.objectives import parse_objective
from rtgen_opt.schedule import Schedule
from rtgen_opt.validate import check

#: Online policies of DESIGN §4, run when ``policies`` is not given (in this order).
DEFAULT_POLICIES = (
    "fcfs-fixed",
    "round-robin",
    "edf-fixed",
    "edf-eft",
    "llf-eft",
    "heft",
    "xrbench-greedy",
    "llm-hybrid",
)
DEFAULT_SOLVERS = ("cpsat",)
#: Seconds per exact solve: small instances are solved to optimality well within it on one
#: thread, and the whole embedded suite finishes in a few minutes on 2 cores.
DEFAULT_TIME_LIMIT = 10.0
DEFAULT_SEED = 0
INSTANCE_SUFFIXES = (".yaml", ".yml", ".json")
CACHE_FORMAT = "rtgen-opt-report-cache"


# --------------------------------------------------------------------------- the suite
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
    import rtgen_opt

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
    """The small scenarios of the embedded suite, sorted by file name.

    A scenario is *small* when its file name starts with ``small`` or contains ``-small`` /
    ``_small``; the medium ones are for benchmarks, not for the default report.
    """
    folder = embedded_suite_dir()
    files = sorted(p for p in folder.iterdir() if p.suffix in INSTANCE_SUFFIXES)
    small = [p for p in files if _is_small(p)]
    if not small:
        raise SpecError(str(folder), None, "no small scenario (small*.yaml) in the embedded suite")
    return small


def _is_small(path: Path) -> bool:
    stem = path.stem.lower()
    return stem.startswith("small") or "-small" in stem or "_small" in stem


def load_instance_file(path: str | os.PathLike[str]) -> Instance:
    """An instance from a scenario (``.yaml``), a generic instance JSON file, or any other
    format :func:`rtgen_opt.spec.load_instance` reads."""
    from rtgen_opt.spec import load_instance

    return load_instance(path)


def resolve_suite(
    suite: str | os.PathLike[str] | Instance | Iterable[str | os.PathLike[str] | Instance] | None,
) -> list[SuiteEntry]:
    """Suite entries from ``None`` (the embedded suite), a folder, files or instances.

    A folder contributes its ``.yaml``/``.yml``/``.json`` files in sorted order. Names are file
    stems (instance names for in-memory instances), made unique with ``-2``, ``-3``, ...
    Sources are shown as given, and relative to the repository for the embedded suite, so a
    report names them the same on every machine.
    """
    items: list[tuple[Path | Instance, str | None]] = []  # (what to load, source shown)
    if suite is None:
        root = embedded_suite_dir().parents[1]
        items = [(p, p.relative_to(root).as_posix()) for p in embedded_suite()]
    else:
        given = [suite] if isinstance(suite, (str, os.PathLike, Instance)) else list(suite)
        for item in given:
            if isinstance(item, Instance):
                items.append((item, None))
                continue
            p = Path(item)
            if p.is_dir():
                found = sorted(q for q in p.iterdir() if q.suffix in INSTANCE_SUFFIXES)
                if not found:
                    raise SpecError(str(p), None, "no instance file (.yaml, .yml, .json) in folder")
                items.extend((q, q.as_posix()) for q in found)
            elif p.exists():
                items.append((p, p.as_posix()))
            else:
                raise SpecError(str(p), None, "no such file or folder")
    if not items:
        raise SpecError(None, "suite", "the suite is empty")
    entries: list[SuiteEntry] = []
    used: set[str] = set()
    for item, source in items:
        if isinstance(item, Instance):
            inst, base = item, item.name
        else:
            inst, base = load_instance_file(item), item.stem
        base = _safe_name(base)
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base}-{k}"
        used.add(name)
        entries.append(SuiteEntry(name, inst, source))
    return entries


def _safe_name(name: str) -> str:
    """A name usable as a file name: anything but letters, digits, ``-_.`` becomes ``_``."""
    out = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".")
    return out or "instance"


# --------------------------------------------------------------------------- settings and units
@dataclass(frozen=True)
class Settings:
    """What can change a unit's answer (and so is part of its cache key)."""

    objective: tuple[str, ...] = ("misses",)
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
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def make_unit(
    entry_name: str,
    instance_dict: Mapping[str, Any],
    method: str,
    kind: str,
    settings: Settings,
    hint: Schedule | None = None,
) -> Unit:
    """A unit and its cache key (see the module docstring)."""
    import rtgen_opt

    hint_dict = None if hint is None else hint.to_dict()
    spec = {
        "instance": instance_dict,
        "method": method,
        "kind": kind,
        "objective": list(settings.objective),
        "seed": settings.seed,
    }
    if kind == "exact":
        spec |= {
            "time_limit": settings.time_limit,
            "threads": settings.solver_threads,
            "hint": hint_dict,
        }
    key = _digest({**spec, "version": rtgen_opt.__version__, "code": code_fingerprint()})
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
            from rtgen_opt.online import replay

            schedule = replay(instance, spec["method"], noise=0.0, seed=spec["seed"])
            if "method" not in schedule.provenance:
                schedule = schedule.with_provenance(method=spec["method"])
            check(instance, schedule)
            out["status"] = "feasible"
        else:
            from rtgen_opt.exact.solve import solve

            hint = None if spec["hint"] is None else Schedule.from_dict(spec["hint"])
            result = solve(
                instance,
                spec["objective"],
                spec["method"],
                time_limit=spec["time_limit"],
                workers=spec["threads"],
                seed=spec["seed"],
                hint=hint,
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


# --------------------------------------------------------------------------- executors
def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _progress(total: int, desc: str, quiet: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit="run",
        file=sys.stderr,
        disable=quiet or not sys.stderr.isatty(),
        leave=True,
        dynamic_ncols=True,
    )


#: Seconds to wait for a Dask scheduler to answer.
DASK_CONNECT_TIMEOUT = 10.0


class Executor:
    """Runs :func:`compute_unit` on many specs: in this process (``workers <= 1``), in a pool of
    local processes, or on a Dask cluster (``scheduler``: an address or a ``distributed.Client``).

    The pool or the client starts on first use and serves every phase of a sweep, so a fully
    cached sweep starts nothing; use it as a context manager to shut it down.
    """

    def __init__(self, workers: int, scheduler: Any = None) -> None:
        self.workers = workers
        self.scheduler = scheduler
        self._pool: ProcessPoolExecutor | None = None
        self._client: Any = None
        self._own_client = False

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._client is not None and self._own_client:
            self._client.close()
        self._client = None

    def map_unordered(
        self, specs: Sequence[Mapping[str, Any]]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield ``(index into specs, result)`` as units finish."""
        if not specs:
            return
        if self.scheduler is not None:
            yield from self._dask(specs)
        elif self.workers <= 1:
            for i, spec in enumerate(specs):
                # Looked up at call time, so tests can count or interrupt the calls.
                yield i, compute_unit(spec)
        else:
            yield from self._processes(specs)

    def _processes(
        self, specs: Sequence[Mapping[str, Any]]
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        if self._pool is None:
            import multiprocessing

            # spawn, not fork: the parent may hold threads (tqdm, OR-Tools) fork would copy.
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        futures = {self._pool.submit(compute_unit, spec): i for i, spec in enumerate(specs)}
        try:
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()

    def _dask(self, specs: Sequence[Mapping[str, Any]]) -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            from distributed import Client
            from distributed import as_completed as dask_completed
        except ImportError as exc:  # pragma: no cover - dask is an optional dependency
            raise SpecError(
                None,
                "scheduler",
                "a Dask scheduler needs dask[distributed] (pip install rtgen-opt[dask])",
            ) from exc
        if self._client is None:
            if isinstance(self.scheduler, Client):
                self._client = self.scheduler
            else:
                try:
                    self._client = Client(self.scheduler, timeout=DASK_CONNECT_TIMEOUT)
                except (OSError, ValueError) as exc:
                    raise SpecError(
                        None,
                        "scheduler",
                        f"cannot reach the Dask scheduler {self.scheduler}: {exc}",
                    ) from None
                self._own_client = True
        futures = [self._client.submit(compute_unit, spec, pure=False) for spec in specs]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in dask_completed(futures):
                yield index[fut.key], fut.result()
        finally:
            self._client.cancel([f for f in futures if not f.done()])


# --------------------------------------------------------------------------- the cache
class Cache:
    """``folder/<key>.json`` per finished unit; ``folder=None`` caches nothing."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def get(self, key: str) -> dict[str, Any] | None:
        if self.folder is None:
            return None
        path = self.folder / f"{key}.json"
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None  # absent, or a torn file from an older crash: recompute
        if data.get("format") != CACHE_FORMAT or data.get("key") != key:
            return None
        return data["result"]

    def put(self, key: str, unit: Unit, result: Mapping[str, Any]) -> None:
        if self.folder is None or result.get("status") == "error":
            return  # errors are not cached: a rerun tries again
        record = {
            "format": CACHE_FORMAT,
            "key": key,
            "instance": unit.instance,
            "method": unit.method,
            "kind": unit.kind,
            "result": result,
        }
        write_atomic(self.folder / f"{key}.json", json.dumps(record, allow_nan=False))


def run_units(
    units: Sequence[Unit],
    cache: Cache,
    *,
    executor: Executor,
    desc: str,
    quiet: bool,
    stats: dict[str, int],
) -> dict[tuple[str, str], dict[str, Any]]:
    """Results of every unit, from the cache or computed (and then cached at once)."""
    results: dict[tuple[str, str], dict[str, Any]] = {}
    todo: list[Unit] = []
    for u in units:
        hit = cache.get(u.key)
        if hit is None:
            todo.append(u)
        else:
            results[(u.instance, u.method)] = hit
    stats["cached"] = stats.get("cached", 0) + len(units) - len(todo)
    with _progress(len(units), desc, quiet) as bar:
        bar.update(len(units) - len(todo))
        for i, result in executor.map_unordered([u.spec for u in todo]):
            u = todo[i]
            cache.put(u.key, u, result)
            results[(u.instance, u.method)] = result
            stats["computed"] = stats.get("computed", 0) + 1
            bar.set_postfix_str(f"{u.instance}/{u.method}", refresh=False)
            bar.update(1)
    return results


# --------------------------------------------------------------------------- rows
def lex_key(values: Sequence[float] | None) -> tuple[float, ...]:
    """Sort key of a (lexicographic) objective value; no value sorts last."""
    return (math.inf,) if values is None else tuple(values)


@dataclass(frozen=True)
class Outcome:
    """One unit's validated schedule and what it says (the report's raw material)."""

    instance: str
    method: str
    kind: str
    status: str
    schedule: Schedule | None
    values: tuple[float, ...] | None
    solver_bound: tuple[float, ...] | None
    wall_s: float
    metrics: Any = None  # rtgen_opt.metrics.Metrics
    error: str | None = None


def outcome_of(entry: SuiteEntry, result: Mapping[str, Any], objective: tuple[str, ...]) -> Outcome:
    """Validate the unit's schedule again here and recompute every number from it."""
    from rtgen_opt.metrics import evaluate
    from rtgen_opt.objectives import objective_values

    sched_dict = result.get("schedule")
    if sched_dict is None:
        return Outcome(
            entry.name,
            result["method"],
            result["kind"],
            result["status"],
            None,
            None,
            _tuple(result.get("bound")),
            float(result.get("wall_s", math.nan)),
            error=result.get("error"),
        )
    schedule = check(entry.instance, Schedule.from_dict(sched_dict))
    return Outcome(
        entry.name,
        result["method"],
        result["kind"],
        result["status"],
        schedule,
        objective_values(entry.instance, schedule, objective),
        _tuple(result.get("bound")),
        float(result.get("wall_s", math.nan)),
        metrics=evaluate(entry.instance, schedule),
    )


def _tuple(values: Sequence[float] | None) -> tuple[float, ...] | None:
    return None if values is None else tuple(float(v) for v in values)


# --------------------------------------------------------------------------- run
@dataclass(frozen=True)
class Sweep:
    """Everything a finished sweep knows; the report writers read it."""

    entries: list[SuiteEntry]
    settings: Settings
    policies: tuple[str, ...]
    solvers: tuple[str, ...]
    outcomes: dict[tuple[str, str], Outcome]
    bounds: dict[str, tuple[float, ...]]  # instance -> best proven bound
    table: pd.DataFrame
    stats: dict[str, int]


def sweep(
    suite: Any = None,
    *,
    out: str | os.PathLike[str] | None = None,
    objective: str | Sequence[str] = "misses",
    policies: Sequence[str] | None = None,
    solvers: Sequence[str] = DEFAULT_SOLVERS,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: int | None = None,
    solver_threads: int = 1,
    seed: int = DEFAULT_SEED,
    scheduler: Any = None,
    quiet: bool = False,
) -> Sweep:
    """Run the policies and solvers of a sweep (phases 1 and 2); see :func:`rtgen_opt.report.run`."""
    from rtgen_opt.report.tables import results_table

    objective_t = parse_objective(objective)
    policies_t = tuple(DEFAULT_POLICIES if policies is None else policies)
    solvers_t = tuple(solvers)
    _check_methods(policies_t, solvers_t)
    if not (isinstance(time_limit, (int, float)) and time_limit > 0):
        raise SpecError(None, "time_limit", f"expected seconds > 0, got {time_limit!r}")
    if solver_threads < 1:
        raise SpecError(None, "solver_threads", f"expected >= 1, got {solver_threads}")
    cores = available_cores()
    if workers is None:
        workers = max(1, cores // solver_threads)
    if workers < 1:
        raise SpecError(None, "workers", f"expected >= 1, got {workers}")
    if scheduler is None:
        # Local: keep processes x solver threads <= cores (see the module docstring).
        workers = max(1, min(workers, cores // solver_threads))
    settings = Settings(objective_t, float(time_limit), int(solver_threads), int(seed))
    entries = resolve_suite(suite)
    cache = Cache(None if out is None else Path(out) / "cache")
    stats: dict[str, int] = {"computed": 0, "cached": 0}
    by_name = {e.name: e for e in entries}
    dicts = {e.name: e.instance.to_dict() for e in entries}
    outcomes: dict[tuple[str, str], Outcome] = {}

    with Executor(workers, scheduler) as executor:
        units = [
            make_unit(e.name, dicts[e.name], p, "policy", settings)
            for e in entries
            for p in policies_t
        ]
        raw = run_units(units, cache, executor=executor, desc="policies", quiet=quiet, stats=stats)
        for (name, method), result in raw.items():
            outcomes[(name, method)] = outcome_of(by_name[name], result, objective_t)

        units = []
        for e in entries:
            hint = best_schedule([outcomes[(e.name, p)] for p in policies_t])
            units += [
                make_unit(e.name, dicts[e.name], s, "exact", settings, hint) for s in solvers_t
            ]
        raw = run_units(units, cache, executor=executor, desc="exact", quiet=quiet, stats=stats)
        for (name, method), result in raw.items():
            outcomes[(name, method)] = outcome_of(by_name[name], result, objective_t)

    bounds = {
        e.name: best_bound(e, [outcomes[(e.name, s)] for s in solvers_t], objective_t)
        for e in entries
    }
    table = results_table(entries, policies_t, solvers_t, outcomes, bounds, objective_t)
    return Sweep(entries, settings, policies_t, solvers_t, outcomes, bounds, table, stats)


def _check_methods(policies: tuple[str, ...], solvers: tuple[str, ...]) -> None:
    from rtgen_opt.exact import BACKENDS

    for s in solvers:
        if s not in BACKENDS:
            raise SpecError(
                None, "solvers", f"unknown solver {s!r}; expected one of {', '.join(BACKENDS)}"
            )
    for field_name, names in (("policies", policies), ("solvers", solvers)):
        if len(set(names)) != len(names):
            raise SpecError(None, field_name, f"{', '.join(names)} repeats a name")
    if not policies and not solvers:
        raise SpecError(None, "policies", "nothing to run: no policy and no solver")
    if policies:
        from rtgen_opt.online import make_policy

        for p in policies:
            make_policy(p)  # a SpecError naming the known policies, before any work starts


def best_schedule(outcomes: Iterable[Outcome]) -> Schedule | None:
    """The schedule with the lowest objective (ties: method name), or ``None``."""
    ok = [o for o in outcomes if o.schedule is not None]
    if not ok:
        return None
    return min(ok, key=lambda o: (lex_key(o.values), o.method)).schedule


def best_bound(
    entry: SuiteEntry, exact: Iterable[Outcome], objective: tuple[str, ...]
) -> tuple[float, ...]:
    """The best proven lower bound of an instance: the lexicographically largest solver bound,
    or the solver-free combinatorial bound of the first component when no solver gave one."""
    from rtgen_opt.exact.bounds import bounds

    candidates = [o.solver_bound for o in exact if o.solver_bound is not None]
    cheap = (float(bounds(entry.instance, objective[0])["bound"]),) + (0.0,) * (len(objective) - 1)
    return max([*candidates, cheap])


def run(
    suite: Any = None,
    *,
    out: str | os.PathLike[str] | None = None,
    objective: str | Sequence[str] = "misses",
    policies: Sequence[str] | None = None,
    solvers: Sequence[str] = DEFAULT_SOLVERS,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: int | None = None,
    scheduler: Any = None,
    solver_threads: int = 1,
    seed: int = DEFAULT_SEED,
    quiet: bool = False,
) -> pd.DataFrame:
    """Run a gap report: every policy and exact solver on every instance of ``suite``.

    Parameters
    ----------
    suite
        ``None`` for the embedded suite (the small scenarios of ``instances/scenarios``), a
        folder, an instance file (``.yaml`` scenario or ``.json`` instance), an
        :class:`~rtgen_opt.instance.Instance`, or a list of those.
    out
        Output folder: results.csv, report.md, report.html, schedules, figures, traces and the
        cache (see :mod:`rtgen_opt.report.html`). ``None`` writes nothing and caches nothing.
    objective
        The objective the gap is measured on (and the solvers minimise), e.g. ``"misses"`` or
        ``"misses,tardiness"``.
    policies
        Online policy names (default: :data:`DEFAULT_POLICIES`); ``()`` for none.
    solvers
        Exact backends (``cpsat``, ``milp-cbc``, ``milp-highs``); ``()`` for none, in which case
        gaps are measured against the solver-free combinatorial bound.
    time_limit
        Seconds per exact solve.
    workers
        Units run at once: local processes (default: cores // solver_threads; ``1`` runs
        in-process); ignored with ``scheduler``.
    scheduler
        A Dask scheduler address (``"tcp://host:port"``) or a ``distributed.Client``: run the
        units on that cluster instead of local processes.
    solver_threads
        Threads of each exact solve (default 1: deterministic; see the module docstring).
    seed
        Seed of the solvers and of randomised policies.
    quiet
        No progress bars (they are shown on stderr only when it is a terminal anyway).

    Returns
    -------
    pandas.DataFrame
        One row per instance x method, the columns of results.csv (see
        :mod:`rtgen_opt.report.tables` for the gap definition). ``df.attrs`` holds
        ``computed`` and ``cached`` unit counts.

    Raises
    ------
    SpecError
        For a bad suite, objective, policy or solver name, or an unreachable scheduler.

    Examples
    --------
    >>> import networkx as nx
    >>> from rtgen_opt.instance import Instance, Platform
    >>> g = nx.DiGraph()
    >>> g.add_node("a", durations={"m0": 2.0}, deadline=1.0)
    >>> inst = Instance.from_networkx(g, Platform.homogeneous(["m0"]), name="one")
    >>> df = run(inst, policies=(), solvers=("cpsat",), time_limit=5, workers=1, quiet=True)
    >>> df[["instance", "method", "value", "bound", "gap", "optimal"]].to_dict("records")
    [{'instance': 'one', 'method': 'cpsat', 'value': 1.0, 'bound': 1.0, 'gap': 0.0, 'optimal': True}]
    """
    result = sweep(
        suite,
        out=out,
        objective=objective,
        policies=policies,
        solvers=solvers,
        time_limit=time_limit,
        workers=workers,
        solver_threads=solver_threads,
        seed=seed,
        scheduler=scheduler,
        quiet=quiet,
    )
    if out is not None:
        from rtgen_opt.report.html import write_report

        write_report(result, Path(out), quiet=quiet)
    table = result.table.copy()
    table.attrs.update(result.stats)
    return table
