"""The exact answer at scale and load: the monolithic model against the solve front door.

For each instance -- the heavy game-NPC family (1 s, 4 s, 15 s, 60 s) and the three shipped
medium scenarios -- and each seed: the best online policy (all eight replayed), the monolithic
CP-SAT model (``rtgen_opt.solve(method="monolithic")``) and the front door's choice
(``method="auto"``: the decomposition beyond 1,500 tasks), side by side, interleaved in one
run, 2 workers. Every run is a fresh process, so its peak memory (``ru_maxrss``) is its own.
With ``--dask`` the 60 s instance is solved again with its group bounds on a Dask
LocalCluster of 2 workers.

Writes ``bench/results/scale.md`` (median and range over the seeds) and ``scale.csv`` (every
run). Usage::

    python bench/scale_bench.py --seeds 3 --dask
    python bench/scale_bench.py --only game_npc_heavy_4s --seeds 1   # one instance, quick
    python bench/scale_bench.py --only game_npc_heavy_1s --only game_npc_heavy_4s \
        --keep old.csv   # rerun two instances; every other instance's rows from old.csv
"""

from __future__ import annotations

import argparse
import csv
import math
import multiprocessing
import os
import platform
import resource
import sys
from datetime import date
from pathlib import Path

from summary import median_range  # noqa: E402  (bench/ is on sys.path)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "instances" / "scenarios"
RESULTS = ROOT / "bench" / "results"

#: (instance, seconds per solve): the issue's targets are heavy 1 s proven within 10 s, heavy 4 s
#: within a 1% gap in 60 s, heavy 60 s within a 1% gap in 10 minutes.
INSTANCES = (
    ("game_npc_heavy_1s", 60.0),
    ("game_npc_heavy_4s", 60.0),
    ("game_npc_heavy_15s", 180.0),
    ("game_npc_heavy_60s", 600.0),
    ("video_call_medium", 60.0),
    ("game_npc_medium", 60.0),
    ("ar_assistant_medium", 60.0),
)
METHODS = ("monolithic", "auto")


def _run(path: str, method: str, time_limit: float, seed: int, scheduler: str | None, out) -> None:
    """One solve in a child process; puts its numbers on ``out``."""
    import rtgen_opt
    from rtgen_opt.objectives import missed_jobs

    instance = rtgen_opt.load_instance(path)
    r = rtgen_opt.solve(
        instance,
        "misses",
        method=method,
        time_limit=time_limit,
        workers=2,
        seed=seed,
        scheduler=scheduler,
    )
    out.put(
        {
            "value": r.objective[0],
            "bound": r.bound[0],
            "status": str(r.status),
            "time_s": r.runtime,
            "missed": len(missed_jobs(instance, r.schedule)),
            "method": r.stats.get("method"),
            "start": f"{r.stats.get('start')} {r.stats.get('start_value', [math.nan])[0]:g}",
            "groups": r.stats.get("groups", ""),
            "groups_proven": r.stats.get("groups_proven", ""),
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }
    )


def measure(path: Path, method: str, time_limit: float, seed: int, scheduler=None) -> dict:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    child = ctx.Process(target=_run, args=(str(path), method, time_limit, seed, scheduler, out))
    child.start()
    row = out.get()
    child.join()
    return row


