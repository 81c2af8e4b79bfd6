"""Running units: in this process, in local processes or on a Dask cluster; the on-disk cache
that lets an interrupted report resume; and the progress bars.

With an output folder, each finished unit is written at once (atomically) to
``OUT/cache/<key>.json`` (the key of :mod:`rtgen_opt.report.units`); a later run with the same
inputs loads it instead of recomputing. Errors are not cached, so a rerun tries again.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rtgen_opt.errors import ArgumentError
from rtgen_opt.files import write_atomic
from rtgen_opt.report.units import Unit, compute_unit

CACHE_FORMAT = "rtgen-opt-report-cache"


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def progress_bar(total: int, desc: str, quiet: bool) -> tqdm:
    """A progress bar on stderr, shown only when it is a terminal and not ``quiet``."""
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
            raise ArgumentError(
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
                    raise ArgumentError(
                        "scheduler", f"cannot reach the Dask scheduler {self.scheduler}: {exc}"
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
    with progress_bar(len(units), desc, quiet) as bar:
        bar.update(len(units) - len(todo))
        for i, result in executor.map_unordered([u.spec for u in todo]):
            u = todo[i]
            cache.put(u.key, u, result)
            results[(u.instance, u.method)] = result
            stats["computed"] = stats.get("computed", 0) + 1
            bar.set_postfix_str(f"{u.instance}/{u.method}", refresh=False)
            bar.update(1)
    return results
