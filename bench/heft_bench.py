"""``heft`` beside saga's ``HeftScheduler`` on random related-speed DAGs (issue 15, item 4).

For each seed, ``--graphs`` random DAGs (``--min-tasks``..``--max-tasks`` tasks, 3 or 4
processors of distinct speeds, a random bandwidth per processor pair) are scheduled as one job
released at 0 by

- ``heft``: rtgen_opt's policy, replayed (its plan makespan and its replayed makespan, which must
  be equal), once with the article's mean transfer (the default) and once with saga's
  (``HEFT(mean_comm="saga")``: self-links counted in the mean, see the policy's docstring);
- saga's ``HeftScheduler`` (anrg-saga 2.0.2).

Costs are integers chosen so that every duration and transfer is a whole number of ms (exact in
both programs). saga breaks ties (equal ranks, equal finish times) by the iteration order of
frozensets of names, which differs from run to run: a graph is called *tie-free* when saga's
makespan is the same under ``--relabel`` relabellings of its tasks and processors and no two
tasks have the same upward rank (equal ranks are ordered by a topological sort that a
relabelling may not change). Equal makespans are counted on tie-free graphs; the geometric mean of our makespan / saga's is over all graphs.
Times are interleaved per graph (ours, saga, ``--repeat`` times, best kept): ours is
``rtgen_opt.simulate`` without validation (the simulator's setup, the plan and the replay),
saga's is ``HeftScheduler().schedule`` with its rank cache cleared (building saga's objects is
not timed).

saga is an optional bench dependency; its declared dependencies include packages HEFT never
uses (pygraphviz needs a C toolchain and graphviz headers), so install it without them::

    pip install --no-deps anrg-saga==2.0.2 pysmt
    flock /tmp/rtgen-bench.lock python bench/heft_bench.py [--seeds 0 1 2] [--graphs 30]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import logging
import math
import os
import platform
import statistics
import time
from pathlib import Path

import networkx as nx
import numpy as np

from rtgen_opt.files import write_atomic
from rtgen_opt.instance import Instance, Link, Platform, Processor
from rtgen_opt.online import simulate
from rtgen_opt.online.policies.heft import HEFT

ROOT = Path(__file__).resolve().parents[1]
SPEEDS = (1, 2, 4, 5, 8, 10)
UNIT = 40  # the lcm of SPEEDS: costs and data sizes are multiples of it


def random_graph(rng: np.random.Generator, min_tasks: int, max_tasks: int) -> dict:
    """A random DAG on related-speed processors, as plain data both programs are built from."""
    n = int(rng.integers(min_tasks, max_tasks + 1))
    P = int(rng.choice([3, 4]))
    speeds = [int(s) for s in rng.choice(SPEEDS, size=P, replace=False)]
    bw = {}
    for a in range(P):
        for b in range(a + 1, P):
            bw[a, b] = bw[b, a] = int(rng.choice(SPEEDS))
    cost = [UNIT * int(rng.integers(1, 1001)) for _ in range(n)]
    p_edge = min(1.0, 3.0 / n)
    edges = []
    for v in range(1, n):
        us = [u for u in range(v) if rng.random() < p_edge] or [int(rng.integers(0, v))]
        edges += [(u, v, UNIT * int(rng.integers(1, 1001))) for u in us]
    return {"n": n, "P": P, "speeds": speeds, "bw": bw, "cost": cost, "edges": edges}


def to_instance(g: dict) -> Instance:
    P = g["P"]
    procs = tuple(Processor(f"p{p}", f"k{p}") for p in range(P))
    links = {(f"k{a}", f"k{b}"): Link(0.0, float(bw)) for (a, b), bw in g["bw"].items()}
    dag = nx.DiGraph()
    for i, c in enumerate(g["cost"]):
        durations = {f"p{p}": c / g["speeds"][p] for p in range(P)}
        dag.add_node(f"t{i:03d}", durations=durations, job="dag")
    for u, v, size in g["edges"]:
        dag.add_edge(f"t{u:03d}", f"t{v:03d}", bytes=float(size))
    return Instance.from_networkx(dag, Platform("related", procs, links=links))


def to_saga(g: dict, salt: str = ""):
    from saga import Network, TaskGraph

    P = g["P"]
    network = Network.create(
        nodes=[(f"{salt}p{p}", float(g["speeds"][p])) for p in range(P)],
        edges=[
            (f"{salt}p{a}", f"{salt}p{b}", float(bw)) for (a, b), bw in g["bw"].items() if a < b
        ],
    )
    task_graph = TaskGraph.create(
        tasks=[(f"{salt}t{i:03d}", float(c)) for i, c in enumerate(g["cost"])],
        dependencies=[(f"{salt}t{u:03d}", f"{salt}t{v:03d}", float(s)) for u, v, s in g["edges"]],
    )
    return network, task_graph


def saga_makespan(g: dict, salt: str = "") -> float:
    from saga.schedulers.heft import HeftScheduler

    network, task_graph = to_saga(g, salt)
    return HeftScheduler().schedule(network, task_graph).makespan


def ours(inst: Instance, mean_comm: str) -> tuple[float, float, float]:
    """(plan makespan, replayed makespan, seconds) of ``heft`` on ``inst``."""
    pol = HEFT(mean_comm=mean_comm)  # type: ignore[arg-type]
    t0 = time.perf_counter()
    run = simulate(inst, pol, validate=False)
    secs = time.perf_counter() - t0
    plan = max(pol.planned_finish) * inst.resolution
    replayed = max(p.end for p in run.schedule.placements.values())
    return plan, replayed, secs


def rank_ties(g: dict) -> int:
    """Tasks whose upward rank (saga's, equal to ours with saga's mean) equals another's.

    saga orders equal ranks by its topological sort of a graph built from frozensets, which a
    relabelling need not change, so such a graph is not tie-free even when its makespan is
    the same under every relabelling."""
    from saga.schedulers.cpop import upward_rank

    ranks = [r for t, r in upward_rank(*to_saga(g)).items() if not t.startswith("__")]
    return len(ranks) - len(set(ranks))


def time_saga(g: dict) -> float:
    from saga.schedulers.cpop import upward_rank
    from saga.schedulers.heft import HeftScheduler

    network, task_graph = to_saga(g)
    upward_rank.cache_clear()
    t0 = time.perf_counter()
    HeftScheduler().schedule(network, task_graph)
    return time.perf_counter() - t0


def geomean(xs: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def run(args: argparse.Namespace) -> list[dict]:
    rows = []
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        for k in range(args.graphs):
            g = random_graph(rng, args.min_tasks, args.max_tasks)
            inst = to_instance(g)
            saga = [
                saga_makespan(g, salt)
                for salt in [""] + [f"r{r}_" for r in range(args.relabel - 1)]
            ]
            invariant = max(saga) - min(saga) <= 1e-9 * max(saga)
            ties = rank_ties(g)
            t_ours, t_saga = math.inf, math.inf
            for _ in range(args.repeat):  # interleaved
                plan, replayed, secs = ours(inst, "paper")
                t_ours = min(t_ours, secs)
                t_saga = min(t_saga, time_saga(g))
            plan_s, replayed_s, _ = ours(inst, "saga")
            rows.append(
                {
                    "seed": seed,
                    "graph": k,
                    "tasks": g["n"],
                    "processors": g["P"],
                    "edges": len(g["edges"]),
                    "plan": plan,
                    "replay": replayed,
                    "plan_saga_mean": plan_s,
                    "replay_saga_mean": replayed_s,
                    "saga": saga[0],
                    "saga_min": min(saga),
                    "saga_max": max(saga),
                    "relabel_invariant": invariant,
                    "rank_ties": ties,
                    "tie_free": invariant and ties == 0,
                    "ours_s": t_ours,
                    "saga_s": t_saga,
                }
            )
    return rows


def summary(rows: list[dict], label: str) -> str:
    tf = [r for r in rows if r["tie_free"]]
    invariant = sum(r["relabel_invariant"] for r in rows)

    def eq(a: float, b: float) -> bool:
        return abs(a - b) <= 1e-9 * max(abs(b), 1.0)

    same_plan = sum(
        eq(r["plan"], r["replay"]) and eq(r["plan_saga_mean"], r["replay_saga_mean"]) for r in rows
    )
    eq_paper = sum(eq(r["replay"], r["saga"]) for r in tf)
    eq_saga = sum(eq(r["replay_saga_mean"], r["saga"]) for r in tf)
    ratio = [r["saga_s"] / r["ours_s"] for r in rows]
    per_task_ours = statistics.median(r["ours_s"] / r["tasks"] * 1e6 for r in rows)
    per_task_saga = statistics.median(r["saga_s"] / r["tasks"] * 1e6 for r in rows)
    return (
        f"| {label} | {len(rows)} | {same_plan}/{len(rows)} | {invariant} | {len(tf)} "
        f"| {eq_paper}/{len(tf)} | {eq_saga}/{len(tf)} "
        f"| {geomean([r['replay'] / r['saga'] for r in rows]):.4f} "
        f"| {geomean([r['replay_saga_mean'] / r['saga'] for r in rows]):.4f} "
        f"| {geomean([r['replay_saga_mean'] / r['saga'] for r in tf]):.4f} "
        f"| {per_task_ours:.0f} | {per_task_saga:.0f} "
        f"| {statistics.median(ratio):.2f} ({min(ratio):.2f}–{max(ratio):.2f}) |"
    )


def report(rows: list[dict], args: argparse.Namespace) -> str:
    seeds = " ".join(str(s) for s in args.seeds)
    lines = [
        "# heft beside saga's HeftScheduler on random related-speed DAGs",
        "",
        f"`python bench/heft_bench.py --seeds {seeds} --graphs {args.graphs} "
        f"--min-tasks {args.min_tasks} --max-tasks {args.max_tasks} --relabel {args.relabel} "
        f"--repeat {args.repeat}`, {dt.date.today().isoformat()}, Python "
        f"{platform.python_version()}, {os.cpu_count()} cores ({platform.machine()}), "
        "anrg-saga 2.0.2.",
        "",
        f"Each graph: {args.min_tasks}–{args.max_tasks} tasks, 3 or 4 processors of distinct "
        f"speeds from {SPEEDS}, one bandwidth per processor pair from the same set, ~3 edges "
        "per task, integer costs (every duration and transfer a whole number of ms), one job "
        "released at 0. *relabel-invariant*: saga's makespan is the same under "
        f"{args.relabel} labellings of tasks and processors (saga breaks ties by frozenset "
        "order); *tie-free*: relabel-invariant and no two tasks of equal upward rank (saga "
        "orders those by a topological sort that relabelling may leave alone). *paper* / *saga mean*:"
        " our `heft` with the article's mean transfer (over pairs of different processors, the "
        "default) / with saga's (self-links included). Makespan ratios are ours / saga's, "
        "geometric means. Time: best of "
        f"{args.repeat} interleaved runs per graph; us/task medians; speed-up = saga time / ours, "
        "median (range) over the graphs.",
        "",
        "| seed | graphs | replay == plan | saga relabel-invariant | tie-free "
        "| equal, paper | equal, saga mean "
        "| ratio paper (all) | ratio saga mean (all) | ratio saga mean (tie-free) "
        "| ours us/task | saga us/task | speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for seed in args.seeds:
        lines.append(summary([r for r in rows if r["seed"] == seed], str(seed)))
    lines.append(summary(rows, "all"))
    lines += [
        "",
        "Per-graph rows: `heft.csv` beside this file (makespans in ms, times in s).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--graphs", type=int, default=30)
    ap.add_argument("--min-tasks", type=int, default=20)
    ap.add_argument("--max-tasks", type=int, default=60)
    ap.add_argument("--relabel", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "heft.md")
    args = ap.parse_args()
    logging.disable(logging.WARNING)  # saga warns about every graph with several sources
    rows = run(args)
    write_atomic(args.out, report(rows, args))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]))
    w.writeheader()
    w.writerows(rows)
    write_atomic(args.out.with_suffix(".csv"), buf.getvalue())
    print(args.out.read_text())


if __name__ == "__main__":
    main()
