"""Running independent calls in parallel: in this process, in local processes, or on a Dask
cluster -- one executor for the report's units and the exact solver's independent subproblems.

Local processes are started with ``spawn`` (never ``fork``: the parent may hold threads, of
tqdm or OR-Tools, that ``fork`` would copy); a Dask cluster is reached by its scheduler address
(``pip install rtgen-opt[dask]``).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, TypeVar

from rtgen_opt import stopping
from rtgen_opt.errors import ArgumentError

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


#: Seconds to wait for a Dask scheduler to answer.
DASK_CONNECT_TIMEOUT = 10.0
#: Seconds between two looks at the stop request while local workers run.
POLL_S = 0.2


def _ignore_signals() -> None:
    """Local workers ignore SIGINT and SIGTERM: Ctrl-C reaches the whole process group, and
    the parent, which keeps every finished result, stops them itself."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class Executor:
    """Runs a function on many items: in this process (``workers <= 1``), in a pool of local
    processes, or on a Dask cluster (``scheduler``: an address or a ``distributed.Client``).

    The function and the items must be picklable (a module-level function, plain data). The
    pool or the client starts on first use and serves every later call, so a caller that finds
    everything cached starts nothing; use it as a context manager to shut it down.
    """

    def __init__(self, workers: int, scheduler: Any = None) -> None:
        self.workers = workers
        self.scheduler = scheduler
        self._pool: ProcessPoolExecutor | None = None
        self._client: Any = None
        self._own_client = False

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(kill=exc_type is not None)

    def close(self, *, kill: bool = False) -> None:
        """Shut the pool or the client down; running workers are killed when ``kill`` (an
        exception, e.g. Ctrl-C without :func:`rtgen_opt.stopping.on_signals`) or a stop
        request ends the run, and waited for otherwise."""
        if self._pool is not None:
            if kill or stopping.requested():
                # Stop promptly: the workers ignore the signal, so end them here.
                for process in list(getattr(self._pool, "_processes", {}).values()):
                    process.kill()
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._client is not None and self._own_client:
            self._client.close()
        self._client = None

    def map_unordered(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[tuple[int, R]]:
        """Yield ``(index into items, fn(item))`` as the calls finish; after a stop request
        (:mod:`rtgen_opt.stopping`) nothing more is started or waited for."""
        if not items:
            return
        if self.scheduler is not None:
            yield from self._dask(fn, items)
        elif self.workers <= 1:
            for i, item in enumerate(items):
                if stopping.requested():
                    return
                yield i, fn(item)
        else:
            yield from self._processes(fn, items)

    def _processes(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[tuple[int, R]]:
        if self._pool is None:
            import multiprocessing

            # spawn, not fork: the parent may hold threads (tqdm, OR-Tools) fork would copy.
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=ctx, initializer=_ignore_signals
            )
        futures = {self._pool.submit(fn, item): i for i, item in enumerate(items)}
        pending = set(futures)
        try:
            while pending and not stopping.requested():
                done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=futures.get):
                    yield futures[fut], fut.result()
        finally:
            for fut in futures:
                fut.cancel()

    def _dask(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[tuple[int, R]]:
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
        futures = [self._client.submit(fn, item, pure=False) for item in items]
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for fut in dask_completed(futures):
                if stopping.requested():
                    return
                yield index[fut.key], fut.result()
        finally:
            self._client.cancel([f for f in futures if not f.done()])