def best_policy(path: Path) -> tuple[str, float, int, int, int]:
    """(name, weighted misses, missed jobs, tasks, jobs) of the best built-in policy."""
    import rtgen_opt
    from rtgen_opt.objectives import missed_jobs, objective_value
    from rtgen_opt.online import builtin_policies, replay

    inst = rtgen_opt.load_instance(path)
    runs = []
    for name in builtin_policies():
        s = replay(inst, name)
        runs.append((objective_value(inst, s, "misses"), name, len(missed_jobs(inst, s))))
    value, name, missed = min(runs)
    return name, value, missed, len(inst.tasks), len(inst.jobs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--only", action="append", help="instance name (repeatable)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply every time limit")
    p.add_argument("--dask", action="store_true", help="also the 60 s instance on Dask")
    p.add_argument(
        "--monolithic-max",
        type=int,
        default=None,
        help="run the monolithic model only on instances of at most this many tasks",
    )
    p.add_argument(
        "--keep",
        type=Path,
        help="an earlier scale.csv: its rows of the instances not run now go into the tables",
    )
    args = p.parse_args()
    chosen = [(n, t * args.scale) for n, t in INSTANCES if not args.only or n in args.only]
    rows: list[dict] = []
    kept = _kept(args.keep, {n for n, _ in chosen})
    shown = {n for n, _ in chosen} | {r["instance"] for r in kept}
    policies = {n: best_policy(SCENARIOS / f"{n}.yaml") for n, _ in INSTANCES if n in shown}
    for seed in range(args.seeds):
        for name, limit in chosen:
            for method in METHODS:  # interleaved: the two methods alternate per instance
                tasks = policies[name][3]
                if method == "monolithic" and args.monolithic_max and tasks > args.monolithic_max:
                    continue  # not attempted (said in the table's notes)
                row = measure(SCENARIOS / f"{name}.yaml", method, limit, seed)
                rows.append(
                    {"instance": name, "seed": seed, "limit_s": limit, "run": method, **row}
                )
                print(name, seed, method, row, flush=True)
    if args.dask and any(n == "game_npc_heavy_60s" for n, _ in chosen):
        from distributed import LocalCluster

        limit = dict(chosen)["game_npc_heavy_60s"]
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster:
            row = measure(
                SCENARIOS / "game_npc_heavy_60s.yaml", "auto", limit, 0, cluster.scheduler_address
            )
        rows.append(
            {
                "instance": "game_npc_heavy_60s",
                "seed": 0,
                "limit_s": limit,
                "run": "auto on Dask",
                **row,
            }
        )
        print("dask", row, flush=True)
    write(rows + kept, policies, args)


def _kept(path: Path | None, rerun: set[str]) -> list[dict]:
    """The rows of an earlier ``scale.csv`` whose instance is not rerun, numbers as numbers."""
    if path is None:
        return []
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["instance"] not in rerun]
    for r in rows:
        for key in ("seed", "missed"):
            r[key] = int(r[key])
        for key in ("limit_s", "value", "bound", "time_s", "peak_mb"):
            r[key] = float(r[key])
    return rows


def write(rows: list[dict], policies: dict, args) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "scale.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    load = os.getloadavg()
    lines = [
        "# The exact answer at scale and load",
        "",
        f"`python bench/scale_bench.py --seeds {args.seeds}{' --dask' if args.dask else ''}"
        f"{f' --monolithic-max {args.monolithic_max}' if args.monolithic_max else ''}"
        f"{''.join(f' --only {n}' for n in args.only or [])}"
        f"{f' --keep {args.keep.name}' if args.keep else ''}`, "
        f"{date.today()}, Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}.",
        "",
        "Objective `misses` (weighted: frames weigh 2). Every run is a fresh process with 2 workers;"
        " medians over the seeds with [min–max]. *gap* = incumbent − certified bound, in weighted"
        " misses and in % of the instance's jobs. *monolithic* = one CP-SAT model"
        " (`--method monolithic`); *auto* = the front door (`rtgen-opt solve`), which decomposes"
        " beyond 1,500 tasks. Times are wall seconds of the whole call. *start* = the schedule"
        " the search started from and its value (`lane-timeline`: the lane timeline, LLM requests"
        " placed by a simulation of the accelerators taking turns; `affinity`: the affinity"
        " search's pinning; `deferral`: that pinning or a lane plan, with some LLM requests served"
        " in the background; a policy's or the list schedule's name otherwise), as distinct values"
        " over the seeds.",
        "",
        "| instance | tasks | jobs | best policy | method | value | bound | gap | gap % jobs"
        " | missed jobs | time s | peak MB | groups proven | start |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    runs = sorted(
        {(r["instance"], r["run"]) for r in rows},
        key=lambda k: ([n for n, _ in INSTANCES].index(k[0]), k[1] != "monolithic", k[1]),
    )
    for name, run in runs:
        sel = [r for r in rows if r["instance"] == name and r["run"] == run]
        pol, value, missed, tasks, jobs = policies[name]
        gaps = [r["value"] - r["bound"] for r in sel]
        groups = "–"
        if sel[0]["groups"] != "":
            groups = (
                median_range([float(r["groups_proven"]) for r in sel]) + f" / {sel[0]['groups']}"
            )
        lines.append(
            f"| {name} | {tasks:,} | {jobs:,} | {pol} {value:.0f} ({missed} jobs) | {run} "
            f"| {median_range([r['value'] for r in sel])} | {median_range([r['bound'] for r in sel])} "
            f"| {median_range(gaps)} | {median_range([100 * g / jobs for g in gaps], '{:.1f}')} "
            f"| {median_range([r['missed'] for r in sel])} "
            f"| {median_range([r['time_s'] for r in sel], '{:.1f}')} "
            f"| {median_range([r['peak_mb'] for r in sel], '{:.0f}')} | {groups} "
            f"| {', '.join(dict.fromkeys(str(r.get('start') or '–') for r in sel))} |"
        )
    (RESULTS / "scale.md").write_text("\n".join(lines) + "\n")
    print((RESULTS / "scale.md").read_text())


if __name__ == "__main__":
    sys.exit(main())
