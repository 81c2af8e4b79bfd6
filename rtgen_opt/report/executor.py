"""Running units on an :class:`~rtgen_opt.parallel.Executor` (this process, local processes or a
Dask cluster); the on-disk cache that lets an interrupted report resume; and the progress bars.

With an output folder, each finished unit is written at once (atomically) to
``OUT/cache/<key>.json`` (the key of :mod:`rtgen_opt.report.units`); a later run with the same
inputs loads it instead of recomputing. Errors are not cached, so a rerun tries again.

A stop request (:mod:`rtgen_opt.stopping`: SIGINT, SIGTERM) ends :func:`run_units` at once: the
executor starts nothing more and kills its running workers; every unit finished before the
request is in the cache; the run raises :class:`~rtgen_opt.errors.Interrupted` saying how many.
A unit that was running in this process when the stop came is not cached (its solve was cut).
``force`` recomputes every unit (and overwrites its cache file).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from rtgen_opt import stopping
from rtgen_opt.errors import Interrupted
from rtgen_opt.files import write_atomic
from rtgen_opt.parallel import Executor
from rtgen_opt.report.units import Unit, compute_unit

CACHE_FORMAT = "rtgen-opt-report-cache"


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


# --------------------------------------------------------------------------- the cache
class Cache:
    """``folder/<key>.json`` per finished unit; ``folder=None`` caches nothing; ``force`` reads
    nothing (every unit is recomputed) but still writes."""

    def __init__(self, folder: Path | None, *, force: bool = False) -> None:
        self.folder = folder
        self.force = force

    def get(self, key: str) -> dict[str, Any] | None:
        if self.folder is None or self.force:
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
    done = 0
    with progress_bar(len(units), desc, quiet) as bar:
        bar.update(len(units) - len(todo))
        # compute_unit is looked up at call time, so tests can count or interrupt the calls.
        for i, result in executor.map_unordered(compute_unit, [u.spec for u in todo]):
            if stopping.requested():
                break  # cut by the stop: not a result of the unit
            u = todo[i]
            cache.put(u.key, u, result)
            results[(u.instance, u.method)] = result
            stats["computed"] = stats.get("computed", 0) + 1
            done += 1
            bar.set_postfix_str(f"{u.instance}/{u.method}", refresh=False)
            bar.update(1)
    if stopping.requested():
        finished = len(units) - len(todo) + done
        where = "kept in the cache; rerun to resume" if cache.folder else "nothing cached"
        raise Interrupted(f"{finished} of {len(units)} {desc} runs finished ({where})")
    return results
